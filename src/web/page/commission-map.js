// Mapping and saving: the picked source becomes a count, waste, running, stop reason or
// parameter of a machine with one click; the page shows the device YAML this makes, its diff
// against the file, the validation problems at their line, the MES bodies it would send (not
// sent), saves it (a conflict explained) and lists the backups for a one-click rollback.
import { h, setText } from './dom.js';
import { get, post } from './commission-api.js';
import { onLanguageChange, stamp, t } from './i18n.js';
import { errorText, L, msg, say } from './commission-text.js';
import { deviceYaml, insertMachine } from './commission-yaml.js';

const ROLES = ['count', 'waste', 'running', 'stopReason', 'parameter'];

/** "1=Maintenance, 2=Setup" → { 1: 'Maintenance', 2: 'Setup' }. */
function reasonMap(text) {
  const map = {};
  for (const part of text.split(/[,;\n]/)) {
    const [k, ...v] = part.split('=');
    if (k.trim() && v.length) map[k.trim()] = v.join('=').trim();
  }
  return map;
}

export function mapPanel(state) {
  const selected = h('p', { class: 'selected-source', 'data-field': 'selected-source' }, L('commission.map.nothingSelected'));
  const machine = h('input', { type: 'text', name: 'machine', value: 'MACHINE01', 'data-field': 'machine-code' });
  const downtime = h('input', { type: 'text', name: 'downtimeType', value: 'Unplanned' });
  const wasteCode = h('input', { type: 'text', name: 'wasteCode', placeholder: 'Waste1' });
  const reasons = h('input', { type: 'text', name: 'reasonMap', placeholder: '1=Maintenance, 2=Setup' });
  const paramCode = h('input', { type: 'text', name: 'parameterCode', placeholder: 'temperature' });
  const deadband = h('input', { type: 'number', name: 'deadband', value: 0, min: 0, step: 'any' });
  const mapped = h('ul', { class: 'mapped', 'data-field': 'mapped' });
  const yaml = h('textarea', { class: 'yaml', rows: 16, spellcheck: 'false', 'data-field': 'yaml' });
  const lines = h('ol', { class: 'yaml-problems', 'data-field': 'problems' });
  const diff = h('pre', { class: 'diff', 'data-field': 'diff' });
  const bodies = h('div', { 'data-field': 'mes-bodies' });
  const message = h('p', { class: 'action-message', role: 'status', 'data-field': 'save-message' });
  const backups = h('ul', { class: 'backups', 'data-field': 'backups' });
  const previewButton = h('button', { type: 'button', 'data-action': 'preview' }, L('commission.map.preview'));
  const saveButton = h('button', { type: 'button', 'data-action': 'save' }, L('commission.map.save'));
  const roleButtons = ROLES.map((role) => h('button', { type: 'button', 'data-map': role, disabled: true }, L(`commission.map.as.${role}`)));
  let source = null;
  let draft = { code: '', waste: [], parameters: [] };
  /** The file the device panel points at ('' for a new device): a change of it starts a new mapping. */
  let target = null;
  /** A device this page created and saved: its file is rebuilt whole, the machine kept, until another file is picked. */
  let created = null;

  state.onSource((s) => {
    source = s;
    setText(selected, `${s.label}${s.value !== undefined ? ` = ${String(s.value)}` : ''}`);
    for (const b of roleButtons) b.disabled = false;
  });
  state.onDevice((d) => {
    const file = d.saved?.file ?? '';
    if (file === target) return;
    target = file;
    loadBackups();
    if (created && created.file === file) return;
    created = null;
    draft = { code: machine.value.trim(), waste: [], parameters: [] };
    showMapped();
    yaml.value = d.saved?.yaml ?? '';
  });

  function add(role) {
    const src = source.source;
    draft.code = machine.value.trim();
    if (role === 'count') draft.count = src;
    if (role === 'running') draft.running = src;
    if (role === 'waste') draft.waste = [...draft.waste.filter((w) => w.code !== wasteCode.value.trim()), { code: wasteCode.value.trim(), source: src }];
    if (role === 'parameter')
      draft.parameters = [
        ...draft.parameters.filter((p) => p.code !== paramCode.value.trim()),
        { code: paramCode.value.trim(), source: src, deadband: Number(deadband.value) || 0 },
      ];
    if (role === 'stopReason') draft.stopReason = { source: src, map: reasonMap(reasons.value), default: downtime.value.trim() || undefined };
    if ((draft.running || draft.stopReason) && downtime.value.trim()) draft.downtimeType = downtime.value.trim();
    showMapped();
    build();
    preview();
  }

  function showMapped() {
    const items = [];
    const item = (role, label, src) => items.push(h('li', { 'data-mapped': role }, h('strong', {}, label), ' ', h('code', {}, JSON.stringify(src))));
    if (draft.count) item('count', t('commission.map.as.count'), draft.count);
    for (const w of draft.waste) item(`waste:${w.code}`, `${t('commission.map.as.waste')} ${w.code}`, w.source);
    if (draft.running) item('running', t('commission.map.as.running'), draft.running);
    if (draft.stopReason) item('stopReason', t('commission.map.as.stopReason'), draft.stopReason);
    for (const p of draft.parameters) item(`param:${p.code}`, `${t('commission.map.as.parameter')} ${p.code}`, p.source);
    mapped.replaceChildren(...items);
  }

  /** The device file text this mapping makes: a new file, or the machine added to the file as loaded. */
  function build() {
    const d = state.device;
    const device = created?.device ?? d.draft;
    yaml.value = d.saved && !created ? insertMachine(d.saved.yaml, draft) : deviceYaml({ ...device, machines: [draft] });
  }

  const fileName = () => state.device.saved?.file ?? `${state.device.draft.device}.yaml`;

  function showProblems(problems) {
    lines.replaceChildren(
      ...problems.map((p) =>
        h(
          'li',
          { 'data-line': p.line },
          h('strong', {}, `${t('commission.map.line', { line: p.line, column: p.column })}`),
          ` ${p.path ? `${p.path}: ` : ''}${p.message}`,
        ),
      ),
    );
  }

  function showDiff(text) {
    diff.replaceChildren(
      ...String(text ?? '')
        .split('\n')
        .map((l) => h('span', { class: l.startsWith('+') && !l.startsWith('+++') ? 'add' : l.startsWith('-') && !l.startsWith('---') ? 'del' : '' }, `${l}\n`)),
    );
  }

  async function preview() {
    try {
      const r = await post('preview', { file: fileName(), yaml: yaml.value });
      showProblems(r.problems);
      showDiff(r.diff);
      bodies.replaceChildren(
        ...r.mesBodies.map((b) =>
          h('div', { 'data-endpoint': b.endpoint }, h('h4', {}, `POST …/${b.endpoint}`), h('pre', { class: 'json' }, JSON.stringify(b.body, null, 2))),
        ),
      );
      say(message, r.problems.length ? msg('commission.map.fixProblems', { count: r.problems.length }) : msg('commission.map.notSent'));
      return r;
    } catch (err) {
      say(message, errorText(err));
      return undefined;
    }
  }

  async function save() {
    saveButton.disabled = true;
    try {
      const file = fileName();
      await post('save', { file, yaml: yaml.value, baseHash: state.device.saved?.hash ?? null });
      if (!state.device.saved) created = { file, device: state.device.draft };
      say(message, msg('commission.map.saved', { file }));
      await state.reloadDevices(file);
      await loadBackups();
    } catch (err) {
      if (err.code === 'SFG_COMMISSION_INVALID') showProblems(err.body?.problems ?? []);
      if (err.code === 'SFG_COMMISSION_CONFLICT') {
        // Start again from the file as it is now, so the next save is judged against it.
        created = null;
        target = null;
        await state.reloadDevices(state.device.saved?.file);
      }
      say(message, errorText(err));
    } finally {
      saveButton.disabled = false;
    }
  }

  /** The backups last listed, kept so that a language switch writes their dates anew. */
  let backupList = [];

  function showBackups() {
    backups.replaceChildren(
      ...backupList.map((b) =>
        h(
          'li',
          { 'data-backup': b.id },
          stamp(Date.parse(b.savedAt)),
          ' ',
          h('button', { type: 'button', class: 'small', 'data-action': 'rollback' }, L('commission.map.rollback')),
        ),
      ),
    );
  }
  onLanguageChange(showBackups);

  async function loadBackups() {
    const file = state.device.saved?.file;
    backupList = [];
    showBackups();
    if (!file) return;
    try {
      backupList = await get(`backups?file=${encodeURIComponent(file)}`);
      showBackups();
    } catch (err) {
      say(message, errorText(err));
    }
  }

  backups.addEventListener('click', async (e) => {
    const li = e.target.closest('[data-backup]');
    if (!li || !e.target.closest('[data-action="rollback"]')) return;
    if (!confirm(t('commission.map.rollbackConfirm', { when: li.firstChild.textContent }))) return;
    try {
      const file = state.device.saved.file;
      await post('rollback', { file, id: li.dataset.backup });
      say(message, msg('commission.map.rolledBack', { file }));
      created = null;
      target = null;
      await state.reloadDevices(file);
    } catch (err) {
      say(message, errorText(err));
    }
  });
  for (const b of roleButtons) b.addEventListener('click', () => add(b.dataset.map));
  previewButton.addEventListener('click', preview);
  saveButton.addEventListener('click', save);

  return h(
    'article',
    { class: 'card commission-step wide', 'data-step': 'map' },
    h('h3', {}, L('commission.map.title')),
    selected,
    h(
      'div',
      { class: 'form-grid' },
      h('label', {}, L('commission.map.machine'), machine),
      h('label', {}, 'downtimeType', downtime),
      h('label', {}, L('commission.map.wasteCode'), wasteCode),
      h('label', {}, L('commission.map.reasonMap'), reasons),
      h('label', {}, L('commission.map.parameterCode'), paramCode),
      h('label', {}, 'deadband', deadband),
    ),
    h('div', { class: 'map-buttons' }, ...roleButtons),
    mapped,
    h('h4', {}, L('commission.map.yaml')),
    h('p', { class: 'muted' }, L('commission.map.yamlHelp')),
    yaml,
    lines,
    h('div', {}, previewButton, saveButton),
    message,
    h('h4', {}, L('commission.map.mesBodies')),
    bodies,
    h('h4', {}, L('commission.map.diff')),
    diff,
    h('h4', {}, L('commission.map.backups')),
    backups,
  );
}
