/**
 * The acceptance report of a commissioned device: the checklist's result as the page sends
 * it, kept as `<commission>/reports/<device>.json`, and a printable HTML page of it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as z from 'zod';
import { writeFileAtomic } from './atomic-write.js';

export const reportRequest = z.strictObject({
  device: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a device id'),
  checklist: z
    .array(
      z.strictObject({
        /** What was checked, e.g. "start the machine: running within 10 s". */
        item: z.string().min(1).max(500),
        ok: z.boolean(),
        /** What was seen, e.g. "count 120 → 130". */
        detail: z.string().max(2000).optional(),
      }),
    )
    .min(1)
    .max(100),
  /** Who signed it off, as typed. */
  by: z.string().max(200).optional(),
});

type ReportRequest = z.output<typeof reportRequest>;

export interface StoredReport extends ReportRequest {
  savedAt: string;
  /** The commissioning session that sent it (its tag). */
  session: string;
}

export class Reports {
  constructor(private readonly dir: string) {}

  save(report: StoredReport): void {
    writeFileAtomic(join(this.dir, `${report.device}.json`), `${JSON.stringify(report, null, 2)}\n`, 0o600);
  }

  /** The stored report of `device` (an id that passed reportRequest's rule), or undefined. */
  read(device: string): StoredReport | undefined {
    if (!/^[A-Za-z0-9_.-]+$/.test(device) || device.startsWith('.')) return undefined;
    try {
      return JSON.parse(readFileSync(join(this.dir, `${device}.json`), 'utf8')) as StoredReport;
    } catch {
      return undefined;
    }
  }
}

export function reportHtml(r: StoredReport): string {
  const passed = r.checklist.every((c) => c.ok);
  const rows = r.checklist
    .map(
      (c) => `<tr><td>${escapeHtml(c.item)}</td><td class="${c.ok ? 'ok' : 'fail'}">${c.ok ? 'OK' : 'FAILED'}</td><td>${escapeHtml(c.detail ?? '')}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Commissioning report — ${escapeHtml(r.device)}</title>
<link rel="stylesheet" href="/style.css">
</head>
<body class="report">
<h1>Commissioning report: ${escapeHtml(r.device)}</h1>
<p>Saved ${escapeHtml(r.savedAt)}${r.by ? ` by ${escapeHtml(r.by)}` : ''} · session ${escapeHtml(r.session)} · result: <strong>${passed ? 'accepted' : 'NOT accepted'}</strong></p>
<table>
<thead><tr><th>check</th><th>result</th><th>seen</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
