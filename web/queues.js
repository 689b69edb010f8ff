// A workspace's queues (one per job type): paused or not, jobs per state, the age of the oldest
// queued job and the limits (jobs running at once, starts per second and burst). Pause and
// resume with the control permission; admins also change the limits. Queues have no event
// stream: the table is read again every few seconds while it is open, and rows change in
// place, so that a button or a limits form being filled in is never replaced under the pointer.
import { api } from './api.js';
import { STATES, clear, count, el, formatSeconds, formatTime, notice, seconds, showError,
         stateName } from './ui.js';

const REFRESH_MS = 5000;

// "max running 3 · 2.5/s, burst 5", or "none".
export function limitsText(queue) {
  const parts = [];
  if (queue.maxRunning !== undefined && queue.maxRunning !== null) parts.push(`max running ${count(queue.maxRunning)}`);
  if (queue.maxStartsPerSecond !== undefined && queue.maxStartsPerSecond !== null) {
    parts.push(`${Number(queue.maxStartsPerSecond)}/s, burst ${count(queue.burst)}`);
  }
  return parts.length ? parts.join(' · ') : 'none';
}

function countsCell(queue) {
  const counts = {};
  for (const c of queue.stateCounts || []) counts[stateName(c.state)] = Number(c.count || 0);
  const shown = STATES.filter((s) => counts[s]);
  if (!shown.length) return el('span', { class: 'hint' }, 'no jobs');
  const parts = [];
  shown.forEach((s, i) => parts.push(i ? ' · ' : '',
                                     el('span', { class: `count state-${s.toLowerCase()}`, 'data-state': s },
                                        `${s.toLowerCase()} ${count(counts[s])}`)));
  return parts;
}

// A number input's value for the API: undefined when empty.
function numberOrUnset(input, integer) {
  const text = input.value.trim();
  if (!text) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new Error(`${input.getAttribute('aria-label')}: "${text}" is not ${integer ? 'a whole number' : 'a number'}`);
  }
  return value;
}

export function renderQueues(view, session) {
  const ws = session.workspace;
  const control = session.can('control');
  const admin = session.can('admin');
  const error = el('div', { id: 'queues-error' });
  const tbody = el('tbody', { id: 'queues-body' });
  view.append(el('h1', {}, `Queues in ${ws}`),
              el('p', { class: 'hint' }, 'A queue is a job type. Paused, its jobs wait: workers take none, ' +
                                         'new jobs are still created and running ones go on.'),
              error,
              el('div', { class: 'table-wrap' },
                 el('table', { class: 'table queues' },
                    el('thead', {}, el('tr', {}, el('th', {}, 'type'), el('th', {}, 'status'), el('th', {}, 'jobs'),
                                       el('th', {}, 'oldest queued'), el('th', {}, 'limits'),
                                       control ? el('th', {}, '') : null)),
                    tbody)));

  const rows = new Map();  // type -> { tr, cells, form }
  let closed = false;
  let timer = null;
  let loading = false;  // one read at a time; `again` asks for one more when it ends
  let again = false;
  let version = 0;      // bumped by each action, so a read begun before it is not drawn

  function limitsForm(type) {
    const maxRunning = el('input', { class: 'limit-max-running', type: 'number', min: 1, max: 100000, step: 1,
                                     placeholder: 'no limit', 'aria-label': 'max running' });
    const rate = el('input', { class: 'limit-rate', type: 'number', min: 0, max: 100000, step: 'any',
                               placeholder: 'no limit', 'aria-label': 'starts per second' });
    const burst = el('input', { class: 'limit-burst', type: 'number', min: 1, max: 100000, step: 1,
                                placeholder: 'default', 'aria-label': 'burst' });
    const formError = el('div', { class: 'limits-error' });
    const form = el('form', { class: 'limits-form', novalidate: true, onsubmit: async (e) => {
      e.preventDefault();
      clear(formError);
      const body = {};
      try {
        body.maxRunning = numberOrUnset(maxRunning, true);
        body.maxStartsPerSecond = numberOrUnset(rate, false);
        body.burst = numberOrUnset(burst, true);
      } catch (err) {
        showError(formError, err);
        return;
      }
      try {
        const response = await api.queueAction(ws, type, 'setLimits', body);
        details.open = false;
        changed(response.queue, true);
        notice(`Limits of ${type}: ${limitsText(response.queue)}`);
      } catch (err) {
        showError(formError, err);
      }
    } },
    el('label', { class: 'field' }, el('span', {}, 'max running'), maxRunning),
    el('label', { class: 'field' }, el('span', {}, 'starts/s'), rate),
    el('label', { class: 'field' }, el('span', {}, 'burst'), burst),
    el('button', { type: 'submit', class: 'set-limits' }, 'Set limits'),
    formError);
    const details = el('details', { class: 'limits-edit' }, el('summary', {}, 'Change'), form);
    // Shows the queue's limits, unless the form is open (being filled in).
    details.fill = (queue, force) => {
      if (details.open && !force) return;
      maxRunning.value = queue.maxRunning ?? '';
      rate.value = queue.maxStartsPerSecond ?? '';
      burst.value = queue.maxStartsPerSecond !== undefined && queue.burst ? queue.burst : '';
    };
    details.addEventListener('toggle', () => { if (!details.open) clear(formError); });
    return details;
  }

  async function act(type, action) {
    try {
      const response = await api.queueAction(ws, type, action);
      clear(error);
      changed(response.queue, false);
      notice(`${action === 'pause' ? 'Paused' : 'Resumed'} the queue ${type}`);
    } catch (e) {
      showError(error, e);
    }
  }

  function draw(row, queue) {
    const { tr, cells, form } = row;
    tr.dataset.paused = String(Boolean(queue.paused));
    clear(cells.status, queue.paused ? el('span', { class: 'badge paused' }, 'paused')
                                     : el('span', { class: 'badge active' }, 'active'));
    clear(cells.jobs, countsCell(queue));
    cells.oldest.textContent = queue.oldestQueuedAge ? formatSeconds(seconds(queue.oldestQueuedAge)) : '—';
    clear(cells.limitsText, limitsText(queue));
    cells.limits.title = queue.updateTime ? `changed ${formatTime(queue.updateTime)}` : '';
    if (form) form.fill(queue, false);
    if (cells.actions) {
      // Replaced only when the queue's state flips: the other button is the one to show.
      const want = queue.paused ? 'resume' : 'pause';
      if (cells.actions.dataset.shows !== want) {
        cells.actions.dataset.shows = want;
        clear(cells.actions, el('button', { class: want, onclick: () => act(queue.type, want) },
                                want === 'pause' ? 'Pause' : 'Resume'));
      }
    }
  }

  // A queue as an action answered it: its settings. The counts stay as last listed until the
  // table is read again, at once.
  function changed(queue, refill) {
    const before = rows.get(queue.type)?.queue || {};
    upsert({ ...queue, stateCounts: queue.stateCounts || before.stateCounts,
             oldestQueuedAge: queue.oldestQueuedAge || before.oldestQueuedAge }, refill);
    version += 1;
    load();
  }

  function upsert(queue, refill) {
    let row = rows.get(queue.type);
    if (!row) {
      const cells = {
        status: el('td', { class: 'status' }), jobs: el('td', { class: 'jobs wrap' }),
        oldest: el('td', { class: 'num oldest' }), limitsText: el('span', { class: 'limits-text' }),
        actions: control ? el('td', { class: 'actions' }) : null,
      };
      const form = admin ? limitsForm(queue.type) : null;
      cells.limits = el('td', { class: 'limits wrap' }, cells.limitsText, form);
      const tr = el('tr', { 'data-queue-type': queue.type },
                    el('td', { class: 'mono' }, queue.type), cells.status, cells.jobs, cells.oldest,
                    cells.limits, cells.actions);
      row = { tr, cells, form };
      rows.set(queue.type, row);
    }
    row.queue = queue;
    draw(row, queue);
    if (refill && row.form) row.form.fill(queue, true);
    return row;
  }

  async function load() {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    if (loading) {
      again = true;
      return;
    }
    loading = true;
    const started = version;
    try {
      const queues = (await api.listQueues(ws)).queues || [];
      if (closed || started !== version) {
        again = !closed;
        return;
      }
      clear(error);
      const seen = new Set();
      const order = [];
      for (const queue of queues) {
        seen.add(queue.type);
        order.push(upsert(queue, false).tr);
      }
      for (const [type, row] of rows) {
        if (!seen.has(type)) { row.tr.remove(); rows.delete(type); }
      }
      // In jobd's order (by type), moving rows only when needed so none is rebuilt.
      order.forEach((tr, i) => { if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null); });
      const empty = tbody.querySelector('tr.empty');
      if (order.length && empty) empty.remove();
      if (!order.length && !empty) {
        tbody.append(el('tr', { class: 'empty' }, el('td', { colspan: 6 }, 'No queues: no jobs or settings yet.')));
      }
    } catch (e) {
      if (!closed) showError(error, e);
    } finally {
      loading = false;
      if (again && !closed) {
        again = false;
        load();
      } else if (!closed) {
        timer = setTimeout(load, REFRESH_MS);
      }
    }
  }

  load();
  return () => {
    closed = true;
    if (timer !== null) clearTimeout(timer);
  };
}
