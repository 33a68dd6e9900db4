// The device YAML the commissioning page writes: a new device file whole, or one machine
// inserted into an existing file's text (so the technician's comments and layout stay).
// Pure: no DOM, unit-tested in test/unit/commission-page.test.ts.

/** A plain scalar YAML reads back as the same string; anything else is written as JSON (valid YAML). */
const PLAIN = /^[A-Za-z_./][A-Za-z0-9_./ -]*$/;
const RESERVED = /^(true|false|yes|no|on|off|null|y|n|~)$/i;

function scalar(v) {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  const s = String(v);
  return PLAIN.test(s) && !RESERVED.test(s) && s.trim() === s ? s : JSON.stringify(s);
}

const key = (k) => scalar(String(k));

/** `{ area: holding, address: 0, type: uint32 }`: one source on one line, as the demo files write them. */
function flow(obj) {
  const parts = Object.entries(obj)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${key(k)}: ${v !== null && typeof v === 'object' ? flow(v) : scalar(v)}`);
  return `{ ${parts.join(', ')} }`;
}

/** The lines of one machine, as a list item indented by `indent` spaces. */
function machineLines(m, indent) {
  const pad = ' '.repeat(indent);
  const inner = `${pad}  `;
  const lines = [`${pad}- code: ${scalar(m.code)}`];
  if (m.count) lines.push(`${inner}count: ${flow(m.count)}`);
  if (m.waste?.length) {
    lines.push(`${inner}waste:`);
    for (const w of m.waste) lines.push(`${inner}  - code: ${scalar(w.code)}`, `${inner}    source: ${flow(w.source)}`);
  }
  if (m.running) lines.push(`${inner}running: ${flow(m.running)}`);
  if (m.stopReason) {
    lines.push(`${inner}stopReason:`, `${inner}  source: ${flow(m.stopReason.source)}`);
    if (Object.keys(m.stopReason.map ?? {}).length) lines.push(`${inner}  map: ${flow(m.stopReason.map)}`);
    if (m.stopReason.default) lines.push(`${inner}  default: ${scalar(m.stopReason.default)}`);
  }
  if (m.downtimeType) lines.push(`${inner}downtimeType: ${scalar(m.downtimeType)}`);
  if (m.parameters?.length) {
    lines.push(`${inner}parameters:`);
    for (const p of m.parameters) {
      lines.push(`${inner}  - code: ${scalar(p.code)}`, `${inner}    source: ${flow(p.source)}`);
      if (p.deadband) lines.push(`${inner}    deadband: ${scalar(p.deadband)}`);
    }
  }
  return lines;
}

/** A whole device file for a device the page created. */
export function deviceYaml(d) {
  const lines = [`device: ${scalar(d.device)}`, `protocol: ${d.protocol}`, 'connection:'];
  for (const [k, v] of Object.entries(d.connection)) if (v !== undefined && v !== '') lines.push(`  ${key(k)}: ${scalar(v)}`);
  if (d.pollIntervalMs) lines.push(`pollIntervalMs: ${d.pollIntervalMs}`);
  lines.push('machines:');
  for (const m of d.machines) lines.push(...machineLines(m, 2));
  return `${lines.join('\n')}\n`;
}

/**
 * `text` with machine `m` added as the first item of its top-level `machines:` list, indented
 * like the items already there. Without a block `machines:` list the machine is appended under
 * a new one, and the validation shows what that makes of the file.
 */
export function insertMachine(text, m) {
  const lines = text.replace(/\n$/, '').split('\n');
  const at = lines.findIndex((l) => /^machines:\s*(#.*)?$/.test(l));
  if (at < 0) return `${[...lines, 'machines:', ...machineLines(m, 2)].join('\n')}\n`;
  const item = lines.slice(at + 1).find((l) => /^\s*-\s/.test(l));
  const indent = item ? item.indexOf('-') : 2;
  lines.splice(at + 1, 0, ...machineLines(m, indent));
  return `${lines.join('\n')}\n`;
}
