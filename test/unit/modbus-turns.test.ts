import { describe, expect, it } from 'vitest';
import { TurnQueue } from '../../src/adapters/modbus/turns.js';

const drain = <T>(q: TurnQueue<string, T>) => {
  const out: T[] = [];
  for (let item = q.next(); item !== undefined; item = q.next()) out.push(item);
  return out;
};

describe('TurnQueue', () => {
  it('serves owners in turn, whatever their queue length', () => {
    const q = new TurnQueue<string, string>();
    for (const x of ['a1', 'a2', 'a3', 'a4']) q.push('a', x);
    q.push('b', 'b1');
    q.push('c', 'c1');
    q.push('c', 'c2');
    expect(drain(q)).toEqual(['a1', 'b1', 'c1', 'a2', 'c2', 'a3', 'a4']);
  });

  it('puts an owner that comes back behind those already waiting', () => {
    const q = new TurnQueue<string, string>();
    q.push('a', 'a1');
    q.push('b', 'b1');
    expect(q.next()).toBe('a1');
    q.push('a', 'a2'); // a polls again right after its answer
    q.push('c', 'c1');
    expect(drain(q)).toEqual(['b1', 'a2', 'c1']);
  });

  it('hands back the queue of an owner that leaves', () => {
    const q = new TurnQueue<string, string>();
    q.push('a', 'a1');
    q.push('b', 'b1');
    q.push('a', 'a2');
    expect(q.remove('a')).toEqual(['a1', 'a2']);
    expect(q.remove('zz')).toEqual([]);
    expect(drain(q)).toEqual(['b1']);
  });
});
