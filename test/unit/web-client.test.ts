import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { clientAddress, viaHttps } from '../../src/web/client.js';

const request = (remoteAddress: string | undefined, headers: IncomingMessage['headers'] = {}) => ({ socket: { remoteAddress }, headers }) as IncomingMessage;

describe('who is asking', () => {
  it('is the peer, one name for an IPv4 client however the socket spells it', () => {
    expect(clientAddress(request('10.0.0.5'))).toBe('10.0.0.5');
    expect(clientAddress(request('::ffff:10.0.0.5'))).toBe('10.0.0.5');
    expect(clientAddress(request('FE80::1'))).toBe('fe80::1');
    expect(clientAddress(request(undefined))).toBe('');
  });

  it('is the last hop in X-Forwarded-For when a proxy on this host forwarded it', () => {
    expect(clientAddress(request('127.0.0.1', { 'x-forwarded-for': '203.0.113.7, 10.0.0.5' }))).toBe('10.0.0.5');
    expect(clientAddress(request('::1', { 'x-forwarded-for': '::ffff:10.0.0.6' }))).toBe('10.0.0.6');
    // Not an address: the proxy itself is charged.
    expect(clientAddress(request('127.0.0.1', { 'x-forwarded-for': 'unknown' }))).toBe('127.0.0.1');
  });

  it('ignores X-Forwarded-For from another machine, which could name anyone', () => {
    expect(clientAddress(request('10.0.0.5', { 'x-forwarded-for': '10.0.0.99' }))).toBe('10.0.0.5');
  });

  it('came over HTTPS only when a proxy on this host says so', () => {
    expect(viaHttps(request('127.0.0.1', { 'x-forwarded-proto': 'https' }))).toBe(true);
    expect(viaHttps(request('::1', { 'x-forwarded-proto': 'HTTPS, http' }))).toBe(true);
    expect(viaHttps(request('127.0.0.1', { 'x-forwarded-proto': 'http' }))).toBe(false);
    expect(viaHttps(request('127.0.0.1'))).toBe(false);
    expect(viaHttps(request('10.0.0.5', { 'x-forwarded-proto': 'https' }))).toBe(false);
  });
});
