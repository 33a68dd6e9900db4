/**
 * Secrets in the configuration: never in a URL (that is logged and shown on the status
 * page), never echoed by an error, and a file holding one in clear must be the owner's only.
 */
import { chmodSync, statSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main as validate } from '../../src/cli/validate.js';
import { readableSecretWarnings } from '../../src/config/clear-secrets.js';
import { loadConfig } from '../../src/config/load.js';
import { captureOutput, restoreOutputAfterEach } from '../helpers/capture-output.js';
import { configError, configFixture, problems, validDevice, yaml } from '../helpers/config-fixture.js';

restoreOutputAfterEach();

const gatewayWith = (baseUrl: string) => (dir: string) => ({
  'gateway.yaml': yaml`
    prodsmart:
      baseUrl: "${baseUrl}"
      auth:
        apiKey: \${KEY}
        apiSecret: \${SECRET}
    devices: ${dir}/devices
  `,
  'devices/press.yaml': validDevice,
});
const env = { KEY: 'k', SECRET: 's' };

describe('credentials in URLs', () => {
  it('refuses key:secret@ in prodsmart.baseUrl, saying where they belong, without showing them', async () => {
    const f = configFixture(gatewayWith('https://KEY123:SECRET456@app.prodsmart.com'));
    expect(problems(f, env)).toEqual([
      {
        code: 'SFG_CONFIG_SCHEMA',
        file: f.gatewayFile,
        line: 2,
        column: 12,
        path: 'prodsmart.baseUrl',
        message: 'no key:secret@ in the URL: put them in auth.apiKey and auth.apiSecret, as ${ENV}',
      },
    ]);
    const io = captureOutput();
    process.env.KEY = 'k';
    process.env.SECRET = 's';
    try {
      expect(await validate(['--config', f.gatewayFile])).toBe(1);
    } finally {
      delete process.env.KEY;
      delete process.env.SECRET;
    }
    expect(io.stderr()).toContain('prodsmart.baseUrl');
    expect(io.stdout() + io.stderr()).not.toMatch(/KEY123|SECRET456/);
  });

  it('does not echo the credentials of a URL that is not valid either', () => {
    const f = configFixture(gatewayWith('https://KEY123:SEC/RET456@app prodsmart.com'));
    const message = configError(f, env).message;
    expect(message).toContain('prodsmart.baseUrl  expected an http(s) URL, got "https://app prodsmart.com"');
    expect(message).not.toMatch(/KEY123|SEC|RET456/);
  });

  it('refuses user:password@ in an OPC UA endpoint URL', () => {
    const f = configFixture({
      'devices/line.yaml': yaml`
        device: line
        protocol: opcua
        connection: { endpointUrl: "opc.tcp://op:Pw0rd@10.0.0.60:4840" }
        machines:
          - code: LINE1
            count: { nodeId: ns=3;s=Counter }
      `,
    });
    const message = configError(f).message;
    expect(message).toContain('connection.endpointUrl  no user:password@ in the URL: set username and password, the password as ${ENV}');
    expect(message).not.toContain('Pw0rd');
  });
});

describe('a secret written in clear in a file others can read', () => {
  const warning = (file: string, keys: string) => ({
    event: 'config.secret_readable',
    file,
    message: `${file}: holds a secret in clear (${keys}) and is readable by other users; run: chmod 600 ${file}`,
  });

  it('is a warning naming the file, the keys and the chmod that fixes it, in loadConfig and validate', async () => {
    const f = configFixture({ 'devices/press.yaml': validDevice });
    chmodSync(f.gatewayFile, 0o644);
    expect(loadConfig(f.gatewayFile, { env: {} }).warnings).toEqual([warning(f.gatewayFile, 'prodsmart.auth.apiKey, prodsmart.auth.apiSecret')]);
    const io = captureOutput();
    expect(await validate(['--config', f.gatewayFile])).toBe(0);
    expect(io.stdout()).toContain(`WARN  ${warning(f.gatewayFile, 'prodsmart.auth.apiKey, prodsmart.auth.apiSecret').message}\n`);
  });

  it('also in a device file, for a device password', () => {
    const f = configFixture({
      'devices/line.yaml': yaml`
        device: line
        protocol: opcua
        connection: { endpointUrl: "opc.tcp://10.0.0.60:4840", username: op, password: "*Pw0rd" }
        machines:
          - code: LINE1
            count: { nodeId: ns=3;s=Counter }
      `,
    });
    chmodSync(f.path('devices/line.yaml'), 0o604);
    const warnings = loadConfig(f.gatewayFile, { env: {} }).warnings;
    expect(warnings).toEqual([warning(f.path('devices/line.yaml'), 'connection.password')]);
    expect(JSON.stringify(warnings)).not.toContain('Pw0rd');
  });

  it("counts a group as other users unless it is the gateway's own, and keeps the group's read when the gateway does not own the file", () => {
    const f = configFixture({ 'devices/press.yaml': validDevice });
    const file = f.gatewayFile;
    const { uid, gid } = statSync(file);
    const secrets = [{ file, secrets: ['prodsmart.auth.apiSecret'] }];
    chmodSync(file, 0o640);
    // install.sh: root:<service group> 0640, read by the service user through its group.
    expect(readableSecretWarnings(secrets, { uid: uid + 1, gid })).toEqual([]);
    expect(readableSecretWarnings(secrets, { uid, gid: gid + 1 })).toEqual([warning(file, 'prodsmart.auth.apiSecret')]);
    chmodSync(file, 0o644);
    expect(readableSecretWarnings(secrets, { uid: uid + 1, gid })).toEqual([
      {
        ...warning(file, 'prodsmart.auth.apiSecret'),
        message: `${file}: holds a secret in clear (prodsmart.auth.apiSecret) and is readable by other users; run: chmod 640 ${file}`,
      },
    ]);
  });

  it("is no warning once the file is the owner's only, or when the secret is an ${ENV} reference", () => {
    const owner = configFixture({ 'devices/press.yaml': validDevice });
    chmodSync(owner.gatewayFile, 0o600);
    expect(loadConfig(owner.gatewayFile, { env: {} }).warnings).toEqual([]);

    const referenced = configFixture(gatewayWith('https://app.prodsmart.com'));
    chmodSync(referenced.gatewayFile, 0o644);
    expect(loadConfig(referenced.gatewayFile, { env }).warnings).toEqual([]);
  });
});
