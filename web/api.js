// jobd's HTTP API from the browser: JSON calls with the API key as a bearer token, and
// server-sent event streams read with fetch (EventSource cannot send an Authorization header),
// which reconnect by themselves and resume with Last-Event-ID.

const KEY_STORAGE = 'jobd.apiKey';

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.code = body ? body.code : undefined;
  }
}

export function storedKey() {
  return sessionStorage.getItem(KEY_STORAGE) || '';
}

export function storeKey(key) {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

function headers(extra = {}) {
  return { Authorization: `Bearer ${storedKey()}`, ...extra };
}

export async function call(method, path, body) {
  const init = { method, headers: headers(), cache: 'no-store' };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { message: `jobd cannot be reached (${e.message})` });
  }
  const text = await response.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch (e) {
    parsed = { message: text };
  }
  if (!response.ok) throw new ApiError(response.status, parsed);
  return parsed;
}

export const api = {
  whoami: () => call('GET', '/v1/whoami'),
  stats: (ws) => call('GET', `/v1/workspaces/${encodeURIComponent(ws)}/stats`),
  listJobs: (ws, query) => call('GET', `/v1/workspaces/${encodeURIComponent(ws)}/jobs?${query}`),
  getJob: (id) => call('GET', `/v1/jobs/${encodeURIComponent(id)}`),
  events: (id, token) =>
    call('GET', `/v1/jobs/${encodeURIComponent(id)}/events?page_size=500` +
                (token ? `&page_token=${encodeURIComponent(token)}` : '')),
  createJob: (ws, body) => call('POST', `/v1/workspaces/${encodeURIComponent(ws)}/jobs`, body),
  batchCreateJobs: (ws, requests) =>
    call('POST', `/v1/workspaces/${encodeURIComponent(ws)}/jobs:batchCreate`, { requests }),
  cancelJob: (id, reason) => call('POST', `/v1/jobs/${encodeURIComponent(id)}:cancel`, { reason }),
  retryJob: (id) => call('POST', `/v1/jobs/${encodeURIComponent(id)}:retry`, {}),
  pauseJob: (id) => call('POST', `/v1/jobs/${encodeURIComponent(id)}:pause`, {}),
  resumeJob: (id) => call('POST', `/v1/jobs/${encodeURIComponent(id)}:resume`, {}),
  deleteJob: (id) => call('POST', `/v1/jobs/${encodeURIComponent(id)}:delete`, {}),
  // action: cancel, retry, pause, resume, delete or fail; body: { filter, ids, dryRun, reason }.
  bulkJobs: (ws, action, body) =>
    call('POST', `/v1/workspaces/${encodeURIComponent(ws)}/jobs:bulk${action[0].toUpperCase()}${action.slice(1)}`, body),
  listQueues: (ws) => call('GET', `/v1/workspaces/${encodeURIComponent(ws)}/queues`),
  // action: pause, resume or setLimits (body: { maxRunning, maxStartsPerSecond, burst }).
  queueAction: (ws, type, action, body = {}) =>
    call('POST', `/v1/workspaces/${encodeURIComponent(ws)}/queues/${encodeURIComponent(type)}:${action}`, body),
  listKeys: (token) => call('GET', '/v1/keys?page_size=100' +
                            (token ? `&page_token=${encodeURIComponent(token)}` : '')),
  createKey: (body) => call('POST', '/v1/keys', body),
  revokeKey: (id) => call('POST', `/v1/keys/${encodeURIComponent(id)}:revoke`, {}),
  listSchedules: (ws, token) =>
    call('GET', `/v1/workspaces/${encodeURIComponent(ws)}/schedules?page_size=100` +
                (token ? `&page_token=${encodeURIComponent(token)}` : '')),
  createSchedule: (ws, schedule) =>
    call('POST', `/v1/workspaces/${encodeURIComponent(ws)}/schedules`, { schedule }),
  getSchedule: (id) => call('GET', `/v1/schedules/${encodeURIComponent(id)}`),
  deleteSchedule: (id) => call('POST', `/v1/schedules/${encodeURIComponent(id)}:delete`, {}),
  pauseSchedule: (id, note) => call('POST', `/v1/schedules/${encodeURIComponent(id)}:pause`, { note }),
  resumeSchedule: (id) => call('POST', `/v1/schedules/${encodeURIComponent(id)}:resume`, {}),
  triggerSchedule: (id) => call('POST', `/v1/schedules/${encodeURIComponent(id)}:trigger`, {}),
  listTemplates: (ws, token) =>
    call('GET', `/v1/templates?workspace_id=${encodeURIComponent(ws)}&page_size=100` +
                (token ? `&page_token=${encodeURIComponent(token)}` : '')),
  createTemplate: (jobTemplate) => call('POST', '/v1/templates', { jobTemplate }),
  getTemplate: (id) => call('GET', `/v1/templates/${encodeURIComponent(id)}`),
  deleteTemplate: (id) => call('POST', `/v1/templates/${encodeURIComponent(id)}:delete`, {}),
};

// Every item of a paged list: list(token) answers { [field]: [...], nextPageToken }.
export async function listAll(list, field) {
  const items = [];
  let token = '';
  do {
    const page = await list(token);
    for (const item of page[field] || []) items.push(item);
    token = page.nextPageToken || '';
  } while (token);
  return items;
}

// One server-sent event stream. onEvent({id, event, data}) for each event; onStatus(s) with
// 'open', 'reconnecting' or 'ended'; onError(ApiError) when jobd refuses the stream (no retry).
// A dropped connection reconnects after a short wait with Last-Event-ID: the job stream
// resumes exactly after the last event seen.
export class EventStream {
  constructor(path, { onEvent, onStatus = () => {}, onError = () => {}, resumable = true }) {
    this.path = path;
    this.onEvent = onEvent;
    this.onStatus = onStatus;
    this.onError = onError;
    this.resumable = resumable;
    this.lastEventId = '';
    this.closed = false;
    this.controller = null;
    this.retryMs = 500;
    this.run();
  }

  close() {
    this.closed = true;
    if (this.controller) this.controller.abort();
  }

  async run() {
    while (!this.closed) {
      this.controller = new AbortController();
      const extra = { Accept: 'text/event-stream' };
      if (this.resumable && this.lastEventId) extra['Last-Event-ID'] = this.lastEventId;
      let ended = false;
      try {
        const response = await fetch(this.path, {
          headers: headers(extra), signal: this.controller.signal, cache: 'no-store',
        });
        if (!response.ok) {
          let body = null;
          try { body = await response.json(); } catch (e) { body = null; }
          const error = new ApiError(response.status, body);
          // Refusals are final; a stopping or unreachable jobd is retried.
          if (response.status !== 503 && response.status !== 502 && response.status !== 504) {
            this.closed = true;
            this.onError(error);
            return;
          }
          throw error;
        }
        this.onStatus('open');
        this.retryMs = 500;
        ended = await this.read(response.body.getReader());
      } catch (e) {
        if (this.closed) return;
      }
      if (ended) {
        this.closed = true;
        this.onStatus('ended');
        return;
      }
      if (this.closed) return;
      this.onStatus('reconnecting');
      await new Promise((resolve) => setTimeout(resolve, this.retryMs));
      this.retryMs = Math.min(this.retryMs * 2, 5000);
    }
  }

  // Reads events until the server ends the stream (true) or the connection drops (throws).
  async read(reader) {
    const decoder = new TextDecoder();
    let buffer = '';
    let failed = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return !failed;
      buffer += decoder.decode(value, { stream: true });
      let end;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = { id: '', event: 'message', data: '' };
        let comment = true;
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          comment = false;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id') event.id = text;
          else if (field === 'event') event.event = text;
          else if (field === 'data') event.data += (event.data ? '\n' : '') + text;
        }
        if (comment) continue;
        if (event.event === 'error') {
          // The stream ended with an error: UNAVAILABLE (jobd stopping) is resumed elsewhere.
          let body = null;
          try { body = JSON.parse(event.data); } catch (e) { body = null; }
          if (body && body.code === 14) throw new ApiError(503, body);
          failed = true;
          this.closed = true;
          this.onError(new ApiError(0, body));
          continue;
        }
        if (event.id) this.lastEventId = event.id;
        this.onEvent({ id: event.id, event: event.event, data: JSON.parse(event.data) });
      }
    }
  }
}
