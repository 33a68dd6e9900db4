/** Gateway and device YAML written into a temporary folder, for the config loader tests. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { expect, onTestFinished } from 'vitest';
import { ConfigError, loadConfig, type ConfigProblem, type Env } from '../../src/config/load.js';
import { ownedTempDir } from './tmp.js';

export interface ConfigFixture {
  dir: string;
  gatewayFile: string;
  /** Absolute path of a file of the fixture, as error messages name it. */
  path(name: string): string;
}

/**
 * Strips the indentation common to all lines, so YAML can be written indented in a test.
 * Write `\${VAR}` for a literal `${VAR}`.
 */
export function yaml(strings: TemplateStringsArray, ...values: unknown[]): string {
  const text = strings.reduce((out, s, i) => out + s + (i < values.length ? String(values[i]) : ''), '').replace(/^\n/, '');
  const indent = Math.min(
    ...text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => l.match(/^ */)![0].length),
  );
  return text.replace(new RegExp(`^ {${indent}}`, 'gm'), '');
}

export const validDevice = yaml`
  device: press-plc-1
  protocol: modbus-tcp
  connection:
    host: 10.0.0.50
  machines:
    - code: PRESS01
      count: { area: holding, address: 0, type: uint32 }
`;

/**
 * `files` maps paths inside the folder to contents (or is a function of the folder, for a
 * gateway.yaml that names its devices folder); gateway.yaml defaults to a valid one.
 */
export function configFixture(files: Record<string, string> | ((dir: string) => Record<string, string>)): ConfigFixture {
  const { path: dir, remove } = ownedTempDir('sfg-config-');
  onTestFinished(remove);
  const all = {
    'gateway.yaml': yaml`
      prodsmart:
        auth:
          apiKey: key
          apiSecret: secret
      devices: ${join(dir, 'devices')}
    `,
    ...(typeof files === 'function' ? files(dir) : files),
  };
  mkdirSync(join(dir, 'devices'), { recursive: true });
  for (const [name, text] of Object.entries(all)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    // Owner only, as a file with a secret in clear should be (else validate warns).
    writeFileSync(join(dir, name), text, { mode: 0o600 });
  }
  return { dir, gatewayFile: join(dir, 'gateway.yaml'), path: (name) => join(dir, name) };
}

/** The ConfigError loadConfig throws for the fixture (fails the test if it loads). */
export function configError(f: ConfigFixture, env: Env = {}): ConfigError {
  try {
    loadConfig(f.gatewayFile, { env });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected the configuration to be rejected');
}

export function problems(f: ConfigFixture, env: Env = {}): ConfigProblem[] {
  return configError(f, env).problems;
}
