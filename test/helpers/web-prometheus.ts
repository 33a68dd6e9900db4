/**
 * A strict reader of the Prometheus text exposition format (0.0.4): throws on any line that is
 * not HELP, TYPE, or `name{label="value",...} number`, on a sample whose family has no TYPE
 * before it, and on a family declared twice.
 */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
  /** The value of the one sample with exactly these labels, or undefined. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
// Prometheus parses numbers with Go's ParseFloat: Inf and NaN in any letter case (prom-client writes "Nan").
const VALUE = '[-+]?(?:\\d+(?:\\.\\d*)?(?:[eE][-+]?\\d+)?|\\.\\d+(?:[eE][-+]?\\d+)?|[Ii][Nn][Ff]|[Nn][Aa][Nn])';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (${VALUE})(?: -?\\d+)?$`);
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created'];

export function parseExposition(text: string): Exposition {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    const where = `line ${i + 1}: ${line}`;
    if (line === '') continue;
    const meta = new RegExp(`^# (HELP|TYPE) (${NAME})(?: (.*))?$`).exec(line);
    if (meta) {
      if (meta[1] === 'TYPE') {
        if (!/^(counter|gauge|histogram|summary|untyped)$/.test(meta[3] ?? '')) throw new Error(`bad TYPE, ${where}`);
        if (types.has(meta[2])) throw new Error(`family declared twice, ${where}`);
        types.set(meta[2], meta[3]!);
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample, ${where}`);
    const family = types.has(m[1]) ? m[1] : SUFFIXES.map((s) => m[1].replace(new RegExp(`${s}$`), '')).find((f) => types.has(f));
    if (!family) throw new Error(`sample without TYPE, ${where}`);
    samples.push({ name: m[1], labels: parseLabels(m[2] ?? '', where), value: toNumber(m[3]) });
  }
  return {
    types,
    samples,
    value(name, labels = {}) {
      const want = JSON.stringify(Object.entries(labels).sort());
      return samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
    },
  };
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  LABEL.lastIndex = 0;
  while (LABEL.lastIndex < text.length) {
    const m = LABEL.exec(text);
    if (!m) throw new Error(`bad labels, ${where}`);
    labels[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    if (m[3] === '') break;
  }
  return labels;
}

function toNumber(text: string): number {
  const lower = text.toLowerCase();
  if (lower.endsWith('nan')) return NaN;
  return lower.endsWith('inf') ? (lower.startsWith('-') ? -Infinity : Infinity) : Number(text);
}
