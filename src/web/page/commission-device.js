// Step 1 of commissioning: pick a device file or describe a new device, and check the
// connection step by step, saying where it failed in a technician's words.
import { field, h } from './dom.js';
import { get, post } from './commission-api.js';
import { t } from './i18n.js';
import { errorText, L, msg, say } from './commission-text.js';

const PROTOCOLS = ['modbus-tcp', 'modbus-rtu', 'modbus-rtu-over-tcp', 'opcua', 'mqtt'];

/** The connection fields of each protocol: [YAML key, input type, default]. */
const CONNECTION_FIELDS = {
  'modbus-tcp': [
    ['host', 'text', '127.0.0.1'],
    ['port', 'number', 502],
    ['unitId', 'number', 1],
  ],
  'modbus-rtu-over-tcp': [
    ['host', 'text', '127.0.0.1'],
    ['port', 'number', 502],
    ['unitId', 'number', 1],
  ],
  'modbus-rtu': [
    ['path', 'serial', ''],
    ['baudRate', 'number', 9600],
    ['parity', ['none', 'even', 'odd'], 'none'],
    ['unitId', 'number', 1],
  ],
  opcua: [
    ['endpointUrl', 'text', 'opc.tcp://127.0.0.1:4840'],
    ['securityMode', ['None', 'Sign', 'SignAndEncrypt'], 'None'],
    ['trustOnFirstUse', ['false', 'true'], 'false'],
    ['username', 'text', ''],
    ['password', 'password', ''],
  ],
  mqtt: [
    ['url', 'text', 'mqtt://127.0.0.1:1883'],
    ['username', 'text', ''],
    ['password', 'password', ''],
  ],
};

const input = (name, type, value) => h('input', { name, type, value, autocomplete: 'off', 'data-key': name });

function select(name, options, value) {
  const el = h('select', { name, 'data-key': name }, ...options.map((o) => h('option', { value: o }, o)));
  el.value = String(value);
  return el;
}

export function devicePanel(state) {
  const list = h('select', { 'data-field': 'device-pick' });
  const protocol = select('protocol', PROTOCOLS, 'modbus-tcp');
  const name = input('device', 'text', 'new-device');
  const fields = h('div', { class: 'form-grid', 'data-field': 'connection-fields' });
  const steps = h('ol', { class: 'check-steps', 'data-field': 'check-steps' });
  const message = h('p', { class: 'action-message', role: 'status', 'data-field': 'device-message' });
  const creating = h(
    'div',
    { 'data-field': 'device-new' },
    h('div', { class: 'form-grid' }, h('label', {}, L('commission.device.name'), name), h('label', {}, L('commission.device.protocol'), protocol)),
    fields,
  );
  const check = h('button', { type: 'button', 'data-action': 'check' }, L('commission.device.check'));
  const panel = h(
    'article',
    { class: 'card commission-step', 'data-step': 'device' },
    h('h3', {}, L('commission.device.title')),
    h('label', {}, L('commission.device.pick'), list),
    creating,
    h('div', {}, check),
    steps,
    message,
  );

  function connectionFields() {
    const p = protocol.value;
    fields.replaceChildren(
      ...CONNECTION_FIELDS[p].map(([key, type, value]) => {
        if (Array.isArray(type)) return h('label', {}, key, select(key, type, value));
        if (type === 'serial') {
          const el = input(key, 'text', value);
          el.setAttribute('list', 'serial-ports');
          return h('label', {}, key, el, h('datalist', { id: 'serial-ports', 'data-field': 'serial-ports' }));
        }
        return h('label', {}, key, input(key, type, value));
      }),
    );
    if (p === 'modbus-rtu') listSerialPorts();
  }

  async function listSerialPorts() {
    const target = field(fields, 'serial-ports');
    try {
      const ports = await get('serial-ports');
      target.replaceChildren(...ports.map((port) => h('option', { value: port.path }, port.manufacturer ?? '')));
      const path = fields.querySelector('[data-key="path"]');
      if (!path.value && ports[0]) path.value = ports[0].path;
      say(message, ports.length ? '' : msg('commission.device.noSerialPorts'));
    } catch (err) {
      say(message, errorText(err));
    }
  }

  /** What the device routes take: the name of a saved device, or the new device's connection. */
  function describe() {
    const saved = state.devices.find((d) => d.file === list.value);
    if (saved) return { ref: saved.name, protocol: saved.protocol, saved };
    const connection = {};
    for (const el of fields.querySelectorAll('[data-key]')) {
      if (el.value === '') continue;
      const v = el.value;
      connection[el.dataset.key] = el.type === 'number' ? Number(v) : v === 'true' || v === 'false' ? v === 'true' : v;
    }
    const device = { device: name.value.trim(), protocol: protocol.value, connection };
    return { ref: device, protocol: protocol.value, draft: device };
  }

  function changed() {
    creating.hidden = list.value !== '';
    state.setDevice(describe());
  }

  list.addEventListener('change', changed);
  protocol.addEventListener('change', () => {
    connectionFields();
    changed();
  });
  creating.addEventListener('change', changed);

  check.addEventListener('click', async () => {
    check.disabled = true;
    steps.replaceChildren();
    say(message, msg('commission.device.checking'));
    try {
      const { steps: done } = await post('check', { device: state.device.ref });
      steps.replaceChildren(...done.map(stepItem));
      const failed = done.find((s) => !s.ok);
      say(message, failed ? msg('commission.device.failedAt', { step: t(`commission.step.${failed.step}`) }) : msg('commission.device.checkOk'));
    } catch (err) {
      say(message, errorText(err));
    } finally {
      check.disabled = false;
    }
  });

  return {
    element: panel,
    /** Fills the device list from GET /api/commission/devices, choosing `file` (else keeping the choice). */
    async load(file) {
      const chosen = file ?? list.value;
      state.devices = await get('devices');
      list.replaceChildren(
        h('option', { value: '' }, L('commission.device.new')),
        ...state.devices.map((d) => h('option', { value: d.file }, `${d.name} (${d.protocol}) — ${d.file}`)),
      );
      list.value = state.devices.some((d) => d.file === chosen) ? chosen : '';
      if (!fields.firstChild) connectionFields();
      changed();
    },
  };
}

function stepItem(s) {
  return h(
    'li',
    { 'data-check-step': s.step, 'data-ok': String(s.ok) },
    h('strong', {}, L(`commission.step.${s.step}`)),
    ' ',
    h('span', { class: 'muted' }, `(${s.step})`),
    s.ok ? undefined : h('p', { class: 'error' }, L(`commission.step.${s.step}.failed`)),
    s.detail ? h('p', { class: 'muted' }, s.detail) : undefined,
    s.thumbprint ? h('p', {}, L('commission.step.thumbprint'), ' ', h('code', { 'data-field': 'thumbprint' }, s.thumbprint)) : undefined,
  );
}
