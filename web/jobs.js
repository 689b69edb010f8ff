// The jobs table: filters (states, type, label), newest first, in pages; badges, progress,
// attempt, duration and ETA per row. Rows change in place and new jobs appear at the top from
// the workspace's event stream (no polling). Create, cancel and retry when the key's role
// allows them, for one job or for every selected row; bulk actions on every job matching the
// filter (bulk.js).
import { EventStream, api } from './api.js';
import { ACTIVE, STATES, badge, clear, el, eta, formatSeconds, notice, progressBar, seconds, showError,
         stateName } from './ui.js';
import { createForm } from './create.js';
import { bulkPanel } from './bulk.js';

const PAGE_SIZE = 25;

export function renderJobs(view, session) {
  const ws = session.workspace;
  const error = el('div', { id: 'jobs-error' });
  const status = el('span', { class: 'stream-status', id: 'stream-status' }, 'connecting');
  const stateBoxes = STATES.map((s) => el('label', { class: 'check' },
                                          el('input', { type: 'checkbox', value: s, name: 'state' }),
                                          s.toLowerCase()));
  const typeInput = el('input', { id: 'filter-type', placeholder: 'type', 'aria-label': 'type' });
  const labelInput = el('input', { id: 'filter-label', placeholder: 'key:value', 'aria-label': 'label' });
  const filters = el('form', { class: 'filters', onsubmit: (e) => {
    e.preventDefault();
    tokens = [''];
    page = 0;
    if (byFilter) byFilter.reset();
    load();
  } },
                     el('fieldset', {}, el('legend', {}, 'States'), stateBoxes),
                     typeInput, labelInput, el('button', { type: 'submit', id: 'apply-filters' }, 'Filter'));
  const tbody = el('tbody', { id: 'jobs-body' });
  const selectAll = el('input', { type: 'checkbox', 'aria-label': 'select all',
                                  onchange: (e) => { for (const box of tbody.querySelectorAll('input.select')) box.checked = e.target.checked; } });
  const table = el('table', { class: 'table jobs' },
                   el('thead', {}, el('tr', {}, el('th', {}, selectAll), el('th', {}, 'job'), el('th', {}, 'type'),
                                      el('th', {}, 'state'), el('th', {}, 'progress'), el('th', {}, 'attempt'),
                                      el('th', {}, 'duration'), el('th', {}, 'ETA'), el('th', {}, 'created'),
                                      el('th', {}, ''))),
                   tbody);
  const pager = el('div', { class: 'pager' });
  const bulk = el('div', { class: 'bulk' });
  if (session.can('cancel')) {
    bulk.append(el('button', { id: 'cancel-selected', onclick: () => each('cancel') }, 'Cancel selected'));
  }
  if (session.can('retry')) {
    bulk.append(el('button', { id: 'retry-selected', onclick: () => each('retry') }, 'Retry selected'));
  }
  view.append(el('h1', {}, `Jobs in ${ws}`, ' ', status));
  if (session.can('create')) view.append(createForm(session, (job) => { upsert(job, true); }));
  const byFilter = bulkPanel(session, ws, () => filter, () => load());
  if (byFilter) bulk.append(byFilter.element);
  view.append(filters, error, bulk, el('div', { class: 'table-wrap' }, table), pager);

  const rows = new Map();  // job id -> { tr, job }
  let tokens = [''];       // page tokens: tokens[i] opens page i
  let page = 0;
  let filter = { states: [], type: '', label: '' };

  function query(token) {
    const q = new URLSearchParams();
    for (const s of filter.states) q.append('state', s);
    if (filter.type) q.set('type', filter.type);
    if (filter.label) q.set('label', filter.label);
    q.set('page_size', String(PAGE_SIZE));
    q.set('view', 'BASIC');  // the table shows no payloads or results
    if (token) q.set('page_token', token);
    return q.toString();
  }

  function matches(job) {
    if (filter.states.length && !filter.states.includes(stateName(job.state))) return false;
    if (filter.type && job.type !== filter.type) return false;
    if (filter.label) {
      const [k, ...v] = filter.label.split(':');
      if ((job.labels || {})[k] !== v.join(':')) return false;
    }
    return true;
  }

  async function load() {
    filter = {
      states: stateBoxes.map((l) => l.querySelector('input')).filter((i) => i.checked).map((i) => i.value),
      type: typeInput.value.trim(),
      label: labelInput.value.trim(),
    };
    try {
      const result = await api.listJobs(ws, query(tokens[page]));
      rows.clear();
      clear(tbody);
      for (const job of result.jobs || []) upsert(job, false);
      if (!(result.jobs || []).length) tbody.append(el('tr', { class: 'empty' }, el('td', { colspan: 10 }, 'No jobs match.')));
      tokens[page + 1] = result.nextPageToken || '';
      clear(error);
      clear(pager,
            el('button', { disabled: page === 0, onclick: () => { page -= 1; load(); } }, '‹ Newer'),
            el('span', {}, ` page ${page + 1} `),
            el('button', { id: 'next-page', disabled: !result.nextPageToken, onclick: () => { page += 1; load(); } }, 'Older ›'));
    } catch (e) {
      showError(error, e);
    }
  }

  function rowFor(job) {
    const duration = seconds(job.duration);
    const actions = el('td', { class: 'actions' });
    if (session.can('cancel') && ACTIVE.includes(stateName(job.state))) {
      actions.append(el('button', { class: 'cancel', onclick: () => act('cancel', job.id) }, 'Cancel'));
    }
    if (session.can('retry') && ['FAILED', 'CANCELLED'].includes(stateName(job.state))) {
      actions.append(el('button', { class: 'retry', onclick: () => act('retry', job.id) }, 'Retry'));
    }
    return el('tr', { 'data-job': job.id, 'data-state': stateName(job.state) },
              el('td', {}, el('input', { type: 'checkbox', class: 'select', value: job.id, 'aria-label': `select ${job.id}` })),
              el('td', {}, el('a', { href: `#/jobs/${encodeURIComponent(job.id)}`, class: 'mono' }, job.id.slice(0, 8))),
              el('td', {}, job.type),
              el('td', {}, badge(job.state)),
              el('td', {}, progressBar(job.progressPercent, `progress of ${job.id}`)),
              el('td', { class: 'num' }, String(job.attempt || 0)),
              el('td', { class: 'num' }, duration ? formatSeconds(duration) : ''),
              el('td', { class: 'num' }, eta(job)),
              el('td', {}, job.createTime ? new Date(job.createTime).toLocaleTimeString() : ''),
              actions);
  }

  // Replaces a row in place, or puts a new job at the top (first page only).
  function upsert(job, isNew) {
    const row = rows.get(job.id);
    if (row) {
      const merged = { ...row.job, ...job, payload: row.job.payload };
      const tr = rowFor(merged);
      tr.querySelector('input.select').checked = row.tr.querySelector('input.select').checked;
      row.tr.replaceWith(tr);
      rows.set(job.id, { tr, job: merged });
      return;
    }
    if (isNew && (page !== 0 || !matches(job))) return;
    const tr = rowFor(job);
    const empty = tbody.querySelector('tr.empty');
    if (empty) empty.remove();
    if (isNew) tbody.prepend(tr); else tbody.append(tr);
    rows.set(job.id, { tr, job });
  }

  async function act(action, id) {
    try {
      let reason = '';
      if (action === 'cancel') {
        reason = prompt('Reason for cancelling (optional)') ?? null;
        if (reason === null) return;
      }
      const result = action === 'cancel' ? await api.cancelJob(id, reason) : await api.retryJob(id);
      upsert(result.job, false);
      notice(`${action === 'cancel' ? 'Cancelled' : 'Retried'} ${id.slice(0, 8)}`);
    } catch (e) {
      notice(e.message, 'error');
    }
  }

  async function each(action) {
    const ids = [...tbody.querySelectorAll('input.select:checked')].map((b) => b.value);
    if (!ids.length) return notice('Select jobs first.');
    let done = 0;
    const failures = [];
    for (const id of ids) {
      try {
        const result = action === 'cancel' ? await api.cancelJob(id, 'cancelled from the dashboard')
                                           : await api.retryJob(id);
        upsert(result.job, false);
        done += 1;
      } catch (e) {
        failures.push(`${id.slice(0, 8)}: ${e.message}`);
      }
    }
    notice(`${action === 'cancel' ? 'Cancelled' : 'Retried'} ${done} of ${ids.length}` +
           (failures.length ? ` (${failures.join('; ')})` : ''), failures.length ? 'error' : 'info');
  }

  load();
  const stream = new EventStream(`/v1/workspaces/${encodeURIComponent(ws)}/jobs:watch`, {
    resumable: false,
    onEvent: ({ event, data }) => {
      if (!data.job) return;
      // A change to a job not on this page adds no row (a bulk action changes thousands).
      if (event !== 'created' && !rows.has(data.jobId)) return;
      upsert({ ...data.job, id: data.jobId }, event === 'created');
    },
    onStatus: (s) => {
      status.textContent = s === 'open' ? 'live' : s;
      status.className = `stream-status ${s}`;
    },
    onError: (e) => showError(error, e),
  });
  return () => stream.close();
}
