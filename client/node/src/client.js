'use strict';
// JobdClient: jobd's gRPC API from Node.js, with the API key on every call, a deadline per
// call, page iteration, and a resumable watch. Every service of proto/jobd/v1 is reachable
// through call(); the helpers cover what most programs need and hand back jobs with payload,
// result and checkpoint as plain objects (proto.js says how the other fields look).
const { setTimeout: sleep } = require('node:timers/promises');
const grpc = require('@grpc/grpc-js');
const {
  loadJobd, toStruct, durationFromMs, timestampFromDate, jobFromProto, eventFromProto,
  queueFromProto,
} = require('./proto');

const DEFAULT_TIMEOUT_MS = 10_000;

// A dropped connection or a jobd restart ends a watch with one of these; our own cancel never
// reaches the code that asks (the caller's abort is checked first).
const RECONNECTABLE = new Set([
  grpc.status.UNAVAILABLE, grpc.status.CANCELLED, grpc.status.INTERNAL, grpc.status.UNKNOWN,
]);

// Numbers are milliseconds; anything else is taken as a google.protobuf.Duration already.
function asDuration(value) {
  return typeof value === 'number' ? durationFromMs(value) : value;
}

function asTimestamp(value) {
  return value instanceof Date ? timestampFromDate(value) : value;
}

// A CreateJobRequest from friendlier input: payload a plain object, runAfter a Date, timeout,
// ttl and the retry policy's backoffs in milliseconds (or as Duration/Timestamp messages).
function createJobRequest(request) {
  const out = { ...request };
  if (request.payload != null) out.payload = toStruct(request.payload, 'payload');
  if (request.runAfter != null) out.runAfter = asTimestamp(request.runAfter);
  if (request.timeout != null) out.timeout = asDuration(request.timeout);
  if (request.ttl != null) out.ttl = asDuration(request.ttl);
  if (request.retryPolicy != null) {
    const policy = { ...request.retryPolicy };
    if (policy.initialBackoff != null) policy.initialBackoff = asDuration(policy.initialBackoff);
    if (policy.maxBackoff != null) policy.maxBackoff = asDuration(policy.maxBackoff);
    out.retryPolicy = policy;
  }
  return out;
}

// A BulkJobsRequest with filter.createdBefore and filter.createdAfter as Dates (or Timestamp
// messages); the rest as the proto has it.
function bulkJobsRequest(request = {}) {
  const out = { ...request };
  if (request.filter != null) {
    const filter = { ...request.filter };
    if (filter.createdBefore != null) filter.createdBefore = asTimestamp(filter.createdBefore);
    if (filter.createdAfter != null) filter.createdAfter = asTimestamp(filter.createdAfter);
    out.filter = filter;
  }
  return out;
}

class JobdClient {
  // address: host:port of jobd's gRPC listener; apiKey: sent as `authorization: Bearer KEY`;
  // timeoutMs: each call's deadline unless the call says otherwise; credentials: grpc-js
  // channel credentials (insecure by default, as jobd serves loopback without TLS);
  // protoDir: where jobd/v1/*.proto are (default: the repository's proto/).
  constructor({
    address = 'localhost:50051', apiKey = '', timeoutMs = DEFAULT_TIMEOUT_MS,
    credentials = grpc.credentials.createInsecure(), protoDir, channelOptions = {},
  } = {}) {
    const jobd = loadJobd(protoDir);
    this.apiKey = apiKey;
    this.timeoutMs = timeoutMs;
    // One channel (one HTTP/2 connection) for every service.
    const first = new jobd.JobService(address, credentials, channelOptions);
    const shared = { ...channelOptions, channelOverride: first.getChannel() };
    this.stubs = { JobService: first };
    for (const name of ['WorkerService', 'AdminService', 'QueueService', 'ScheduleService',
      'TemplateService']) {
      this.stubs[name] = new jobd[name](address, credentials, shared);
    }
  }

  close() {
    for (const stub of Object.values(this.stubs)) stub.close();
  }

  metadata() {
    const metadata = new grpc.Metadata();
    if (this.apiKey) metadata.set('authorization', `Bearer ${this.apiKey}`);
    return metadata;
  }

  // Any unary call, e.g. call('JobService', 'BulkFailJobs', {...}). Resolves to the response
  // as the loader gives it; rejects with grpc-js' error (`code`: a grpc.status, `details`).
  // options.timeoutMs: this call's deadline; options.signal: an AbortSignal that cancels it.
  call(service, method, request, { timeoutMs = this.timeoutMs, signal } = {}) {
    const stub = this.stubs[service];
    if (!stub || typeof stub[method] !== 'function') {
      return Promise.reject(new TypeError(`no method ${service}.${method}`));
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => call.cancel();
      const call = stub[method](request, this.metadata(), { deadline: Date.now() + timeoutMs },
        (error, response) => {
          signal?.removeEventListener('abort', onAbort);
          if (error) reject(error); else resolve(response);
        });
      if (signal?.aborted) call.cancel();
      else signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  async createJob(request, options) {
    return jobFromProto((await this.call('JobService', 'CreateJob', createJobRequest(request),
      options)).job);
  }

  async getJob(id, options) {
    return jobFromProto((await this.call('JobService', 'GetJob', { id }, options)).job);
  }

  async cancelJob(id, reason = '', options) {
    return jobFromProto((await this.call('JobService', 'CancelJob', { id, reason }, options)).job);
  }

  async retryJob(id, options) {
    return jobFromProto((await this.call('JobService', 'RetryJob', { id }, options)).job);
  }

  async pauseJob(id, options) {
    return jobFromProto((await this.call('JobService', 'PauseJob', { id }, options)).job);
  }

  async resumeJob(id, options) {
    return jobFromProto((await this.call('JobService', 'ResumeJob', { id }, options)).job);
  }

  // The bulk operations: request = { workspaceId, filter: { states, type, labels,
  // createdBefore, createdAfter } or ids (at most 1,000), not both, dryRun, reason (cancel and
  // fail only) }. Each resolves to the BulkJobsResponse: { matched, changed (int64: decimal
  // strings), dryRun, chunks }; a dry run counts what would change and changes nothing.
  // Neither a filter nor ids, or both, is INVALID_ARGUMENT naming the field.

  // QUEUED, SCHEDULED, RUNNING or PAUSED -> CANCELLED, with `reason` as each job's errorMessage
  // (default "cancelled by <caller>").
  bulkCancelJobs(request, options) {
    return this.call('JobService', 'BulkCancelJobs', bulkJobsRequest(request), options);
  }

  // FAILED or CANCELLED -> QUEUED with the next attempt, as retryJob.
  bulkRetryJobs(request, options) {
    return this.call('JobService', 'BulkRetryJobs', bulkJobsRequest(request), options);
  }

  // QUEUED, SCHEDULED or RUNNING -> PAUSED, as pauseJob.
  bulkPauseJobs(request, options) {
    return this.call('JobService', 'BulkPauseJobs', bulkJobsRequest(request), options);
  }

  // PAUSED -> QUEUED (SCHEDULED while runAfter is ahead), as resumeJob.
  bulkResumeJobs(request, options) {
    return this.call('JobService', 'BulkResumeJobs', bulkJobsRequest(request), options);
  }

  // QUEUED, SCHEDULED, RUNNING or PAUSED -> FAILED with `reason`, no retry (default "failed by
  // <caller>"); a worker still holding one is ABORTED. Admin keys only.
  bulkFailJobs(request, options) {
    return this.call('JobService', 'BulkFailJobs', bulkJobsRequest(request), options);
  }

  // SUCCEEDED, FAILED or CANCELLED jobs deleted with their history. Admin keys only.
  bulkDeleteJobs(request, options) {
    return this.call('JobService', 'BulkDeleteJobs', bulkJobsRequest(request), options);
  }

  // A queue is a job type of a workspace. Queues come back with maxRunning and
  // maxStartsPerSecond null when unset (no limit); those of pauseQueue, resumeQueue and
  // setQueueLimits carry its settings only (no stateCounts or oldestQueuedAge).

  // Every queue of the workspace that has jobs or settings, by type: { workspaceId }.
  async listQueues(request = {}, options) {
    return (await this.call('QueueService', 'ListQueues', request, options)).queues
      .map(queueFromProto);
  }

  // Workers take none of its jobs until resumeQueue; creates still succeed and running jobs go
  // on. request: { workspaceId, type }.
  async pauseQueue(request, options) {
    return queueFromProto((await this.call('QueueService', 'PauseQueue', request, options)).queue);
  }

  // Its jobs are taken again; waiting workers wake at once. request: { workspaceId, type }.
  async resumeQueue(request, options) {
    return queueFromProto((await this.call('QueueService', 'ResumeQueue', request, options)).queue);
  }

  // Replaces the queue's limits: { workspaceId, type, maxRunning, maxStartsPerSecond, burst };
  // a limit left out (or null) is none; burst 0 is jobd's default, max(1, ceil(rate)). Admin
  // keys only.
  async setQueueLimits(request, options) {
    return queueFromProto((await this.call('QueueService', 'SetQueueLimits', request,
      options)).queue);
  }

  // ListJobs page by page: `for await (const { jobs, nextPageToken } of client.listJobs(...))`.
  // Each page is one call (with its own deadline); the last page has nextPageToken ''.
  async* listJobs(request = {}, options) {
    let pageToken = request.pageToken || '';
    do {
      const page = await this.call('JobService', 'ListJobs', { ...request, pageToken }, options);
      yield { jobs: page.jobs.map(jobFromProto), nextPageToken: page.nextPageToken };
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  // ListJobEvents page by page, oldest first, as listJobs.
  async* listJobEvents(id, { pageSize = 0, ...options } = {}) {
    let pageToken = '';
    do {
      const page = await this.call('JobService', 'ListJobEvents', { id, pageSize, pageToken },
        options);
      yield { events: page.events.map(eventFromProto), nextPageToken: page.nextPageToken };
      pageToken = page.nextPageToken;
    } while (pageToken);
  }

  // Every event of the job once, in order: a SNAPSHOT (or, with afterSequence, the retained
  // events after it), then each later event, ending after the job's terminal event. A stream
  // that breaks (UNAVAILABLE: connection lost, jobd restarted) is opened again with
  // after_sequence = the last event handed on, and what the new stream repeats is dropped, so
  // a consumer sees no gap and no duplicate. Gives up with the last error when reconnecting
  // fails for reconnectTimeoutMs in a row, or at once for any other error (NOT_FOUND,
  // UNAUTHENTICATED, ...). A first call that fails before any event is not retried unless
  // reconnectBeforeFirstEvent (a watch of a job just created should be).
  // options.signal stops the watch (the generator throws its reason); onReconnect({error,
  // afterSequence}) and onWarning(text) observe what happens. Breaking out of `for await`
  // cancels the stream.
  async* watchJob(id, {
    afterSequence = null, reconnectTimeoutMs = 60_000, reconnectBeforeFirstEvent = false,
    signal, onReconnect, onWarning,
  } = {}) {
    let last = afterSequence == null ? null : BigInt(afterSequence);
    let receivedAny = false;
    let failingSince = null; // the first failure since the last new event
    let backoffMs = 100;
    for (;;) {
      signal?.throwIfAborted();
      const request = { id };
      if (last !== null) request.afterSequence = last.toString();
      // No deadline: a watch lasts as long as its job.
      const call = this.stubs.JobService.WatchJob(request, this.metadata());
      const onAbort = () => call.cancel();
      signal?.addEventListener('abort', onAbort, { once: true });
      let failure = null;
      try {
        for await (const { event } of call) {
          const sequence = BigInt(event.sequence);
          if (last !== null && sequence <= last) continue; // handed on already
          if (last !== null && !followsOn(event, sequence, last)) {
            onWarning?.(`event #${sequence} came after #${last}: jobd skipped some`);
          }
          last = sequence;
          receivedAny = true;
          failingSince = null;
          backoffMs = 100;
          yield eventFromProto(event);
        }
      } catch (error) {
        failure = error;
      } finally {
        signal?.removeEventListener('abort', onAbort);
        call.cancel(); // no-op once the stream ended; frees it when the consumer stopped early
      }
      if (!failure) return; // jobd ends the stream with OK after the terminal event
      signal?.throwIfAborted();
      if (!RECONNECTABLE.has(failure.code) || (!receivedAny && !reconnectBeforeFirstEvent)) {
        throw failure;
      }
      failingSince ??= Date.now();
      if (Date.now() - failingSince >= reconnectTimeoutMs) throw failure;
      onReconnect?.({ error: failure, afterSequence: last === null ? null : last.toString() });
      await sleep(backoffMs, undefined, { signal });
      backoffMs = Math.min(backoffMs * 2, 2000);
    }
  }
}

// Whether `event` follows `last` with nothing missed: the next sequence, a progress event that
// folded the ones before it (bounded history), or a SNAPSHOT (which jumps legitimately, e.g.
// after retention deleted what we missed).
function followsOn(event, sequence, last) {
  return sequence === last + 1n
    || sequence - BigInt(event.foldedProgressEvents || 0) <= last + 1n
    || event.kind === 'JOB_EVENT_KIND_SNAPSHOT';
}

module.exports = { JobdClient, createJobRequest, bulkJobsRequest, DEFAULT_TIMEOUT_MS };
