// Sign-off: the saved device's live values (probe, refreshed every second, with a small
// trend), the acceptance checklist that watches them, and the commissioning report.
import { h, s, setText } from './dom.js';
import { get, post } from './commission-api.js';
import { t } from './i18n.js';
import { errorText, L, msg, say } from './commission-text.js';

const PROBE_MS = 1000;
/** Two minutes of trend at one probe a second. */
const TREND_POINTS = 120;

const isRunning = (v) => v === true || v === 1 || v === '1' || v === 'true';
const numeric = (v) => (typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : undefined);

function sparkline(points) {
  const w = 160;
  const ht = 28;
  const values = points.filter((p) => p !== undefined);
  if (values.length < 2) return s('svg', { width: w, height: ht, class: 'trend' });
  const lo = Math.min(...values);
  const span = Math.max(...values) - lo || 1;
  const step = w / (TREND_POINTS - 1);
  const start = TREND_POINTS - points.length;
  const d = points
    .map((v, i) => (v === undefined ? null : `${((start + i) * step).toFixed(1)},${(ht - 2 - ((v - lo) / span) * (ht - 4)).toFixed(1)}`))
    .filter(Boolean)
    .join(' ');
  return s('svg', { width: w, height: ht, class: 'trend', viewBox: `0 0 ${w} ${ht}` }, s('polyline', { points: d }));
}

/** The three checks of the issue; each watches the probe rows of one machine. */
const CHECKS = {
  running: {
    begin: () => ({}),
    judge: (rows, _, elapsedS, limitS) => (isRunning(rows.running) ? 'passed' : elapsedS > limitS ? 'failed' : 'waiting'),
  },
  count10: {
    begin: (rows) => ({ from: numeric(rows.count) }),
    judge: (rows, memo) => (numeric(rows.count) !== undefined && memo.from !== undefined && numeric(rows.count) - memo.from >= 10 ? 'passed' : 'waiting'),
    detail: (rows, memo) => (memo.from !== undefined && numeric(rows.count) !== undefined ? `+${numeric(rows.count) - memo.from}` : ''),
  },
  stop: {
    begin: () => ({}),
    judge: (rows) => (rows.running !== undefined && !isRunning(rows.running) && rows.stopReason !== undefined ? 'passed' : 'waiting'),
    detail: (rows) => (rows.stopReason !== undefined ? String(rows.stopReason) : ''),
  },
};

export function signoffPanel() {
  const device = h('select', { name: 'device', 'data-field': 'probe-device' });
  const machine = h('select', { name: 'machine', 'data-field': 'checklist-machine' });
  const limit = h('input', { type: 'number', name: 'seconds', value: 30, min: 1 });
  const who = h('input', { type: 'text', name: 'who', autocomplete: 'name' });
  const values = h('tbody', { 'data-field': 'probe-rows' });
  const checks = h('ul', { class: 'checklist', 'data-field': 'checklist' });
  const message = h('p', { class: 'action-message', role: 'status' });
  const saveReport = h('button', { type: 'button', 'data-action': 'save-report' }, L('commission.signoff.saveReport'));
  const printReport = h('a', { class: 'button-link', target: '_blank', rel: 'noopener', 'data-field': 'print-report' }, L('commission.signoff.printReport'));
  const trends = new Map();
  const running = new Map();
  let latest = {};
  let timer = null;

  /** The probe rows of one machine by signal: { count: 1234, running: true, … }. */
  const rowsOf = (code) => latest[code] ?? {};

  /** A probe still waiting for its answer: a slow device (an MQTT probe waits up to 5 s) must not pile up a probe a second. */
  let inFlight = false;

  async function probe() {
    const name = device.value;
    if (!name || inFlight) return;
    inFlight = true;
    try {
      const rows = await get(`probe?device=${encodeURIComponent(name)}`);
      // The technician picked another device meanwhile: these rows are not its.
      if (name !== device.value) return;
      latest = {};
      for (const r of rows) {
        latest[r.machine] ??= {};
        latest[r.machine][r.signal] = r.value;
      }
      showValues(rows);
      judge();
      say(message, '');
    } catch (err) {
      // Right after a save the gateway needs a moment to start the device: keep asking.
      say(message, err.code === 'SFG_COMMISSION_NOT_FOUND' ? msg('commission.signoff.notRunning') : errorText(err));
    } finally {
      inFlight = false;
    }
  }

  function showValues(rows) {
    const machines = [...new Set(rows.map((r) => r.machine))];
    if (machines.join() !== [...machine.options].map((o) => o.value).join()) {
      const chosen = machine.value;
      machine.replaceChildren(...machines.map((m) => h('option', { value: m }, m)));
      if (machines.includes(chosen)) machine.value = chosen;
    }
    values.replaceChildren(
      ...rows.map((r) => {
        const key = `${r.machine}/${r.signal}`;
        const trend = [...(trends.get(key) ?? []), numeric(r.value)].slice(-TREND_POINTS);
        trends.set(key, trend);
        return h(
          'tr',
          { 'data-probe': key },
          h('th', {}, r.machine),
          h('td', {}, r.signal),
          h('td', { class: 'muted' }, r.source),
          h('td', { class: 'num', 'data-field': 'value' }, r.error ? h('span', { class: 'error' }, r.error) : String(r.value)),
          h('td', {}, sparkline(trend)),
        );
      }),
    );
  }

  function checkItem(id) {
    return h(
      'li',
      { 'data-check': id, 'data-result': 'not-started' },
      h('span', { class: 'check-name' }, L(`commission.signoff.check.${id}`, { seconds: Number(limit.value) })),
      ' ',
      h('button', { type: 'button', class: 'small', 'data-action': 'start-check' }, L('commission.signoff.start')),
      ' ',
      h('span', { class: 'check-result', 'data-field': 'result' }, L('commission.signoff.result.not-started')),
      ' ',
      h('span', { class: 'muted', 'data-field': 'detail' }),
    );
  }

  function judge() {
    const rows = rowsOf(machine.value);
    for (const [id, run] of running) {
      const li = checks.querySelector(`[data-check="${id}"]`);
      if (run.result === 'waiting') run.result = CHECKS[id].judge(rows, run.memo, (Date.now() - run.at) / 1000, Number(limit.value));
      run.detail = CHECKS[id].detail?.(rows, run.memo) ?? run.detail ?? '';
      li.dataset.result = run.result;
      say(li.querySelector('[data-field="result"]'), msg(`commission.signoff.result.${run.result}`));
      setText(li.querySelector('[data-field="detail"]'), run.detail);
    }
  }

  function restart() {
    clearInterval(timer);
    trends.clear();
    running.clear();
    latest = {};
    checks.replaceChildren(...Object.keys(CHECKS).map(checkItem));
    printReport.href = `/api/commission/report?device=${encodeURIComponent(device.value)}`;
    if (device.value) {
      probe();
      timer = setInterval(probe, PROBE_MS);
    }
  }

  checks.addEventListener('click', (e) => {
    const li = e.target.closest('[data-check]');
    if (!li || !e.target.closest('[data-action="start-check"]')) return;
    const id = li.dataset.check;
    running.set(id, { at: Date.now(), memo: CHECKS[id].begin(rowsOf(machine.value)), result: 'waiting' });
    judge();
  });
  saveReport.addEventListener('click', async () => {
    const checklist = Object.keys(CHECKS).map((id) => {
      const run = running.get(id);
      const result = run?.result ?? 'not-started';
      const detail = [t(`commission.signoff.result.${result}`), run?.detail].filter(Boolean).join(' · ');
      return { item: `${machine.value}: ${t(`commission.signoff.check.${id}`, { seconds: Number(limit.value) })}`, ok: result === 'passed', detail };
    });
    try {
      await post('report', { device: device.value, checklist, ...(who.value.trim() ? { by: who.value.trim() } : {}) });
      say(message, msg('commission.signoff.reportSaved'));
    } catch (err) {
      say(message, errorText(err));
    }
  });
  device.addEventListener('change', restart);
  limit.addEventListener('change', () => {
    for (const id of Object.keys(CHECKS))
      checks.querySelector(`[data-check="${id}"] .check-name`).replaceChildren(L(`commission.signoff.check.${id}`, { seconds: Number(limit.value) }));
  });

  return {
    element: h(
      'article',
      { class: 'card commission-step wide', 'data-step': 'signoff' },
      h('h3', {}, L('commission.signoff.title')),
      h('label', {}, L('commission.signoff.device'), device),
      h(
        'div',
        { class: 'table-scroll' },
        h(
          'table',
          { class: 'data probe' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', {}, L('commission.signoff.machine')),
              h('th', {}, L('commission.signoff.signal')),
              h('th', {}, L('commission.signoff.source')),
              h('th', { class: 'num' }, L('commission.registers.value')),
              h('th', {}, L('commission.signoff.trend')),
            ),
          ),
          values,
        ),
      ),
      h('h4', {}, L('commission.signoff.checklist')),
      h('div', { class: 'form-grid' }, h('label', {}, L('commission.signoff.machine'), machine), h('label', {}, L('commission.signoff.seconds'), limit)),
      checks,
      h('label', {}, L('commission.signoff.who'), who),
      h('div', {}, saveReport, printReport),
      message,
    ),
    /** The saved devices to choose from; `chosen` (a device name) is picked and probed. */
    devices(list, chosen) {
      const current = chosen ?? device.value;
      device.replaceChildren(h('option', { value: '' }, '—'), ...list.map((d) => h('option', { value: d.name }, d.name)));
      device.value = list.some((d) => d.name === current) ? current : '';
      if (device.value !== (this.probed ?? '')) {
        this.probed = device.value;
        restart();
      }
    },
    stop: () => clearInterval(timer),
  };
}
