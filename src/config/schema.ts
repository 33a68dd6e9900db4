/**
 * The configuration contract (docs/configuration.md) as zod schemas. Every TypeScript type of the
 * configuration is derived from here (z.infer / z.output), so defaults and types live in
 * one place. Objects are strict: an unknown key is almost always a typo.
 */
import * as z from 'zod';
import { isLoopback } from '../core/net.js';
import { hasUrlCredentials } from './words.js';

const positiveInt = z.number().int().positive();

/**
 * A code the MES matches exactly (machine, waste, parameter, downtime type). A control
 * character (NUL, a tab, a line break) or half of a UTF-16 pair (from a "\uD800" escape)
 * is invisible in the file and never what the MES has.
 */
const code = z
  .string()
  .min(1, 'a non-empty string')
  .regex(/^[^\p{Cc}\p{Cs}]*$/u, 'text without control characters (NUL, tab, line break) or broken escapes');

/**
 * Whole milliseconds from `min` to `max`. Node timers fire at once above 2^31-1 ms
 * (24.8 days), so every duration has an upper bound; the message names it.
 */
function millis(min: number, max: number, maxWords: string) {
  return z.number().int().min(min).max(max, `at most ${max} (${maxWords})`);
}
const minute = 60_000;
const hour = 60 * minute;
const timeoutMs = millis(1, 5 * minute, '5 minutes');
/** Seconds from `min` to `max`, fractions allowed. */
function seconds(max: number, maxWords: string) {
  return z.number().max(max, `at most ${max} (${maxWords})`);
}

// ---------------------------------------------------------------- signal sources

/** Options every protocol's source may carry: a linear conversion of the value read. */
const common = {
  scale: z.number().optional(),
  offset: z.number().optional(),
};

const modbusAreas = ['holding', 'input', 'coil', 'discrete'] as const;
export const modbusTypes = ['bool', 'int16', 'uint16', 'int32', 'uint32', 'float32', 'int64', 'uint64', 'float64'] as const;

export const modbusSource = z
  .strictObject({
    area: z.enum(modbusAreas),
    address: z.number().int().min(0).max(65535),
    type: z.enum(modbusTypes).optional(),
    wordOrder: z.enum(['big', 'little']).default('big'),
    byteSwap: z.boolean().default(false),
    bit: z.number().int().min(0).max(15).optional(),
    ...common,
  })
  .superRefine((s, ctx) => {
    const bitArea = s.area === 'coil' || s.area === 'discrete';
    if (bitArea && s.type !== undefined && s.type !== 'bool') {
      ctx.addIssue({ code: 'custom', path: ['type'], message: `area ${s.area} holds single bits: type must be bool or left out` });
    }
    if (bitArea && s.bit !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['bit'], message: `bit selects a bit of a register; area ${s.area} is already a bit` });
    }
    if (!bitArea && s.type === 'bool' && s.bit === undefined) {
      ctx.addIssue({ code: 'custom', path: ['type'], message: 'type bool on a register needs bit (0-15)' });
    }
  });

const opcuaSource = z.strictObject({
  nodeId: z.string().regex(/^(ns=\d+;|nsu=[^;]+;)?[isgb]=.+$/, 'an OPC UA node id such as ns=3;s=Line1.Counter'),
  ...common,
});

const mqttSource = z.strictObject({
  // A regex rather than refine(): its message is a phrase of what is expected, which the
  // loader shows as "expected <phrase>, got <value>".
  topic: z.string().regex(/^[^+#]+$/, 'a topic without wildcards (+ or #)'),
  path: z.string().min(1).optional(),
  ...common,
});

// ---------------------------------------------------------------- machines

/** A machine mapping, generic over the protocol's source schema. */
function machineSchema<S extends z.ZodObject<z.core.$ZodShape, z.core.$strict>>(source: S) {
  const reasonOptions = { map: z.record(z.string(), code).default({}), default: code.optional() };
  const nestedReason = z.strictObject({ source, ...reasonOptions });
  // docs/configuration.md#machines writes the source's keys inline beside map and default; a nested `source:` is
  // accepted too. Either way the result is { source, map, default }. (The cast: TypeScript
  // cannot see through the rest of a generic object that `inline` is the source.)
  const inlineReason = source
    .safeExtend(reasonOptions)
    .transform(({ map, default: fallback, ...inline }) => ({ source: inline, map, default: fallback }) as z.output<typeof nestedReason>);
  const stopReason = z.union([inlineReason, nestedReason]);
  return z
    .strictObject({
      code,
      count: source.optional(),
      initialCount: z.enum(['raw', 'zero']).default('raw'),
      waste: z.array(z.strictObject({ code, source })).default([]),
      running: source.optional(),
      stopReason: stopReason.optional(),
      parameters: z.array(z.strictObject({ code, source, deadband: z.number().min(0).default(0) })).default([]),
      counterRollover: positiveInt.optional(),
      maxCountJump: positiveInt.optional(),
      downtimeType: code.optional(),
      stopWhenIdleSeconds: seconds(86_400, '24 hours').positive().optional(),
      minStateSeconds: seconds(3600, '1 hour').min(0).default(0),
    })
    .superRefine((m, ctx) => {
      const tracksState = m.running !== undefined || m.stopWhenIdleSeconds !== undefined;
      if (tracksState && m.downtimeType === undefined && m.stopReason?.default === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['downtimeType'],
          message: 'run/stop needs a downtime type: set downtimeType, or stopReason with a default',
        });
      }
      if (m.stopWhenIdleSeconds !== undefined && m.count === undefined) {
        ctx.addIssue({ code: 'custom', path: ['stopWhenIdleSeconds'], message: 'stopWhenIdleSeconds needs a count signal' });
      }
      const seen = new Set<string>();
      m.waste.forEach((w, i) => {
        if (seen.has(w.code)) ctx.addIssue({ code: 'custom', path: ['waste', i, 'code'], message: `waste code ${w.code} is listed twice` });
        seen.add(w.code);
      });
      const params = new Set<string>();
      m.parameters.forEach((p, i) => {
        if (params.has(p.code)) ctx.addIssue({ code: 'custom', path: ['parameters', i, 'code'], message: `parameter ${p.code} is listed twice` });
        params.add(p.code);
      });
    });
}

// ---------------------------------------------------------------- connections

const host = z.string().min(1, 'a host name or IP address');
const port = z.number().int().min(1).max(65535);

const modbusTcpConnection = z.strictObject({
  host,
  port: port.default(502),
  unitId: z.number().int().min(0).max(255).default(1),
  timeoutMs: timeoutMs.default(2000),
  /** Unused addresses a batched read may span to save a request. */
  maxGap: z.number().int().min(0).max(100).default(8),
});

const modbusRtuConnection = z.strictObject({
  path: z.string().min(1, 'a serial device such as /dev/ttyUSB0'),
  baudRate: z.number().int().min(50).max(4_000_000).default(9600),
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  dataBits: z.union([z.literal(7), z.literal(8)]).default(8),
  stopBits: z.union([z.literal(1), z.literal(2)]).default(1),
  unitId: z.number().int().min(0).max(247).default(1),
  timeoutMs: timeoutMs.default(1000),
  maxGap: z.number().int().min(0).max(100).default(8),
});

const opcuaConnection = z.strictObject({
  endpointUrl: z
    .string()
    .regex(/^opc\.tcp:\/\/.+/, 'an endpoint URL such as opc.tcp://10.0.0.60:4840')
    .refine((u) => !hasUrlCredentials(u), 'no user:password@ in the URL: set username and password, the password as ${ENV}'),
  securityMode: z.enum(['None', 'Sign', 'SignAndEncrypt']).default('None'),
  securityPolicy: z.enum(['None', 'Basic256Sha256', 'Aes128_Sha256_RsaOaep', 'Aes256_Sha256_RsaPss']).optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  mode: z.enum(['subscribe', 'poll']).default('subscribe'),
  samplingIntervalMs: millis(1, hour, '1 hour').default(500),
  /** Accept an unknown server certificate the first time it is seen (else `trust` it by hand). */
  trustOnFirstUse: z.boolean().default(false),
});

const mqttConnection = z.strictObject({
  url: z.string().regex(/^(mqtts?|wss?):\/\/.+/, 'a broker URL such as mqtt://10.0.0.70:1883 (mqtt://, mqtts://, ws://, wss://)'),
  username: z.string().optional(),
  password: z.string().optional(),
  clientId: z.string().optional(),
  /** Path of a PEM file with the CA that signed the broker's certificate. */
  ca: z.string().optional(),
  /**
   * 5 (default): a persistent session, messages sent while the gateway is away are queued.
   * 4 (MQTT 3.1.1, for brokers without MQTT 5): a clean session; retained values at connect.
   */
  protocolVersion: z.union([z.literal(5), z.literal(4)]).default(5),
});

const deviceBase = {
  device: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'an id of letters, digits, - _ .'),
  pollIntervalMs: millis(10, hour, '1 hour').default(1000),
};

function device<P extends string, C extends z.ZodType, S extends z.ZodObject<z.core.$ZodShape, z.core.$strict>>(protocol: P, connection: C, source: S) {
  return z.strictObject({
    ...deviceBase,
    protocol: z.literal(protocol),
    connection,
    machines: z.array(machineSchema(source)).min(1, 'at least one machine'),
  });
}

export const deviceSchema = z.discriminatedUnion('protocol', [
  device('modbus-tcp', modbusTcpConnection, modbusSource),
  device('modbus-rtu-over-tcp', modbusTcpConnection, modbusSource),
  device('modbus-rtu', modbusRtuConnection, modbusSource),
  device('opcua', opcuaConnection, opcuaSource),
  device('mqtt', mqttConnection, mqttSource),
]);

/**
 * A device as commissioning sees it before its machines are mapped: protocol and connection,
 * defaults filled in as for a device file; machines and any other keys are ignored.
 */
function connectionOnly<P extends string, C extends z.ZodType>(protocol: P, connection: C) {
  return z.object({ device: deviceBase.device.default('commissioning'), protocol: z.literal(protocol), connection });
}

export const deviceConnectionSchema = z.discriminatedUnion('protocol', [
  connectionOnly('modbus-tcp', modbusTcpConnection),
  connectionOnly('modbus-rtu-over-tcp', modbusTcpConnection),
  connectionOnly('modbus-rtu', modbusRtuConnection),
  connectionOnly('opcua', opcuaConnection),
  connectionOnly('mqtt', mqttConnection),
]);

// ---------------------------------------------------------------- gateway.yaml

const listen = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^:\s]+):\d{1,5}$/, 'host:port such as 127.0.0.1:8080 or [::1]:8080');

/** The host of a `host:port` that passed `listen`, without IPv6 brackets. */
function listenHost(hostPort: string): string {
  return hostPort.slice(0, hostPort.lastIndexOf(':')).replace(/^\[(.*)\]$/, '$1');
}

/** A gateway's requests a minute when it is the company's only integration: room left for others. */
const DEFAULT_REQUESTS_PER_MINUTE = 100;

export const gatewaySchema = z.strictObject({
  prodsmart: z
    .strictObject({
      // The URL is logged and shown on the status page: credentials in it would be too.
      baseUrl: z
        .url({ protocol: /^https?$/, error: 'an http(s) URL' })
        .refine((u) => !hasUrlCredentials(u), 'no key:secret@ in the URL: put them in auth.apiKey and auth.apiSecret, as ${ENV}')
        .default('https://app.prodsmart.com'),
      auth: z
        .strictObject({
          apiKey: z.string().min(1).optional(),
          apiSecret: z.string().min(1).optional(),
          accessToken: z.string().min(1).optional(),
          tokenAuth: z.boolean().default(false),
        })
        .superRefine((a, ctx) => {
          const basic = a.apiKey !== undefined || a.apiSecret !== undefined;
          if (a.accessToken !== undefined && basic) {
            ctx.addIssue({ code: 'custom', path: ['accessToken'], message: 'either accessToken or apiKey+apiSecret, not both' });
          } else if (a.accessToken === undefined && (a.apiKey === undefined || a.apiSecret === undefined)) {
            ctx.addIssue({ code: 'custom', path: a.apiKey === undefined ? ['apiKey'] : ['apiSecret'], message: 'apiKey and apiSecret (or accessToken)' });
          }
          if (a.tokenAuth && a.accessToken !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: ['tokenAuth'],
              message: 'tokenAuth fetches tokens with apiKey+apiSecret; with a fixed accessToken leave it out',
            });
          }
        }),
      /**
       * This gateway's part of the company's 120 (100 when left out); with `sharedBudget`, its
       * fallback share whenever Redis is unreachable, which must then be written out (below).
       */
      requestsPerMinute: z.number().int().min(1).max(120).optional(),
      timeoutMs: timeoutMs.default(10000),
      /** One company budget shared by several gateways through Redis (docs/rate-budget.md#several-gateways). */
      sharedBudget: z
        .strictObject({
          // The password goes in the URL as ${ENV} (clear-secrets.ts warns when it is written in clear).
          redis: z.url({ protocol: /^rediss?$/, error: 'a redis:// or rediss:// URL' }),
          key: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'a name of 1 to 64 letters, digits, "_", "." or "-" (one budget per company)'),
          requestsPerMinute: z.number().int().min(1).max(120),
        })
        .optional(),
    })
    .superRefine((p, ctx) => {
      const company = p.sharedBudget?.requestsPerMinute;
      if (company === undefined) return;
      // With Redis gone every gateway sends its fallback share at once: the default 100 of
      // each of several gateways would be several times the company's figure.
      if (p.requestsPerMinute === undefined) {
        ctx.addIssue({
          code: 'custom',
          path: ['requestsPerMinute'],
          message: `required with sharedBudget: this gateway's fallback share while Redis is unreachable (the fallback shares of all gateways must add up to at most ${company})`,
        });
      } else if (p.requestsPerMinute > company) {
        ctx.addIssue({
          code: 'custom',
          path: ['requestsPerMinute'],
          message: `at most the company's ${company} (sharedBudget.requestsPerMinute): this fallback share is part of it`,
        });
      }
    })
    .transform((p) => ({ ...p, requestsPerMinute: p.requestsPerMinute ?? DEFAULT_REQUESTS_PER_MINUTE })),
  storage: z
    .strictObject({
      path: z.string().min(1).default('./data/gateway.db'),
      retentionDays: z.number().positive().max(3650, 'at most 3650 (10 years)').default(30),
    })
    .prefault({}),
  web: z
    .strictObject({
      listen: listen.default('127.0.0.1:8080'),
      token: z.string().min(16, 'a token of at least 16 characters').optional(),
      /** Opens a commissioning window when the gateway starts (docs/commissioning.md); else `shopfloor-gateway commission` does. */
      commissioning: z
        .strictObject({
          enabled: z.boolean().default(false),
          minutes: z.number().int().min(1).max(480, 'at most 480 (8 hours)').default(60),
        })
        .optional(),
    })
    .superRefine((w, ctx) => {
      if (w.token === undefined && !isLoopback(listenHost(w.listen))) {
        ctx.addIssue({ code: 'custom', path: ['token'], message: `listen ${w.listen} is reachable from the network: set web.token (16+ characters)` });
      }
    })
    .prefault({}),
  devices: z.string().min(1).default('./devices'),
  log: z
    .strictObject({
      level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace']).default('info'),
    })
    .prefault({}),
  /**
   * Demo and test only: start the built-in MES sandbox and a simulated PLC for every
   * modbus-tcp device on a loopback host, in the same process. Delete for a real plant.
   */
  simulate: z
    .strictObject({
      mes: z.strictObject({ listen: listen.default('127.0.0.1:8090') }).prefault({}),
      plcs: z.boolean().default(true),
    })
    .optional(),
});

export type GatewayConfig = z.output<typeof gatewaySchema>;
export type DeviceConfig = z.output<typeof deviceSchema>;
export type Protocol = DeviceConfig['protocol'];
export type MachineConfig = DeviceConfig['machines'][number];
export type ModbusSource = z.output<typeof modbusSource>;
export type OpcuaSource = z.output<typeof opcuaSource>;
export type MqttSource = z.output<typeof mqttSource>;
export type DeviceOf<P extends Protocol> = Extract<DeviceConfig, { protocol: P }>;
export type DeviceConnection = z.output<typeof deviceConnectionSchema>;
export type ConnectionOf<P extends Protocol> = Extract<DeviceConnection, { protocol: P }>;
