// The jobs table's bulk actions: one operation on every job of the workspace that matches the
// table's filter (as last applied), not only the rows on the page. Choosing an action first
// asks jobd for a dry run and shows its count ("Cancel all 1,204 matching jobs?"); only the
// confirmation changes anything, and the outcome is jobd's own count ("Cancelled 1,204 of
// 1,204"). jobd refuses an empty filter, and so does the panel, before asking.
import { api } from './api.js';
import { clear, count, el, notice, showError } from './ui.js';

// action: [verb, past tense, who may (a permission), takes a reason]
const ACTIONS = {
  cancel: ['Cancel', 'Cancelled', 'control', true],
  retry: ['Retry', 'Retried', 'control', false],
  pause: ['Pause', 'Paused', 'control', false],
  resume: ['Resume', 'Resumed', 'control', false],
  fail: ['Fail', 'Failed', 'admin', true],
  delete: ['Delete', 'Deleted', 'admin', false],
};

// The table's filter ({ states: ['QUEUED'], type, label: 'key:value' }) as a JobFilter, or
// null when nothing is set.
export function jobFilter({ states, type, label }) {
  const filter = {};
  if (states.length) filter.states = states.map((s) => `JOB_STATE_${s}`);
  if (type) filter.type = type;
  if (label) {
    const [key, ...value] = label.split(':');
    filter.labels = { [key]: value.join(':') };
  }
  return Object.keys(filter).length ? filter : null;
}

function describe({ states, type, label }) {
  const parts = [];
  if (states.length) parts.push(`state ${states.map((s) => s.toLowerCase()).join(' or ')}`);
  if (type) parts.push(`type ${type}`);
  if (label) parts.push(`label ${label}`);
  return parts.join(', ');
}

// The panel, or null when the key may do none of the actions. currentFilter() answers the
// table's filter; done() is called after a change (the table reloads).
export function bulkPanel(session, ws, currentFilter, done) {
  const allowed = Object.keys(ACTIONS).filter((a) => session.can(ACTIONS[a][2]));
  if (!allowed.length) return null;
  const select = el('select', { id: 'bulk-action', 'aria-label': 'bulk action', onchange: () => preview() },
                    el('option', { value: '' }, 'Every matching job…'),
                    allowed.map((a) => el('option', { value: a }, `${ACTIONS[a][0]} all matching`)));
  const confirmArea = el('div', { class: 'bulk-confirm', id: 'bulk-confirm-area' });
  const result = el('p', { id: 'bulk-result', role: 'status' });
  const error = el('div', { id: 'bulk-error' });
  const panel = el('div', { class: 'bulk bulk-filter', id: 'bulk-filter' },
                   el('span', { class: 'hint' }, 'By filter:'), select, confirmArea, result, error);

  let counted = null;  // { action, filter (JSON text) } of the dry run shown
  let busy = false;

  function reset() {
    counted = null;
    select.value = '';
    clear(confirmArea);
  }

  async function preview() {
    const action = select.value;
    clear(confirmArea);
    clear(error);
    clear(result);
    counted = null;
    if (!action) return;
    const shown = currentFilter();
    const filter = jobFilter(shown);
    if (!filter) {
      select.value = '';
      showError(error, new Error('Set a filter first (state, type or label) and apply it: ' +
                                 'a bulk action never takes every job of a workspace.'));
      return;
    }
    const [verb, , , takesReason] = ACTIONS[action];
    try {
      const dry = await api.bulkJobs(ws, action, { filter, dryRun: true });
      if (select.value !== action) return;  // another action was chosen meanwhile
      const matched = Number(dry.matched || 0);
      if (matched === 0) {
        clear(confirmArea, el('p', { id: 'bulk-confirm-text' }, `No matching jobs to ${verb.toLowerCase()}.`));
        select.value = '';
        return;
      }
      counted = { action, filter: JSON.stringify(filter) };
      const reason = takesReason
        ? el('input', { id: 'bulk-reason', placeholder: 'reason (optional)', 'aria-label': 'reason' })
        : null;
      clear(confirmArea,
            el('p', { id: 'bulk-confirm-text' }, `${verb} all ${count(matched)} matching jobs?`),
            el('span', { class: 'hint', id: 'bulk-filter-text' }, describe(shown)),
            action === 'delete' ? el('span', { class: 'hint' }, 'Their history goes too.') : null,
            reason,
            el('button', { id: 'bulk-confirm', class: ['cancel', 'fail', 'delete'].includes(action) ? 'delete' : '',
                           onclick: () => run(action, filter, reason ? reason.value.trim() : '') },
               `${verb} ${count(matched)} jobs`),
            el('button', { id: 'bulk-dismiss', class: 'link', onclick: reset }, 'Keep them'));
    } catch (e) {
      select.value = '';
      showError(error, e);
    }
  }

  async function run(action, filter, reason) {
    if (busy) return;
    // The table's filter changed since the count: count again rather than act on other jobs.
    const now = jobFilter(currentFilter());
    if (!counted || counted.action !== action || JSON.stringify(now) !== counted.filter) {
      preview();
      return;
    }
    busy = true;
    for (const b of confirmArea.querySelectorAll('button')) b.disabled = true;
    const body = { filter };
    if (reason) body.reason = reason;
    try {
      const outcome = await api.bulkJobs(ws, action, body);
      const text = `${ACTIONS[action][1]} ${count(outcome.changed)} of ${count(outcome.matched)}`;
      reset();
      result.textContent = text;
      notice(text);
      done();
    } catch (e) {
      reset();
      showError(error, e);
    } finally {
      busy = false;
    }
  }

  return { element: panel, reset };
}
