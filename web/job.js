// One job: every field, payload and result as JSON, a live progress bar, the message log and
// the event timeline. All from one stream that starts at the job's first event
// (?after_sequence=0) and resumes with Last-Event-ID after a drop: nothing missed, nothing
// twice.
import { EventStream, api } from './api.js';
import { badge, clear, el, eta, formatSeconds, formatTime, isTerminal, json, notice, progressBar,
         seconds, showError, stateName } from './ui.js';

const FIELDS = [
  ['id', 'Id'], ['workspaceId', 'Workspace'], ['type', 'Type'], ['priority', 'Priority'],
  ['attempt', 'Attempt'], ['workerId', 'Worker'], ['requestedBy', 'Requested by'],
  ['progressMessage', 'Progress message'], ['errorMessage', 'Error'],
  ['idempotencyKey', 'Idempotency key'], ['createTime', 'Created'], ['runAfter', 'Run after'],
  ['startTime', 'Started'], ['finishTime', 'Finished'], ['updateTime', 'Updated'],
  ['expireTime', 'Expires'], ['timeout', 'Timeout'], ['ttl', 'Time to live'],
  ['sequence', 'Events'],
];

export function renderJob(view, session, id) {
  const error = el('div', { id: 'job-error' });
  const status = el('span', { class: 'stream-status', id: 'stream-status' }, 'connecting');
  const state = el('span', { id: 'job-state' });
  const progress = el('div', { id: 'job-progress-wrap' });
  const fields = el('dl', { class: 'fields', id: 'job-fields' });
  const actions = el('div', { class: 'actions', id: 'job-actions' });
  const payload = el('div', { id: 'job-payload' });
  const result = el('div', { id: 'job-result' });
  const messages = el('ol', { class: 'messages', id: 'job-messages' });
  const timeline = el('ol', { class: 'timeline', id: 'job-timeline' });
  view.append(el('p', {}, el('a', { href: '#/jobs' }, '‹ Jobs')),
              el('h1', {}, 'Job ', el('span', { class: 'mono' }, id.slice(0, 8)), ' ', state, ' ', status),
              error, progress, actions,
              el('div', { class: 'columns' },
                 el('section', {}, el('h2', {}, 'Fields'), fields,
                    el('h2', {}, 'Payload'), payload, el('h2', {}, 'Result'), result),
                 el('section', {}, el('h2', {}, 'Messages'), messages,
                    el('h2', {}, 'Timeline'), timeline)));

  let job = null;

  function draw() {
    if (!job) return;
    clear(state, badge(job.state));
    clear(progress, progressBar(job.progressPercent, 'job progress'),
          el('span', { class: 'eta' }, eta(job) ? `ETA ${eta(job)}` : ''));
    progress.querySelector('.progress').id = 'job-progress';
    clear(fields, FIELDS.filter(([key]) => job[key] !== undefined && job[key] !== '').map(([key, label]) => {
      let value = job[key];
      if (/Time$|runAfter/.test(key)) value = formatTime(value);
      if (key === 'timeout' || key === 'ttl') value = formatSeconds(seconds(value));
      return [el('dt', {}, label), el('dd', { 'data-field': key }, String(value))];
    }).flat(),
    job.labels ? [el('dt', {}, 'Labels'), el('dd', {}, Object.entries(job.labels).map(([k, v]) => `${k}=${v}`).join(', '))] : [],
    job.duration ? [el('dt', {}, 'Duration'), el('dd', {}, formatSeconds(seconds(job.duration)))] : []);
    clear(payload, json(job.payload || {}));
    clear(result, job.result ? json(job.result) : el('p', { class: 'hint' }, 'None yet.'));
    clear(actions);
    const name = stateName(job.state);
    if (session.can('cancel') && ['QUEUED', 'SCHEDULED', 'RUNNING'].includes(name)) {
      const reason = el('input', { id: 'cancel-reason', placeholder: 'reason', 'aria-label': 'reason for cancelling' });
      actions.append(reason, el('button', { id: 'job-cancel', onclick: () => act(() => api.cancelJob(id, reason.value)) }, 'Cancel'));
    }
    if (session.can('retry') && ['FAILED', 'CANCELLED'].includes(name)) {
      actions.append(el('button', { id: 'job-retry', onclick: () => act(() => api.retryJob(id)) }, 'Retry'));
    }
  }

  async function act(call) {
    try {
      const response = await call();
      job = { ...job, ...response.job };
      draw();
    } catch (e) {
      notice(e.message, 'error');
    }
  }

  async function load() {
    try {
      job = (await api.getJob(id)).job;
      draw();
    } catch (e) {
      showError(error, e);
    }
  }

  function onEvent({ id: sequence, event, data }) {
    const kind = event.replace('_', ' ');
    const eventJob = data.job || {};
    timeline.append(el('li', { 'data-sequence': sequence, class: `event-${event}` },
                       el('span', { class: 'seq' }, `#${sequence}`), ' ',
                       el('time', {}, formatTime(data.time)), ' ', el('strong', {}, kind), ' ',
                       event === 'progress' ? `${Number(eventJob.progressPercent || 0).toFixed(0)} %` :
                       event === 'message' ? '' : stateName(eventJob.state).toLowerCase(),
                       // Bounded history: this progress event stands for earlier ones, not kept.
                       data.foldedProgressEvents ? ` (${data.foldedProgressEvents} earlier folded in)` : ''));
    if (data.message && data.message.text) {
      const level = (data.message.level || 'MESSAGE_LEVEL_INFO').replace('MESSAGE_LEVEL_', '').toLowerCase();
      messages.append(el('li', { class: `level-${level}`, 'data-sequence': sequence },
                         el('span', { class: 'level' }, level), ' ', data.message.text));
    }
    if (job) {
      const before = job.state;
      job = { ...job, ...eventJob, payload: job.payload, result: eventJob.result || job.result };
      draw();
      if (isTerminal(job.state) && !isTerminal(before)) load();  // the result, as stored
    }
  }

  load();
  const stream = new EventStream(`/v1/jobs/${encodeURIComponent(id)}:watch?after_sequence=0`, {
    onEvent,
    onStatus: (s) => {
      status.textContent = s === 'open' ? 'live' : s;
      status.className = `stream-status ${s}`;
    },
    onError: (e) => showError(error, e),
  });
  return () => stream.close();
}
