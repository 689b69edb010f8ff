// The create-job form: type, payload (JSON, checked before sending), priority, labels, run
// after and idempotency key. Errors are shown in the API's words.
import { api } from './api.js';
import { el, notice, showError, clear } from './ui.js';

// "a=1, b=2" or one per line.
function parseLabels(text) {
  const labels = {};
  for (const part of text.split(/[,\n]/).map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`labels: "${part}" is not key=value`);
    labels[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return labels;
}

export function createForm(session, onCreated) {
  const type = el('input', { id: 'create-type', required: true, placeholder: 'e.g. crawl' });
  const payload = el('textarea', { id: 'create-payload', rows: 4, spellcheck: 'false' }, '{}');
  const priority = el('input', { id: 'create-priority', type: 'number', value: '0', step: '1' });
  const labels = el('input', { id: 'create-labels', placeholder: 'team=search, env=prod' });
  const runAfter = el('input', { id: 'create-run-after', type: 'datetime-local' });
  const idempotency = el('input', { id: 'create-idempotency', placeholder: 'optional' });
  const error = el('div', { id: 'create-error' });
  const field = (label, input) => el('label', { class: 'field' }, el('span', {}, label), input);
  const form = el('form', { class: 'card create', id: 'create-form', onsubmit: async (e) => {
    e.preventDefault();
    clear(error);
    const body = { type: type.value.trim(), priority: Number(priority.value || 0) };
    try {
      const parsed = JSON.parse(payload.value || '{}');
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        throw new Error('must be a JSON object');
      }
      body.payload = parsed;
    } catch (err) {
      return showError(error, new Error(`payload: ${err.message}`));
    }
    try {
      body.labels = parseLabels(labels.value);
    } catch (err) {
      return showError(error, err);
    }
    if (runAfter.value) body.runAfter = new Date(runAfter.value).toISOString();
    if (idempotency.value.trim()) body.idempotencyKey = idempotency.value.trim();
    try {
      const { job } = await api.createJob(session.workspace, body);
      notice(`Created ${job.id}`);
      onCreated(job);
    } catch (err) {
      showError(error, err);
    }
  } },
  el('h2', {}, 'Create a job'),
  el('div', { class: 'grid' }, field('Type', type), field('Priority', priority), field('Labels', labels),
     field('Run after', runAfter), field('Idempotency key', idempotency)),
  field('Payload (JSON object)', payload),
  el('button', { type: 'submit', id: 'create-submit' }, 'Create'),
  error);
  return el('div', {},
    el('details', { class: 'create-wrap' }, el('summary', { id: 'create-open' }, 'Create a job'), form),
    batchForm(session, onCreated));
}

// One job per line, each a CreateJob body as JSON; sent with BatchCreateJobs (up to 1,000, all
// or nothing). A line that is not a JSON object is refused before sending.
export function parseJobLines(text) {
  const requests = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let parsed;
    try {
      parsed = JSON.parse(line);
    } catch (err) {
      throw new Error(`line ${i + 1}: ${err.message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new Error(`line ${i + 1}: must be a JSON object`);
    }
    requests.push(parsed);
  });
  if (requests.length === 0) throw new Error('no job: write one JSON object per line');
  if (requests.length > 1000) throw new Error(`${requests.length} jobs: at most 1000 at once`);
  return requests;
}

function batchForm(session, onCreated) {
  const lines = el('textarea', { id: 'batch-lines', rows: 6, spellcheck: 'false',
                                 placeholder: '{"type": "crawl", "payload": {"url": "https://a.example"}}' });
  const error = el('div', { id: 'batch-error' });
  const form = el('form', { class: 'card create', id: 'batch-form', onsubmit: async (e) => {
    e.preventDefault();
    clear(error);
    let requests;
    try {
      requests = parseJobLines(lines.value);
    } catch (err) {
      return showError(error, err);
    }
    try {
      const { jobs } = await api.batchCreateJobs(session.workspace, requests);
      notice(`Created ${jobs.length} jobs`);
      for (const job of jobs) onCreated(job);
      lines.value = '';
    } catch (err) {
      showError(error, err);  // e.g. "requests[3].type: ...": nothing was created
    }
  } },
  el('h2', {}, 'Create many jobs'),
  el('p', { class: 'hint' }, 'One job per line, as JSON (type, payload, priority, labels, runAfter, ',
     'idempotencyKey). All are created, or none.'),
  lines,
  el('button', { type: 'submit', id: 'batch-submit' }, 'Create all'),
  error);
  return el('details', { class: 'create-wrap' }, el('summary', { id: 'batch-open' }, 'Create many'), form);
}
