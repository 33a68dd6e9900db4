// Keeps the page live: server-sent events from /api/events, polling /api/status when the
// stream is unavailable, and the dead-letter buttons. Never reloads the page, not even to
// change the language.
import { field, setAttr, setText } from './dom.js';
import { initI18n, onLanguageChange, t } from './i18n.js';
import { render } from './render.js';

await initI18n(['status', 'commission']);

const POLL_MS = 5000;
/** Three missed heartbeats (15 s each): the stream is dead even if the socket says otherwise. */
const SILENT_MS = 45_000;

let last = null;
/** Server clock minus ours, so "x s ago" is right even if the tablet's clock is off. */
let skew = 0;
let stream = null;
let lastEventAt = 0;
let pollTimer = null;
let mode = 'connecting';

function show(status) {
  last = status;
  skew = status.now - Date.now();
  render(status, status.now);
  document.body.dataset.ready = 'true';
}

function setMode(next) {
  mode = next;
  const el = field(document, 'live');
  setAttr(el, 'data-mode', mode);
  setText(el, t(`status.live.${mode}`));
}

async function poll() {
  try {
    const res = await fetch('/api/status', { cache: 'no-store' });
    if (res.status === 401) return location.assign('/login');
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    show(await res.json());
    if (pollTimer) setMode('polling');
  } catch {
    setMode('offline');
  }
}

function startPolling() {
  if (pollTimer) return;
  pollTimer = setInterval(poll, POLL_MS);
  poll();
}

function stopPolling() {
  clearInterval(pollTimer);
  pollTimer = null;
}

function connect() {
  stream?.close();
  lastEventAt = Date.now();
  stream = new EventSource('/api/events');
  const alive = () => {
    lastEventAt = Date.now();
    stopPolling();
    setMode('live');
  };
  stream.addEventListener('status', (e) => {
    alive();
    show(JSON.parse(e.data));
  });
  stream.addEventListener('heartbeat', alive);
  // EventSource reconnects by itself after a network error; poll meanwhile. After a refused
  // answer (401, proxy error) it gives up: polling then finds out why, and we retry later.
  stream.addEventListener('error', () => startPolling());
}

setInterval(() => {
  if (stream && (stream.readyState === EventSource.CLOSED || Date.now() - lastEventAt > SILENT_MS)) connect();
  if (last) render(last, Date.now() + skew);
}, POLL_MS);

// Charts are drawn for the width they have: redraw when a tablet turns.
window.addEventListener('resize', () => last && render(last, Date.now() + skew));
onLanguageChange(() => {
  setMode(mode);
  if (last) render(last, Date.now() + skew);
});

document.addEventListener('click', async (event) => {
  const button = event.target.closest('button[data-action]');
  if (button) return act(button);
  const part = event.target.closest('[data-label]');
  const card = part?.closest('[data-machine]');
  if (card) setText(field(card, 'chart-detail'), part.dataset.label);
});

async function act(button) {
  const { action, id } = button.dataset;
  if (action === 'drop' && !confirm(t('status.deadLetters.confirmDrop', { id }))) return;
  const message = field(document, 'action-message');
  button.disabled = true;
  try {
    const res = await fetch(`/api/dead-letters/${encodeURIComponent(id)}/${action}`, { method: 'POST' });
    if (res.status === 401) return location.assign('/login');
    const body = await res.json().catch(() => ({}));
    const done = action === 'drop' ? 'dropped' : 'queued';
    setText(message, res.ok ? t(`status.deadLetters.${done}`, { id }) : t(`status.deadLetters.${action}Failed`, { id, error: body.error ?? res.status }));
    await poll();
  } catch (err) {
    setText(message, t(`status.deadLetters.${action}Failed`, { id, error: err.message }));
  } finally {
    button.disabled = false;
  }
}

async function showLogout() {
  const res = await fetch('/api/session', { cache: 'no-store' }).catch(() => null);
  if (res?.ok && (await res.json()).session) field(document, 'logout').hidden = false;
}

setMode('connecting');
showLogout();
if ('EventSource' in window) connect();
else startPolling();
