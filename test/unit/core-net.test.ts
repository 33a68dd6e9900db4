import { describe, expect, it } from 'vitest';
import { formatUrl, isLoopback, isLoopbackHostHeader, parseListen } from '../../src/core/net.js';

describe('web.listen', () => {
  it('parses host:port and [v6]:port', () => {
    expect(parseListen('127.0.0.1:8080')).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(parseListen('[::1]:9')).toEqual({ host: '::1', port: 9 });
    expect(parseListen('localhost:0')).toEqual({ host: 'localhost', port: 0 });
    expect(parseListen('gateway.local:80')).toEqual({ host: 'gateway.local', port: 80 });
  });

  it.each(['8080', '::1:8080', '[nope]:80', '127.0.0.1:70000', '127.0.0.1:', ''])('rejects %j', (listen) => {
    expect(() => parseListen(listen)).toThrow(/web\.listen/);
  });

  it.each(['127.0.0.1', '127.8.9.10', 'localhost', 'LocalHost', '::1', '::ffff:127.0.0.1'])('%s is loopback', (host) => {
    expect(isLoopback(host)).toBe(true);
  });

  it.each(['0.0.0.0', '::', '10.0.0.5', '::ffff:10.0.0.5', 'gateway.local', '128.0.0.1'])('%s is not loopback', (host) => {
    expect(isLoopback(host)).toBe(false);
  });

  it.each(['127.0.0.1:8080', '127.0.0.1', '127.9.8.7:80', 'localhost:8080', 'LOCALHOST', '[::1]:8080', '[::1]', '[0:0:0:0:0:0:0:1]:1'])(
    'Host %s names a loopback address',
    (host) => {
      expect(isLoopbackHostHeader(host)).toBe(true);
    },
  );

  it.each([
    undefined,
    '',
    'attacker.test:8080',
    'localhost.attacker.test',
    '127.0.0.1.attacker.test:8080',
    'localhost.:8080',
    '127.0.0.1.',
    '10.0.0.5:8080',
    '0.0.0.0:8080',
    '::1',
    '[::]:8080',
    '[localhost]:8080',
    '127.0.0.1:8080:9',
    '127.0.0.1:8080@attacker.test',
    'localhost :8080',
  ])('Host %j does not', (host) => {
    expect(isLoopbackHostHeader(host)).toBe(false);
  });

  it('formats URLs with brackets for IPv6', () => {
    expect(formatUrl('::1', 8080)).toBe('http://[::1]:8080/');
    expect(formatUrl('127.0.0.1', 8080)).toBe('http://127.0.0.1:8080/');
  });
});
