// What the commissioning page works out from scan and read results: the ranges that answer,
// which decodings match the value the HMI shows, the JSON paths of an MQTT payload, Modbus
// address notation. Pure: no DOM, unit-tested in test/unit/commission-page.test.ts.

/** A register scan's results → the addresses that answered, as `[{ from, to }]` runs. */
export function answeringRanges(results) {
  const addresses = results
    .filter((r) => r.value !== undefined && r.exception === undefined && !r.timeout)
    .map((r) => r.address)
    .sort((a, b) => a - b);
  const ranges = [];
  for (const a of addresses) {
    const last = ranges.at(-1);
    if (last && a <= last.to + 1) last.to = Math.max(last.to, a);
    else ranges.push({ from: a, to: a });
  }
  return ranges;
}

/**
 * What a technician typed from the HMI: "12,5", "12.5", "1 234", "-3". Decimals says how
 * exactly the HMI shows it, so a float32 of 12.4999 still matches "12.5".
 */
export function parseHmi(text) {
  const s = String(text)
    .trim()
    .replace(/[\s\u00a0\u202f]/g, '')
    .replace(',', '.');
  if (!/^[+-]?(\d+\.?\d*|\.\d+)$/.test(s)) return undefined;
  const dot = s.indexOf('.');
  return { value: Number(s), decimals: dot < 0 ? 0 : s.length - dot - 1 };
}

/** Scales tried on whole-number decodings: PLCs keep 23.5 °C as 235 more often than as a float. */
const SCALES = [1, 0.1, 0.01, 0.001];

/**
 * The scale at which `decoded` shows as `hmi` on a display of hmi.decimals decimals, or
 * undefined. Floats are compared as they are; whole numbers also at the usual scales.
 */
export function hmiMatch(decoded, hmi) {
  if (typeof decoded !== 'number' || !Number.isFinite(decoded) || !hmi) return undefined;
  const tolerance = 0.5 * 10 ** -hmi.decimals + 1e-9 * Math.abs(hmi.value);
  const scales = Number.isInteger(decoded) ? SCALES : [1];
  return scales.find((scale) => Math.abs(Number((decoded * scale).toFixed(9)) - hmi.value) <= tolerance);
}

/** Every scalar in a JSON payload with the `path` the MQTT source takes (keys and indices joined by dots). */
export function jsonPaths(value, prefix = '') {
  if (value === null || typeof value !== 'object') return prefix ? [{ path: prefix, value }] : [];
  return Object.entries(value).flatMap(([k, v]) => jsonPaths(v, prefix ? `${prefix}.${k}` : k));
}

const NOTATION_DIGIT = { coil: 0, discrete: 1, input: 3, holding: 4 };

/**
 * The 1-based name an HMI or PLC manual uses for a 0-based protocol address: 40001 for
 * holding 0, 30001 input, 10001 discrete, 00001 coil; six digits (400001…) past 9998.
 */
export function modiconAddress(area, address) {
  const width = address < 9999 ? 4 : 5;
  return `${NOTATION_DIGIT[area]}${String(address + 1).padStart(width, '0')}`;
}

/**
 * What a run of samples of one decoding suggests: 'counter' when it rose and never fell,
 * 'runstop' when it flipped between 0 and 1 (or false and true). Three samples at least.
 */
export function sampleTrend(values) {
  const seen = values.filter((v) => typeof v === 'number' || typeof v === 'boolean').map(Number);
  if (seen.length < 3) return undefined;
  const steps = seen.slice(1).map((v, i) => v - seen[i]);
  if (seen.every((v) => v === 0 || v === 1) && steps.some((s) => s !== 0)) return 'runstop';
  if (steps.every((s) => s >= 0) && steps.some((s) => s > 0)) return 'counter';
  return undefined;
}
