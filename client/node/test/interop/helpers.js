'use strict';
// What the interop tests share: the jobd they run against (JOBD_ADDRESS, JOBD_API_KEY: an admin
// key, as tests/interop/node_worker_test.sh sets them), waiting on conditions with deadlines,
// exact error codes, a call spy, and a TCP proxy whose connections a test can cut.
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const net = require('node:net');
const { setTimeout: sleep } = require('node:timers/promises');

const ADDRESS = process.env.JOBD_ADDRESS || '';
const API_KEY = process.env.JOBD_API_KEY || '';
// For describe(..., { skip }): the interop tests need a running jobd.
const SKIP = ADDRESS && API_KEY ? false : 'JOBD_ADDRESS and JOBD_API_KEY are not set';

// A fresh workspace per test file, so that files running at once never take each other's jobs.
function newWorkspace(prefix) {
  return `${prefix}_${crypto.randomBytes(4).toString('hex')}`;
}

// Polls `check` every 50 ms until it returns something truthy (which it returns); fails after
// timeoutMs, naming what it waited for.
async function waitFor(what, timeoutMs, check) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() >= deadline) assert.fail(`${what}: not within ${timeoutMs} ms`);
    await sleep(50);
  }
}

// The promise's value, or a failure naming `what` once timeoutMs passed.
async function withDeadline(what, timeoutMs, promise) {
  const timer = new AbortController();
  const timeout = sleep(timeoutMs, undefined, { signal: timer.signal })
    .then(() => assert.fail(`${what}: not within ${timeoutMs} ms`), () => {});
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    timer.abort();
  }
}

// The call must fail with exactly `code`; returns the error.
async function expectCode(promise, code) {
  try {
    await promise;
  } catch (error) {
    assert.equal(error.code, code, `want code ${code}, got ${error.code}: ${error.message}`);
    return error;
  }
  return assert.fail(`want code ${code}, the call succeeded`);
}

function deferred() {
  let resolve;
  const promise = new Promise((r) => { resolve = r; });
  return { promise, resolve };
}

// Resolves with the time the signal was aborted.
function whenAborted(signal) {
  if (signal.aborted) return Promise.resolve(Date.now());
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(Date.now()), { once: true }));
}

// Records every call() the client makes: { method, request } (so a test can say that no
// CompleteJob was sent), then makes it.
function spyCalls(client) {
  const calls = [];
  const call = client.call.bind(client);
  client.call = (service, method, request, options) => {
    calls.push({ method, request });
    return call(service, method, request, options);
  };
  return (method, jobId) => calls.filter((c) => c.method === method && c.request.jobId === jobId);
}

// Every event jobd keeps for the job, oldest first.
async function jobHistory(client, id) {
  const events = [];
  for await (const page of client.listJobEvents(id)) events.push(...page.events);
  return events;
}

// A loopback TCP proxy to `target` (host:port); dropConnections() cuts every connection
// through it, as a network failure would, and it keeps accepting new ones.
async function startProxy(target) {
  const [host, port] = [target.slice(0, target.lastIndexOf(':')), Number(target.slice(target.lastIndexOf(':') + 1))];
  const sockets = new Set();
  const server = net.createServer((downstream) => {
    const upstream = net.connect(port, host);
    for (const [a, b] of [[downstream, upstream], [upstream, downstream]]) {
      sockets.add(a);
      a.pipe(b);
      a.on('error', () => b.destroy());
      a.on('close', () => { sockets.delete(a); b.destroy(); });
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    address: `127.0.0.1:${server.address().port}`,
    dropConnections() { for (const socket of sockets) socket.destroy(); },
    close() {
      this.dropConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

module.exports = {
  ADDRESS, API_KEY, SKIP, newWorkspace, waitFor, withDeadline, expectCode, deferred, whenAborted,
  spyCalls, jobHistory, startProxy,
};
