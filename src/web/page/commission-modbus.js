// Modbus discovery: the unit scan of a bus, the register scan of an area, and one register
// (or pair, or quad) decoded every way at once, the decodings that match the HMI lit up.
import { h, setText } from './dom.js';
import { post } from './commission-api.js';
import { t, number } from './i18n.js';
import { L, attr, errorText } from './commission-text.js';
import { jobBar, runJob } from './commission-jobs.js';
import { answeringRanges, hmiMatch, modiconAddress, parseHmi, sampleTrend } from './commission-logic.js';

const AREAS = ['holding', 'input', 'coil', 'discrete'];
const num = (name, value, attrs = {}) => h('input', { name, type: 'number', value, min: 0, ...attrs });
const areaSelect = () => h('select', { name: 'area' }, ...AREAS.map((a) => h('option', { value: a }, a)));
const rangeText = (ranges) => ranges.map((r) => (r.from === r.to ? `${r.from}` : `${r.from}–${r.to}`)).join(', ');

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
    setText(message, t('commission.units.pausesBus'));
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
      setText(
        message,
        job.error ? errorText(job.error) : present.length ? t('commission.units.found', { units: present.join(', ') }) : t('commission.units.none'),
      );
    } catch (err) {
      setText(message, errorText(err));
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

  function show(job) {
    const results = [...job.results].sort((a, b) => a.address - b.address);
    const answering = answeringRanges(results);
    const exceptions = answeringRanges(results.filter((r) => r.exception !== undefined).map((r) => ({ address: r.address, value: 0 })));
    const timeouts = answeringRanges(results.filter((r) => r.timeout).map((r) => ({ address: r.address, value: 0 })));
    summary.replaceChildren(
      h('p', {}, h('strong', {}, L('commission.registers.answering')), ' ', h('span', { 'data-field': 'answering-ranges' }, rangeText(answering) || '—')),
      exceptions.length
        ? h('p', {}, L('commission.registers.exceptions'), ' ', h('span', { 'data-field': 'exception-ranges' }, rangeText(exceptions)))
        : undefined,
      timeouts.length ? h('p', {}, L('commission.registers.timeouts'), ' ', h('span', { 'data-field': 'timeout-ranges' }, rangeText(timeouts))) : undefined,
    );
    rows.replaceChildren(
      ...results.map((r) =>
        h(
          'tr',
          { 'data-address': r.address, class: r.value !== undefined ? 'answers' : 'silent' },
          h('td', { class: 'num' }, r.address),
          h('td', { class: 'num muted' }, modiconAddress(area.value, r.address)),
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
    setText(message, '');
    const params = { device: state.device.ref, unitId: Number(unit.value), area: area.value, from: Number(from.value), to: Number(to.value) };
    try {
      const job = await runJob(bar, 'modbus.registers', params, show);
      if (job.error) setText(message, errorText(job.error));
      else if (job.capped) setText(message, t('commission.registers.capped', { cap: job.capped }));
    } catch (err) {
      setText(message, errorText(err));
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
          h(
            'tr',
            {},
            h('th', { class: 'num' }, L('commission.registers.address')),
            h('th', { class: 'num' }, L('commission.registers.notation')),
            h('th', { class: 'num' }, L('commission.registers.value')),
            h('th', {}),
          ),
        ),
        rows,
      ),
    ),
  );
}

/** How often the decode panel re-reads, to see which decodings only rise and which bits toggle. */
const SAMPLE_MS = 1000;
const SAMPLES = 10;

export function decodePanel(state) {
  const area = areaSelect();
  const unit = num('unitId', 1, { max: 255 });
  const address = num('address', 0, { max: 65535 });
  const count = h('select', { name: 'count' }, ...[1, 2, 4].map((n) => h('option', { value: n }, String(n))));
  count.value = '2';
  const hmi = h('input', { name: 'hmi', type: 'text', inputmode: 'decimal', 'data-field': 'hmi', ...attr('placeholder', 'commission.decode.hmiPlaceholder') });
  const where = h('p', { class: 'muted', 'data-field': 'decode-where' });
  const rows = h('tbody', { 'data-field': 'decode-rows' });
  const message = h('p', { class: 'action-message', role: 'status' });
  const read = h('button', { type: 'button', 'data-action': 'read' }, L('commission.decode.read'));
  let samples = [];
  let timer = null;
  let last = null;

  async function readOnce() {
    const q = { unitId: Number(unit.value), area: area.value, address: Number(address.value), count: Number(count.value) };
    try {
      last = await post('modbus/read', { device: state.device.ref, ...q });
      samples = [...samples.slice(-(SAMPLES - 1)), last];
      setText(message, '');
      show(q);
    } catch (err) {
      setText(message, errorText(err));
      stop();
    }
  }

  function stop() {
    clearInterval(timer);
    timer = null;
  }

  function start() {
    stop();
    samples = [];
    readOnce();
    timer = setInterval(readOnce, SAMPLE_MS);
  }

  function show(q) {
    const words = last.words ?? last.registers ?? [];
    setText(
      where,
      `${q.area} ${q.address} (${modiconAddress(q.area, q.address)}) · ${t('commission.decode.words')} ${words.map((w) => `0x${Number(w).toString(16).padStart(4, '0')}`).join(' ')}`,
    );
    const wanted = parseHmi(hmi.value);
    rows.replaceChildren(
      ...(last.decodings ?? []).map((d, i) => {
        const scale = hmiMatch(d.value, wanted);
        const trend = d.likely ?? sampleTrend(samples.map((s) => s.decodings?.[i]?.value));
        return h(
          'tr',
          { 'data-decoding': d.name, 'data-match': scale !== undefined ? 'true' : undefined, 'data-likely': trend },
          h('th', {}, d.name),
          h('td', { class: 'num', 'data-field': 'decoded' }, typeof d.value === 'number' ? number(d.value) : String(d.value)),
          h(
            'td',
            {},
            scale !== undefined && scale !== 1 ? h('span', { class: 'tag' }, `× ${scale}`) : undefined,
            trend ? h('span', { class: `tag ${trend}` }, L(`commission.decode.likely.${trend}`)) : undefined,
          ),
          h(
            'td',
            {},
            h('button', { type: 'button', class: 'small', 'data-action': 'use', 'data-index': i, 'data-scale': scale ?? 1 }, L('commission.decode.use')),
          ),
        );
      }),
    );
  }

  read.addEventListener('click', start);
  hmi.addEventListener('input', () => last && show({ area: area.value, address: Number(address.value) }));
  rows.addEventListener('click', (e) => {
    const button = e.target.closest('[data-action="use"]');
    if (!button) return;
    const d = last.decodings[Number(button.dataset.index)];
    const scale = Number(button.dataset.scale);
    const source = { area: area.value, address: Number(address.value), ...d.source, ...(scale !== 1 ? { scale } : {}) };
    state.setSource({ source, label: `${area.value} ${address.value} ${d.name}`, value: d.value });
  });
  state.onDecode((q) => {
    area.value = q.area;
    unit.value = q.unitId;
    address.value = q.address;
    start();
  });

  const panel = h(
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
          h('tr', {}, h('th', {}, L('commission.decode.decoding')), h('th', { class: 'num' }, L('commission.registers.value')), h('th', {}), h('th', {})),
        ),
        rows,
      ),
    ),
  );
  panel.stopSampling = stop;
  return panel;
}
