import { describe, expect, it } from 'vitest';
import { formatTable, probeTable } from '../../src/cli/table.js';

describe('probe table', () => {
  it('aligns every column and leaves cells of failed reads empty', () => {
    const table = probeTable([
      { machine: 'PRESS01', signal: 'count', source: 'holding 0 uint32', raw: '[0, 1234]', value: 1234 },
      { machine: 'PRESS01', signal: 'param:temperature', source: 'input 0 float32 ×0.1', raw: '0x41bb3333', value: 2.3400000000000003 },
      { machine: 'PRESS01', signal: 'running', source: 'coil 0', raw: '1', value: true },
      { machine: 'PRESS02', signal: 'count', source: 'holding 20 uint16', error: 'Modbus exception 2: illegal data address' },
    ]);
    expect(table).toBe(
      [
        'MACHINE  SIGNAL             SOURCE                RAW         VALUE  ERROR',
        'PRESS01  count              holding 0 uint32      [0, 1234]   1234',
        'PRESS01  param:temperature  input 0 float32 ×0.1  0x41bb3333  2.34',
        'PRESS01  running            coil 0                1           true',
        'PRESS02  count              holding 20 uint16                        Modbus exception 2: illegal data address',
        '',
      ].join('\n'),
    );
  });

  it('never passes a control character from the field on to the terminal', () => {
    const hostile = 'A\u001b]0;PWNED\u0007\u001b[2J\u001b[31mFAKE: all OK\u001b[0m\u009b';
    const table = formatTable([{ value: hostile }]);
    expect(table).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
    expect(table).toContain('A\ufffd]0;PWNED\ufffd\ufffd[2J');
  });

  it('keeps a multi-line error on its row', () => {
    expect(formatTable([{ a: 'x', error: 'line one\n  line two' }])).toBe('A  ERROR\nx  line one line two\n');
  });
});
