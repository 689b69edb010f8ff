// Small DOM and formatting helpers shared by the views. No innerHTML with data: every value
// goes in as text.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) node.addEventListener(name.slice(2), value);
    else if (name === 'class') node.className = value;
    else if (value === true) node.setAttribute(name, '');
    else node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}

export const STATES = ['SCHEDULED', 'QUEUED', 'RUNNING', 'PAUSED', 'SUCCEEDED', 'FAILED', 'CANCELLED'];
// Not finished: a worker may still run them (PAUSED once resumed).
export const ACTIVE = ['QUEUED', 'SCHEDULED', 'RUNNING', 'PAUSED'];

export function stateName(state) {
  return (state || 'JOB_STATE_UNSPECIFIED').replace('JOB_STATE_', '');
}

export function isTerminal(state) {
  const name = stateName(state);
  return name === 'SUCCEEDED' || name === 'FAILED' || name === 'CANCELLED';
}

export function badge(state) {
  const name = stateName(state);
  return el('span', { class: `badge state-${name.toLowerCase()}` }, name.toLowerCase());
}

export function progressBar(percent, label) {
  const value = Math.max(0, Math.min(100, Number(percent || 0)));
  const fill = el('div', { class: 'progress-fill' });
  fill.style.width = `${value}%`;  // CSSOM, which the page's CSP allows (no inline style)
  return el('div', { class: 'progress', role: 'progressbar', 'aria-valuenow': value.toFixed(0),
                     'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-label': label || 'progress' },
            fill, el('span', { class: 'progress-text' }, `${value.toFixed(0)} %`));
}

// "1.5s" (the JSON mapping of a Duration) as seconds.
export function seconds(duration) {
  if (!duration) return 0;
  return Number(String(duration).replace(/s$/, '')) || 0;
}

export function formatSeconds(total) {
  if (!Number.isFinite(total) || total < 0) return '';
  if (total < 1) return `${Math.round(total * 1000)} ms`;
  if (total < 60) return `${total.toFixed(1)} s`;
  const m = Math.floor(total / 60);
  if (m < 60) return `${m} min ${Math.round(total % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

// 1204 as "1,204" (int64 fields arrive as JSON strings).
export function count(value) {
  return Number(value || 0).toLocaleString('en-US');
}

export function formatTime(timestamp) {
  if (!timestamp) return '';
  const date = new Date(timestamp);
  return Number.isNaN(date.getTime()) ? timestamp : date.toLocaleString();
}

// Until the estimated finish, from now (none while paused: no worker is on it).
export function eta(job) {
  if (!job.estimatedFinishTime || isTerminal(job.state) || stateName(job.state) === 'PAUSED') return '';
  const left = (new Date(job.estimatedFinishTime).getTime() - Date.now()) / 1000;
  return left > 0 ? formatSeconds(left) : 'any moment';
}

export function showError(where, error) {
  clear(where, el('p', { class: 'error', role: 'alert' }, error.message || String(error)));
}

export function notice(text, kind = 'info') {
  const area = document.getElementById('notices');
  const item = el('p', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
  area.append(item);
  setTimeout(() => item.remove(), 6000);
}

export function json(value) {
  return el('pre', { class: 'json' }, JSON.stringify(value === undefined ? null : value, null, 2));
}

// A JSON object from a form's text (empty: {}); the error names the field, as the API does.
export function parseObject(text, what) {
  let parsed;
  try {
    parsed = JSON.parse(text.trim() || '{}');
  } catch (e) {
    throw new Error(`${what}: ${e.message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error(`${what}: must be a JSON object`);
  }
  return parsed;
}
