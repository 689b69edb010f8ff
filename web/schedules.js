// A workspace's schedules: what each runs and when (cron expressions, intervals, time zone),
// the next run times (the first in the table, all of them on hover and in the detail), the last
// run and its job, runs fired and skipped, and paused with its note. Pause (with a note), resume,
// trigger now (linking the job made) and delete when the key may manage them, and a form for a
// new schedule. Schedules have no event stream: the table is read again every few seconds while
// it is open, and rows change in place so that a button is never replaced under the pointer.
import { api, listAll } from './api.js';
import { clear, el, formatTime, json, notice, parseObject, seconds, showError } from './ui.js';

const REFRESH_MS = 5000;
const OVERLAP = [
  ['OVERLAP_POLICY_SKIP', 'skip: no run while the last job is active'],
  ['OVERLAP_POLICY_BUFFER_ONE', 'buffer one: one run waits for the last job'],
  ['OVERLAP_POLICY_ALLOW_ALL', 'allow all: run anyway'],
  ['OVERLAP_POLICY_CANCEL_OTHER', 'cancel other: cancel the last job, then run'],
];
const UNITS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

// "1h30m", "90s", "500ms" as a Duration's JSON ("5400s").
export function parseDuration(text) {
  const compact = text.replace(/\s+/g, '');
  if (!/^(\d+(\.\d+)?(ms|s|m|h|d))+$/.test(compact)) {
    throw new Error(`"${text}" is not a duration like 30s, 5m, 1h30m`);
  }
  let total = 0;
  for (const [, number, , unit] of compact.matchAll(/(\d+(\.\d+)?)(ms|s|m|h|d)/g)) {
    total += Number(number) * UNITS[unit];
  }
  return `${Number(total.toFixed(9))}s`;
}

// A Duration's JSON ("5400s") as "1h 30m".
export function durationText(duration) {
  let left = seconds(duration);
  const parts = [];
  for (const [unit, size] of [['d', 86400], ['h', 3600], ['m', 60]]) {
    if (left >= size) {
      parts.push(`${Math.floor(left / size)}${unit}`);
      left %= size;
    }
  }
  if (left || !parts.length) parts.push(`${Number(left.toFixed(3))}s`);
  return parts.join(' ');
}

function intervalText(interval) {
  const offset = seconds(interval.offset);
  return `every ${durationText(interval.every)}${offset ? ` (offset ${durationText(interval.offset)})` : ''}`;
}

// The spec in a table cell: each cron expression and interval, then the time zone.
function specCell(spec = {}) {
  const items = [...(spec.cron || []).map((c) => el('code', { class: 'cron' }, c)),
                 ...(spec.intervals || []).map((i) => el('span', { class: 'interval' }, intervalText(i)))];
  const parts = [];
  items.forEach((item, i) => parts.push(i ? '; ' : '', item));
  return [...parts, ' ', el('span', { class: 'hint zone' }, spec.timeZone || 'UTC')];
}

// The time alone when it is today, else date and time.
function shortTime(timestamp) {
  const date = new Date(timestamp);
  if (Number.isNaN(date.getTime())) return timestamp;
  return date.toDateString() === new Date().toDateString() ? date.toLocaleTimeString() : date.toLocaleString();
}

function policyName(policy) {
  return (policy || 'OVERLAP_POLICY_SKIP').replace('OVERLAP_POLICY_', '').toLowerCase().replace('_', ' ');
}

const field = (label, input) => el('label', { class: 'field' }, el('span', {}, label), input);

export function renderSchedules(view, session, selectedId) {
  const ws = session.workspace;
  const manage = session.can('manage_setup');
  const error = el('div', { id: 'schedules-error' });
  const tbody = el('tbody', { id: 'schedules-body' });
  const detail = el('section', { id: 'schedule-detail', class: 'detail' });
  view.append(el('h1', {}, `Schedules in ${ws}`));
  if (manage) view.append(newScheduleForm(session, (created) => { upsert(created); load(); }));
  view.append(error,
              el('div', { class: 'table-wrap' },
                 el('table', { class: 'table schedules' },
                    el('thead', {}, el('tr', {}, ['name', 'when', 'next run', 'last run', 'fired / skipped',
                                                  'state', ''].map((h) => el('th', {}, h)))),
                    tbody)),
              detail);

  const rows = new Map();  // schedule id -> { tr, cells, buttons, result, schedule, paused }
  let loading = false;

  async function load() {
    if (loading) return;
    loading = true;
    try {
      const schedules = await listAll((token) => api.listSchedules(ws, token), 'schedules');
      const seen = new Set(schedules.map((s) => s.id));
      for (const [id, row] of rows) {
        if (!seen.has(id)) {
          row.tr.remove();
          rows.delete(id);
        }
      }
      const ordered = schedules.map(upsert);
      // In name order; moving a row keeps its nodes (and a pointer on its buttons).
      ordered.forEach((row, i) => { if (tbody.children[i] !== row.tr) tbody.insertBefore(row.tr, tbody.children[i] || null); });
      const empty = tbody.querySelector('tr.empty');
      if (schedules.length && empty) empty.remove();
      if (!schedules.length && !empty) {
        tbody.append(el('tr', { class: 'empty' }, el('td', { colspan: 7 }, 'No schedules yet.')));
      }
      clear(error);
      if (selectedId) {
        const row = rows.get(selectedId);
        if (row) drawDetail(row.schedule);
        else await loadDetail();
      }
    } catch (e) {
      showError(error, e);
    } finally {
      loading = false;
    }
  }

  // A schedule not in the list (deleted, or another workspace's): jobd's answer is shown.
  async function loadDetail() {
    try {
      drawDetail((await api.getSchedule(selectedId)).schedule);
    } catch (e) {
      showError(detail, e);
    }
  }

  function upsert(s) {
    let row = rows.get(s.id);
    if (!row) {
      const cells = {
        name: el('td', {}), spec: el('td', { class: 'wrap' }), next: el('td', { class: 'next-run' }),
        last: el('td', { class: 'last-run' }), runs: el('td', { class: 'num runs' }),
        state: el('td', { class: 'state' }), actions: el('td', {}),
      };
      const buttons = el('div', { class: 'actions' });
      const result = el('div', { class: 'trigger-result' });
      cells.actions.append(buttons, result);
      row = { tr: el('tr', { 'data-schedule': s.id }, Object.values(cells)), cells, buttons, result };
      rows.set(s.id, row);
      if (!tbody.contains(row.tr)) tbody.append(row.tr);
    }
    row.schedule = s;
    fill(row);
    if (s.id === selectedId) drawDetail(s);
    return row;
  }

  function fill(row) {
    const s = row.schedule;
    const { cells } = row;
    row.tr.dataset.scheduleName = s.name;
    row.tr.dataset.paused = s.paused ? 'true' : 'false';
    row.tr.toggleAttribute('data-selected', s.id === selectedId);
    clear(cells.name, el('a', { class: 'open-schedule', href: `#/schedules/${encodeURIComponent(s.id)}` }, s.name));
    clear(cells.spec, specCell(s.spec));
    const next = s.nextRunTimes || [];
    cells.next.dataset.count = String(next.length);
    cells.next.title = next.map(formatTime).join('\n');
    clear(cells.next, next.length ? [el('time', { datetime: next[0] }, shortTime(next[0])),
                                     next.length > 1 ? el('span', { class: 'hint' }, ` +${next.length - 1}`) : null]
      : el('span', { class: 'hint' }, s.paused ? 'paused' : 'none'));
    clear(cells.last, s.lastRunTime
      ? [el('time', { datetime: s.lastRunTime, title: formatTime(s.lastRunTime) }, shortTime(s.lastRunTime)), ' ',
         s.lastJobId ? el('a', { class: 'last-job mono', href: `#/jobs/${encodeURIComponent(s.lastJobId)}` },
                          s.lastJobId.slice(0, 8)) : null]
      : el('span', { class: 'hint' }, 'never'));
    cells.runs.title = s.lastSkipReason ? `last skipped: ${s.lastSkipReason}` : '';
    clear(cells.runs, `${Number(s.runsFired || 0)} / ${Number(s.runsSkipped || 0)}`);
    clear(cells.state, s.paused
      ? [el('span', { class: 'badge paused' }, 'paused'), ' ', el('span', { class: 'pause-note' }, s.pauseNote || '')]
      : el('span', { class: 'badge active' }, 'active'),
    s.bufferedRunTime ? el('div', { class: 'hint' }, `a run waits (${formatTime(s.bufferedRunTime)})`) : null);
    if (manage && row.paused !== Boolean(s.paused)) {
      row.paused = Boolean(s.paused);
      clear(row.buttons,
            s.paused ? el('button', { class: 'resume', onclick: () => act(row, 'resume') }, 'Resume')
                     : el('button', { class: 'pause', onclick: () => act(row, 'pause') }, 'Pause'),
            el('button', { class: 'trigger', onclick: () => act(row, 'trigger') }, 'Trigger now'),
            el('button', { class: 'delete', onclick: () => act(row, 'delete') }, 'Delete'));
    }
  }

  async function act(row, action) {
    const s = row.schedule;
    let note = '';
    if (action === 'pause') {
      note = prompt(`Pause ${s.name}: a note, shown with the schedule`, '');
      if (note === null) return;
    }
    if (action === 'delete' && !confirm(`Delete the schedule ${s.name}? Its jobs stay.`)) return;
    for (const b of row.buttons.querySelectorAll('button')) b.disabled = true;
    try {
      if (action === 'pause') upsert((await api.pauseSchedule(s.id, note)).schedule);
      else if (action === 'resume') upsert((await api.resumeSchedule(s.id)).schedule);
      else if (action === 'trigger') {
        const { job } = await api.triggerSchedule(s.id);
        clear(row.result, 'made ', el('a', { class: 'triggered-job mono', href: `#/jobs/${encodeURIComponent(job.id)}` },
                                    job.id.slice(0, 8)));
        notice(`Triggered ${s.name}: job ${job.id.slice(0, 8)}`);
      } else if (action === 'delete') {
        await api.deleteSchedule(s.id);
        notice(`Deleted ${s.name}.`);
        if (s.id === selectedId) {
          location.hash = '#/schedules';
          return;
        }
      }
      load();
    } catch (e) {
      notice(e.message, 'error');
    } finally {
      for (const b of row.buttons.querySelectorAll('button')) b.disabled = false;
    }
  }

  function drawDetail(s) {
    const spec = s.spec || {};
    detail.dataset.schedule = s.id;
    const rowsOf = [
      ['Id', s.id], ['Workspace', s.workspaceId], ['Cron', (spec.cron || []).join('\n')],
      ['Intervals', (spec.intervals || []).map(intervalText).join('\n')], ['Time zone', spec.timeZone || 'UTC'],
      ['Start', formatTime(spec.startTime)], ['End', formatTime(spec.endTime)],
      ['Jitter', spec.jitter ? durationText(spec.jitter) : ''], ['Overlap', policyName(s.overlapPolicy)],
      ['Catch-up window', s.catchupWindow ? durationText(s.catchupWindow) : ''],
      ['State', s.paused ? `paused: ${s.pauseNote || ''}` : 'active'],
      ['Runs fired', String(Number(s.runsFired || 0))], ['Runs skipped', String(Number(s.runsSkipped || 0))],
      ['Last skip', s.lastSkipReason], ['Waiting run', formatTime(s.bufferedRunTime)],
      ['Created by', s.createdBy], ['Created', formatTime(s.createTime)], ['Updated', formatTime(s.updateTime)],
    ].filter(([, value]) => value);
    const next = s.nextRunTimes || [];
    clear(detail,
          el('h2', {}, `Schedule ${s.name}`),
          el('div', { class: 'columns' },
             el('section', {},
                el('dl', { class: 'fields', id: 'schedule-fields' },
                   rowsOf.map(([label, value]) => [el('dt', {}, label), el('dd', { class: 'pre' }, value)]).flat())),
             el('section', {},
                el('h3', {}, 'Next runs'),
                next.length ? el('ol', { id: 'schedule-next-runs' },
                                 next.map((t) => el('li', {}, el('time', { datetime: t }, formatTime(t)))))
                  : el('p', { class: 'hint' }, s.paused ? 'None while paused.' : 'None.'),
                el('h3', {}, 'Each run creates'), json(s.job || {}))));
  }

  load();
  const timer = setInterval(() => { if (!document.hidden) load(); }, REFRESH_MS);
  return () => clearInterval(timer);
}

function newScheduleForm(session, onCreated) {
  const name = el('input', { id: 'schedule-name', required: true, placeholder: 'e.g. nightly-report' });
  const cron = el('textarea', { id: 'schedule-cron', rows: 2, spellcheck: 'false',
                                placeholder: '0 3 * * *   (one per line; 6 fields: seconds first)' });
  const intervals = el('input', { id: 'schedule-interval', placeholder: 'e.g. 30s, 1h30m' });
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  const zone = el('input', { id: 'schedule-zone', list: 'time-zones', placeholder: 'UTC', autocomplete: 'off' });
  const zoneList = el('datalist', { id: 'time-zones' }, zones.map((z) => el('option', { value: z })));
  const type = el('input', { id: 'schedule-type', placeholder: 'e.g. report' });
  const template = el('select', { id: 'schedule-template' }, el('option', { value: '' }, '— none —'));
  const payload = el('textarea', { id: 'schedule-payload', rows: 3, spellcheck: 'false' }, '{}');
  const overlap = el('select', { id: 'schedule-overlap' },
                     OVERLAP.map(([value, text]) => el('option', { value }, text)));
  const error = el('div', { id: 'schedule-create-error' });
  const form = el('form', { class: 'card create', id: 'schedule-form', onsubmit: async (e) => {
    e.preventDefault();
    clear(error);
    const spec = {};
    const job = {};
    const crons = cron.value.split('\n').map((c) => c.trim()).filter(Boolean);
    if (crons.length) spec.cron = crons;
    try {
      const every = intervals.value.split(',').map((i) => i.trim()).filter(Boolean);
      if (every.length) spec.intervals = every.map((i) => ({ every: parseDuration(i) }));
    } catch (err) {
      return showError(error, new Error(`intervals: ${err.message}`));
    }
    if (zone.value.trim()) spec.timeZone = zone.value.trim();
    if (type.value.trim()) job.type = type.value.trim();
    if (template.value) job.template = template.value;
    try {
      job.payload = parseObject(payload.value, 'payload');
    } catch (err) {
      return showError(error, err);
    }
    const schedule = { name: name.value.trim(), spec, job, overlapPolicy: overlap.value };
    try {
      const created = await api.createSchedule(session.workspace, schedule);
      notice(`Created the schedule ${created.schedule.name}.`);
      name.value = '';
      onCreated(created.schedule);
    } catch (err) {
      showError(error, err);  // e.g. "schedule.spec.cron[0]: minute: 61 is out of range 0-59"
    }
  } },
  el('h2', {}, 'New schedule'),
  el('div', { class: 'grid' }, field('Name', name), field('Intervals', intervals), field('Time zone (for cron)', zone),
     field('Job type', type), field('or template', template), field('Overlap', overlap)),
  zoneList,
  el('div', { class: 'columns' }, field('Cron expressions', cron), field('Payload (JSON object)', payload)),
  el('p', { class: 'hint' }, 'Cron: minute hour day month weekday, or seconds first; @daily, @hourly… ',
     'Intervals count from the Unix epoch. A template gives the type and payload a run does not set.'),
  el('button', { type: 'submit', id: 'schedule-submit' }, 'Create schedule'),
  error);
  if (session.can('read_setup')) {
    listAll((token) => api.listTemplates(session.workspace, token), 'jobTemplates').then((templates) => {
      for (const t of templates) {
        template.append(el('option', { value: t.name }, t.workspaceId ? t.name : `${t.name} (shared)`));
      }
    }).catch((err) => showError(error, err));
  }
  return el('details', { class: 'create-wrap' }, el('summary', { id: 'schedule-open' }, 'New schedule'), form);
}
