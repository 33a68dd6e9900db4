/**
 * Loads `gateway.yaml` and every device file of its devices folder, and reports all
 * problems of all files at once (a technician fixes them in one pass, not one per run).
 *
 * Relative paths in gateway.yaml (`devices`, `storage.path`) are resolved against the
 * working directory — the systemd unit's WorkingDirectory, or the checkout for
 * `npm start` — not against the folder of gateway.yaml.
 */
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { readableSecretWarnings, type ConfigWarning } from './clear-secrets.js';
import { crossFileProblems } from './cross-file.js';
import { parseConfigFile, parseConfigText } from './document.js';
import type { Env } from './env.js';
import { ConfigError, displayPath, type ConfigProblem, type ConfigProblemCode } from './errors.js';
import type { Locate } from './positions.js';
import { deviceSchema, gatewaySchema, type DeviceConfig, type GatewayConfig } from './schema.js';

export type { Env } from './env.js';
export { ConfigError, formatProblem, type ConfigProblem } from './errors.js';

export interface LoadedDevice {
  /** Absolute path of the device file. */
  file: string;
  config: DeviceConfig;
  /** Line and column of a key path in the file, for messages about this device. */
  locate: Locate;
}

export interface LoadedConfig {
  gateway: GatewayConfig;
  /** Absolute. */
  gatewayFile: string;
  /** Absolute. */
  devicesDir: string;
  devices: LoadedDevice[];
  /** Not errors: the configuration works, but should be fixed (shown by validate, logged at start). */
  warnings: ConfigWarning[];
}

const gatewayContent = 'the gateway settings (prodsmart, storage, web, devices, log)';
const deviceContent = 'a device (device, protocol, connection, machines)';

/** A path from gateway.yaml, made absolute against the working directory. */
export function resolvePath(p: string): string {
  return resolve(process.cwd(), p);
}

/** Throws ConfigError when the gateway file or any device file is invalid. */
export function loadConfig(gatewayFile: string, opts: { env?: Env } = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const file = resolvePath(gatewayFile);
  const gateway = parseConfigFile(file, gatewaySchema, env, gatewayContent);
  const problems = [...gateway.problems];
  // Even with gateway.yaml invalid, its device files are checked, as long as we know where they are.
  const setting = gatewaySchema.shape.devices.safeParse(isRecord(gateway.data) ? gateway.data.devices : undefined);
  if (gateway.data === undefined || !setting.success) throw new ConfigError(problems);

  const devicesDir = resolvePath(setting.data);
  const folderProblem = (code: ConfigProblemCode, message: string): ConfigProblem => {
    const pos = isRecord(gateway.data) && 'devices' in gateway.data ? gateway.locate(['devices']) : { line: 0, column: 0 };
    return { code, file: displayPath(file), ...pos, path: 'devices', message };
  };
  const listed = listDeviceFiles(devicesDir, setting.data);
  if ('error' in listed) throw new ConfigError([...problems, folderProblem(listed.code, listed.error)]);

  const devices: LoadedDevice[] = [];
  const secrets = [{ file, secrets: gateway.clearSecrets }];
  for (const f of listed.files) {
    const parsed = parseConfigFile(f, deviceSchema, env, deviceContent);
    problems.push(...parsed.problems);
    secrets.push({ file: f, secrets: parsed.clearSecrets });
    if (parsed.value) devices.push({ file: f, config: parsed.value, locate: parsed.locate });
  }
  problems.push(...crossFileProblems(devices));
  if (problems.length > 0 || !gateway.value) throw new ConfigError(problems);
  return { gateway: gateway.value, gatewayFile: file, devicesDir, devices, warnings: readableSecretWarnings(secrets) };
}

/** gateway.yaml alone, for the CLI verbs that need only storage.path. Throws ConfigError. */
export function loadGatewayFile(gatewayFile: string, opts: { env?: Env } = {}): GatewayConfig {
  const parsed = parseConfigFile(resolvePath(gatewayFile), gatewaySchema, opts.env ?? process.env, gatewayContent);
  if (!parsed.value) throw new ConfigError(parsed.problems);
  return parsed.value;
}

/** One device file alone (hot reload); check it against the others with crossFileProblems. */
export function loadDeviceFile(file: string, env: Env = process.env): LoadedDevice {
  const abs = resolvePath(file);
  const parsed = parseConfigFile(abs, deviceSchema, env, deviceContent);
  if (!parsed.value) throw new ConfigError(parsed.problems);
  return { file: abs, config: parsed.value, locate: parsed.locate };
}

/**
 * Device file `file` as if it held `text`, checked as `loadConfig` checks it: alone, then
 * against `others` (the other device files) for ids, codes and serial buses. `config` only
 * when there is no problem.
 */
export function checkDeviceText(
  file: string,
  text: string,
  others: readonly LoadedDevice[],
  env: Env = process.env,
): { config?: DeviceConfig; problems: ConfigProblem[] } {
  const abs = resolvePath(file);
  const parsed = parseConfigText(abs, text, deviceSchema, env, deviceContent);
  if (!parsed.value) return { problems: parsed.problems };
  const self = { file: abs, config: parsed.value, locate: parsed.locate };
  const problems = crossFileProblems([...others.filter((d) => d.file !== abs), self]).filter((p) => p.file === displayPath(abs));
  return problems.length > 0 ? { problems } : { config: parsed.value, problems };
}

/**
 * The `*.yaml`/`*.yml` files directly in `dir`, sorted; subfolders (such as examples/)
 * and hidden files (editor locks) are not device files. `setting` is the folder as written
 * in gateway.yaml, for the message.
 */
function listDeviceFiles(dir: string, setting = dir): { files: string[] } | { code: ConfigProblemCode; error: string } {
  const relativeNote = isAbsolute(setting) ? '' : ` (${setting} is relative to the working directory ${process.cwd()})`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    const unreadable = (error: string) => ({ code: 'SFG_CONFIG_UNREADABLE' as const, error });
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { code: 'SFG_CONFIG_NOT_FOUND', error: `devices folder ${dir} not found${relativeNote}` };
    if (code === 'ENOTDIR') return unreadable(`${dir} is a file, expected a folder of device files`);
    if (code === 'ELOOP') return unreadable(`devices folder ${dir}: its symbolic links point at each other in a loop`);
    if (code === 'EACCES') return unreadable(`devices folder ${dir} cannot be read: permission denied`);
    return unreadable(`devices folder ${dir} cannot be read: ${(err as Error).message}`);
  }
  const files = names
    .filter((name) => /\.ya?ml$/i.test(name) && !name.startsWith('.'))
    .map((name) => join(dir, name))
    .filter(isFileOrUnreadable)
    .sort();
  return files.length > 0 ? { files } : { code: 'SFG_CONFIG_NOT_FOUND', error: `no device files (*.yaml) in ${dir}` };
}

/** A device file that cannot be examined (a symlink loop, no permission) stays, so its read failure is reported. */
function isFileOrUnreadable(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ENOENT';
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
