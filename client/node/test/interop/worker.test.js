'use strict';
// The Worker against a real jobd: jobs completed with progress and checkpoints, failures,
// cancel, pause and resume, lease loss, and a graceful stop. Leases last 3 s, so heartbeats
// go every second; "within two heartbeats" is 2 s.
const assert = require('node:assert/strict');
const { describe, test, before, after } = require('node:test');
const { JobdClient, Worker, PermanentError } = require('../../src');
const {
  ADDRESS, API_KEY, SKIP, newWorkspace, waitFor, withDeadline, deferred, whenAborted, spyCalls,
  jobHistory,
} = require('./helpers');

const LEASE_MS = 3000;
const HEARTBEAT_MS = LEASE_MS / 3;

describe('Worker', { skip: SKIP }, () => {
  const ws = newWorkspace('nodeworker');
  let client; // what the tests use to look
  let workerClient; // what the workers use, with every call recorded
  let sent;
  const logs = [];

  before(() => {
    client = new JobdClient({ address: ADDRESS, apiKey: API_KEY });
    workerClient = new JobdClient({ address: ADDRESS, apiKey: API_KEY });
    sent = spyCalls(workerClient);
  });
  after(() => {
    client.close();
    workerClient.close();
  });

  function newWorker(options = {}) {
    return new Worker(workerClient, {
      workspaceId: ws, leaseDurationMs: LEASE_MS, pollWaitMs: 5000, log: (line) => logs.push(line),
      ...options,
    });
  }

  async function finished(id, state) {
    return waitFor(`job ${id} ${state}`, 20_000, async () => {
      const job = await client.getJob(id);
      return job.state === state && job;
    });
  }

  test('completes jobs, N at a time, with progress, messages and checkpoint visible', async () => {
    const gate = deferred();
    let running = 0;
    let mostRunning = 0;
    const worker = newWorker({ concurrency: 3 }).handle('node.work', async (job, ctx) => {
      running += 1;
      mostRunning = Math.max(mostRunning, running);
      ctx.progress(50, 'half way');
      ctx.log('info', `hello from node ${job.payload.n}`);
      ctx.saveCheckpoint({ step: 1, n: job.payload.n });
      await gate.promise;
      running -= 1;
      return { doubled: job.payload.n * 2 };
    });
    const jobs = [];
    for (const n of [1, 2, 3, 4]) {
      jobs.push(await client.createJob({ workspaceId: ws, type: 'node.work', payload: { n } }));
    }
    worker.start();
    try {
      await waitFor('three handlers running', 10_000, () => running === 3);
      const states = await Promise.all(jobs.map(async (j) => (await client.getJob(j.id)).state));
      assert.deepEqual(states.filter((s) => s === 'JOB_STATE_RUNNING').length, 3);
      assert.deepEqual(states.filter((s) => s === 'JOB_STATE_QUEUED').length, 1);

      const first = jobs[states.indexOf('JOB_STATE_RUNNING')];
      const shown = await waitFor('progress and checkpoint through heartbeats', 5000, async () => {
        const job = await client.getJob(first.id);
        return job.progressPercent === 50 && job.checkpoint !== null && job;
      });
      assert.equal(shown.state, 'JOB_STATE_RUNNING');
      assert.equal(shown.progressMessage, 'half way');
      assert.equal(shown.workerId, worker.workerId);
      assert.deepEqual(shown.checkpoint, { step: 1, n: first.payload.n });

      gate.resolve();
      for (const j of jobs) {
        const done = await finished(j.id, 'JOB_STATE_SUCCEEDED');
        assert.deepEqual(done.result, { doubled: j.payload.n * 2 });
        assert.equal(done.attempt, 1);
        assert.deepEqual(done.checkpoint, { step: 1, n: j.payload.n });
        assert.equal(sent('CompleteJob', j.id).length, 1);
        assert.equal(sent('FailJob', j.id).length, 0);
        const messages = (await jobHistory(client, j.id)).filter((e) => e.kind === 'JOB_EVENT_KIND_MESSAGE');
        assert.deepEqual(messages.map((e) => e.message),
          [{ level: 'MESSAGE_LEVEL_INFO', text: `hello from node ${j.payload.n}` }]);
      }
      assert.equal(mostRunning, 3);
    } finally {
      await worker.stop();
    }
  });

  test('a thrown error is retried from the checkpoint; a PermanentError is not', async () => {
    const seen = [];
    const worker = newWorker({ concurrency: 2 }).handle('node.fail', async (job, ctx) => {
      seen.push({ id: job.id, attempt: job.attempt, start: ctx.startingCheckpoint, error: job.errorMessage });
      if (job.payload.permanent) throw new PermanentError('bad input');
      if (job.attempt === 1) {
        ctx.saveCheckpoint({ done: 1 }); // must reach attempt 2 although the handler throws at once
        throw new Error('flaky');
      }
      return { recovered: true };
    });
    const policy = { maxAttempts: 3, initialBackoff: 100, maxBackoff: 200 };
    const flaky = await client.createJob({ workspaceId: ws, type: 'node.fail', retryPolicy: policy });
    const permanent = await client.createJob({
      workspaceId: ws, type: 'node.fail', retryPolicy: policy, payload: { permanent: true },
    });
    worker.start();
    try {
      const failed = await finished(permanent.id, 'JOB_STATE_FAILED');
      assert.equal(failed.attempt, 1);
      assert.equal(failed.errorMessage, 'bad input');
      assert.deepEqual(sent('FailJob', permanent.id).map((c) => c.request.retryable), [false]);

      const recovered = await finished(flaky.id, 'JOB_STATE_SUCCEEDED');
      assert.equal(recovered.attempt, 2);
      assert.deepEqual(recovered.result, { recovered: true });
      assert.deepEqual(sent('FailJob', flaky.id).map((c) => [c.request.errorMessage, c.request.retryable]),
        [['flaky', true]]);
      assert.deepEqual(seen.filter((s) => s.id === flaky.id).map(({ id, ...s }) => s), [
        { attempt: 1, start: null, error: '' },
        { attempt: 2, start: { done: 1 }, error: 'flaky' },
      ]);
    } finally {
      await worker.stop();
    }
  });

  // A handler that holds its job until its signal is aborted, then reports what it saw.
  function holdingHandler(started, stopped, onAbort = () => {}) {
    return async (job, ctx) => {
      started.resolve(job);
      const at = await whenAborted(ctx.signal);
      onAbort(ctx);
      stopped.resolve({ at, reason: ctx.signal.reason.reason, paused: ctx.paused });
      return { ignored: true }; // must not be sent
    };
  }

  async function settled(worker, id) {
    await waitFor(`the worker done with ${id}`, 10_000, () => !worker.activeJobIds.includes(id));
  }

  test('a cancel reaches the running handler within two heartbeats; nothing is completed', async () => {
    const [started, stopped] = [deferred(), deferred()];
    const worker = newWorker().handle('node.cancel', holdingHandler(started, stopped));
    const { id } = await client.createJob({ workspaceId: ws, type: 'node.cancel' });
    worker.start();
    try {
      await withDeadline('the handler to start', 10_000, started.promise);
      const cancelledAt = Date.now();
      assert.equal((await client.cancelJob(id, 'user cancelled')).state, 'JOB_STATE_CANCELLED');
      const seen = await withDeadline('the abort', 5000, stopped.promise);
      assert.equal(seen.reason, 'cancelled');
      assert.equal(seen.paused, false);
      assert.ok(seen.at - cancelledAt <= 2 * HEARTBEAT_MS, `aborted ${seen.at - cancelledAt} ms after the cancel`);
      await settled(worker, id);
      const job = await client.getJob(id);
      assert.equal(job.state, 'JOB_STATE_CANCELLED');
      assert.equal(job.errorMessage, 'user cancelled');
      assert.equal(job.result, null);
      assert.equal(sent('CompleteJob', id).length, 0);
      assert.equal(sent('FailJob', id).length, 0);
    } finally {
      await worker.stop();
    }
  });

  test('a pause stops the handler; resume continues from its checkpoint, same attempt', async () => {
    const [started, stopped] = [deferred(), deferred()];
    const starts = [];
    const worker = newWorker().handle('node.pause', async (job, ctx) => {
      starts.push({ attempt: job.attempt, start: ctx.startingCheckpoint });
      if (ctx.startingCheckpoint === null) {
        ctx.progress(50, 'page 3 of 6');
        ctx.saveCheckpoint({ page: 3 });
        return holdingHandler(started, stopped,
          // Saved after the pause: only the worker's last report can bring it to jobd.
          (c) => c.saveCheckpoint({ page: 4, savedAfterPause: true }))(job, ctx);
      }
      return { pages: 6, resumedFrom: ctx.startingCheckpoint.page };
    });
    const { id } = await client.createJob({ workspaceId: ws, type: 'node.pause' });
    worker.start();
    try {
      await withDeadline('the handler to start', 10_000, started.promise);
      await waitFor('the first checkpoint through a heartbeat', 5000,
        async () => (await client.getJob(id)).checkpoint?.page === 3);
      const pausedAt = Date.now();
      const paused = await client.pauseJob(id);
      assert.equal(paused.state, 'JOB_STATE_PAUSED');
      assert.equal(paused.attempt, 1);
      const seen = await withDeadline('the abort', 5000, stopped.promise);
      assert.equal(seen.reason, 'paused');
      assert.equal(seen.paused, true);
      assert.ok(seen.at - pausedAt <= 2 * HEARTBEAT_MS, `aborted ${seen.at - pausedAt} ms after the pause`);
      await settled(worker, id);
      const held = await client.getJob(id);
      assert.equal(held.state, 'JOB_STATE_PAUSED');
      assert.deepEqual(held.checkpoint, { page: 4, savedAfterPause: true });
      assert.equal(sent('CompleteJob', id).length, 0);
      assert.equal(sent('FailJob', id).length, 0);

      const resumed = await client.resumeJob(id);
      assert.equal(resumed.state, 'JOB_STATE_QUEUED');
      assert.equal(resumed.attempt, 1);
      const done = await finished(id, 'JOB_STATE_SUCCEEDED');
      assert.equal(done.attempt, 1);
      assert.deepEqual(done.result, { pages: 6, resumedFrom: 4 });
      assert.deepEqual(starts, [
        { attempt: 1, start: null },
        { attempt: 1, start: { page: 4, savedAfterPause: true } },
      ]);
      assert.equal(sent('CompleteJob', id).length, 1);
    } finally {
      await worker.stop();
    }
  });

  test('a lost lease (force-failed by an admin) aborts the handler; nothing is reported', async () => {
    const [started, stopped] = [deferred(), deferred()];
    const worker = newWorker().handle('node.lost', holdingHandler(started, stopped));
    const { id } = await client.createJob({ workspaceId: ws, type: 'node.lost' });
    worker.start();
    try {
      await withDeadline('the handler to start', 10_000, started.promise);
      const failedAt = Date.now();
      const bulk = await client.call('JobService', 'BulkFailJobs', {
        workspaceId: ws, ids: [id], reason: 'forced by the test',
      });
      assert.deepEqual([bulk.matched, bulk.changed, bulk.dryRun], ['1', '1', false]);
      const seen = await withDeadline('the abort', 5000, stopped.promise);
      assert.equal(seen.reason, 'lease lost');
      assert.ok(seen.at - failedAt <= 2 * HEARTBEAT_MS, `aborted ${seen.at - failedAt} ms after the fail`);
      await settled(worker, id);
      const job = await client.getJob(id);
      assert.equal(job.state, 'JOB_STATE_FAILED');
      assert.equal(job.errorMessage, 'forced by the test');
      assert.equal(sent('CompleteJob', id).length, 0);
      assert.equal(sent('FailJob', id).length, 0);
    } finally {
      await worker.stop();
    }
  });

  test('stop() lets handlers finish within the grace period, then hands the rest back', async () => {
    // Grace longer than the lease: the held job keeps its lease only if heartbeats go on.
    const graceMs = LEASE_MS + 1000;
    const finishing = deferred();
    const [started, stopped] = [deferred(), deferred()];
    let startedCount = 0;
    const bothStarted = deferred();
    const worker = newWorker({ concurrency: 2, gracePeriodMs: graceMs })
      .handle('node.stop', async (job, ctx) => {
        if ((startedCount += 1) === 2) bothStarted.resolve();
        if (job.payload.finishes) {
          await finishing.promise;
          return { finished: true };
        }
        return holdingHandler(started, stopped)(job, ctx);
      });
    const finisher = await client.createJob({ workspaceId: ws, type: 'node.stop', payload: { finishes: true } });
    const holder = await client.createJob({ workspaceId: ws, type: 'node.stop' });
    worker.start();
    let stopAt;
    let late;
    try {
      await withDeadline('both handlers to start', 10_000, bothStarted.promise);
      stopAt = Date.now();
      const stopping = worker.stop();
      late = await client.createJob({ workspaceId: ws, type: 'node.stop' });
      finishing.resolve();
      await withDeadline('stop() to return', graceMs + 10_000, stopping);
    } finally {
      finishing.resolve();
      await worker.stop();
    }
    const stopTook = Date.now() - stopAt;
    assert.ok(stopTook >= graceMs - 100, `stop took ${stopTook} ms`);

    const seen = await stopped.promise;
    assert.equal(seen.reason, 'worker stopped');
    assert.equal((await client.getJob(finisher.id)).state, 'JOB_STATE_SUCCEEDED');
    const handedBack = await client.getJob(holder.id);
    assert.ok(['JOB_STATE_SCHEDULED', 'JOB_STATE_QUEUED'].includes(handedBack.state), handedBack.state);
    assert.equal(handedBack.attempt, 2);
    assert.equal(handedBack.errorMessage, 'worker stopped');
    assert.deepEqual(sent('FailJob', holder.id).map((c) => [c.request.errorMessage, c.request.retryable]),
      [['worker stopped', true]]);
    assert.equal(sent('CompleteJob', holder.id).length, 0);
    const untouched = await client.getJob(late.id);
    assert.equal(untouched.state, 'JOB_STATE_QUEUED', 'no new lease once stopping');
    assert.equal(untouched.attempt, 1);
  });
});
