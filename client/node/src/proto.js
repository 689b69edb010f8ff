'use strict';
// jobd's contract, loaded at run time from the repository's .proto files (no generated code to
// keep in step), and the conversions between the protobuf shapes that @grpc/proto-loader hands
// out and the plain JavaScript values a caller wants: Struct <-> object, Duration <-> ms,
// Timestamp <-> Date.
//
// Loader options, the same for every caller:
// - keepCase: false: fields are camelCase (leaseToken, afterSequence), as JavaScript reads;
//   the proto's names are snake_case. Requests are written the same way.
// - longs: String: int64 fields (sequence, BulkJobsResponse.changed, Duration.seconds) are
//   decimal strings, so that no sequence number loses precision; compare them with BigInt().
// - enums: String: 'JOB_STATE_RUNNING', not 3. Requests may use either.
// - defaults: true: every scalar is present (0, '', false); an unset message field is null.
// - oneofs: true: google.protobuf.Value carries `kind` naming its set field.
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

// client/node/src -> the repository's proto/.
const DEFAULT_PROTO_DIR = path.resolve(__dirname, '..', '..', '..', 'proto');
const SERVICE_FILES = [
  'admin_service', 'job_service', 'queue_service', 'schedule_service', 'template_service',
  'worker_service',
].map((name) => `jobd/v1/${name}.proto`);

const LOADER_OPTIONS = {
  keepCase: false, longs: String, enums: String, defaults: true, oneofs: true,
};

const loaded = new Map(); // protoDir -> the jobd.v1 package: parsing takes ~100 ms, do it once

// The jobd.v1 package object: its services are grpc-js client constructors (JobService,
// WorkerService, ...). google/protobuf/*.proto come from protobufjs' bundled copies of the
// well-known types, so nothing outside proto/ is needed.
function loadJobd(protoDir = process.env.JOBD_PROTO_DIR || DEFAULT_PROTO_DIR) {
  let pkg = loaded.get(protoDir);
  if (!pkg) {
    const definition = protoLoader.loadSync(SERVICE_FILES, {
      ...LOADER_OPTIONS, includeDirs: [protoDir],
    });
    pkg = grpc.loadPackageDefinition(definition).jobd.v1;
    loaded.set(protoDir, pkg);
  }
  return pkg;
}

// --- google.protobuf.Struct ----------------------------------------------------------------

// A JSON value as a google.protobuf.Value. Like JSON.stringify, toJSON() is honoured (Dates
// become strings) and undefined properties are left out; unlike it, NaN and Infinity are
// refused rather than turned into null, as jobd refuses what JSON cannot hold as sent.
function toValue(value, where = 'value') {
  if (value !== null && typeof value === 'object' && typeof value.toJSON === 'function') {
    value = value.toJSON();
  }
  if (value === null) return { nullValue: 'NULL_VALUE' };
  switch (typeof value) {
    case 'string': return { stringValue: value };
    case 'boolean': return { boolValue: value };
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${where}: ${value} is not a JSON number`);
      return { numberValue: value };
    case 'object':
      if (Array.isArray(value)) {
        return { listValue: { values: value.map((v, i) => toValue(v ?? null, `${where}[${i}]`)) } };
      }
      return { structValue: toStruct(value, where) };
    default:
      throw new TypeError(`${where}: a ${typeof value} has no JSON form`);
  }
}

// A plain object as a google.protobuf.Struct.
function toStruct(object, where = 'object') {
  if (object === null || typeof object !== 'object' || Array.isArray(object)) {
    throw new TypeError(`${where}: must be a plain object`);
  }
  const fields = {};
  for (const [key, value] of Object.entries(object)) {
    if (value !== undefined) fields[key] = toValue(value, `${where}.${key}`);
  }
  return { fields };
}

const VALUE_KINDS = ['nullValue', 'numberValue', 'stringValue', 'boolValue', 'structValue', 'listValue'];

// Reads `kind` (as the loader decodes, oneofs: true) or, for a Value built by toValue, the one
// field that is set.
function fromValue(value) {
  const kind = value?.kind ?? VALUE_KINDS.find((name) => value?.[name] != null);
  switch (kind) {
    case 'numberValue': return value.numberValue;
    case 'stringValue': return value.stringValue;
    case 'boolValue': return value.boolValue;
    case 'structValue': return fromStruct(value.structValue);
    case 'listValue': return (value.listValue.values || []).map(fromValue);
    default: return null; // nullValue, or no kind at all
  }
}

// A google.protobuf.Struct as a plain object; null stays null (an unset field).
function fromStruct(struct) {
  if (struct == null) return null;
  const object = {};
  for (const [key, value] of Object.entries(struct.fields || {})) object[key] = fromValue(value);
  return object;
}

// --- Duration and Timestamp ----------------------------------------------------------------

function durationFromMs(ms) {
  const whole = Math.floor(ms);
  const seconds = Math.floor(whole / 1000);
  return { seconds: String(seconds), nanos: (whole - seconds * 1000) * 1e6 };
}

function durationToMs(duration) {
  if (duration == null) return null;
  return Number(duration.seconds) * 1000 + Math.round(duration.nanos / 1e6);
}

function timestampFromDate(date) {
  const ms = date.getTime();
  return durationFromMs(ms); // the same two fields, counted from the Unix epoch
}

function timestampToDate(timestamp) {
  return timestamp == null ? null : new Date(durationToMs(timestamp));
}

// --- Jobs and events -----------------------------------------------------------------------

// A Job with payload, result and checkpoint as plain objects (null when unset); every other
// field as the loader gives it.
function jobFromProto(job) {
  if (job == null) return job;
  return {
    ...job,
    payload: fromStruct(job.payload),
    result: fromStruct(job.result),
    checkpoint: fromStruct(job.checkpoint),
  };
}

function eventFromProto(event) {
  return event == null ? event : { ...event, job: jobFromProto(event.job) };
}

// --- Queues --------------------------------------------------------------------------------

// A Queue with its unset limits as null: the loader leaves an unset optional field out
// (undefined) and marks a set one in `_maxRunning` / `_maxStartsPerSecond`, which are dropped.
function queueFromProto(queue) {
  if (queue == null) return queue;
  const { _maxRunning, _maxStartsPerSecond, ...rest } = queue;
  return {
    ...rest,
    maxRunning: queue.maxRunning ?? null,
    maxStartsPerSecond: queue.maxStartsPerSecond ?? null,
  };
}

// SUCCEEDED, FAILED and CANCELLED: the job will not change again, short of a retry.
const TERMINAL_STATES = new Set(['JOB_STATE_SUCCEEDED', 'JOB_STATE_FAILED', 'JOB_STATE_CANCELLED']);

module.exports = {
  DEFAULT_PROTO_DIR,
  LOADER_OPTIONS,
  loadJobd,
  toStruct,
  toValue,
  fromStruct,
  fromValue,
  durationFromMs,
  durationToMs,
  timestampFromDate,
  timestampToDate,
  jobFromProto,
  eventFromProto,
  queueFromProto,
  TERMINAL_STATES,
};
