'use strict';
// The Worker against a scripted WorkerService (no jobd): retries, outcomes, stops. The
// interop tests run the same paths against a real jobd; these pin the details.
const assert = require('node:assert/strict');
const { test } = require('node:test');
const { setTimeout: sleep } = require('node:timers/promises');
const { Worker, PermanentError, status, fromStruct } = require('../../src');

function grpcError(code, details = 'scripted') {
  return Object.assign(new Error(`${code} ${details}`), { code, details });
}

function leased(id, extra = {}) {
  return {
    leaseToken: `token-${id}`,
    job: {
      id, type: 'unit', attempt: 1, progressPercent: 0, progressMessage: '', errorMessage: '',
      payload: { fields: {} }, result: null, checkpoint: null, ...extra,
    },
  };
}

// A WorkerService that leases `jobs` on the first AcquireJobs and then long-polls until
// cancelled; `answers[method]` may script the other calls (default: OK).
class FakeClient {
  constructor(jobs, answers = {}) {
    this.timeoutMs = 1000;
    this.calls = [];
    this.jobs = jobs;
    this.answers = answers;
  }

  async call(service, method, request, options = {}) {
    this.calls.push({ method, request });
    if (method === 'AcquireJobs') {
      const jobs = this.jobs;
      this.jobs = [];
      if (jobs.length > 0) return { jobs };
      await new Promise((resolve) => options.signal.addEventListener('abort', resolve, { once: true }));
      throw grpcError(status.CANCELLED, 'cancelled by the worker');
    }
    const answer = this.answers[method];
    return answer ? answer(request) : { cancelled: false, paused: false };
  }

  sent(method) { return this.calls.filter((c) => c.method === method).map((c) => c.request); }
}

async function until(what, check, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
}

function newWorker(client, handler, options = {}) {
  return new Worker(client, { leaseDurationMs: 1500, log: () => {}, ...options }).handle('unit', handler);
}

test('completes with the result, retrying transient CompleteJob errors with backoff', async () => {
  let failures = 2;
  const client = new FakeClient([leased('a')], {
    CompleteJob: () => {
      if (failures-- > 0) throw grpcError(status.UNAVAILABLE);
      return {};
    },
  });
  const worker = newWorker(client, async (job, ctx) => {
    ctx.progress(150, 'done'); // clamped to 100
    return { id: job.id, n: 2 };
  }).start();
  await until('completed', () => client.sent('CompleteJob').length === 3);
  await worker.stop();
  const [complete] = client.sent('CompleteJob');
  assert.deepEqual([complete.jobId, complete.leaseToken], ['a', 'token-a']);
  const result = fromStruct(complete.result);
  assert.deepEqual(result, { id: 'a', n: 2 });
  const reports = client.sent('ReportProgress');
  assert.equal(reports.at(-1).progressPercent, 100, 'the last progress goes before CompleteJob');
  assert.equal(client.sent('FailJob').length, 0);
});

test('a thrown error fails retryable, a PermanentError not, after sending the checkpoint', async () => {
  const client = new FakeClient([leased('a'), leased('b')]);
  const worker = newWorker(client, async (job, ctx) => {
    ctx.saveCheckpoint({ at: job.id });
    if (job.id === 'a') throw new Error('flaky');
    throw new PermanentError('bad input');
  }, { concurrency: 2 }).start();
  await until('both failed', () => client.sent('FailJob').length === 2);
  await worker.stop();
  const fails = Object.fromEntries(client.sent('FailJob').map((f) => [f.jobId, [f.errorMessage, f.retryable]]));
  assert.deepEqual(fails, { a: ['flaky', true], b: ['bad input', false] });
  const checkpoints = client.sent('ReportProgress').filter((r) => r.checkpoint).map((r) => r.jobId).sort();
  assert.deepEqual(checkpoints, ['a', 'b']);
  assert.ok(client.calls.findIndex((c) => c.method === 'ReportProgress' && c.request.jobId === 'a')
    < client.calls.findIndex((c) => c.method === 'FailJob' && c.request.jobId === 'a'));
});

for (const [name, answer, reason] of [
  ['cancelled', () => ({ cancelled: true, paused: false }), 'cancelled'],
  ['paused', () => ({ cancelled: false, paused: true }), 'paused'],
  ['ABORTED', () => { throw grpcError(status.ABORTED, 'lease lost'); }, 'lease lost'],
  ['NOT_FOUND', () => { throw grpcError(status.NOT_FOUND); }, 'lease lost'],
]) {
  test(`a heartbeat answered ${name} aborts the handler; no Complete or Fail`, async () => {
    let reports = 0;
    const client = new FakeClient([leased('a')], {
      ReportProgress: (request) => (++reports === 1 ? { cancelled: false, paused: false } : answer(request)),
    });
    let seen;
    const worker = newWorker(client, async (job, ctx) => {
      ctx.progress(10, 'started'); // reported within half a second: the first, OK, report
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
      seen = { reason: ctx.signal.reason.reason, paused: ctx.paused };
      ctx.saveCheckpoint({ page: 7 }); // after a pause: sent in one last report
      return { ignored: true };
    }).start();
    await until('settled', () => seen && worker.activeJobIds.length === 0);
    await worker.stop();
    assert.deepEqual(seen, { reason, paused: reason === 'paused' });
    assert.equal(client.sent('CompleteJob').length + client.sent('FailJob').length, 0);
    const last = client.sent('ReportProgress').at(-1);
    assert.equal(Boolean(last.checkpoint), reason === 'paused');
  });
}

test('a transient heartbeat failure keeps its messages for the next report', async () => {
  let reports = 0;
  const client = new FakeClient([leased('a')], {
    ReportProgress: () => {
      if (++reports === 1) throw grpcError(status.UNAVAILABLE);
      return { cancelled: false, paused: false };
    },
  });
  let done;
  const gate = new Promise((resolve) => { done = resolve; });
  const worker = newWorker(client, async (job, ctx) => {
    ctx.log('info', 'one');
    ctx.log('warning', 'two');
    await gate;
  }).start();
  await until('a report after the failed one', () => reports >= 2);
  done();
  await until('completed', () => client.sent('CompleteJob').length === 1);
  await worker.stop();
  const texts = client.sent('ReportProgress').flatMap((r) => r.messages.map((m) => `${m.level} ${m.text}`));
  assert.deepEqual(texts.slice(-2), ['MESSAGE_LEVEL_INFO one', 'MESSAGE_LEVEL_WARNING two']);
});

test('stop() hands back a job still running after the grace period', async () => {
  const client = new FakeClient([leased('a')]);
  let reason;
  const worker = newWorker(client, async (job, ctx) => {
    await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    reason = ctx.signal.reason.reason;
  }, { gracePeriodMs: 200 }).start();
  await until('running', () => worker.activeJobIds.length === 1);
  const started = Date.now();
  await worker.stop();
  assert.ok(Date.now() - started >= 190);
  assert.equal(reason, 'worker stopped');
  assert.deepEqual(client.sent('FailJob').map((f) => [f.jobId, f.errorMessage, f.retryable]),
    [['a', 'worker stopped', true]]);
  assert.equal(client.sent('CompleteJob').length, 0);
  assert.equal(client.sent('AcquireJobs').length, 1, 'none while every slot is busy, none once stopping');
});
