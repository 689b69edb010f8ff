'use strict';
// Worker: runs jobd jobs in this process, the Node.js counterpart of client/worker.h. It
// long-polls AcquireJobs for the registered types, runs an async handler per job with at most
// `concurrency` at once, keeps each lease alive with its own heartbeats (ReportProgress every
// lease/3, carrying pending progress, messages and checkpoint), and ends the attempt with the
// handler's result (CompleteJob) or error (FailJob).
//
// How an attempt ends:
// - A returned object completes the job (undefined: {}). A result jobd refuses as
//   INVALID_ARGUMENT fails the job without retry: the same result would be refused again.
// - A thrown error fails the attempt with its message, retryable (the job's retry_policy
//   applies), unless it is a PermanentError: the input is wrong, another attempt cannot help.
// - Before CompleteJob/FailJob the last progress, messages and checkpoint are sent.
// - Once ctx.signal is aborted (jobd answered cancelled or paused, or the lease is lost:
//   ABORTED/NOT_FOUND, or it ran out without a renewal) nothing more is reported: jobd would
//   refuse it, and the lease token fences the attempt. A paused job gets one last report
//   carrying a checkpoint saved but not yet sent: jobd keeps a paused job's checkpoint, and
//   the resumed attempt starts there.
// - Calls failing with UNAVAILABLE, DEADLINE_EXCEEDED or RESOURCE_EXHAUSTED are retried with
//   backoff (AcquireJobs for ever; the others while the lease lasts).
const os = require('node:os');
const { setTimeout: sleep } = require('node:timers/promises');
const { status } = require('@grpc/grpc-js');
const { JobContext, cleanText } = require('./context');
const { durationFromMs, toStruct } = require('./proto');

// Progress goes at most this often per job, so a chatty handler costs two calls a second.
const MIN_REPORT_INTERVAL_MS = 500;
const TICK_MS = 100; // how often the heartbeat looks at its jobs
const MAX_ACQUIRE_BACKOFF_MS = 5000;
const MAX_CALL_BACKOFF_MS = 2000;

const TRANSIENT = new Set([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED]);
// The lease is no longer ours (expired, re-leased, force-failed, the job deleted).
const LEASE_LOST = new Set([status.ABORTED, status.NOT_FOUND, status.FAILED_PRECONDITION]);

// Throw it from a handler to fail the job with no further attempt.
class PermanentError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'PermanentError';
  }
}

// Runs one attempt's calls one after another (heartbeats, the final report, Complete/Fail),
// so that messages keep their order and nothing is reported after the attempt was settled.
class CallQueue {
  constructor() {
    this._tail = Promise.resolve();
    this._count = 0;
  }

  get busy() { return this._count > 0; }

  run(fn) {
    this._count += 1;
    const result = this._tail.then(fn).finally(() => { this._count -= 1; });
    this._tail = result.catch(() => {});
    return result;
  }
}

function defaultWorkerId() { return `${os.hostname()}-${process.pid}`; }

function errorText(error) {
  return (error instanceof Error ? error.message : String(error ?? '')) || 'handler failed';
}

class Worker {
  // client: a JobdClient (its call() and API key are used). Options: workspaceId; workerId
  // (default "<hostname>-<pid>"); concurrency (handlers at once, also the most jobs leased);
  // leaseDurationMs (asked at acquire and renewed by each heartbeat, which goes every third
  // of it); pollWaitMs (how long one AcquireJobs waits, at most 60 s); gracePeriodMs (how long
  // stop() lets running handlers finish); timeoutMs (each call's deadline; AcquireJobs adds
  // pollWaitMs); log(line) (what goes wrong; default stderr).
  constructor(client, {
    workspaceId = 'default', workerId = defaultWorkerId(), concurrency = 1,
    leaseDurationMs = 30_000, pollWaitMs = 30_000, gracePeriodMs = 10_000,
    timeoutMs = client.timeoutMs ?? 10_000, log,
  } = {}) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be an integer >= 1');
    if (!(leaseDurationMs >= 1000)) throw new RangeError('leaseDurationMs must be at least 1000');
    if (!(pollWaitMs >= 0 && pollWaitMs <= 60_000)) throw new RangeError('pollWaitMs must be within 0..60000');
    this._client = client;
    this.workspaceId = workspaceId;
    this.workerId = workerId;
    this._concurrency = concurrency;
    this._leaseMs = leaseDurationMs;
    this._heartbeatMs = leaseDurationMs / 3;
    this._pollWaitMs = pollWaitMs;
    this._graceMs = gracePeriodMs;
    this._timeoutMs = timeoutMs;
    this._log = log ?? ((line) => process.stderr.write(`jobd worker ${workerId}: ${line}\n`));
    this._handlers = new Map();
    this._running = new Map(); // JobContext -> the promise of its handler and settlement
    this._waiters = []; // the acquirer waiting for a free slot
    this._started = false;
    this._stopping = false;
    this._stopped = null;
    this._stopController = new AbortController(); // ends the acquirer's sleeps and long poll
  }

  // Registers the handler of one job type: async (job, ctx) => result; only before start().
  handle(type, handler) {
    if (this._started) throw new Error('handle() after start()');
    this._handlers.set(type, handler);
    return this;
  }

  // Starts acquiring; returns at once.
  start() {
    if (this._started) throw new Error('the worker was already started');
    if (this._handlers.size === 0) throw new Error('no job type has a handler');
    this._started = true;
    this._ticker = setInterval(() => this._tick(), TICK_MS);
    this._acquiring = this._acquireLoop().catch((error) => this._log(`acquirer: ${error.stack}`));
    return this;
  }

  // Ids of the jobs leased and not yet settled.
  get activeJobIds() { return [...this._running.keys()].map((ctx) => ctx.job.id); }

  // Graceful stop: 1. no new leases (the long poll in flight is cancelled); 2. running
  // handlers get gracePeriodMs to finish, still heartbeating, and are reported as usual;
  // 3. jobs still running are handed back, FailJob(retryable, "worker stopped"), so another
  // worker takes them after their backoff (it counts as an attempt), and their signals are
  // aborted; 4. resolves once those handlers returned. Idempotent.
  stop() {
    if (!this._started) return Promise.resolve();
    this._stopped ??= this._stop();
    return this._stopped;
  }

  async _stop() {
    this._stopping = true;
    this._stopController.abort();
    this._notify();
    await this._acquiring;

    const grace = new AbortController();
    await Promise.race([
      Promise.allSettled(this._running.values()),
      sleep(this._graceMs, undefined, { signal: grace.signal }).catch(() => {}),
    ]);
    grace.abort(); // no timer left behind

    await Promise.all([...this._running.keys()].map((ctx) => ctx._calls.run(async () => {
      if (ctx._settled) return;
      if (!ctx.cancelled) {
        await this._report(ctx, true);
        if (!ctx.cancelled) await this._fail(ctx, 'worker stopped', true);
      }
      ctx._settled = true;
      this._log(`job ${ctx.job.id}: handed back (worker stopped)`);
      ctx._stop('worker stopped');
    })));
    await Promise.allSettled(this._running.values());
    clearInterval(this._ticker);
  }

  _notify() {
    const waiters = this._waiters;
    this._waiters = [];
    for (const wake of waiters) wake();
  }

  async _acquireLoop() {
    const request = {
      workspaceId: this.workspaceId, workerId: this.workerId, types: [...this._handlers.keys()],
      wait: durationFromMs(this._pollWaitMs), leaseDuration: durationFromMs(this._leaseMs),
    };
    let backoffMs = 100;
    while (!this._stopping) {
      // Ask for as many jobs as there are free slots, and only when one is free.
      while (!this._stopping && this._running.size >= this._concurrency) {
        await new Promise((resolve) => this._waiters.push(resolve));
      }
      if (this._stopping) return;
      request.maxJobs = Math.min(100, this._concurrency - this._running.size);
      const started = Date.now();
      let response = null;
      let pauseMs = 0;
      try {
        response = await this._client.call('WorkerService', 'AcquireJobs', request, {
          timeoutMs: this._timeoutMs + this._pollWaitMs, signal: this._stopController.signal,
        });
      } catch (error) {
        if (this._stopping) return;
        this._log(`AcquireJobs: ${error.message}`);
        pauseMs = backoffMs;
        backoffMs = Math.min(backoffMs * 2, MAX_ACQUIRE_BACKOFF_MS);
      }
      // A long poll leases just before it answers: count the lease from the answer.
      const leasedAt = Date.now();
      for (const leased of response?.jobs ?? []) this._begin(new JobContext(leased), leasedAt);
      if (response) {
        backoffMs = 100;
        // A server answering an empty list at once (no long poll) must not make us spin.
        if (response.jobs.length === 0 && leasedAt - started < 1000) pauseMs = 1000;
      }
      if (pauseMs > 0) {
        await sleep(pauseMs, undefined, { signal: this._stopController.signal }).catch(() => {});
      }
    }
  }

  _begin(ctx, leasedAt) {
    ctx._calls = new CallQueue();
    ctx._settled = false; // Complete/Fail sent or given up, or handed back
    ctx._leaseDeadline = leasedAt + this._leaseMs; // by our clock, from the last renewal
    ctx._lastReport = leasedAt;
    this._running.set(ctx, null); // counted before its handler starts (it runs synchronously)
    const done = this._run(ctx)
      .catch((error) => this._log(`job ${ctx.job.id}: ${error.stack}`))
      .finally(() => {
        this._running.delete(ctx);
        this._notify();
      });
    this._running.set(ctx, done);
  }

  async _run(ctx) {
    if (this._stopping) {
      // Leased while stopping: hand it back at once rather than start it.
      await this._settle(ctx, { error: new Error('worker stopped') });
      return;
    }
    let outcome;
    try {
      outcome = { result: await this._handlers.get(ctx.job.type)(ctx.job, ctx) };
    } catch (error) {
      outcome = { error }; // one bad job must not take the others down with it
    }
    await this._settle(ctx, outcome);
  }

  _settle(ctx, outcome) {
    return ctx._calls.run(async () => {
      if (ctx._settled) return; // stop() handed it back already
      ctx._settled = true;
      await this._flush(ctx);
      if (ctx.cancelled) {
        this._log(`job ${ctx.job.id}: not reported: ${ctx.signal.reason.message}`);
        return;
      }
      if ('error' in outcome) {
        await this._fail(ctx, errorText(outcome.error), !(outcome.error instanceof PermanentError));
        return;
      }
      let result;
      try {
        result = toStruct(outcome.result ?? {}, 'result');
      } catch (error) {
        await this._fail(ctx, `result refused: ${error.message}`, false);
        return;
      }
      try {
        await this._finalCall(ctx, 'CompleteJob', { jobId: ctx.job.id, leaseToken: ctx.leaseToken, result });
      } catch (error) {
        if (error.code === status.INVALID_ARGUMENT) {
          await this._fail(ctx, `result refused: ${error.details}`, false);
        }
      }
    });
  }

  // Sends what is pending, retrying transient failures while the lease lasts.
  async _flush(ctx) {
    let backoffMs = 100;
    for (;;) {
      if (ctx.cancelled) {
        if (ctx.paused && ctx._hasUnsentCheckpoint()) await this._sendReport(ctx);
        return;
      }
      await this._report(ctx, true);
      if (!ctx._pending().dirty || ctx.cancelled || Date.now() + backoffMs >= ctx._leaseDeadline) return;
      await sleep(backoffMs);
      backoffMs = Math.min(backoffMs * 2, MAX_CALL_BACKOFF_MS);
    }
  }

  async _fail(ctx, message, retryable) {
    const request = {
      jobId: ctx.job.id, leaseToken: ctx.leaseToken, errorMessage: cleanText(message), retryable,
    };
    await this._finalCall(ctx, 'FailJob', request).catch(() => {}); // logged by _finalCall
  }

  async _finalCall(ctx, method, request) {
    let backoffMs = 100;
    for (;;) {
      try {
        return await this._client.call('WorkerService', method, request, { timeoutMs: this._timeoutMs });
      } catch (error) {
        // Past the lease jobd refuses the call anyway, and its reaper retries the job.
        if (!TRANSIENT.has(error.code) || Date.now() + backoffMs >= ctx._leaseDeadline) {
          this._log(`job ${ctx.job.id}: ${method}: ${error.message}`);
          throw error;
        }
        await sleep(backoffMs);
        backoffMs = Math.min(backoffMs * 2, MAX_CALL_BACKOFF_MS);
      }
    }
  }

  _tick() {
    for (const ctx of this._running.keys()) {
      // A job whose calls are busy (a slow report, its final calls) is skipped, not waited for.
      if (ctx._settled || ctx._calls.busy) continue;
      ctx._calls.run(() => (ctx._settled ? null : this._report(ctx, false)))
        .catch((error) => this._log(`job ${ctx.job.id}: heartbeat: ${error.stack}`));
    }
  }

  // Sends the pending report when due (force: whenever anything is pending).
  async _report(ctx, force) {
    for (let i = 0; i < 20; i += 1) { // bounded: a handler logging while we flush
      if (ctx.cancelled) return; // a cancelled or lost attempt is not renewed
      const now = Date.now();
      if (now >= ctx._leaseDeadline) {
        ctx._stop('lease lost', 'no renewal in time');
        this._log(`job ${ctx.job.id}: lease lost: no renewal in time`);
        return;
      }
      const { dirty, fullBatch } = ctx._pending();
      const since = now - ctx._lastReport;
      const due = force ? dirty : since >= this._heartbeatMs || fullBatch
        || (dirty && since >= Math.min(MIN_REPORT_INTERVAL_MS, this._heartbeatMs));
      if (!due || !(await this._sendReport(ctx))) return;
      if (!force && !ctx._pending().fullBatch) return;
    }
  }

  // One ReportProgress; true when jobd took it.
  async _sendReport(ctx) {
    const sentAt = Date.now();
    const report = ctx._takeReport();
    const retryAfterMs = Math.min(1000, this._heartbeatMs);
    try {
      // A heartbeat that takes longer than its interval is late already; try again instead.
      const response = await this._client.call('WorkerService', 'ReportProgress', report.request,
        { timeoutMs: Math.min(this._timeoutMs, this._heartbeatMs) });
      ctx._leaseDeadline = sentAt + this._leaseMs;
      ctx._lastReport = sentAt;
      if (response.cancelled) {
        ctx._stop('cancelled');
        this._log(`job ${ctx.job.id}: cancelled`);
      } else if (response.paused) {
        ctx._stop('paused'); // the lease is gone as for a cancel; ResumeJob queues it again
        this._log(`job ${ctx.job.id}: paused`);
      }
      return true;
    } catch (error) {
      if (LEASE_LOST.has(error.code)) {
        ctx._stop('lease lost', error.details);
        this._log(`job ${ctx.job.id}: lease lost: ${error.message}`);
      } else if (error.code === status.INVALID_ARGUMENT && report.request.checkpoint
        && String(error.details).startsWith('checkpoint')) {
        // The checkpoint was refused (too large): drop it, send the rest again at once.
        this._log(`job ${ctx.job.id}: checkpoint dropped: ${error.message}`);
        delete report.request.checkpoint;
        ctx._restore({ request: report.request, dirty: true });
      } else if (error.code === status.INVALID_ARGUMENT) {
        // Sending these messages again would fail again: drop them, keep heartbeating.
        this._log(`job ${ctx.job.id}: report dropped: ${error.message}`);
        ctx._lastReport = sentAt - this._heartbeatMs + retryAfterMs;
      } else {
        // Transient (or unknown): keep what it carried and try again in a second.
        this._log(`job ${ctx.job.id}: ReportProgress: ${error.message}`);
        ctx._restore(report);
        ctx._lastReport = sentAt - this._heartbeatMs + retryAfterMs;
      }
      return false;
    }
  }
}

module.exports = { Worker, PermanentError, defaultWorkerId };
