// Renders a GatewayStatus (src/core/status.ts) into the page, updating in place.
import { chartWindow, rateChart, recentRate, timelineChart } from './charts.js';
import { field, h, setAttr, setText, syncList } from './dom.js';
import { ago, clock, duration, number, stamp, t, translate } from './i18n.js';

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
  renderCounts(status);
  renderDeadLetters(status, now);
}

function renderCounts(st) {
  setText(field(document, 'machines-count'), t('status.machines.count', { count: st.machines.length }));
  setText(field(document, 'devices-count'), t('status.devices.count', { count: st.devices.length }));
  field(document, 'machines-empty').hidden = st.machines.length > 0;
  field(document, 'devices-empty').hidden = st.devices.length > 0;
}

function renderHeader(st, now) {
  setText(field(document, 'version'), t('status.version', { version: st.version, duration: duration(now - st.startedAt) }));
  const mes = field(document, 'mes');
  const state = st.mes.authProblem ? 'auth' : st.mes.reachable === null ? 'unknown' : st.mes.reachable ? 'reachable' : 'unreachable';
  setAttr(mes, 'data-state', state);
  setText(field(mes, 'mes-state'), t(`status.mes.state.${state}`));
  const paused = st.mes.pausedUntil !== undefined && st.mes.pausedUntil > now;
  const detail = paused
    ? pauseText(st.mes, now)
    : state === 'reachable'
      ? t('status.mes.lastAnswer', { ago: ago(st.mes.lastOkAt, now) })
      : (st.mes.lastError ?? st.mes.baseUrl);
  setText(field(mes, 'mes-detail'), detail);
  setAttr(field(mes, 'mes-detail'), 'title', `${st.mes.baseUrl}${st.mes.lastError ? ` — ${st.mes.lastError}` : ''}`);

  const used = st.budget.usedLastMinute;
  // On a shared budget this gateway may use its share of the company's figure, not its fallback share (nor that, once it trickles or stopped).
  const shared = st.budget.shared;
  const limit = shared && shared.state !== 'connecting' && shared.sharePerMinute !== undefined ? shared.sharePerMinute : st.budget.perMinute;
  const share = limit > 0 ? Math.min(1, used / limit) : 0;
  setText(field(document, 'budget-used'), t('status.budget.used', { used, limit }));
  const fill = field(document, 'budget-fill');
  fill.style.width = `${(share * 100).toFixed(1)}%`;
  setAttr(fill, 'data-level', share >= 0.9 ? 'high' : share >= 0.7 ? 'mid' : 'low');

  renderCompany(st.budget.shared, now);

  setText(field(document, 'outbox-pending'), number(st.outbox.pending));
  setText(
    field(document, 'outbox-oldest'),
    st.outbox.pending > 0 && st.outbox.oldestPendingAt ? t('status.outbox.oldest', { ago: ago(st.outbox.oldestPendingAt, now) }) : t('status.outbox.empty'),
  );
  setText(field(document, 'dead-letter-count'), number(st.outbox.deadLetters));
  setAttr(field(document, 'dead-letters'), 'data-state', st.outbox.deadLetters > 0 ? 'attention' : 'ok');
}

/** The company budget on Redis (docs/rate-budget.md#several-gateways), when this gateway takes part in one. */
function renderCompany(shared, now) {
  const tile = field(document, 'company');
  tile.hidden = shared === undefined;
  if (shared === undefined) return;
  setAttr(tile, 'data-state', shared.state === 'shared' ? 'ok' : 'attention');
  const used = shared.state === 'shared' && shared.companyUsedLastMinute !== undefined ? number(shared.companyUsedLastMinute) : '–';
  setText(field(tile, 'company-used'), t('status.company.used', { used, limit: number(shared.companyLimit ?? shared.companyPerMinute) }));
  const detail =
    shared.pausedUntil !== undefined && shared.pausedUntil > now
      ? t('status.company.paused', { duration: duration(shared.pausedUntil - now) })
      : shared.state === 'shared'
        ? t('status.company.shared', { count: shared.gateways ?? 1, share: number(shared.sharePerMinute ?? 0) })
        : shared.state === 'fallback'
          ? fallbackText(shared, now)
          : t('status.company.connecting');
  // A crashed gateway's fallback share stays kept for 15 min (then 1/min for 7 days): say where that part of the company's figure went.
  const reserved =
    shared.state === 'shared' && (shared.reservedPerMinute ?? 0) > 0
      ? ` · ${t('status.company.reserved', { share: number(shared.reservedPerMinute), count: shared.gatewaysAway ?? 1 })}`
      : '';
  // With Redis gone for all, every gateway sends on its fallback share: their sum must fit the company's figure.
  const over = (shared.fallbackSharesPerMinute ?? 0) > shared.companyPerMinute;
  if (over) setAttr(tile, 'data-state', 'attention');
  const fallbacks = over
    ? ` · ${t('status.company.fallbacksOver', { sum: number(shared.fallbackSharesPerMinute), limit: number(shared.companyPerMinute) })}`
    : '';
  setText(field(tile, 'company-detail'), detail + reserved + fallbacks);
  // The tile cuts a long text: the tooltip has all of it.
  setAttr(field(tile, 'company-detail'), 'title', `${detail}${reserved}${fallbacks} — ${shared.key} @ ${shared.redis}`);
}

/** On the fallback share, by its step (docs/rate-budget.md#one-gateway-cut-off): its share, 1/min, or nothing. */
function fallbackText(shared, now) {
  const reason = shared.reason ?? '';
  if (shared.fallbackStep !== 'trickle' && shared.fallbackStep !== 'stopped')
    return t('status.company.fallback', { share: number(shared.fallbackPerMinute), reason });
  return t(`status.company.${shared.fallbackStep}`, { duration: duration(now - (shared.answeredAt ?? shared.since)), reason });
}

/** "sending paused for 10 min by the MES (429) (MES asked for 27 h 46 min, cut to 15 min)". */
function pauseText(mes, now) {
  const limit = mes.rateLimit;
  const pause = duration(mes.pausedUntil - now);
  if (!limit || limit.until <= now) return t('status.mes.paused', { duration: pause });
  const by429 = t('status.mes.pausedBy429', { duration: pause });
  return limit.askedMs > limit.until - limit.since
    ? t('status.mes.pauseCut', { pause: by429, asked: duration(limit.askedMs), cap: duration(limit.capMs) })
    : by429;
}

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
  setText(field(storage, 'storage-problem-title'), sp.state === 'ok' ? '' : t(`status.storage.${sp.state}`));
  setText(
    field(storage, 'storage-problem-text'),
    sp.state === 'ok' ? '' : t('status.storage.detail', { path: sp.path, error: sp.lastError ?? '', count: sp.failures ?? 0 }),
  );
  const auth = field(document, 'auth-problem');
  auth.hidden = !st.mes.authProblem;
  setText(field(auth, 'auth-problem-text'), st.mes.authProblem ?? '');
}

/** count, running and stopReason have names; a waste or parameter signal is its MES code. */
function signalName(key) {
  if (['count', 'running', 'stopReason'].includes(key)) return t(`status.signal.${key}`);
  if (key.startsWith('waste:')) return t('status.signal.waste', { code: key.slice('waste:'.length) });
  return key.replace(/^param:/, '');
}

/** An element whose text is the dictionary's `key`, kept in the chosen language by translate(). */
const label = (tag, attrs, key) => h(tag, { ...attrs, 'data-i18n': key });

function createMachine() {
  return translate(
    h(
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
          label('span', { class: 'label' }, 'status.machine.rate'),
          h('span', { class: 'big', 'data-field': 'rate' }),
          label('span', { class: 'unit' }, 'status.machine.partsPerMin'),
        ),
        h(
          'div',
          { class: 'figure' },
          label('span', { class: 'label' }, 'status.machine.pending'),
          h('span', { class: 'big', 'data-field': 'pending' }),
          label('span', { class: 'unit' }, 'status.machine.inOutbox'),
        ),
      ),
      h(
        'table',
        { class: 'data totals' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            label('th', {}, 'status.machine.total'),
            label('th', { class: 'num' }, 'status.machine.counted'),
            label('th', { class: 'num' }, 'status.machine.inMes'),
          ),
        ),
        h('tbody', { 'data-field': 'totals' }),
      ),
      h(
        'table',
        { class: 'data values' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            label('th', {}, 'status.machine.signal'),
            label('th', { class: 'num' }, 'status.machine.lastValue'),
            label('th', { class: 'num' }, 'status.machine.read'),
          ),
        ),
        h('tbody', { 'data-field': 'values' }),
      ),
      label('h4', {}, 'status.machine.runStop'),
      h('div', { class: 'chart-box', 'data-chart': 'timeline' }),
      h(
        'p',
        { class: 'legend' },
        h('span', { class: 'key running' }),
        label('span', {}, 'status.machine.legendRunning'),
        ' ',
        h('span', { class: 'key stopped' }),
        label('span', {}, 'status.machine.legendStopped'),
        ' ',
        h('span', { class: 'key unsent' }),
        label('span', {}, 'status.machine.legendUnsent'),
      ),
      label('p', { class: 'chart-detail', 'data-field': 'chart-detail' }, 'status.machine.tapBar'),
      label('h4', {}, 'status.machine.productionRate'),
      h('div', { class: 'chart-box', 'data-chart': 'rate' }),
    ),
  );
}

function updateMachine(el, m, now, win) {
  setText(field(el, 'code'), m.code);
  setText(field(el, 'device'), t('status.machine.onDevice', { device: m.device }));
  const state = m.run.running === null ? 'unknown' : m.run.running ? 'running' : 'stopped';
  const pill = field(el, 'run-state');
  setAttr(pill, 'data-state', state);
  setText(pill, state === 'stopped' && m.run.type ? t('status.machine.stoppedType', { type: m.run.type }) : t(`status.machine.${state}`));
  setText(field(el, 'run-since'), m.run.since ? t('status.machine.since', { clock: clock(m.run.since), duration: duration(now - m.run.since) }) : '');
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
  return translate(
    h(
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
        label('dt', {}, 'status.device.machines'),
        h('dd', { 'data-field': 'machines' }),
        label('dt', {}, 'status.device.lastRead'),
        h('dd', { 'data-field': 'last-read' }),
        label('dt', {}, 'status.device.lastError'),
        h('dd', { 'data-field': 'last-error' }),
      ),
      h(
        'table',
        { class: 'data signal-errors' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            label('th', {}, 'status.device.signalErrors'),
            label('th', { class: 'num' }, 'status.device.errorCount'),
            label('th', {}, 'status.device.errorLast'),
          ),
        ),
        h('tbody', { 'data-field': 'signal-errors' }),
      ),
    ),
  );
}

function updateDevice(el, d, st, now) {
  setAttr(el, 'data-state', d.state);
  setText(field(el, 'id'), d.id);
  setText(field(el, 'protocol'), d.protocol);
  const pill = field(el, 'state');
  // A commissioning unit scan holds the device's serial line: its polling pauses meanwhile.
  const paused = d.paused === 'commissioning';
  setAttr(pill, 'data-state', paused ? 'paused' : d.state);
  if (paused) setText(pill, t('status.device.pausedCommissioning'));
  else setText(pill, ['connected', 'connecting', 'disconnected'].includes(d.state) ? t(`status.device.${d.state}`) : d.state);
  setText(
    field(el, 'machines'),
    st.machines
      .filter((m) => m.device === d.id)
      .map((m) => m.code)
      .join(', ') || '—',
  );
  setText(field(el, 'last-read'), ago(d.lastGoodReadAt, now));
  setText(field(el, 'last-error'), d.lastError ? t('status.device.errorAt', { error: d.lastError, ago: ago(d.lastErrorAt, now) }) : t('status.device.noError'));
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
      setText(field(row, 'message'), t('status.device.errorAt', { error: e.lastMessage, ago: ago(e.lastAt, now) }));
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
      translate(
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
            h('details', {}, label('summary', {}, 'status.deadLetters.sent'), h('pre', { 'data-field': 'body' })),
          ),
          h('td', { 'data-field': 'at' }),
          h(
            'td',
            { class: 'actions' },
            label('button', { type: 'button', 'data-action': 'retry', 'data-id': d.id }, 'status.deadLetters.retry'),
            label('button', { type: 'button', class: 'danger', 'data-action': 'drop', 'data-id': d.id }, 'status.deadLetters.drop'),
          ),
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
