/** The gateway's errors: a stable code to switch on, the cause kept, the class named in logs. */
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { errorCode, GatewayError } from '../../src/core/errors.js';
import { StorageOpenError } from '../../src/outbox/integrity.js';

describe('GatewayError', () => {
  it('carries its code and cause, and is named after its class', () => {
    const cause = Object.assign(new Error('SQLITE_BUSY: database is locked'), { code: 'SQLITE_BUSY' });
    const err = new StorageOpenError('SFG_STORAGE_LOCKED', 'another gateway is running on the database', { cause });
    expect(err).toBeInstanceOf(GatewayError);
    expect(err).toMatchObject({ name: 'StorageOpenError', code: 'SFG_STORAGE_LOCKED', message: 'another gateway is running on the database', cause });
    expect(String(err)).toBe('StorageOpenError: another gateway is running on the database');
  });

  it('gives a configuration error one code and each problem its own', () => {
    const err = new ConfigError([{ code: 'SFG_CONFIG_NOT_FOUND', file: 'gateway.yaml', line: 0, column: 0, path: '', message: 'file not found' }]);
    expect(err).toMatchObject({ name: 'ConfigError', code: 'SFG_CONFIG_INVALID', message: 'gateway.yaml  file not found' });
  });
});

describe('errorCode', () => {
  it("reads the code of ours, undici's and Node's errors, and nothing else", () => {
    expect(errorCode(new GatewayError('SFG_USAGE', 'x'))).toBe('SFG_USAGE');
    expect(errorCode(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('ECONNREFUSED');
    for (const other of [new Error('plain'), 'text', null, undefined, { code: 5 }, { code: '' }]) expect(errorCode(other)).toBeUndefined();
  });
});
