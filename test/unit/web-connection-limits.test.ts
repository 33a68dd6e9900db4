import { describe, expect, it } from 'vitest';
import { ConnectionCounter } from '../../src/web/connection-limits.js';

describe('connection limits', () => {
  const admitMany = (c: ConnectionCounter, address: string, n: number) => Array.from({ length: n }, () => c.admit(address));

  it('lets one address hold perAddress sockets and refuses the next until one closes', () => {
    const c = new ConnectionCounter({ perAddress: 3, remoteTotal: 100 });
    expect(admitMany(c, '10.0.0.5', 4)).toEqual(['ok', 'ok', 'ok', 'per-address']);
    expect(c.admit('10.0.0.6')).toBe('ok');
    expect(c.release('10.0.0.5')).toBe(2);
    expect(c.admit('10.0.0.5')).toBe('ok');
  });

  it('caps all other machines together, but this host still gets in', () => {
    const c = new ConnectionCounter({ perAddress: 2, remoteTotal: 4 });
    for (const a of ['10.0.0.1', '10.0.0.2']) expect(admitMany(c, a, 2)).toEqual(['ok', 'ok']);
    expect(c.admit('10.0.0.3')).toBe('remote-total');
    for (const local of ['127.0.0.1', '::1', '127.0.0.2']) expect(admitMany(c, local, 2)).toEqual(['ok', 'ok']);
    // Loopback sockets do not use up the remote total.
    c.release('127.0.0.1');
    expect(c.admit('10.0.0.3')).toBe('remote-total');
    c.release('10.0.0.1');
    expect(c.admit('10.0.0.3')).toBe('ok');
  });

  it('a loopback address is limited like any other, so one local client cannot take all local room', () => {
    const c = new ConnectionCounter({ perAddress: 2, remoteTotal: 4 });
    expect(admitMany(c, '127.0.0.2', 3)).toEqual(['ok', 'ok', 'per-address']);
    expect(c.admit('127.0.0.1')).toBe('ok');
  });

  it('ignores a release for an address that holds nothing', () => {
    const c = new ConnectionCounter({ perAddress: 1, remoteTotal: 1 });
    expect(c.release('10.0.0.1')).toBe(0);
    expect(c.admit('10.0.0.2')).toBe('ok');
    expect(c.admit('10.0.0.3')).toBe('remote-total');
  });
});
