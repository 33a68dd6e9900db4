import { describe, expect, it } from 'vitest';
import { basicAuthorization, parseToken } from '../../src/uplink/auth.js';
import { parseRetryAfter } from '../../src/uplink/mes-client.js';

describe('parseRetryAfter', () => {
  const now = Date.parse('2024-05-01T10:00:00Z');

  it('reads delay-seconds', () => {
    expect(parseRetryAfter('17', now)).toBe(17_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter(['5', '9'], now)).toBe(5000);
    // Absurd values stay numbers (the uploader cuts the pause to 15 min).
    expect(parseRetryAfter('99999', now)).toBe(99_999_000);
    expect(parseRetryAfter('9'.repeat(400), now)).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('reads an HTTP date, never below zero', () => {
    expect(parseRetryAfter('Wed, 01 May 2024 10:00:42 GMT', now)).toBe(42_000);
    expect(parseRetryAfter('Wed, 01 May 2024 09:59:00 GMT', now)).toBe(0);
  });

  it('takes 60 s when missing or unreadable', () => {
    expect(parseRetryAfter(undefined, now)).toBe(60_000);
    expect(parseRetryAfter('', now)).toBe(60_000);
    expect(parseRetryAfter('soon', now)).toBe(60_000);
    expect(parseRetryAfter('-5', now)).toBe(60_000);
    expect(parseRetryAfter('abc', now)).toBe(60_000);
    expect(parseRetryAfter('1.5', now)).toBe(60_000);
  });
});

describe('token helpers', () => {
  it('builds the Basic header from key and secret', () => {
    expect(basicAuthorization('Aladdin', 'open sesame')).toBe('Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==');
  });

  it('reads the token of an authorization answer, also the reference example with its trailing comma', () => {
    expect(parseToken('{"scopes":["productions_write"],"token":"abc123"}')).toBe('abc123');
    expect(
      parseToken(
        '{    "_links": {        "self": { "href": "/api/authorizations" },    },    "scopes": [        "productions_write"    ],    "token": "abc123"}',
      ),
    ).toBe('abc123');
    expect(parseToken('{"token":""}')).toBeUndefined();
    expect(parseToken('null')).toBeUndefined();
    expect(parseToken('<html>')).toBeUndefined();
  });
});
