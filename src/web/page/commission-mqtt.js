// MQTT discovery: listen under a topic prefix for some seconds, then pick a topic and a JSON
// path of its last payload for mapping.
import { h } from './dom.js';
import { errorText, L, msg, say } from './commission-text.js';
import { jobBar, runJob } from './commission-jobs.js';

export function mqttPanel(state) {
  const prefix = h('input', { type: 'text', name: 'prefix', value: '', placeholder: 'plant/line1/' });
  const seconds = h('input', { type: 'number', name: 'seconds', value: 10, min: 1, max: 120 });
  const bar = jobBar();
  const topics = h('tbody', { 'data-field': 'mqtt-topics' });
  const paths = h('ul', { class: 'chips', 'data-field': 'mqtt-paths' });
  const message = h('p', { class: 'action-message', role: 'status' });
  const listen = h('button', { type: 'button', 'data-action': 'listen' }, L('commission.mqtt.listen'));
  let results = [];

  listen.addEventListener('click', async () => {
    listen.disabled = true;
    say(message, '');
    try {
      const job = await runJob(bar, 'mqtt.listen', { device: state.device.ref, prefix: prefix.value, seconds: Number(seconds.value) }, (j) => {
        results = j.results;
        topics.replaceChildren(
          ...results.map((r, i) =>
            h(
              'tr',
              { 'data-topic': r.topic },
              h('td', {}, h('button', { type: 'button', class: 'small', 'data-action': 'pick', 'data-index': i }, r.topic)),
              h('td', { class: 'num' }, String(r.count)),
              h('td', {}, h('code', {}, String(r.lastPayload).slice(0, 120))),
            ),
          ),
        );
      });
      say(message, job.error ? errorText(job.error) : msg('commission.mqtt.heard', { count: job.results.length }));
    } catch (err) {
      say(message, errorText(err));
    } finally {
      listen.disabled = false;
    }
  });

  topics.addEventListener('click', (e) => {
    const button = e.target.closest('[data-action="pick"]');
    if (!button) return;
    const r = results[Number(button.dataset.index)];
    const leaves = r.paths ?? [];
    if (leaves.length === 0) {
      paths.replaceChildren();
      return state.setSource({ source: { topic: r.topic }, label: r.topic, value: r.lastPayload });
    }
    paths.replaceChildren(
      ...leaves.map((leaf) =>
        h(
          'li',
          {},
          h('button', { type: 'button', class: 'chip', 'data-path': leaf.path, 'data-topic': r.topic }, `${leaf.path} = ${JSON.stringify(leaf.value)}`),
        ),
      ),
    );
  });
  paths.addEventListener('click', (e) => {
    const b = e.target.closest('[data-path]');
    if (b) state.setSource({ source: { topic: b.dataset.topic, path: b.dataset.path }, label: `${b.dataset.topic} → ${b.dataset.path}` });
  });

  return h(
    'article',
    { class: 'card commission-step wide', 'data-step': 'mqtt', 'data-protocols': 'mqtt' },
    h('h3', {}, L('commission.mqtt.title')),
    h('div', { class: 'form-grid' }, h('label', {}, L('commission.mqtt.prefix'), prefix), h('label', {}, L('commission.mqtt.seconds'), seconds)),
    listen,
    bar,
    message,
    h(
      'div',
      { class: 'table-scroll' },
      h(
        'table',
        { class: 'data' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            h('th', {}, L('commission.mqtt.topic')),
            h('th', { class: 'num' }, L('commission.mqtt.count')),
            h('th', {}, L('commission.mqtt.payload')),
          ),
        ),
        topics,
      ),
    ),
    h('p', { class: 'muted' }, L('commission.mqtt.pickPath')),
    paths,
  );
}
