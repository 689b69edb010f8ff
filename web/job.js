// One job: every field, payload and result as JSON, a live progress bar, the message log and
// the event timeline, with pause, resume, cancel, retry and delete as the key allows. All from
// one stream that starts at the job's first event (?after_sequence=0) and resumes with
// Last-Event-ID after a drop: nothing missed, nothing twice. The checkpoint (what a worker
// saved to resume from) is not in events: the page re-reads the job after a progress or state
// change, at most once a second.
import { EventStream, api } from './api.js';
import { ACTIVE, badge, clear, el, eta, formatSeconds, formatTime, isTerminal, json, notice, progressBar,
         seconds, showError, stateName } from './ui.js';

// A checkpoint longer than this is folded away behind a summary.
const CHECKPOINT_FOLD_LINES = 20;
const CHECKPOINT_FOLD_CHARS = 2000;
const CHECKPOINT_REFRESH_MS = 1000;

const FIELDS = [
  ['id', 'Id'], ['workspaceId', 'Workspace'], ['type', 'Type'], ['priority', 'Priority'],
  ['attempt', 'Attempt'], ['workerId', 'Worker'], ['requestedBy', 'Requested by'],
  ['progressMessage', 'Progress message'], ['errorMessage', 'Error'],
  ['idempotencyKey', 'Idempotency key'], ['createTime', 'Created'], ['runAfter', 'Run after'],
  ['startTime', 'Started'], ['finishTime', 'Finished'], ['updateTime', 'Updated'],
  ['expireTime', 'Expires'], ['timeout', 'Timeout'], ['ttl', 'Time to live'],
  ['sequence', 'Events'],
];

// Object keys sorted, at every depth: jobd keeps no key order (a Struct is a map), so without
// this the same checkpoint could come back, and be redrawn, in another order.
function sortedKeys(value) {
  if (Array.isArray(value)) return value.map(sortedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortedKeys(value[key])]));
}

export function renderJob(view, session, id) {
  const error = el('div', { id: 'job-error' });
  const status = el('span', { class: 'stream-status', id: 'stream-status' }, 'connecting');
  const state = el('span', { id: 'job-state' });
  const progress = el('div', { id: 'job-progress-wrap' });
  const fields = el('dl', { class: 'fields', id: 'job-fields' });
  const actions = el('div', { class: 'actions', id: 'job-actions' });
  const payload = el('div', { id: 'job-payload' });
  const result = el('div', { id: 'job-result' });
  const checkpoint = el('div', { id: 'job-checkpoint' });
  const messages = el('ol', { class: 'messages', id: 'job-messages' });
  const timeline = el('ol', { class: 'timeline', id: 'job-timeline' });
  view.append(el('p', {}, el('a', { href: '#/jobs' }, '‹ Jobs')),
              el('h1', {}, 'Job ', el('span', { class: 'mono' }, id.slice(0, 8)), ' ', state, ' ', status),
              error, progress, actions,
              el('div', { class: 'columns' },
                 el('section', {}, el('h2', {}, 'Fields'), fields,
                    el('h2', {}, 'Payload'), payload, el('h2', {}, 'Result'), result,
                    el('h2', {}, 'Checkpoint'), checkpoint),
                 el('section', {}, el('h2', {}, 'Messages'), messages,
                    el('h2', {}, 'Timeline'), timeline)));

  let job = null;
  let closed = false;

  // Redrawn only when it changes, so that an unfolded checkpoint stays open (and a selection
  // in it stays) while events redraw the rest of the page.
  let shownCheckpoint = null;
  function drawCheckpoint() {
    const text = job.checkpoint === undefined ? '' : JSON.stringify(sortedKeys(job.checkpoint), null, 2);
    if (text === shownCheckpoint) return;
    shownCheckpoint = text;
    if (!text) {
      clear(checkpoint, el('p', { class: 'hint', id: 'job-checkpoint-none' }, 'None saved.'));
      return;
    }
    const pre = el('pre', { class: 'json', id: 'job-checkpoint-json' }, text);
    const lines = text.split('\n').length;
    if (lines <= CHECKPOINT_FOLD_LINES && text.length <= CHECKPOINT_FOLD_CHARS) {
      clear(checkpoint, pre);
      return;
    }
    const wasOpen = Boolean(checkpoint.querySelector('details')?.open);
    const size = text.length < 10240 ? `${text.length} characters` : `${Math.round(text.length / 1024)} KiB`;
    clear(checkpoint, el('details', { class: 'checkpoint-fold', open: wasOpen },
                         el('summary', { id: 'job-checkpoint-summary' }, `${lines} lines, ${size}`), pre));
  }

  // The job as GetJob has it, for its checkpoint: one read at a time, at most one a second,
  // and one more after the last change asked for (trailing), so the page ends current.
  let fetchedSequence = 0;  // the job's sequence at the last read
  let changedSequence = 0;  // the latest progress or state event seen
  let lastFetch = 0;
  let fetching = false;
  let wanted = false;
  let timer = null;
  function refreshCheckpointSoon() {
    wanted = true;
    if (fetching || timer !== null || closed) return;
    timer = setTimeout(refreshCheckpoint, Math.max(0, lastFetch + CHECKPOINT_REFRESH_MS - Date.now()));
  }
  async function refreshCheckpoint() {
    timer = null;
    if (closed || !wanted) return;
    wanted = false;
    fetching = true;
    lastFetch = Date.now();
    try {
      const fresh = (await api.getJob(id)).job;
      if (!closed && job) {
        fetchedSequence = Math.max(fetchedSequence, Number(fresh.sequence || 0));
        job = { ...job, checkpoint: fresh.checkpoint };
        drawCheckpoint();
      }
    } catch (e) {
      // The stream reports a lost jobd; the checkpoint shown stays until the next read.
    } finally {
      fetching = false;
      if (wanted) refreshCheckpointSoon();
    }
  }

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
    drawCheckpoint();
    drawActions();
  }

  // Redrawn only when what is allowed changes, so a reason being typed is not wiped by events.
  let shownActions = null;
  function drawActions() {
    const name = stateName(job.state);
    if (name === shownActions) return;
    shownActions = name;
    clear(actions);
    if (session.can('control') && ['QUEUED', 'SCHEDULED', 'RUNNING'].includes(name)) {
      actions.append(el('button', { id: 'job-pause', class: 'pause', onclick: () => act(() => api.pauseJob(id)) }, 'Pause'));
    }
    if (session.can('control') && name === 'PAUSED') {
      actions.append(el('button', { id: 'job-resume', class: 'resume', onclick: () => act(() => api.resumeJob(id)) }, 'Resume'));
    }
    if (session.can('cancel') && ACTIVE.includes(name)) {
      const reason = el('input', { id: 'cancel-reason', placeholder: 'reason', 'aria-label': 'reason for cancelling' });
      actions.append(reason, el('button', { id: 'job-cancel', class: 'cancel', onclick: () => act(() => api.cancelJob(id, reason.value)) }, 'Cancel'));
    }
    if (session.can('retry') && ['FAILED', 'CANCELLED'].includes(name)) {
      actions.append(el('button', { id: 'job-retry', onclick: () => act(() => api.retryJob(id)) }, 'Retry'));
    }
    if (session.can('control') && isTerminal(job.state)) {
      actions.append(el('button', { id: 'job-delete', class: 'delete', onclick: remove }, 'Delete'));
    }
  }

  async function remove() {
    if (!confirm(`Delete the job ${id.slice(0, 8)} and its history? This cannot be undone.`)) return;
    try {
      await api.deleteJob(id);
      notice(`Deleted ${id.slice(0, 8)}`);
      location.hash = '#/jobs';
    } catch (e) {
      notice(e.message, 'error');
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
      lastFetch = Date.now();
      job = (await api.getJob(id)).job;
      fetchedSequence = Math.max(fetchedSequence, Number(job.sequence || 0));
      draw();
      // Events that came while this read was under way (and were not applied: no job yet).
      if (changedSequence > fetchedSequence) refreshCheckpointSoon();
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
    const changes = ['progress', 'state_changed', 'snapshot'].includes(event);
    if (changes) changedSequence = Math.max(changedSequence, Number(sequence) || 0);
    if (job) {
      const before = job.state;
      job = { ...job, ...eventJob, payload: job.payload, result: eventJob.result || job.result };
      draw();
      if (isTerminal(job.state) && !isTerminal(before)) load();  // the result, as stored
      // Events leave the checkpoint out; one past what was last read may have changed it.
      else if (changes && changedSequence > fetchedSequence) refreshCheckpointSoon();
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
  return () => {
    closed = true;
    if (timer !== null) clearTimeout(timer);
    stream.close();
  };
}
