'use strict';
// JobdClient against a real jobd: every helper, with exact states, fields and codes.
const assert = require('node:assert/strict');
const { describe, test, before, after } = require('node:test');
const { JobdClient, status, durationFromMs } = require('../../src');
const {
  ADDRESS, API_KEY, SKIP, newWorkspace, waitFor, withDeadline, expectCode, jobHistory, startProxy,
} = require('./helpers');

const UNKNOWN_ID = '0190b3b0-0000-7000-8000-000000000000';

describe('JobdClient', { skip: SKIP }, () => {
  const ws = newWorkspace('nodeclient');
  let client;

  before(() => { client = new JobdClient({ address: ADDRESS, apiKey: API_KEY }); });
  after(() => client.close());

  // Leases the job of `type` as a worker would, straight through WorkerService.
  async function lease(type) {
    const { jobs } = await client.call('WorkerService', 'AcquireJobs', {
      workspaceId: ws, types: [type], workerId: 'node-test', maxJobs: 1,
      wait: durationFromMs(5000), leaseDuration: durationFromMs(30_000),
    }, { timeoutMs: 15_000 });
    assert.equal(jobs.length, 1);
    return jobs[0];
  }

  function report(leased, fields) {
    return client.call('WorkerService', 'ReportProgress', {
      jobId: leased.job.id, leaseToken: leased.leaseToken, ...fields,
    });
  }

  function complete(leased, result) {
    return client.call('WorkerService', 'CompleteJob', {
      jobId: leased.job.id, leaseToken: leased.leaseToken, result,
    });
  }

  test('no key or an unknown key is UNAUTHENTICATED', async () => {
    for (const apiKey of ['', 'jobd_not-a-key']) {
      const other = new JobdClient({ address: ADDRESS, apiKey });
      try {
        await expectCode(other.getJob(UNKNOWN_ID), status.UNAUTHENTICATED);
      } finally {
        other.close();
      }
    }
  });

  test('createJob and getJob: fields, idempotency, SCHEDULED, errors', async () => {
    const payload = {
      file: 's3://b/"q".csv', name: 'naïve ✓', rows: 120, opts: { a: [1, 2.5, 'x'], none: null, on: true },
    };
    const request = {
      workspaceId: ws, type: 'node.create', payload, priority: 5, labels: { team: 'data' },
      idempotencyKey: 'create-1',
    };
    const job = await client.createJob(request);
    assert.equal(job.state, 'JOB_STATE_QUEUED');
    assert.equal(job.workspaceId, ws);
    assert.equal(job.type, 'node.create');
    assert.equal(job.attempt, 1);
    assert.equal(job.priority, 5);
    assert.equal(job.requestedBy, 'test-admin');
    assert.equal(job.idempotencyKey, 'create-1');
    assert.equal(job.sequence, '1');
    assert.deepEqual(job.labels, { team: 'data' });
    assert.deepEqual(job.payload, payload);
    assert.equal(job.result, null);
    assert.equal(job.checkpoint, null);

    const got = await client.getJob(job.id);
    assert.equal(got.id, job.id);
    assert.equal(got.state, 'JOB_STATE_QUEUED');
    assert.deepEqual(got.payload, payload);

    assert.equal((await client.createJob(request)).id, job.id, 'same key, same request: same job');
    await expectCode(client.createJob({ ...request, payload: { other: 1 } }), status.ALREADY_EXISTS);

    const later = await client.createJob({
      workspaceId: ws, type: 'node.create', runAfter: new Date(Date.now() + 3_600_000),
    });
    assert.equal(later.state, 'JOB_STATE_SCHEDULED');
    assert.deepEqual(later.payload, {});

    await expectCode(client.getJob(UNKNOWN_ID), status.NOT_FOUND);
    await expectCode(client.createJob({ workspaceId: ws, type: 'Not A Type' }), status.INVALID_ARGUMENT);
    await assert.rejects(client.createJob({ workspaceId: ws, type: 'x', payload: { n: NaN } }),
      /payload.n: NaN is not a JSON number/);
  });

  test('listJobs iterates pages, newest first, with filters and views', async () => {
    const batch = `b${Date.now()}`;
    const created = [];
    for (let i = 0; i < 5; i += 1) {
      created.push(await client.createJob({
        workspaceId: ws, type: 'node.list', payload: { i }, labels: { batch },
      }));
    }
    const pages = [];
    for await (const page of client.listJobs({ workspaceId: ws, labels: { batch }, pageSize: 2 })) {
      pages.push(page);
    }
    assert.deepEqual(pages.map((p) => p.jobs.length), [2, 2, 1]);
    assert.ok(pages[0].nextPageToken && pages[1].nextPageToken);
    assert.equal(pages[2].nextPageToken, '');
    const listed = pages.flatMap((p) => p.jobs);
    assert.deepEqual(listed.map((j) => j.id), created.map((j) => j.id).reverse());
    assert.deepEqual(listed.map((j) => j.payload), [4, 3, 2, 1, 0].map((i) => ({ i })));
    assert.ok(listed.every((j) => j.checkpoint === null), 'lists leave checkpoints out');

    const basic = [];
    for await (const page of client.listJobs({ workspaceId: ws, labels: { batch }, view: 'JOB_VIEW_BASIC' })) {
      basic.push(...page.jobs);
    }
    assert.equal(basic.length, 5);
    assert.ok(basic.every((j) => j.payload === null), 'BASIC leaves payloads out');

    await client.cancelJob(created[2].id);
    const cancelled = [];
    for await (const page of client.listJobs({
      workspaceId: ws, labels: { batch }, states: ['JOB_STATE_CANCELLED'],
    })) cancelled.push(...page.jobs);
    assert.deepEqual(cancelled.map((j) => j.id), [created[2].id]);
  });

  test('pause, resume, cancel, retry: states and attempts', async () => {
    const { id } = await client.createJob({ workspaceId: ws, type: 'node.control' });
    let job = await client.pauseJob(id);
    assert.equal(job.state, 'JOB_STATE_PAUSED');
    assert.equal((await client.pauseJob(id)).state, 'JOB_STATE_PAUSED', 'pausing again: no change');
    job = await client.resumeJob(id);
    assert.equal(job.state, 'JOB_STATE_QUEUED');
    assert.equal(job.attempt, 1);
    assert.equal((await client.resumeJob(id)).state, 'JOB_STATE_QUEUED', 'not paused: no change');

    job = await client.cancelJob(id, 'not needed');
    assert.equal(job.state, 'JOB_STATE_CANCELLED');
    assert.equal(job.errorMessage, 'not needed');
    assert.ok(job.finishTime);
    assert.equal((await client.cancelJob(id)).state, 'JOB_STATE_CANCELLED', 'idempotent');
    await expectCode(client.pauseJob(id), status.FAILED_PRECONDITION);
    await expectCode(client.resumeJob(id), status.FAILED_PRECONDITION);

    job = await client.retryJob(id);
    assert.equal(job.state, 'JOB_STATE_QUEUED');
    assert.equal(job.attempt, 2);
    await expectCode(client.retryJob(id), status.FAILED_PRECONDITION);

    const leased = await lease('node.control');
    assert.equal(leased.job.id, id);
    assert.equal(leased.job.state, 'JOB_STATE_RUNNING');
    await complete(leased, { fields: { ok: { boolValue: true } } });
    job = await client.getJob(id);
    assert.equal(job.state, 'JOB_STATE_SUCCEEDED');
    assert.deepEqual(job.result, { ok: true });
    const error = await expectCode(client.cancelJob(id), status.FAILED_PRECONDITION);
    assert.match(error.details, /SUCCEEDED/);
    await expectCode(client.cancelJob(UNKNOWN_ID), status.NOT_FOUND);
  });

  test('each call has its deadline', async () => {
    const started = Date.now();
    await expectCode(client.call('WorkerService', 'AcquireJobs', {
      workspaceId: ws, types: ['node.never'], workerId: 'node-test', maxJobs: 1,
      wait: durationFromMs(10_000),
    }, { timeoutMs: 300 }), status.DEADLINE_EXCEEDED);
    const elapsed = Date.now() - started;
    assert.ok(elapsed >= 250 && elapsed < 5000, `took ${elapsed} ms`);
  });

  test('watchJob resumes after dropped connections with no gap and no duplicate', async () => {
    const proxy = await startProxy(ADDRESS);
    const viaProxy = new JobdClient({ address: proxy.address, apiKey: API_KEY });
    try {
      const { id } = await client.createJob({ workspaceId: ws, type: 'node.watch' });
      const seen = [];
      const reconnects = [];
      const warnings = [];
      const watching = (async () => {
        for await (const event of viaProxy.watchJob(id, {
          onReconnect: (r) => reconnects.push(r), onWarning: (w) => warnings.push(w),
        })) seen.push(event);
      })();
      await waitFor('the SNAPSHOT', 10_000, () => seen.length >= 1);
      assert.equal(seen[0].kind, 'JOB_EVENT_KIND_SNAPSHOT');
      assert.equal(seen[0].sequence, '1');
      assert.equal(seen[0].job.state, 'JOB_STATE_QUEUED');

      const leased = await lease('node.watch');
      await report(leased, { progressPercent: 10, progressMessage: 'a tenth' });
      await waitFor('the RUNNING and PROGRESS events', 10_000, () => seen.length >= 3);
      assert.equal(seen.length, 3);
      proxy.dropConnections();
      // Made while the watch is cut off: the resumed stream must bring them.
      await report(leased, {
        progressPercent: 20, progressMessage: 'a fifth', messages: [{ level: 'MESSAGE_LEVEL_WARNING', text: 'while away' }],
      });
      await waitFor('the events made while disconnected', 10_000, () => seen.length >= 5);
      proxy.dropConnections();
      await complete(leased, { fields: {} });
      await withDeadline('the watch to end after SUCCEEDED', 15_000, watching);

      const history = await jobHistory(client, id);
      const sequences = seen.map((e) => Number(e.sequence));
      assert.deepEqual(sequences, history.map((e) => Number(e.sequence)), 'every event once, in order');
      assert.deepEqual(sequences, sequences.map((_, i) => i + 1));
      assert.deepEqual(seen.slice(1).map((e) => e.kind), history.slice(1).map((e) => e.kind));
      assert.ok(seen.slice(1).every((e) => e.kind !== 'JOB_EVENT_KIND_SNAPSHOT'), 'resumed, not restarted');
      assert.equal(seen.at(-1).job.state, 'JOB_STATE_SUCCEEDED');
      const message = seen.find((e) => e.kind === 'JOB_EVENT_KIND_MESSAGE');
      assert.deepEqual(message.message, { level: 'MESSAGE_LEVEL_WARNING', text: 'while away' });
      assert.ok(reconnects.length >= 2, `reconnects: ${reconnects.length}`);
      assert.equal(reconnects[0].afterSequence, '3');
      assert.equal(reconnects[0].error.code, status.UNAVAILABLE, reconnects[0].error.message);
      assert.ok(reconnects.some((r) => r.afterSequence === '5'));
      assert.deepEqual(warnings, []);
    } finally {
      viaProxy.close();
      await proxy.close();
    }
  });

  test('watchJob with afterSequence; an unknown job is NOT_FOUND at once', async () => {
    const { id } = await client.createJob({ workspaceId: ws, type: 'node.watch2' });
    await client.cancelJob(id, 'done with it');
    const events = [];
    for await (const event of client.watchJob(id, { afterSequence: '1' })) events.push(event);
    const history = await jobHistory(client, id);
    assert.deepEqual(events.map((e) => [e.sequence, e.kind]), history.slice(1).map((e) => [e.sequence, e.kind]));
    assert.equal(events.at(-1).job.state, 'JOB_STATE_CANCELLED');
    assert.equal(events.at(-1).job.errorMessage, 'done with it');

    const started = Date.now();
    const unknown = (async () => { for await (const _ of client.watchJob(UNKNOWN_ID)) { /* none */ } })();
    await expectCode(unknown, status.NOT_FOUND);
    assert.ok(Date.now() - started < 5000);
  });
});
