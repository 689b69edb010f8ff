'use strict';
// JobdClient against a real jobd: every helper, with exact states, fields and codes; the bulk
// and queue helpers each on job types of their own, so that their filters match only their jobs.
const assert = require('node:assert/strict');
const { describe, test, before, after } = require('node:test');
const { JobdClient, status, durationFromMs, timestampToDate } = require('../../src');
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

  // The jobs' states, in the order of `ids`.
  async function statesOf(ids) {
    return Promise.all(ids.map(async (id) => (await client.getJob(id)).state));
  }

  // A BulkJobsResponse's counts as numbers, with dryRun.
  function counts({ matched, changed, dryRun }) {
    return { matched: Number(matched), changed: Number(changed), dryRun };
  }

  // What a bulk call that is not a dry run answers when it changed all `n` jobs it matched.
  function all(n) {
    return { matched: n, changed: n, dryRun: false };
  }

  // The ids AcquireJobs leases at once (no wait) for `type`.
  async function acquireNow(type) {
    const { jobs } = await client.call('WorkerService', 'AcquireJobs', {
      workspaceId: ws, types: [type], workerId: 'node-test', maxJobs: 1,
    });
    return jobs.map((j) => j.job.id);
  }

  // The queue of `type` as listQueues shows it; undefined when it is not listed.
  async function listedQueue(type, workspaceId = ws, via = client) {
    const found = (await via.listQueues({ workspaceId })).filter((q) => q.type === type);
    assert.ok(found.length <= 1);
    return found[0];
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

  test('bulkCancelJobs: a dry run counts and changes nothing, then the call cancels them', async () => {
    const type = `node.bulk.${Date.now()}`;
    const ids = [];
    for (let i = 0; i < 4; i += 1) ids.push((await client.createJob({ workspaceId: ws, type })).id);
    const bystander = (await client.createJob({ workspaceId: ws, type: `${type}.other` })).id;

    const dry = await client.bulkCancelJobs({ workspaceId: ws, filter: { type }, dryRun: true });
    assert.deepEqual(counts(dry), { matched: 4, changed: 0, dryRun: true });
    assert.equal(dry.chunks, 0);
    assert.deepEqual(await statesOf([...ids, bystander]), Array(5).fill('JOB_STATE_QUEUED'));

    const done = await client.bulkCancelJobs({ workspaceId: ws, filter: { type }, reason: 'withdrawn' });
    assert.deepEqual(counts(done), all(4));
    assert.equal(done.chunks, 1);
    for (const id of ids) {
      const job = await client.getJob(id);
      assert.equal(job.state, 'JOB_STATE_CANCELLED');
      assert.equal(job.errorMessage, 'withdrawn');
    }
    assert.equal((await client.getJob(bystander)).state, 'JOB_STATE_QUEUED');
    assert.deepEqual(counts(await client.bulkCancelJobs({ workspaceId: ws, filter: { type } })),
      all(0), 'repeated: nothing left to cancel');
  });

  test('bulk by ids: pause, resume, cancel, retry, fail, delete', async () => {
    const type = `node.bulkids.${Date.now()}`;
    const ids = [];
    for (let i = 0; i < 3; i += 1) ids.push((await client.createJob({ workspaceId: ws, type })).id);
    const bulk = async (method, request) => counts(await client[method]({ workspaceId: ws, ...request }));

    assert.deepEqual(await bulk('bulkPauseJobs', { ids: [ids[0], ids[1], UNKNOWN_ID] }), all(2),
      'an id of no job is left out');
    assert.deepEqual(await statesOf(ids), ['JOB_STATE_PAUSED', 'JOB_STATE_PAUSED', 'JOB_STATE_QUEUED']);
    assert.deepEqual(await bulk('bulkResumeJobs', { filter: { type } }), all(2), 'only the paused ones');
    assert.deepEqual(await statesOf(ids), Array(3).fill('JOB_STATE_QUEUED'));

    assert.deepEqual(await bulk('bulkCancelJobs', { ids: [ids[0]] }), all(1));
    assert.equal((await client.getJob(ids[0])).errorMessage, 'cancelled by test-admin');
    assert.deepEqual(await bulk('bulkRetryJobs', { filter: { type, states: ['JOB_STATE_CANCELLED'] } }),
      all(1));
    const retried = await client.getJob(ids[0]);
    assert.equal(retried.state, 'JOB_STATE_QUEUED');
    assert.equal(retried.attempt, 2);

    assert.deepEqual(await bulk('bulkFailJobs', { ids, reason: 'stuck' }), all(3));
    for (const id of ids) {
      const job = await client.getJob(id);
      assert.equal(job.state, 'JOB_STATE_FAILED');
      assert.equal(job.errorMessage, 'stuck');
    }
    assert.deepEqual(await bulk('bulkDeleteJobs', { ids: ids.slice(0, 2), dryRun: true }),
      { matched: 2, changed: 0, dryRun: true });
    assert.deepEqual(await statesOf(ids.slice(0, 2)), ['JOB_STATE_FAILED', 'JOB_STATE_FAILED']);
    assert.deepEqual(await bulk('bulkDeleteJobs', { ids: ids.slice(0, 2) }), all(2));
    await expectCode(client.getJob(ids[0]), status.NOT_FOUND);
    await expectCode(client.getJob(ids[1]), status.NOT_FOUND);
    assert.equal((await client.getJob(ids[2])).state, 'JOB_STATE_FAILED');
  });

  test('bulk filters: labels, creation times as Dates or Timestamps; refusals name the field', async () => {
    const type = `node.bulkfilter.${Date.now()}`;
    const batch = `f${Date.now()}`;
    const jobs = [];
    for (let i = 0; i < 3; i += 1) {
      jobs.push(await client.createJob({ workspaceId: ws, type, labels: { batch, n: String(i) } }));
    }
    const times = jobs.map((j) => j.createTime);
    const matched = async (filter) => Number((await client.bulkPauseJobs({
      workspaceId: ws, filter, dryRun: true,
    })).matched);
    assert.equal(await matched({ labels: { batch } }), 3);
    assert.equal(await matched({ labels: { batch, n: '1' } }), 1);
    assert.equal(await matched({ labels: { batch, n: '9' } }), 0);
    // createdAfter is inclusive, createdBefore exclusive.
    assert.equal(await matched({ type, createdAfter: times[1] }), 2);
    assert.equal(await matched({ type, createdBefore: times[1] }), 1);
    const hourAhead = new Date(Date.now() + 3_600_000);
    assert.equal(await matched({ type, createdBefore: hourAhead }), 3);
    assert.equal(await matched({ type, createdAfter: hourAhead }), 0);
    assert.ok(timestampToDate(times[0]) < hourAhead);

    const paused = await client.bulkPauseJobs({
      workspaceId: ws, filter: { labels: { batch }, createdAfter: times[1] },
    });
    assert.deepEqual(counts(paused), all(2));
    assert.deepEqual(await statesOf(jobs.map((j) => j.id)),
      ['JOB_STATE_QUEUED', 'JOB_STATE_PAUSED', 'JOB_STATE_PAUSED']);

    let error = await expectCode(client.bulkCancelJobs({ workspaceId: ws }), status.INVALID_ARGUMENT);
    assert.match(error.details, /^filter: /);
    error = await expectCode(client.bulkRetryJobs({ workspaceId: ws, filter: {}, dryRun: true }),
      status.INVALID_ARGUMENT);
    assert.match(error.details, /^filter: /);
    error = await expectCode(client.bulkPauseJobs({ workspaceId: ws, ids: [UNKNOWN_ID], filter: { type } }),
      status.INVALID_ARGUMENT);
    assert.match(error.details, /^ids: /);
    error = await expectCode(client.bulkRetryJobs({ workspaceId: ws, filter: { type }, reason: 'why' }),
      status.INVALID_ARGUMENT);
    assert.match(error.details, /^reason: /);
    error = await expectCode(client.bulkDeleteJobs({
      workspaceId: ws, filter: { type, createdAfter: hourAhead, createdBefore: new Date() },
    }), status.INVALID_ARGUMENT);
    assert.match(error.details, /^filter\.created_after: /);
  });

  test('pauseQueue, resumeQueue and listQueues', async () => {
    const type = `node.queue.${Date.now()}`;
    assert.equal(await listedQueue(type), undefined);
    const { id } = await client.createJob({ workspaceId: ws, type });
    let queue = await listedQueue(type);
    assert.equal(queue.workspaceId, ws);
    assert.equal(queue.paused, false);
    assert.deepEqual(queue.stateCounts, [{ state: 'JOB_STATE_QUEUED', count: '1' }]);
    assert.ok(queue.oldestQueuedAge);
    assert.equal(queue.updateTime, null, 'no settings yet');
    assert.equal(queue.maxRunning, null);
    assert.equal(queue.maxStartsPerSecond, null);

    queue = await client.pauseQueue({ workspaceId: ws, type });
    assert.equal(queue.type, type);
    assert.equal(queue.paused, true);
    assert.ok(queue.updateTime);
    assert.equal((await listedQueue(type)).paused, true);
    assert.equal((await client.pauseQueue({ workspaceId: ws, type })).paused, true, 'again: no change');
    assert.deepEqual(await acquireNow(type), [], 'workers take none of its jobs');
    assert.equal((await client.getJob(id)).state, 'JOB_STATE_QUEUED');

    queue = await client.resumeQueue({ workspaceId: ws, type });
    assert.equal(queue.paused, false);
    assert.equal((await listedQueue(type)).paused, false);
    assert.deepEqual(await acquireNow(type), [id]);
    await client.cancelJob(id);

    const error = await expectCode(client.pauseQueue({ workspaceId: ws, type: 'Not A Type' }),
      status.INVALID_ARGUMENT);
    assert.match(error.details, /^type/);
  });

  test('setQueueLimits replaces the limits; listQueues shows them; refusals name the field', async () => {
    const type = `node.limits.${Date.now()}`;
    let queue = await client.setQueueLimits({ workspaceId: ws, type, maxRunning: 3 });
    assert.deepEqual([queue.type, queue.maxRunning, queue.maxStartsPerSecond, queue.burst, queue.paused],
      [type, 3, null, 1, false]);
    assert.equal('_maxRunning' in queue, false);
    const listed = await listedQueue(type);
    assert.deepEqual([listed.maxRunning, listed.maxStartsPerSecond, listed.burst], [3, null, 1]);
    assert.deepEqual(listed.stateCounts, []);

    queue = await client.setQueueLimits({ workspaceId: ws, type, maxStartsPerSecond: 2.5 });
    assert.deepEqual([queue.maxRunning, queue.maxStartsPerSecond, queue.burst], [null, 2.5, 3],
      'replaced, not merged; burst defaults to ceil(rate)');
    await client.setQueueLimits({ workspaceId: ws, type, maxRunning: 7, maxStartsPerSecond: 0.5, burst: 4 });
    const again = await listedQueue(type);
    assert.deepEqual([again.maxRunning, again.maxStartsPerSecond, again.burst], [7, 0.5, 4]);
    queue = await client.setQueueLimits({ workspaceId: ws, type, maxRunning: null });
    assert.deepEqual([queue.maxRunning, queue.maxStartsPerSecond, queue.burst], [null, null, 1]);

    for (const [limits, field] of [[{ maxRunning: 0 }, 'max_running'],
      [{ maxStartsPerSecond: 0.0001 }, 'max_starts_per_second'], [{ maxRunning: 2, burst: 3 }, 'burst']]) {
      const error = await expectCode(client.setQueueLimits({ workspaceId: ws, type, ...limits }),
        status.INVALID_ARGUMENT);
      assert.ok(error.details.startsWith(`${field}:`), error.details);
    }
    assert.equal((await listedQueue(type)).maxRunning, null, 'refusals change nothing');
  });

  test('a member key may pause queues and bulk-cancel, not set limits, bulk-fail or bulk-delete', async () => {
    const name = `node-member-${Date.now()}`;
    const { secret } = await client.call('AdminService', 'CreateApiKey', {
      name, role: 'API_KEY_ROLE_MEMBER', workspaceId: ws,
    });
    const member = new JobdClient({ address: ADDRESS, apiKey: secret });
    try {
      const type = `node.member.${Date.now()}`;
      const { id } = await member.createJob({ workspaceId: ws, type });
      assert.equal((await member.pauseQueue({ workspaceId: ws, type })).paused, true);
      assert.equal((await member.resumeQueue({ workspaceId: ws, type })).paused, false);
      assert.equal((await listedQueue(type, ws, member)).type, type);
      await expectCode(member.setQueueLimits({ workspaceId: ws, type, maxRunning: 1 }),
        status.PERMISSION_DENIED);
      await expectCode(member.bulkFailJobs({ workspaceId: ws, ids: [id] }), status.PERMISSION_DENIED);
      await expectCode(member.bulkDeleteJobs({ workspaceId: ws, ids: [id] }), status.PERMISSION_DENIED);
      const elsewhere = newWorkspace('nodeother');
      await expectCode(member.listQueues({ workspaceId: elsewhere }), status.PERMISSION_DENIED);
      await expectCode(member.bulkCancelJobs({ workspaceId: elsewhere, filter: { type } }),
        status.PERMISSION_DENIED);
      assert.equal((await member.getJob(id)).state, 'JOB_STATE_QUEUED');
      assert.deepEqual(counts(await member.bulkCancelJobs({ workspaceId: ws, ids: [id] })), all(1));
      assert.equal((await member.getJob(id)).errorMessage, `cancelled by ${name}`);
      assert.equal((await listedQueue(type)).maxRunning, null);
    } finally {
      member.close();
    }
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
