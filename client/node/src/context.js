'use strict';
// JobContext: what a Worker's handler gets besides the job for one attempt: progress,
// messages, checkpoints, and an AbortSignal that says when to stop. The Worker takes what is
// pending into its reports (ReportProgress); the handler never calls jobd itself.
const { jobFromProto, toStruct } = require('./proto');

// jobd's limits (README "Bad input"): message text, messages per report.
const MAX_TEXT_BYTES = 4 * 1024;
const MAX_MESSAGES_PER_REPORT = 100;
// A handler that logs faster than jobd takes it must not exhaust memory: past this, the
// oldest pending messages go (a program's last lines usually say the most).
const MAX_PENDING_MESSAGES = 1000;

const LEVELS = { info: 'MESSAGE_LEVEL_INFO', warning: 'MESSAGE_LEVEL_WARNING', error: 'MESSAGE_LEVEL_ERROR' };

// Why an attempt's signal was aborted: its `reason` is 'cancelled', 'paused', 'lease lost' or
// 'worker stopped'. This is ctx.signal.reason, so `ctx.signal.throwIfAborted()` throws it.
class JobStoppedError extends Error {
  constructor(reason, detail) {
    super(`job ${reason}${detail ? `: ${detail}` : ''}`);
    this.name = 'JobStoppedError';
    this.reason = reason;
  }
}

// `text` as jobd takes it: valid UTF-8 (lone surrogates become U+FFFD), no NUL (PostgreSQL
// text cannot hold it), at most `maxBytes` of UTF-8 cut at a character boundary.
function cleanText(text, maxBytes = MAX_TEXT_BYTES) {
  const clean = String(text).toWellFormed().replaceAll('\0', '\uFFFD');
  const bytes = Buffer.from(clean, 'utf8');
  if (bytes.length <= maxBytes) return clean;
  let end = maxBytes;
  while (end > 0 && (bytes[end] & 0xc0) === 0x80) end -= 1; // not inside a character
  return bytes.subarray(0, end).toString('utf8');
}

function messageLevel(level) {
  const name = String(level);
  if (name.startsWith('MESSAGE_LEVEL_')) return name;
  const known = LEVELS[name.toLowerCase()];
  if (!known) throw new TypeError(`unknown message level ${name}: use info, warning or error`);
  return known;
}

class JobContext {
  constructor(leased) {
    // The job as leased, payload and checkpoint as plain objects.
    this.job = Object.freeze(jobFromProto(leased.job));
    this.leaseToken = leased.leaseToken;
    // Where this attempt starts: the last checkpoint an earlier attempt (or this attempt before
    // a pause) saved; null when none was. saveCheckpoint() does not change it.
    this.startingCheckpoint = this.job.checkpoint;
    this._controller = new AbortController();
    this._paused = false;
    // Pending report. Every report carries progress, so it starts from what the job shows.
    this._percent = this.job.progressPercent;
    this._message = this.job.progressMessage;
    this._messages = [];
    this._dropped = 0;
    this._checkpoint = null; // saved and not yet sent (a Struct)
    this._dirty = false;
  }

  // Aborted once the job was cancelled or paused, its lease was lost, or the worker stopped
  // and handed it back: stop work; whatever the handler returns then is not reported.
  get signal() { return this._controller.signal; }

  get cancelled() { return this._controller.signal.aborted; }

  // True once the job was paused (the signal is then aborted too): not the job's end;
  // ResumeJob queues it again and the next attempt starts from the last saved checkpoint.
  get paused() { return this._paused; }

  // Sent with the next report: at most twice a second, and at least every lease/3. The
  // percent is clamped to 0..100.
  progress(percent, message = '') {
    this._percent = Math.min(100, Math.max(0, Number(percent) || 0));
    this._message = cleanText(message);
    this._dirty = true;
  }

  // level: 'info', 'warning', 'error' (or MESSAGE_LEVEL_*). Sent in order with the next
  // reports; text beyond 4 KiB is cut.
  log(level, text) {
    const message = { level: messageLevel(level), text: cleanText(text) };
    if (this._messages.length >= MAX_PENDING_MESSAGES) {
      this._messages.shift();
      this._dropped += 1;
    }
    this._messages.push(message);
    this._dirty = true;
  }

  // Where this attempt has got to (a plain JSON object), for the next attempt should this one
  // fail, be lost or be paused. Sent like progress, and in any case before the attempt's
  // CompleteJob/FailJob, or in one last report after a pause. A later save replaces one not
  // yet sent. Throws TypeError at once for what JSON cannot hold.
  saveCheckpoint(checkpoint) {
    this._checkpoint = toStruct(checkpoint, 'checkpoint');
    this._dirty = true;
  }

  // --- for the Worker ----------------------------------------------------------------------

  _pending() {
    return { dirty: this._dirty, fullBatch: this._messages.length >= MAX_MESSAGES_PER_REPORT };
  }

  _hasUnsentCheckpoint() { return this._checkpoint !== null; }

  // One ReportProgress request with everything pending (messages up to the per-call limit).
  _takeReport() {
    const messages = [];
    if (this._dropped > 0) {
      messages.push({
        level: 'MESSAGE_LEVEL_WARNING',
        text: `${this._dropped} earlier messages dropped: more than ${MAX_PENDING_MESSAGES} were waiting to be sent`,
      });
      this._dropped = 0;
    }
    while (this._messages.length > 0 && messages.length < MAX_MESSAGES_PER_REPORT) {
      messages.push(this._messages.shift());
    }
    const request = {
      jobId: this.job.id, leaseToken: this.leaseToken, progressPercent: this._percent,
      progressMessage: this._message, messages,
    };
    if (this._checkpoint) request.checkpoint = this._checkpoint;
    this._checkpoint = null;
    const report = { request, dirty: this._dirty };
    this._dirty = this._messages.length > 0; // the rest goes with the next report
    return report;
  }

  // A report that failed transiently: its messages go first into the next one, and its
  // checkpoint too unless a newer one was saved meanwhile.
  _restore({ request, dirty }) {
    // Back in front, in order, as far as the cap allows (the oldest go first).
    const room = Math.max(0, MAX_PENDING_MESSAGES - this._messages.length);
    this._messages.unshift(...request.messages.slice(Math.max(0, request.messages.length - room)));
    if (request.checkpoint && !this._checkpoint) this._checkpoint = request.checkpoint;
    this._dirty = this._dirty || dirty;
  }

  // Aborts the signal once; the first reason stays.
  _stop(reason, detail) {
    if (this.cancelled) return;
    if (reason === 'paused') this._paused = true;
    this._controller.abort(new JobStoppedError(reason, detail));
  }
}

module.exports = { JobContext, JobStoppedError, cleanText, MAX_TEXT_BYTES };
