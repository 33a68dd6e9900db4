/** Plain-text tables for the CLI: aligned columns a technician can read over SSH. */
import type { ProbeRow } from '../adapters/types.js';
import type { SignalValue } from '../core/values.js';

/**
 * One line per row under an upper-case header, columns padded to their widest cell.
 * Columns are the keys of the rows, in first-seen order. Ends with a newline.
 */
export function formatTable(rows: readonly Record<string, unknown>[]): string {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const lines = [columns.map((c) => c.toUpperCase()), ...rows.map((r) => columns.map((c) => cell(r[c])))];
  const widths = columns.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  return `${lines
    .map((l) =>
      l
        .map((text, i) => text.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

/** The commissioning table of `probe`: what each signal's source gave and what it means. */
export function probeTable(rows: readonly ProbeRow[]): string {
  return formatTable(
    rows.map((r) => ({
      machine: r.machine,
      signal: r.signal,
      source: r.source,
      raw: r.raw ?? '',
      value: r.value === undefined ? '' : showValue(r.value),
      error: r.error ?? '',
    })),
  );
}

function showValue(v: SignalValue): string {
  // 23.400000000000002 (float32 times a scale) is 23.4 to anyone reading a display.
  return typeof v === 'number' && !Number.isInteger(v) ? String(Number(v.toPrecision(12))) : String(v);
}

function cell(v: unknown): string {
  const text = v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  // Values come from the field (an MQTT string, an MES reason): no control character may
  // reach the technician's terminal (escape sequences could fake or hide output).
  return text.replace(/\s*\n\s*/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f]/g, '\ufffd');
}
