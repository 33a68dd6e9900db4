// Modbus discovery: the unit scan of a bus, the register scan of an area, and one register
// (or pair, or quad) decoded every way at once, the decodings that match the HMI lit up.
import { h } from './dom.js';
import { post } from './commission-api.js';
import { number, onLanguageChange, t } from './i18n.js';
import { attr, errorText, L, msg, say } from './commission-text.js';
import { jobBar, runJob } from './commission-jobs.js';
import { rangeText, scanRanges } from './commission-ranges.js';

const AREAS = ['holding', 'input', 'coil', 'discrete'];
const num = (name, value, attrs = {}) => h('input', { name, type: 'number', value, min: 0, ...attrs });
const areaSelect = () => h('select', { name: 'area' }, ...AREAS.map((a) => h('option', { value: a }, a)));

export function unitScanPanel(state) {
  const from = num('from', 1, { min: 1, max: 247 });
  const to = num('to', 247, { min: 1, max: 247 });
  const bar = jobBar();
  const found = h('ul', { class: 'chips', 'data-field': 'units' });
  const message = h('p', { class: 'action-message', role: 'status' });
  const start = h('button', { type: 'button', 'data-action': 'scan-units' }, L('commission.units.scan'));
  start.addEventListener('click', async () => {
    start.disabled = true;
    found.replaceChildren();
    say(message, msg('commission.units.pausesBus'));
    try {
      const job = await runJob(bar, 'modbus.units', { device: state.device.ref, from: Number(from.value), to: Number(to.value) }, (j) => {
        const present = j.results.filter((r) => r.present);
        found.replaceChildren(
          ...present.map((r) =>
            h(
              'li',
              { 'data-unit': r.unitId },
              h('button', { type: 'button', class: 'chip', 'data-action': 'use-unit' }, `${t('commission.units.unit')} ${r.unitId}`),
              r.exception !== undefined ? ` ${t('commission.units.exception', { code: r.exception })}` : '',
              r.rttMs !== undefined ? ` · ${number(r.rttMs)} ms` : '',
            ),
          ),
        );
      });
      const present = job.results.filter((r) => r.present).map((r) => r.unitId);
      say(message, job.error ? errorText(job.error) : present.length ? t('commission.units.found', { units: present.join(', ') }) : t('commission.units.none'));
    } catch (err) {
      say(message, errorText(err));
    } finally {
      start.disabled = false;
    }
  });
  found.addEventListener('click', (e) => {
    const li = e.target.closest('[data-unit]');
    if (li) state.setUnit(Number(li.dataset.unit));
  });
  return h(
    'article',
    { class: 'card commission-step', 'data-step': 'units', 'data-protocols': 'modbus-rtu modbus-rtu-over-tcp' },
    h('h3', {}, L('commission.units.title')),
    h('p', { class: 'muted' }, L('commission.units.help')),
    h('div', { class: 'form-grid' }, h('label', {}, L('commission.units.from'), from), h('label', {}, L('commission.units.to'), to)),
    start,
    bar,
    message,
    found,
  );
}

export function registerScanPanel(state) {
  const area = areaSelect();
  const unit = num('unitId', 1, { max: 255, 'data-field': 'scan-unit' });
  const from = num('from', 0, { max: 65535 });
  const to = num('to', 199, { max: 65535 });
  const bar = jobBar();
  const summary = h('div', { class: 'scan-summary', 'data-field': 'scan-summary' });
  const rows = h('tbody', { 'data-field': 'scan-rows' });
  const message = h('p', { class: 'action-message', role: 'status' });
  const start = h('button', { type: 'button', 'data-action': 'scan-registers' }, L('commission.registers.scan'));
  state.onUnit((u) => {
    unit.value = u;
  });

  let shown = null;
  // Numbers and words in the rows follow a language switch.
  onLanguageChange(() => shown && show(shown));

  function show(job) {
    shown = job;
    const results = [...job.results].sort((a, b) => a.address - b.address);
    const ranges = scanRanges(results);
    const line = (key, field, list) => h('p', {}, h('strong', {}, L(key)), ' ', h('span', { 'data-field': field }, rangeText(list) || '—'));
    summary.replaceChildren(
      line('commission.registers.answering', 'answering-ranges', ranges.answering),
      ...(ranges.exception.length ? [line('commission.registers.exceptions', 'exception-ranges', ranges.exception)] : []),
      ...(ranges.timeout.length ? [line('commission.registers.timeouts', 'timeout-ranges', ranges.timeout)] : []),
    );
    rows.replaceChildren(
      ...results.map((r) =>
        h(
          'tr',
          { 'data-address': r.address, class: r.value !== undefined ? 'answers' : 'silent' },
          h('td', { class: 'num' }, r.address),
          h(
            'td',
            { class: 'num' },
            r.value !== undefined
              ? String(r.value)
              : r.exception !== undefined
                ? t('commission.registers.exception', { code: r.exception })
                : t('commission.registers.timeout'),
          ),
          h(
            'td',
            {},
            r.value !== undefined ? h('button', { type: 'button', class: 'small', 'data-action': 'decode' }, L('commission.registers.decode')) : undefined,
          ),
        ),
      ),
    );
  }

  start.addEventListener('click', async () => {
    start.disabled = true;
    say(message, '');
    const params = { device: state.device.ref, unitId: Number(unit.value), area: area.value, from: Number(from.value), to: Number(to.value) };
    try {
      const job = await runJob(bar, 'modbus.registers', params, show);
      if (job.error) say(message, errorText(job.error));
    } catch (err) {
      say(message, errorText(err));
    } finally {
      start.disabled = false;
    }
  });
  rows.addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-address]');
    if (tr && e.target.closest('[data-action="decode"]')) state.decode({ unitId: Number(unit.value), area: area.value, address: Number(tr.dataset.address) });
  });

  return h(
    'article',
    { class: 'card commission-step wide', 'data-step': 'registers', 'data-protocols': 'modbus-tcp modbus-rtu modbus-rtu-over-tcp' },
    h('h3', {}, L('commission.registers.title')),
    h('p', { class: 'muted' }, L('commission.registers.help')),
    h(
      'div',
      { class: 'form-grid' },
      h('label', {}, L('commission.registers.area'), area),
      h('label', {}, 'unitId', unit),
      h('label', {}, L('commission.registers.from'), from),
      h('label', {}, L('commission.registers.to'), to),
    ),
    start,
    bar,
    message,
    summary,
    h(
      'div',
      { class: 'table-scroll scan-table' },
      h(
        'table',
        { class: 'data' },
        h(
          'thead',
          {},
          h('tr', {}, h('th', { class: 'num' }, L('commission.registers.address')), h('th', { class: 'num' }, L('commission.registers.value')), h('th', {})),
        ),
        rows,
      ),
    ),
  );
}

/** Reads per decode, this far apart: enough to see a counter rise or a bit toggle on a running machine. */
const SAMPLES = { samples: 5, intervalMs: 400 };
/** Typing the HMI value asks again with fewer reads, so the matches light up quickly. */
const HMI_SAMPLES = { samples: 1 };
const HMI_DEBOUNCE_MS = 300;

export function decodePanel(state) {
  const area = areaSelect();
  const unit = num('unitId', 1, { max: 255 });
  const address = num('address', 0, { max: 65535 });
  const count = h('select', { name: 'count' }, ...[1, 2, 4].map((n) => h('option', { value: n }, String(n))));
  count.value = '2';
  const hmi = h('input', { name: 'hmi', type: 'text', inputmode: 'decimal', 'data-field': 'hmi', ...attr('placeholder', 'commission.decode.hmiPlaceholder') });
  const where = h('p', { class: 'muted', 'data-field': 'decode-where' });
  const rows = h('tbody', { 'data-field': 'decode-rows' });
  const bits = h('ul', { class: 'chips bits', 'data-field': 'decode-bits' });
  const message = h('p', { class: 'action-message', role: 'status' });
  const read = h('button', { type: 'button', 'data-action': 'read' }, L('commission.decode.read'));
  /** The last answer, and what the sampled read said was a counter (kept while only the HMI value changes). */
  let last = null;
  let likely = new Set();
  let typing = null;

  const query = () => ({ unitId: Number(unit.value), area: area.value, address: Number(address.value), count: Number(count.value) });

  async function readNow(sampling) {
    const q = query();
    read.disabled = true;
    try {
      const hmiText = hmi.value.trim();
      const r = await post('modbus/read', { device: state.device.ref, ...q, ...sampling, ...(hmiText ? { hmi: hmiText } : {}) });
      if (r.exception !== undefined || r.timeout) {
        say(message, r.exception !== undefined ? msg('commission.registers.exception', { code: r.exception }) : msg('commission.registers.timeout'));
        return;
      }
      last = r;
      if (r.samples > 1) likely = new Set(r.decodings.filter((d) => d.likelyCounter).map(key));
      say(message, '');
      show();
    } catch (err) {
      say(message, errorText(err));
    } finally {
      read.disabled = false;
    }
  }

  const key = (d) => `${d.source.type}/${d.order}`;
  onLanguageChange(() => last && show());

  function show() {
    where.replaceChildren(`${last.area} ${last.address} (${last.notation}) · `, L('commission.decode.words'), ` ${last.registers.map((r) => r.raw).join(' ')}`);
    rows.replaceChildren(
      ...last.decodings.map((d, i) =>
        h(
          'tr',
          { 'data-decoding': key(d), 'data-match': d.matchesHmi ? 'true' : undefined, 'data-likely': likely.has(key(d)) ? 'counter' : undefined },
          h('th', {}, d.source.type),
          h('td', {}, h('code', {}, d.order)),
          h('td', { class: 'num', 'data-field': 'decoded' }, d.value !== undefined ? number(d.value) : (d.error ?? '—')),
          h(
            'td',
            {},
            d.matchesHmi && d.source.scale !== undefined ? h('span', { class: 'tag' }, `scale ${d.source.scale}`) : undefined,
            likely.has(key(d)) ? h('span', { class: 'tag counter' }, L('commission.decode.likely.counter')) : undefined,
          ),
          h(
            'td',
            {},
            d.value !== undefined
              ? h('button', { type: 'button', class: 'small', 'data-action': 'use', 'data-index': i }, L('commission.decode.use'))
              : undefined,
          ),
        ),
      ),
    );
    bits.replaceChildren(
      ...last.bits.map((b, i) =>
        h(
          'li',
          { 'data-bit': `${b.address}${b.bit !== undefined ? `.${b.bit}` : ''}`, 'data-likely': b.likelyRunStop ? 'runstop' : undefined },
          h(
            'button',
            { type: 'button', class: `chip bit${b.value ? ' on' : ''}`, 'data-action': 'use-bit', 'data-index': i, title: b.notation },
            `${b.address}${b.bit !== undefined ? `.${b.bit}` : ''} = ${b.value ? 1 : 0}`,
          ),
          b.likelyRunStop ? h('span', { class: 'tag runstop' }, L('commission.decode.likely.runstop')) : undefined,
        ),
      ),
    );
  }

  read.addEventListener('click', () => readNow(SAMPLES));
  hmi.addEventListener('input', () => {
    clearTimeout(typing);
    typing = setTimeout(() => last && readNow(HMI_SAMPLES), HMI_DEBOUNCE_MS);
  });
  rows.addEventListener('click', (e) => {
    const button = e.target.closest('[data-action="use"]');
    if (!button) return;
    const d = last.decodings[Number(button.dataset.index)];
    const source = { area: last.area, address: last.address, ...sourceKeys(d.source) };
    state.setSource({ source, label: `${last.area} ${last.address} (${last.notation}) ${d.source.type} ${d.order}`, value: d.value });
  });
  bits.addEventListener('click', (e) => {
    const button = e.target.closest('[data-action="use-bit"]');
    if (!button) return;
    const b = last.bits[Number(button.dataset.index)];
    state.setSource({
      source: sourceKeys(b.source),
      label: `${b.source.area} ${b.address}${b.bit !== undefined ? ` bit ${b.bit}` : ''} (${b.notation})`,
      value: b.value,
    });
  });
  state.onDecode((q) => {
    area.value = q.area;
    unit.value = q.unitId;
    address.value = q.address;
    readNow(SAMPLES);
  });

  return h(
    'article',
    { class: 'card commission-step wide', 'data-step': 'decode', 'data-protocols': 'modbus-tcp modbus-rtu modbus-rtu-over-tcp' },
    h('h3', {}, L('commission.decode.title')),
    h(
      'div',
      { class: 'form-grid' },
      h('label', {}, L('commission.registers.area'), area),
      h('label', {}, 'unitId', unit),
      h('label', {}, L('commission.registers.address'), address),
      h('label', {}, L('commission.decode.count'), count),
    ),
    read,
    h('label', { class: 'hmi' }, L('commission.decode.hmi'), hmi),
    where,
    message,
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'data decodings' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, 'type'),
            h('th', {}, L('commission.decode.order')),
            h('th', { class: 'num' }, L('commission.registers.value')),
            h('th', {}),
            h('th', {}),
          ),
        ),
        rows,
      ),
    ),
    h('h4', {}, L('commission.decode.bits')),
    bits,
  );
}

/** The YAML keys of a decoding, without the defaults (`wordOrder: big`, `byteSwap: false`) a device file leaves out. */
function sourceKeys(src) {
  const out = { ...src };
  if (out.wordOrder === 'big') delete out.wordOrder;
  if (out.byteSwap === false) delete out.byteSwap;
  return out;
}
