// The workspace overview: a card per state with live counts, the age of the oldest queued
// job, counts per type, and a chart of jobs created and finished per second since the page
// opened. Live from the workspace's event stream; the stats are read again only when an event
// says something the page cannot work out itself (a job it has not seen changed state).
import { EventStream, api } from './api.js';
import { STATES, clear, el, formatSeconds, isTerminal, seconds, showError, stateName } from './ui.js';

const WINDOW = 60;  // seconds shown in the chart

export function renderOverview(view, session) {
  const ws = session.workspace;
  const cards = el('div', { class: 'cards', id: 'state-cards' });
  const oldest = el('p', { id: 'oldest-queued' });
  const types = el('div', { id: 'type-table' });
  const chart = el('div', { class: 'chart', id: 'rate-chart' });
  const status = el('span', { class: 'stream-status', id: 'stream-status' }, 'connecting');
  const error = el('div');
  view.append(el('h1', {}, `Workspace ${ws}`, ' ', status), error, cards, oldest,
              el('h2', {}, 'Jobs per second since this page opened'), chart,
              el('h2', {}, 'By type'), types);

  let counts = {};       // state -> count
  let typeCounts = {};   // type -> state -> count
  let oldestAge = null;  // seconds, at oldestAt
  let oldestAt = 0;
  const known = new Map();  // job id -> state, for jobs the stream has shown
  const created = new Array(WINDOW).fill(0);
  const finished = new Array(WINDOW).fill(0);
  let reloadTimer = null;

  async function load() {
    try {
      const stats = await api.stats(ws);
      counts = {};
      typeCounts = {};
      for (const c of stats.stateCounts || []) counts[stateName(c.state)] = Number(c.count || 0);
      for (const c of stats.typeStateCounts || []) {
        (typeCounts[c.type] ||= {})[stateName(c.state)] = Number(c.count || 0);
      }
      oldestAge = stats.oldestQueuedAge ? seconds(stats.oldestQueuedAge) : null;
      oldestAt = Date.now();
      draw();
    } catch (e) {
      showError(error, e);
    }
  }
  function reloadSoon() {
    if (reloadTimer === null) reloadTimer = setTimeout(() => { reloadTimer = null; load(); }, 1000);
  }

  function bump(table, key, by) {
    table[key] = Math.max(0, (table[key] || 0) + by);
  }

  function onEvent({ event, data }) {
    const job = data.job || {};
    const state = stateName(job.state);
    const type = job.type || '';
    if (event === 'created') {
      created[WINDOW - 1] += 1;
      bump(counts, state, 1);
      bump(typeCounts[type] ||= {}, state, 1);
      known.set(data.jobId, state);
      if (state === 'QUEUED' && oldestAge === null) { oldestAge = 0; oldestAt = Date.now(); }
    } else if (event === 'state_changed') {
      if (isTerminal(job.state)) finished[WINDOW - 1] += 1;
      const before = known.get(data.jobId);
      if (before === undefined) {
        reloadSoon();
      } else if (before !== state) {
        bump(counts, before, -1);
        bump(counts, state, 1);
        bump(typeCounts[type] ||= {}, before, -1);
        bump(typeCounts[type], state, 1);
        if (before === 'QUEUED') reloadSoon();  // the oldest queued job may have left
      }
      known.set(data.jobId, state);
    }
    drawCounts();
  }

  function drawCounts() {
    clear(cards, STATES.map((s) => el('div', { class: `card state-card state-${s.toLowerCase()}`,
                                               'data-state': s },
                                      el('div', { class: 'card-label' }, s.toLowerCase()),
                                      el('div', { class: 'card-value' }, String(counts[s] || 0)))));
    const typeNames = Object.keys(typeCounts).sort();
    clear(types, typeNames.length === 0 ? el('p', {}, 'No jobs yet.') :
      el('div', { class: 'table-wrap' }, el('table', { class: 'table' },
         el('thead', {}, el('tr', {}, el('th', {}, 'type'), STATES.map((s) => el('th', {}, s.toLowerCase())))),
         el('tbody', {}, typeNames.map((t) => el('tr', {}, el('td', {}, t),
                                                  STATES.map((s) => el('td', { class: 'num' },
                                                                       String(typeCounts[t][s] || 0)))))))));
  }

  function drawOldest() {
    const age = oldestAge === null ? null : oldestAge + (Date.now() - oldestAt) / 1000;
    oldest.textContent = (counts.QUEUED || 0) === 0 || age === null
      ? 'No job is waiting.'
      : `Oldest queued job has waited ${formatSeconds(age)}.`;
  }

  function drawChart() {
    const max = Math.max(1, ...created, ...finished);
    const points = (series) => series.map((v, i) => `${(i / (WINDOW - 1)) * 300},${100 - (v / max) * 95}`).join(' ');
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 300 100');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', `created ${created[WINDOW - 2]} and finished ${finished[WINDOW - 2]} jobs in the last second`);
    for (const [series, cls] of [[created, 'line-created'], [finished, 'line-finished']]) {
      const line = document.createElementNS(ns, 'polyline');
      line.setAttribute('points', points(series));
      line.setAttribute('class', cls);
      svg.append(line);
    }
    clear(chart, svg, el('p', { class: 'legend' },
                         el('span', { class: 'key-created' }, `created ${created[WINDOW - 2]}/s`), ' ',
                         el('span', { class: 'key-finished' }, `finished ${finished[WINDOW - 2]}/s`),
                         ` (peak ${max}/s)`));
  }

  function draw() {
    drawCounts();
    drawOldest();
    drawChart();
  }

  // One tick a second moves the chart and the waiting time: drawing only, no request.
  const tick = setInterval(() => {
    created.shift(); created.push(0);
    finished.shift(); finished.push(0);
    drawChart();
    drawOldest();
  }, 1000);

  load();
  const stream = new EventStream(`/v1/workspaces/${encodeURIComponent(ws)}/jobs:watch`, {
    resumable: false,
    onEvent,
    onStatus: (s) => {
      status.textContent = s === 'open' ? 'live' : s;
      status.className = `stream-status ${s}`;
      if (s === 'open') load();  // after a reconnect: what changed while away
    },
    onError: (e) => showError(error, e),
  });
  return () => { clearInterval(tick); clearTimeout(reloadTimer); stream.close(); };
}
