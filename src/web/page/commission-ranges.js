// A register scan's answer summarised as the technician reads it: the runs of addresses that
// answered ("0–9, 20–29"), and likewise those refused or silent. Pure: no DOM, unit-tested in
// test/unit/commission-page.test.ts.

/** Addresses → `[{ from, to }]` runs of consecutive ones. */
function runs(addresses) {
  const sorted = [...addresses].sort((a, b) => a - b);
  const out = [];
  for (const a of sorted) {
    const last = out.at(-1);
    if (last && a <= last.to + 1) last.to = Math.max(last.to, a);
    else out.push({ from: a, to: a });
  }
  return out;
}

/** The runs of a scan's results that answered with a value, with an exception, or not at all. */
export function scanRanges(results) {
  return {
    answering: runs(results.filter((r) => r.value !== undefined).map((r) => r.address)),
    exception: runs(results.filter((r) => r.exception !== undefined).map((r) => r.address)),
    timeout: runs(results.filter((r) => r.timeout).map((r) => r.address)),
  };
}

/** `[{0,9},{20,20}]` → "0–9, 20". */
export const rangeText = (ranges) => ranges.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}–${r.to}`)).join(', ');
