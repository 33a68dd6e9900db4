// OPC UA discovery: a tree browsed one level at a time on demand (never the whole server),
// a search by browse name, and "go to NodeId"; a variable node is picked for mapping.
import { h } from './dom.js';
import { post } from './commission-api.js';
import { t } from './i18n.js';
import { attr, errorText, L, msg, say } from './commission-text.js';

export function opcuaPanel(state) {
  const tree = h('ul', { class: 'tree', role: 'tree', 'data-field': 'opcua-tree' });
  const search = h('input', { type: 'search', name: 'search', ...attr('placeholder', 'commission.opcua.searchPlaceholder') });
  const goto = h('input', { type: 'text', name: 'nodeId', placeholder: 'ns=3;s=Line1.Counter' });
  const found = h('ul', { class: 'tree', 'data-field': 'opcua-found' });
  const detail = h('dl', { class: 'facts', 'data-field': 'opcua-detail' });
  const message = h('p', { class: 'action-message', role: 'status' });
  const browseRoot = h('button', { type: 'button', 'data-action': 'browse' }, L('commission.opcua.browse'));
  const searchButton = h('button', { type: 'button', 'data-action': 'search' }, L('commission.opcua.search'));
  const gotoButton = h('button', { type: 'button', 'data-action': 'goto' }, L('commission.opcua.goto'));

  const failed = (err) => say(message, errorText(err));

  function nodeItem(n) {
    const toggle = n.hasChildren
      ? h('button', { type: 'button', class: 'twist', 'data-action': 'expand', ...attr('aria-label', 'commission.opcua.expand') }, '▸')
      : h('span', { class: 'twist' });
    return h(
      'li',
      {
        role: 'treeitem',
        'data-node-id': n.nodeId,
        'data-browse-name': n.browseName,
        'data-node-class': n.nodeClass,
        'aria-expanded': n.hasChildren ? 'false' : undefined,
      },
      h(
        'div',
        { class: 'node' },
        toggle,
        h('button', { type: 'button', class: 'node-name', 'data-action': 'select' }, n.browseName),
        h('span', { class: 'muted' }, ` ${n.nodeClass}${n.dataType ? ` · ${n.dataType}` : ''}${n.units ? ` · ${n.units}` : ''}`),
      ),
    );
  }

  async function browse(nodeId, into) {
    try {
      const children = await post('opcua/browse', { device: state.device.ref, ...(nodeId ? { nodeId } : {}) });
      into.replaceChildren(...children.map(nodeItem));
      say(message, children.length ? '' : msg('commission.opcua.empty'));
    } catch (err) {
      failed(err);
    }
  }

  async function select(nodeId) {
    try {
      const n = await post('opcua/read', { device: state.device.ref, nodeId });
      const facts = [
        ['NodeId', n.nodeId],
        ['BrowseName', n.browseName],
        ['NodeClass', n.nodeClass],
        ['DataType', n.dataType],
        ['AccessLevel', n.accessLevel],
        [t('commission.opcua.units'), n.units],
        [t('commission.registers.value'), n.value === undefined ? undefined : String(n.value)],
      ].filter(([, v]) => v !== undefined && v !== null && v !== '');
      detail.replaceChildren(...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { 'data-fact': k }, String(v))]));
      if (n.nodeClass === 'Variable') state.setSource({ source: { nodeId: n.nodeId }, label: `${n.browseName} (${n.nodeId})`, value: n.value });
      else say(message, msg('commission.opcua.notVariable'));
    } catch (err) {
      failed(err);
    }
  }

  function onClick(e) {
    const li = e.target.closest('[data-node-id]');
    const action = e.target.closest('[data-action]')?.dataset.action;
    if (!li || !action) return;
    if (action === 'select') return select(li.dataset.nodeId);
    const open = li.getAttribute('aria-expanded') === 'true';
    li.setAttribute('aria-expanded', String(!open));
    e.target.textContent = open ? '▸' : '▾';
    let children = li.querySelector(':scope > ul');
    if (open) return children?.remove();
    children = h('ul', { role: 'group' });
    li.append(children);
    return browse(li.dataset.nodeId, children);
  }

  tree.addEventListener('click', onClick);
  found.addEventListener('click', onClick);
  browseRoot.addEventListener('click', () => browse(undefined, tree));
  searchButton.addEventListener('click', async () => {
    try {
      const nodes = await post('opcua/search', { device: state.device.ref, text: search.value });
      found.replaceChildren(...nodes.map(nodeItem));
      say(message, nodes.length ? '' : msg('commission.opcua.nothingFound'));
    } catch (err) {
      failed(err);
    }
  });
  gotoButton.addEventListener('click', () => select(goto.value.trim()));

  return h(
    'article',
    { class: 'card commission-step wide', 'data-step': 'opcua', 'data-protocols': 'opcua' },
    h('h3', {}, L('commission.opcua.title')),
    h('div', {}, browseRoot),
    tree,
    h('div', { class: 'inline' }, search, searchButton),
    found,
    h('div', { class: 'inline' }, goto, gotoButton),
    message,
    detail,
  );
}
