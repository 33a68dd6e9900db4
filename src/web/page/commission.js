// The commissioning view (docs/commissioning.md): shown only while a window opened on the box
// is open, with a banner counting the time left. Exchanges the one-time token of the URL
// (#commission=<token>) for the session, then mounts the steps: device and check, discovery,
// decoding, mapping and saving, sign-off.
import { field, h, setText } from './dom.js';
import { CommissionError, get, post, setCsrf } from './commission-api.js';
import { duration, onLanguageChange, t } from './i18n.js';
import { errorText, L, msg, say } from './commission-text.js';
import { devicePanel } from './commission-device.js';
import { decodePanel, registerScanPanel, unitScanPanel } from './commission-modbus.js';
import { opcuaPanel } from './commission-opcua.js';
import { mqttPanel } from './commission-mqtt.js';
import { mapPanel } from './commission-map.js';
import { signoffPanel } from './commission-signoff.js';

/** How often the page asks whether the window is still open (closed on the box, expired). */
const SESSION_CHECK_MS = 30_000;

let section;
let endsAt = 0;
let mounted = null;

/** What the steps share: the device being commissioned, the picked source, and who listens. */
function createState() {
  const listeners = { device: [], source: [], unit: [], decode: [] };
  const on = (kind) => (fn) => listeners[kind].push(fn);
  const tell = (kind, value) => {
    for (const fn of listeners[kind]) fn(value);
  };
  const state = {
    devices: [],
    device: { ref: null, protocol: 'modbus-tcp' },
    onDevice: on('device'),
    onSource: on('source'),
    onUnit: on('unit'),
    onDecode: on('decode'),
    setDevice(d) {
      state.device = d;
      for (const el of section.querySelectorAll('[data-protocols]')) el.hidden = !el.dataset.protocols.split(' ').includes(d.protocol);
      tell('device', d);
    },
    setSource: (s) => tell('source', s),
    setUnit: (u) => tell('unit', u),
    decode: (q) => tell('decode', q),
    reloadDevices: async () => {},
  };
  return state;
}

function mount() {
  const state = createState();
  const device = devicePanel(state);
  const signoff = signoffPanel();
  state.reloadDevices = async (file) => {
    await device.load(file);
    signoff.devices(state.devices, state.devices.find((d) => d.file === file)?.name);
  };
  field(section, 'commission-steps').replaceChildren(
    device.element,
    unitScanPanel(state),
    registerScanPanel(state),
    decodePanel(state),
    opcuaPanel(state),
    mqttPanel(state),
    mapPanel(state),
    signoff.element,
  );
  state.reloadDevices().catch((err) => say(field(section, 'commission-message'), errorText(err)));
  return {
    unmount() {
      signoff.stop();
      field(section, 'commission-steps').replaceChildren();
    },
  };
}

function showBanner() {
  const left = endsAt - Date.now();
  if (left <= 0) return close(msg('commission.banner.ended'));
  setText(field(section, 'commission-left'), t('commission.banner.left', { time: duration(left) }));
}

function open(session) {
  setCsrf(session.csrf);
  // leftMs is the gateway's own count, so a tablet with a wrong clock still ends on time.
  endsAt = Date.now() + (session.leftMs ?? session.expiresAt - Date.now());
  section.hidden = false;
  if (!mounted) mounted = mount();
  showBanner();
}

function close(why) {
  endsAt = 0;
  setCsrf(null);
  mounted?.unmount();
  mounted = null;
  section.hidden = true;
  const ended = field(document, 'commission-ended');
  if (why) {
    say(ended, why);
    ended.hidden = false;
  }
}

async function refresh() {
  try {
    const session = await get('session');
    if (session.active) open(session);
    else if (mounted) close(msg('commission.banner.ended'));
  } catch (err) {
    // A gateway without commissioning routes, or one not answering: the status page goes on.
    if (err instanceof CommissionError && mounted) close(errorText(err));
  }
}

/** The one-time token of the URL the CLI printed, taken out of the address bar at once. */
async function exchangeToken() {
  const match = /(?:^|[#&])commission=([^&]+)/.exec(location.hash);
  if (!match) return;
  history.replaceState(null, '', location.pathname + location.search);
  try {
    open(await post('session', { token: decodeURIComponent(match[1]) }));
  } catch (err) {
    const ended = field(document, 'commission-ended');
    say(ended, errorText(err));
    ended.hidden = false;
  }
}

/** Starts the view once the dictionaries are loaded (app.js): the token of the URL, else the open session. */
export async function startCommissioning() {
  section = field(document, 'commission');
  field(section, 'commission-banner').replaceChildren(
    h('strong', {}, L('commission.banner.title')),
    ' ',
    h('span', { 'data-field': 'commission-left' }),
    ' ',
    h('span', { class: 'muted' }, L('commission.banner.readOnly')),
  );
  setInterval(() => endsAt && showBanner(), 1000);
  // At once on a switch, not up to a second later in the old language.
  onLanguageChange(() => endsAt && showBanner());
  setInterval(refresh, SESSION_CHECK_MS);
  await exchangeToken();
  if (!mounted) await refresh();
}
