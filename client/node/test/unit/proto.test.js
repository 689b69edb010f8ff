'use strict';
// Conversions and text cleaning: no jobd needed.
const assert = require('node:assert/strict');
const { test } = require('node:test');
const {
  toStruct, fromStruct, durationFromMs, durationToMs, timestampFromDate, timestampToDate,
  cleanText, loadJobd, createJobRequest, bulkJobsRequest, queueFromProto,
} = require('../../src');

test('a plain object survives Struct and back', () => {
  const object = { s: 'naïve ✓ "q"', n: -2.5, t: true, z: null, list: [1, 'two', [3], { four: 4 }], deep: { a: { b: {} } } };
  const struct = toStruct(object);
  assert.deepEqual(struct.fields.n, { numberValue: -2.5 });
  assert.deepEqual(struct.fields.z, { nullValue: 'NULL_VALUE' });
  assert.deepEqual(fromStruct(struct), object);
  // As the loader decodes a Value (oneofs: true): `kind` names the set field.
  assert.deepEqual(fromStruct({ fields: { x: { kind: 'boolValue', boolValue: false, numberValue: 0 } } }), { x: false });
  assert.equal(fromStruct(null), null);
});

test('what JSON cannot hold is refused, naming where', () => {
  assert.throws(() => toStruct({ a: { b: [1, NaN] } }), /a\.b\[1\]: NaN is not a JSON number/);
  assert.throws(() => toStruct({ f: () => 1 }), /f: a function has no JSON form/);
  assert.throws(() => toStruct([1]), /must be a plain object/);
  assert.deepEqual(toStruct({ gone: undefined, when: new Date(0) }),
    { fields: { when: { stringValue: '1970-01-01T00:00:00.000Z' } } });
});

test('durations and timestamps in milliseconds', () => {
  assert.deepEqual(durationFromMs(1500), { seconds: '1', nanos: 500_000_000 });
  assert.equal(durationToMs({ seconds: '30', nanos: 0 }), 30_000);
  const when = new Date('2026-03-08T07:30:00.250Z');
  assert.equal(timestampToDate(timestampFromDate(when)).getTime(), when.getTime());
  const request = createJobRequest({
    workspaceId: 'w', type: 't', payload: { a: 1 }, ttl: 60_000, runAfter: when,
    retryPolicy: { maxAttempts: 2, initialBackoff: 100 },
  });
  assert.deepEqual(request.ttl, { seconds: '60', nanos: 0 });
  assert.deepEqual(request.retryPolicy, { maxAttempts: 2, initialBackoff: { seconds: '0', nanos: 100_000_000 } });
  assert.deepEqual(request.payload, { fields: { a: { numberValue: 1 } } });
});

test('text is made valid for jobd: UTF-8, no NUL, at most 4 KiB on a character boundary', () => {
  assert.equal(cleanText('a\0b\uD800c'), 'a\uFFFDb\uFFFDc');
  const long = 'é'.repeat(3000); // 2 bytes each
  const cut = cleanText(long);
  assert.equal(Buffer.byteLength(cut), 4096);
  assert.equal(cleanText('€'.repeat(2000)).length, 1365); // 3 bytes each: 4095 bytes
});

test('the repository protos load, with every service', () => {
  const jobd = loadJobd();
  for (const name of ['JobService', 'WorkerService', 'AdminService', 'QueueService', 'ScheduleService', 'TemplateService']) {
    assert.equal(typeof jobd[name], 'function', name);
  }
});

test('bulk requests take Dates for the filter\'s times', () => {
  const when = new Date('2026-03-08T07:30:00.250Z');
  const stamp = { seconds: '5', nanos: 1 };
  const request = bulkJobsRequest({
    workspaceId: 'w', filter: { type: 't', createdBefore: when, createdAfter: stamp }, dryRun: true,
  });
  assert.deepEqual(request, {
    workspaceId: 'w', dryRun: true,
    filter: { type: 't', createdBefore: { seconds: '1772955000', nanos: 250_000_000 }, createdAfter: stamp },
  });
  assert.deepEqual(bulkJobsRequest({ workspaceId: 'w', ids: ['a'] }), { workspaceId: 'w', ids: ['a'] });
});

test('a queue\'s unset limits are null, as decoded by the loader', () => {
  const method = loadJobd().QueueService.service.SetQueueLimits;
  const roundTrip = (queue) => queueFromProto(
    method.responseDeserialize(method.responseSerialize({ queue })).queue);
  const unset = roundTrip({ workspaceId: 'w', type: 't', burst: 1 });
  assert.equal(unset.maxRunning, null);
  assert.equal(unset.maxStartsPerSecond, null);
  const set = roundTrip({ workspaceId: 'w', type: 't', maxRunning: 0, maxStartsPerSecond: 2.5, burst: 3 });
  assert.deepEqual([set.maxRunning, set.maxStartsPerSecond, set.burst], [0, 2.5, 3]);
  assert.deepEqual(Object.keys(set).filter((k) => k.startsWith('_')), []);
});
