// Runs a long commissioning job (a scan, an MQTT listen): starts it, polls it twice a second,
// shows progress, the expected time left and an Abort button, and hands each new state on.
import { field, h } from './dom.js';
import { post, get } from './commission-api.js';
import { duration, number } from './i18n.js';
import { L } from './commission-text.js';

const POLL_MS = 500;

/** The progress line of a job panel: a bar, "120 / 400 · about 12 s left" and Abort. */
export function jobBar() {
  return h(
    'div',
    { class: 'job', 'data-field': 'job', hidden: true },
    h('span', { class: 'bar' }, h('span', { class: 'bar-fill', 'data-field': 'job-fill' })),
    h('span', { class: 'job-text', 'data-field': 'job-text' }),
    h('button', { type: 'button', class: 'danger', 'data-field': 'job-abort' }, L('commission.job.abort')),
  );
}

/**
 * Starts job `kind` and resolves with its last state (done, aborted or failed). `onUpdate`
 * sees every state on the way, so results show while the scan runs.
 */
export async function runJob(bar, kind, params, onUpdate) {
  let job = await post('jobs', { kind, params });
  bar.hidden = false;
  const abort = field(bar, 'job-abort');
  abort.disabled = false;
  abort.onclick = () => {
    abort.disabled = true;
    post(`jobs/${encodeURIComponent(job.id)}/abort`).catch(() => {});
  };
  for (;;) {
    show(bar, job);
    onUpdate(job);
    if (job.state !== 'running') break;
    await new Promise((r) => setTimeout(r, POLL_MS));
    job = await get(`jobs/${encodeURIComponent(job.id)}`);
  }
  abort.disabled = true;
  return job;
}

function show(bar, job) {
  const { done, total } = job.progress;
  field(bar, 'job-fill').style.width = `${total > 0 ? ((100 * done) / total).toFixed(1) : 0}%`;
  const eta = job.state === 'running' && job.etaMs !== undefined ? [' · ', L('commission.job.eta', { time: duration(job.etaMs) })] : [];
  field(bar, 'job-text').replaceChildren(L(`commission.job.state.${job.state}`), ` · ${number(done)} / ${number(total)}`, ...eta);
  bar.dataset.state = job.state;
}
