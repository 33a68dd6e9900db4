/**
 * The gateway's logger never writes a secret: by key, at any depth of what is logged, in
 * arrays and in errors, without touching the caller's object; other fields are written as given.
 */
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/core/log.js';

function logged(write: (logger: ReturnType<typeof createLogger>) => void): { text: string; line: Record<string, unknown> } {
  const lines: string[] = [];
  write(createLogger('info', { write: (l: string) => lines.push(l) }));
  expect(lines).toHaveLength(1);
  return { text: lines[0], line: JSON.parse(lines[0]) as Record<string, unknown> };
}

describe('logger', () => {
  it('censors secrets by key at any depth, in arrays too', () => {
    const fields = {
      password: 'pw-top',
      auth: { apiKey: 'key-1', apiSecret: 'secret-1' },
      config: { prodsmart: { auth: { apiSecret: 'secret-deep', accessToken: 'token-deep' } } },
      request: { headers: { authorization: 'Basic abc', accept: 'application/json' } },
      brokers: [{ url: 'mqtts://b1', password: 'pw-in-array' }],
    };
    const { text, line } = logged((log) => log.info(fields, 'connected'));
    for (const secret of ['pw-top', 'key-1', 'secret-1', 'secret-deep', 'token-deep', 'Basic abc', 'pw-in-array']) expect(text).not.toContain(secret);
    expect(line).toMatchObject({
      msg: 'connected',
      password: '[redacted]',
      auth: { apiKey: '[redacted]', apiSecret: '[redacted]' },
      config: { prodsmart: { auth: { apiSecret: '[redacted]', accessToken: '[redacted]' } } },
      request: { headers: { authorization: '[redacted]', accept: 'application/json' } },
      brokers: [{ url: 'mqtts://b1', password: '[redacted]' }],
    });
    // The caller's object is its own still.
    expect(fields.config.prodsmart.auth.apiSecret).toBe('secret-deep');
    expect(fields.brokers[0].password).toBe('pw-in-array');
  });

  it('censors a secret an error carries and keeps its message', () => {
    const err = Object.assign(new Error('login refused'), { code: 'E_AUTH', options: { token: 'tok-in-error' } });
    const { text, line } = logged((log) => log.warn({ err, event: 'x.failed' }, 'failed'));
    expect(text).not.toContain('tok-in-error');
    expect(line).toMatchObject({ event: 'x.failed', err: { message: 'login refused', code: 'E_AUTH', options: { token: '[redacted]' } } });
  });

  it("censors a secret key among a child logger's bindings", () => {
    const { text, line } = logged((log) => log.child({ device: 'broker1', token: 'tok-bound' }).info('connected'));
    expect(text).not.toContain('tok-bound');
    expect(line).toMatchObject({ device: 'broker1', token: '[redacted]' });
  });

  it('writes a line without secrets as given', () => {
    const { line } = logged((log) => log.info({ event: 'poll.done', device: 'plc1', values: [1, 2], nested: { a: { b: { c: 'd' } } } }, 'ok'));
    expect(line).toMatchObject({ event: 'poll.done', device: 'plc1', values: [1, 2], nested: { a: { b: { c: 'd' } } }, service: 'shopfloor-gateway' });
  });
});
