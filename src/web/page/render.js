// Renders a GatewayStatus (src/core/status.ts) into the page, updating in place.
import { chartWindow, rateChart, recentRate, timelineChart } from './charts.js';
import { ago, clock, duration, field, h, number, setAttr, setText, stamp, syncList } from './dom.js';

const $ = (selector) => document.querySelector(selector);

export function render(status, now) {
  renderHeader(status, now);
  renderBanners(status);
  const win = chartWindow(status.machines, now);
  syncList(
    $('[data-list="machines"]'),
    status.machines,
    'data-machine',
    (m) => m.code,
    createMachine,
    (el, m) => updateMachine(el, m, now, win),
  );
  syncList(
    $('[data-list="devices"]'),
    status.devices,
    'data-device',
    (d) => d.id,
    createDevice,
    (el, d) => updateDevice(el, d, status, now),
  );
  renderDeadLetters(status, now);
}

function renderHeader(st, now) {
  setText(field(document, 'version'), `v${st.version} · up ${duration(now - st.startedAt)}`);
  const mes = field(document, 'mes');
  const state = st.mes.authProblem ? 'auth' : st.mes.reachable === null ? 'unknown' : st.mes.reachable ? 'reachable' : 'unreachable';
  setAttr(mes, 'data-state', state);
  setText(field(mes, 'mes-state'), { auth: 'Credentials refused', unknown: 'No answer yet', reachable: 'Reachable', unreachable: 'Unreachable' }[state]);
  const paused = st.mes.pausedUntil !== undefined && st.mes.pausedUntil > now;
  const limit = st.mes.rateLimit;
  const cut = limit && limit.askedMs > limit.until - limit.since ? ` (MES asked for ${duration(limit.askedMs)}, cut to ${duration(limit.capMs)})` : '';
  const detail = paused
    ? `sending paused for ${duration(st.mes.pausedUntil - now)}${limit && limit.until > now ? ` by the MES (429)${cut}` : ''}`
    : state === 'reachable'
      ? `last answer ${ago(st.mes.lastOkAt, now)}`
      : (st.mes.lastError ?? st.mes.baseUrl);
  setText(field(mes, 'mes-detail'), detail);
  setAttr(field(mes, 'mes-detail'), 'title', `${st.mes.baseUrl}${st.mes.lastError ? ` — ${st.mes.lastError}` : ''}`);

  const used = st.budget.usedLastMinute;
  const share = st.budget.perMinute > 0 ? Math.min(1, used / st.budget.perMinute) : 0;
  setText(field(document, 'budget-used'), `${number(used)} / ${number(st.budget.perMinute)}`);
  const fill = field(document, 'budget-fill');
  fill.style.width = `${(share * 100).toFixed(1)}%`;
  setAttr(fill, 'data-level', share >= 0.9 ? 'high' : share >= 0.7 ? 'mid' : 'low');

  setText(field(document, 'outbox-pending'), number(st.outbox.pending));
  setText(
    field(document, 'outbox-oldest'),
    st.outbox.pending > 0 && st.outbox.oldestPendingAt ? `oldest ${ago(st.outbox.oldestPendingAt, now)}` : 'nothing waiting',
  );
  setText(field(document, 'dead-letter-count'), number(st.outbox.deadLetters));
  setAttr(field(document, 'dead-letters'), 'data-state', st.outbox.deadLetters > 0 ? 'attention' : 'ok');
}

const STORAGE_TITLES = {
  full: 'Storage full: nothing new can be stored. Readings go on and nothing queued is lost; free disk space and writing resumes by itself.',
  corrupt: 'Storage corrupt: the database is damaged. See README, "Damaged or missing database".',
  error: 'Storage failing: the database refuses writes.',
};

function renderBanners(st) {
  const config = field(document, 'config-errors');
  config.hidden = st.config.errors.length === 0;
  syncList(
    field(config, 'config-error-list'),
    st.config.errors,
    'data-error',
    (e) => e,
    (e) => h('li', {}, e),
    () => {},
  );
  const storage = field(document, 'storage-problem');
  const sp = st.storage;
  storage.hidden = sp.state === 'ok';
  setText(field(storage, 'storage-problem-title'), STORAGE_TITLES[sp.state] ?? '');
  setText(field(storage, 'storage-problem-text'), sp.state === 'ok' ? '' : `${sp.path}: ${sp.lastError ?? ''} (${number(sp.failures ?? 0)} failed writes)`);
  const auth = field(document, 'auth-problem');
  auth.hidden = !st.mes.authProblem;
  setText(field(auth, 'auth-problem-text'), st.mes.authProblem ?? '');
}

const SIGNAL_NAMES = { count: 'Good parts', running: 'Running', stopReason: 'Stop reason' };
const signalName = (key) => SIGNAL_NAMES[key] ?? key.replace(/^waste:/, 'Waste: ').replace(/^param:/, '');

function createMachine() {
  return h(
    'article',
    { class: 'card machine' },
    h(
      'header',
      {},
      h('h3', { 'data-field': 'code' }),
      h('span', { class: 'muted', 'data-field': 'device' }),
      h('span', { class: 'pill', 'data-field': 'run-state' }),
    ),
    h('p', { class: 'since', 'data-field': 'run-since' }),
    h(
      'div',
      { class: 'figures' },
      h(
        'div',
        { class: 'figure' },
        h('span', { class: 'label' }, 'Rate, last 5 min'),
        h('span', { class: 'big', 'data-field': 'rate' }),
        h('span', { class: 'unit' }, 'parts/min'),
      ),
      h(
        'div',
        { class: 'figure' },
        h('span', { class: 'label' }, 'Pending to MES'),
        h('span', { class: 'big', 'data-field': 'pending' }),
        h('span', { class: 'unit' }, 'in the outbox'),
      ),
    ),
    h(
      'table',
      { class: 'data totals' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Total'), h('th', { class: 'num' }, 'Counted'), h('th', { class: 'num' }, 'In MES'))),
      h('tbody', { 'data-field': 'totals' }),
    ),
    h(
      'table',
      { class: 'data values' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Signal'), h('th', { class: 'num' }, 'Last value'), h('th', { class: 'num' }, 'Read'))),
      h('tbody', { 'data-field': 'values' }),
    ),
    h('h4', {}, 'Run / stop'),
    h('div', { class: 'chart-box', 'data-chart': 'timeline' }),
    h(
      'p',
      { class: 'legend' },
      h('span', { class: 'key running' }),
      'running ',
      h('span', { class: 'key stopped' }),
      'stopped ',
      h('span', { class: 'key unsent' }),
      'offline, not sent',
    ),
    h('p', { class: 'chart-detail', 'data-field': 'chart-detail' }, 'Tap a bar for details.'),
    h('h4', {}, 'Production rate'),
    h('div', { class: 'chart-box', 'data-chart': 'rate' }),
  );
}

function updateMachine(el, m, now, win) {
  setText(field(el, 'code'), m.code);
  setText(field(el, 'device'), `on ${m.device}`);
  const state = m.run.running === null ? 'unknown' : m.run.running ? 'running' : 'stopped';
  const pill = field(el, 'run-state');
  setAttr(pill, 'data-state', state);
  setText(pill, state === 'stopped' && m.run.type ? `Stopped: ${m.run.type}` : { running: 'Running', stopped: 'Stopped', unknown: 'State unknown' }[state]);
  setText(field(el, 'run-since'), m.run.since ? `since ${clock(m.run.since)} (${duration(now - m.run.since)})` : '');
  const rate = recentRate(m.production);
  setText(field(el, 'rate'), rate === null ? '—' : number(Math.round(rate * 10) / 10));
  setText(field(el, 'pending'), number(m.pending));

  el.querySelector('.totals').hidden = Object.keys(m.totals).length === 0;
  el.querySelector('.values').hidden = Object.keys(m.values).length === 0;
  syncList(
    field(el, 'totals'),
    Object.entries(m.totals),
    'data-total',
    ([key]) => key,
    () =>
      h('tr', {}, h('th', { 'data-field': 'name' }), h('td', { class: 'num', 'data-field': 'total' }), h('td', { class: 'num', 'data-field': 'delivered' })),
    (row, [key, t]) => {
      setText(field(row, 'name'), signalName(key));
      setValue(field(row, 'total'), t.total);
      setValue(field(row, 'delivered'), t.delivered);
    },
  );
  syncList(
    field(el, 'values'),
    Object.entries(m.values),
    'data-signal',
    ([key]) => key,
    () => h('tr', {}, h('th', { 'data-field': 'name' }), h('td', { class: 'num', 'data-field': 'value' }), h('td', { class: 'num muted', 'data-field': 'at' })),
    (row, [key, v]) => {
      setText(field(row, 'name'), signalName(key));
      setValue(field(row, 'value'), v.value);
      setText(field(row, 'at'), ago(v.at, now));
      setAttr(field(row, 'at'), 'title', stamp(v.at));
    },
  );

  drawChart(el.querySelector('[data-chart="timeline"]'), (w) => timelineChart(m, win, w));
  drawChart(el.querySelector('[data-chart="rate"]'), (w) => rateChart(m, win, w));
}

/** Shows a value formatted; data-value keeps it exact for scripts and tests. */
function setValue(el, value) {
  setText(el, number(value));
  setAttr(el, 'data-value', value);
}

/** Charts are drawn at the box's real width so their text keeps its size on any screen. */
function drawChart(box, draw) {
  const width = Math.max(240, Math.floor(box.clientWidth || 320));
  box.replaceChildren(draw(width));
}

function createDevice() {
  return h(
    'article',
    { class: 'card device' },
    h(
      'header',
      {},
      h('h3', { 'data-field': 'id' }),
      h('span', { class: 'muted', 'data-field': 'protocol' }),
      h('span', { class: 'pill', 'data-field': 'state' }),
    ),
    h(
      'dl',
      { class: 'facts' },
      h('dt', {}, 'Machines'),
      h('dd', { 'data-field': 'machines' }),
      h('dt', {}, 'Last good read'),
      h('dd', { 'data-field': 'last-read' }),
      h('dt', {}, 'Last error'),
      h('dd', { 'data-field': 'last-error' }),
    ),
    h(
      'table',
      { class: 'data signal-errors' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Signal errors'), h('th', { class: 'num' }, 'Count'), h('th', {}, 'Last'))),
      h('tbody', { 'data-field': 'signal-errors' }),
    ),
  );
}

function updateDevice(el, d, st, now) {
  setAttr(el, 'data-state', d.state);
  setText(field(el, 'id'), d.id);
  setText(field(el, 'protocol'), d.protocol);
  const pill = field(el, 'state');
  setAttr(pill, 'data-state', d.state);
  setText(pill, { connected: 'Connected', connecting: 'Connecting', disconnected: 'Disconnected' }[d.state] ?? d.state);
  setText(
    field(el, 'machines'),
    st.machines
      .filter((m) => m.device === d.id)
      .map((m) => m.code)
      .join(', ') || '—',
  );
  setText(field(el, 'last-read'), ago(d.lastGoodReadAt, now));
  setText(field(el, 'last-error'), d.lastError ? `${d.lastError} (${ago(d.lastErrorAt, now)})` : 'none');
  el.querySelector('.signal-errors').hidden = d.signalErrors.length === 0;
  syncList(
    field(el, 'signal-errors'),
    d.signalErrors,
    'data-signal-error',
    (e) => `${e.machine} ${e.signal}`,
    () => h('tr', {}, h('th', { 'data-field': 'signal' }), h('td', { class: 'num', 'data-field': 'count' }), h('td', { 'data-field': 'message' })),
    (row, e) => {
      setAttr(row, 'data-signal', e.signal);
      setText(field(row, 'signal'), `${e.machine} · ${signalName(e.signal)}`);
      setValue(field(row, 'count'), e.count);
      setText(field(row, 'message'), `${e.lastMessage} (${ago(e.lastAt, now)})`);
    },
  );
}

function renderDeadLetters(st, now) {
  field(document, 'dead-letters-empty').hidden = st.deadLetters.length > 0;
  field(document, 'dead-letters-table').hidden = st.deadLetters.length === 0;
  syncList(
    field(document, 'dead-letter-rows'),
    st.deadLetters,
    'data-dead-letter-id',
    (d) => d.id,
    (d) =>
      h(
        'tr',
        {},
        h('td', {}, h('strong', { 'data-field': 'machine' }), h('br'), h('span', { class: 'muted', 'data-field': 'kind' })),
        h(
          'td',
          { class: 'reason' },
          h('span', { class: 'status', 'data-field': 'status' }),
          ' ',
          h('span', { 'data-field': 'reason' }),
          h('details', {}, h('summary', {}, 'what was sent'), h('pre', { 'data-field': 'body' })),
        ),
        h('td', { 'data-field': 'at' }),
        h(
          'td',
          { class: 'actions' },
          h('button', { type: 'button', 'data-action': 'retry', 'data-id': d.id }, 'Retry'),
          h('button', { type: 'button', class: 'danger', 'data-action': 'drop', 'data-id': d.id }, 'Drop'),
        ),
      ),
    (row, d) => {
      setText(field(row, 'machine'), d.machine);
      setText(field(row, 'kind'), d.kind);
      setText(field(row, 'status'), d.status);
      setText(field(row, 'reason'), d.reason);
      setText(field(row, 'at'), ago(d.at, now));
      setAttr(field(row, 'at'), 'title', stamp(d.at));
      setText(field(row, 'body'), JSON.stringify(d.body, null, 2));
    },
  );
}
