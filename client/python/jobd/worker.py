"""Worker: runs jobd jobs in this process, as the C++ Worker (client/worker.h) does.

It leases jobs of the registered types (AcquireJobs, long-polled), runs each in its handler on
a pool of `concurrency` threads, keeps every lease alive from a heartbeat thread of its own
(ReportProgress every lease/3, carrying the pending progress, messages and checkpoint), and
ends the attempt with the handler's outcome: a returned dict completes the job; an exception
fails the attempt, retryably unless it is a PermanentError; the last report goes first, so a
checkpoint saved just before a failure reaches the next attempt. Once ctx.cancelled is set (a
cancel, a pause, a lost lease) nothing is reported: jobd would answer ABORTED. Only for a pause
does an unsent checkpoint go in one final report, since jobd keeps a paused job's checkpoint
for the resumed attempt. Transient errors (TRANSIENT_CODES) are retried with backoff.
"""
import concurrent.futures
import logging
import os
import socket
import threading
import time

import grpc

from jobd import convert
from jobd.client import TRANSIENT_CODES
from jobd.context import JobContext, PermanentError, clean_text
from jobd.proto import worker_service_pb2

# Progress goes at most this often per job; a heartbeat goes every lease/3 regardless.
MIN_REPORT_INTERVAL = 0.5
# How often the heartbeat thread looks at its jobs while any are active.
HEARTBEAT_TICK = 0.1
MAX_ACQUIRE_BACKOFF = 5.0
# The server answers these when the attempt's lease is no longer ours.
_LEASE_LOST_CODES = frozenset({
    grpc.StatusCode.ABORTED, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION,
})


class _WorkerStopped(Exception):
    """The outcome of a job leased while the worker stopped: handed back, never started."""


def default_worker_id():
    return f"{socket.gethostname()}-{os.getpid()}"


class Worker:
    """client:        a jobd.Client (channel, API key, per-call deadline)
    workspace_id:  the workspace to take jobs from (default: the client's)
    worker_id:     default "<hostname>-<pid>"
    concurrency:   handlers running at once; also the most jobs leased at once
    lease_duration: seconds asked for at acquire and renewed by every heartbeat (lease/3)
    poll_wait:     seconds one AcquireJobs waits for a job (the server allows up to 60)
    grace_period:  seconds stop() lets running handlers finish before it hands them back
    """

    def __init__(self, client, *, workspace_id=None, worker_id=None, concurrency=1,
                 lease_duration=30.0, poll_wait=30.0, grace_period=10.0, logger=None):
        self._client = client
        self.workspace_id = workspace_id or client.workspace_id
        self.worker_id = worker_id or default_worker_id()
        self.concurrency = concurrency
        self.lease_duration = float(lease_duration)
        self.poll_wait = float(poll_wait)
        self.grace_period = float(grace_period)
        self._log = logger or logging.getLogger("jobd.worker")
        self._handlers = {}

        self._cond = threading.Condition()
        self._started = False
        self._stopping = False
        self._heartbeat_done = False
        self._active = []  # every leased attempt not yet over, heartbeated
        self._acquire_call = None  # the AcquireJobs in flight, for stop() to cancel
        self._pool = None  # the handlers' threads, made by start()
        self._acquirer = threading.Thread(target=self._acquire_loop, name="jobd-acquire",
                                          daemon=True)
        self._heartbeater = threading.Thread(target=self._heartbeat_loop, name="jobd-heartbeat",
                                             daemon=True)

    @property
    def heartbeat_interval(self):
        return self.lease_duration / 3

    def handle(self, job_type, handler):
        """Registers handler(job, ctx) -> dict | None for a job type; only before start().
        It runs on a pool thread and may block; it should return soon after ctx.cancelled."""
        with self._cond:
            if self._started:
                raise RuntimeError("handlers are registered before start()")
            self._handlers[job_type] = handler

    def handler(self, job_type):
        """The decorator form of handle()."""
        def register(function):
            self.handle(job_type, function)
            return function
        return register

    def start(self):
        with self._cond:
            if self._started:
                raise RuntimeError("the worker was already started")
            if not self._handlers:
                raise ValueError("no job type has a handler")
            if self.concurrency < 1:
                raise ValueError("concurrency must be >= 1")
            if self.lease_duration < 1:
                raise ValueError("lease_duration must be at least 1 s")
            if not 0 <= self.poll_wait <= 60:
                raise ValueError("poll_wait must be within 0..60 s")
            self._started = True
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.concurrency, thread_name_prefix="jobd-handler")
        self._acquirer.start()
        self._heartbeater.start()

    def stop(self):
        """Graceful stop: (1) no new leases (the AcquireJobs in flight is cancelled); (2)
        running handlers get grace_period to finish, still heartbeated, and their outcomes are
        reported as usual; (3) every job still running is handed back, FailJob(retryable=True,
        "worker stopped"), and its ctx.cancelled set; (4) waits for those handlers to return.
        Idempotent. Not from a handler: it waits for them."""
        with self._cond:
            if not self._started or self._stopping:
                return
            self._stopping = True
            if self._acquire_call is not None:
                self._acquire_call.cancel()
            self._cond.notify_all()
        self._acquirer.join()

        with self._cond:
            self._cond.wait_for(lambda: not self._active, timeout=self.grace_period)
            remaining = list(self._active)
        for ctx in remaining:
            with ctx.call_lock:
                if ctx.settled:
                    continue
                if not ctx.cancelled.is_set():
                    self._report(ctx, force=True)  # its checkpoint, for the next attempt
                    if not ctx.cancelled.is_set():
                        self._fail(ctx, "worker stopped", retryable=True)
                ctx.settled = True
            self._log.info("worker %s: job %s handed back (worker stopped)", self.worker_id,
                           ctx.job.id)
            ctx.cancel("worker stopped")

        self._pool.shutdown(wait=True)
        with self._cond:
            self._heartbeat_done = True
            self._cond.notify_all()
        self._heartbeater.join()

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # --- acquiring -------------------------------------------------------------------------

    def _acquire_loop(self):
        backoff = 0.1
        while True:
            with self._cond:
                # Ask only when a slot is free, for as many jobs as there are free slots.
                self._cond.wait_for(
                    lambda: self._stopping or len(self._active) < self.concurrency)
                if self._stopping:
                    return
                free = self.concurrency - len(self._active)
            request = worker_service_pb2.AcquireJobsRequest(
                workspace_id=self.workspace_id, types=sorted(self._handlers),
                worker_id=self.worker_id, max_jobs=min(100, free),
                wait=convert.to_duration(self.poll_wait),
                lease_duration=convert.to_duration(self.lease_duration))
            started = time.monotonic()
            # A future, so that stop() can cancel the long poll; it may be held for poll_wait
            # on top of the usual deadline.
            call = self._client.workers.AcquireJobs.future(
                request, metadata=self._client.metadata,
                timeout=self._client.timeout + self.poll_wait)
            with self._cond:
                self._acquire_call = call
                if self._stopping:
                    call.cancel()
            response, error = None, None
            try:
                response = call.result()
            except grpc.FutureCancelledError:
                pass
            except grpc.RpcError as rpc_error:
                error = rpc_error
            # A long poll leases just before it answers: count the lease from the answer.
            leased_at = time.monotonic()
            with self._cond:
                self._acquire_call = None
                for leased in response.jobs if response is not None else ():
                    ctx = JobContext(leased)
                    ctx.lease_deadline = leased_at + self.lease_duration
                    ctx.last_report = leased_at
                    self._active.append(ctx)
                    # Jobs a cancelled call still returned are handed back by _run_job.
                    self._pool.submit(self._run_job, ctx)
                self._cond.notify_all()  # the heartbeat thread has jobs
                if self._stopping:
                    return

            pause = 0.0
            if error is not None:
                self._log.warning("worker %s: AcquireJobs: %s: %s", self.worker_id,
                                  error.code().name, error.details())
                pause, backoff = backoff, min(backoff * 2, MAX_ACQUIRE_BACKOFF)
            else:
                backoff = 0.1
                # A server that answers an empty list at once (no long poll) must not make
                # us spin.
                if response is not None and not response.jobs and \
                        time.monotonic() - started < min(1.0, self.poll_wait):
                    pause = 1.0
            if pause:
                with self._cond:
                    self._cond.wait_for(lambda: self._stopping, timeout=pause)

    # --- running ---------------------------------------------------------------------------

    def _run_job(self, ctx):
        try:
            with self._cond:
                stopping = self._stopping
            if stopping:
                # Leased but not started: hand it back rather than start it during a stop.
                self._settle(ctx, None, _WorkerStopped("worker stopped"))
                return
            result, error = None, None
            try:
                result = self._handlers[ctx.job.type](ctx.job, ctx)
            except BaseException as handler_error:  # noqa: B036 - one bad job must not take
                error = handler_error                # the worker down with the others
            self._settle(ctx, result, error)
        except Exception:  # a bug of ours; the job's lease runs out and the reaper retries it
            self._log.exception("worker %s: job %s", self.worker_id, ctx.job.id)
        finally:
            with self._cond:
                self._active.remove(ctx)
                self._cond.notify_all()

    def _settle(self, ctx, result, error):
        with ctx.call_lock:
            if ctx.settled:
                return  # stop() handed it back already
            ctx.settled = True
            self._flush(ctx)
            if ctx.cancelled.is_set():
                self._log.info("worker %s: job %s not reported: %s", self.worker_id,
                               ctx.job.id, ctx.cancel_reason)
                return
            if error is not None:
                if isinstance(error, (PermanentError, _WorkerStopped)):
                    text = str(error) or type(error).__name__
                else:
                    text = f"{type(error).__name__}: {error}"
                self._fail(ctx, text, retryable=not isinstance(error, PermanentError))
                return
            try:
                struct = convert.dict_to_struct(result)
            except (TypeError, ValueError) as bad:
                self._fail(ctx, f"result refused: {bad}", retryable=False)
                return
            request = worker_service_pb2.CompleteJobRequest(
                job_id=ctx.job.id, lease_token=ctx.lease_token, result=struct)
            # A retry of a completion the server took answers the same: no double write.
            _, failure = self._final_call(ctx, "CompleteJob", self._client.workers.CompleteJob,
                                          request)
            if failure is not None and failure.code() == grpc.StatusCode.INVALID_ARGUMENT:
                self._fail(ctx, f"result refused: {failure.details()}", retryable=False)

    def _flush(self, ctx):
        """Sends what is pending, retrying transient failures until the lease would be gone,
        so that a brief outage does not lose the last progress, messages and checkpoint."""
        backoff = 0.1
        while True:
            if ctx.cancelled.is_set():
                # jobd keeps a paused job's checkpoint: the resumed attempt then starts from
                # the last one the handler saved, not the last one sent.
                if ctx.paused.is_set() and ctx.has_unsent_checkpoint():
                    self._send_report(ctx)
                return
            self._report(ctx, force=True)
            dirty, _ = ctx.pending()
            if not dirty or ctx.cancelled.is_set() or \
                    time.monotonic() + backoff >= ctx.lease_deadline:
                return
            time.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    def _fail(self, ctx, text, retryable):
        request = worker_service_pb2.FailJobRequest(
            job_id=ctx.job.id, lease_token=ctx.lease_token, error_message=clean_text(text),
            retryable=retryable)
        self._final_call(ctx, "FailJob", self._client.workers.FailJob, request)

    def _final_call(self, ctx, name, method, request):
        """(response, None) or (None, the last error); transient errors are retried while
        the lease lasts (past it the server refuses the call and the reaper retries the job)."""
        backoff = 0.1
        while True:
            try:
                return method(request, metadata=self._client.metadata,
                              timeout=self._client.timeout), None
            except grpc.RpcError as error:
                if error.code() not in TRANSIENT_CODES or \
                        time.monotonic() + backoff >= ctx.lease_deadline:
                    self._log.warning("worker %s: job %s: %s: %s: %s", self.worker_id,
                                      ctx.job.id, name, error.code().name, error.details())
                    return None, error
            time.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    # --- heartbeats ------------------------------------------------------------------------

    def _heartbeat_loop(self):
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._heartbeat_done or self._active)
                if self._heartbeat_done:
                    return
                jobs = list(self._active)
            # A job whose calls are busy (its final report, CompleteJob retries) is skipped
            # rather than waited for, so that it cannot delay the heartbeats of the others.
            for ctx in jobs:
                if not ctx.call_lock.acquire(blocking=False):
                    continue
                try:
                    if not ctx.settled:
                        self._report(ctx, force=False)
                finally:
                    ctx.call_lock.release()
            with self._cond:
                self._cond.wait_for(lambda: self._heartbeat_done, timeout=HEARTBEAT_TICK)

    def _report(self, ctx, force):
        """Sends ctx's report when due (a heartbeat, or progress at most twice a second); with
        `force`, whatever is pending. Called with ctx.call_lock held."""
        for _ in range(20):  # bounded: a handler that logs while we flush must not hold us
            if ctx.cancelled.is_set():
                return  # a cancelled or lost attempt is not renewed
            now = time.monotonic()
            if now >= ctx.lease_deadline:
                ctx.cancel("lease expired without a renewal")
                self._log.warning("worker %s: job %s: lease lost: no renewal in time",
                                  self.worker_id, ctx.job.id)
                return
            dirty, full_batch = ctx.pending()
            since = now - ctx.last_report
            if force:
                due = dirty
            else:
                due = (since >= self.heartbeat_interval or full_batch or
                       (dirty and since >= min(MIN_REPORT_INTERVAL, self.heartbeat_interval)))
            if not due or not self._send_report(ctx):
                return
            if not force and not ctx.pending()[1]:
                return

    def _send_report(self, ctx):
        """One ReportProgress; True when it was delivered."""
        now = time.monotonic()
        request, dirty = ctx.take_report()
        # A heartbeat that takes longer than its interval is late already: try again instead.
        timeout = min(self._client.timeout, self.heartbeat_interval)
        try:
            response = self._client.workers.ReportProgress(
                request, metadata=self._client.metadata, timeout=timeout)
        except grpc.RpcError as error:
            code, details = error.code(), error.details() or ""
            retry_at = now - self.heartbeat_interval + min(1.0, self.heartbeat_interval)
            if code in _LEASE_LOST_CODES:  # expired, re-leased, force-failed, deleted
                ctx.cancel(f"lease lost: {details}")
                self._log.warning("worker %s: job %s: lease lost: %s: %s", self.worker_id,
                                  ctx.job.id, code.name, details)
            elif code == grpc.StatusCode.INVALID_ARGUMENT and request.HasField("checkpoint") \
                    and details.startswith("checkpoint"):
                # The checkpoint was refused (too large): drop it, send the rest again.
                self._log.warning("worker %s: job %s: checkpoint dropped: %s", self.worker_id,
                                  ctx.job.id, details)
                request.ClearField("checkpoint")
                ctx.restore(request, True)
            elif code == grpc.StatusCode.INVALID_ARGUMENT:
                # Sending these messages again would fail again: drop them, keep heartbeating.
                self._log.warning("worker %s: job %s: report dropped: %s", self.worker_id,
                                  ctx.job.id, details)
                ctx.last_report = retry_at
            else:
                # Transient: keep what it carried and try again within a second.
                self._log.warning("worker %s: job %s: ReportProgress: %s: %s", self.worker_id,
                                  ctx.job.id, code.name, details)
                ctx.restore(request, dirty)
                ctx.last_report = retry_at
            return False
        ctx.lease_deadline = now + self.lease_duration
        ctx.last_report = now
        if response.cancelled and ctx.cancel("job cancelled"):
            self._log.info("worker %s: job %s cancelled", self.worker_id, ctx.job.id)
        elif response.paused and ctx.pause():
            # The lease is gone as for a cancel; the job waits for ResumeJob, not for us.
            self._log.info("worker %s: job %s paused", self.worker_id, ctx.job.id)
        return True
