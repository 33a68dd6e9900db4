/**
 * The gateway only reads PLCs: the one Modbus client class it uses refuses every request
 * but function codes 1–4 (read coils, discrete inputs, holding and input registers) with
 * a GatewayError, before a byte is queued. An allowlist rather than a list of write
 * methods, so a method a later modbus-serial adds (a write, a diagnostic) is refused too.
 */
import modbusSerial from 'modbus-serial';
import { GatewayError } from '../../core/errors.js';

// The package is CommonJS and also exports itself as `default`; its typings only describe that.
const Base = modbusSerial.default;

/** Methods that send nothing but FC 1–4, or send nothing at all (connect, close, events, settings). */
const ALLOWED = new Set([
  'constructor',
  'writeFC1',
  'writeFC2',
  'writeFC3',
  'writeFC4',
  'readCoils',
  'readDiscreteInputs',
  'readHoldingRegisters',
  'readInputRegisters',
  'readRegistersEnron',
  'open',
  'close',
  'destroy',
  'setID',
  'getID',
  'setTimeout',
  'getTimeout',
]);
const ALLOWED_PATTERN = /^(_|connect|link)|Listener|Listeners$|^(on|off|once|emit|eventNames|listenerCount|getMaxListeners|setMaxListeners)$/;

class ModbusWriteRefused extends GatewayError<'SFG_MODBUS_WRITE_REFUSED'> {}

function refuse(method: string): never {
  throw new ModbusWriteRefused('SFG_MODBUS_WRITE_REFUSED', `the gateway only reads Modbus devices (function codes 1-4): ${method} is refused`);
}

/** Every method name of modbus-serial's client, its prototypes and the EventEmitter's. */
export function clientMethodNames(): string[] {
  const names = new Set<string>();
  for (let p: object | null = Base.prototype; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (typeof Object.getOwnPropertyDescriptor(p, name)?.value === 'function') names.add(name);
    }
  }
  return [...names];
}

export function isAllowedMethod(name: string): boolean {
  return ALLOWED.has(name) || ALLOWED_PATTERN.test(name);
}

/** modbus-serial's client with everything but reads refused. */
export class ReadOnlyModbusClient extends Base {}

for (const name of clientMethodNames()) {
  if (isAllowedMethod(name)) continue;
  Object.defineProperty(ReadOnlyModbusClient.prototype, name, {
    value: () => refuse(name),
    writable: false,
    configurable: false,
  });
}
