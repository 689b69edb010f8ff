"""Client: jobd.v1 JobService and QueueService calls with an API key and a deadline on every
call.

Errors are grpc.RpcError as gRPC raises them: `error.code()` is the status code jobd chose
(NOT_FOUND, FAILED_PRECONDITION, ...). Every method takes `deadline`, the seconds the call may
take; the default is the client's `timeout`. The raw stubs of every service are attributes
(`jobs`, `workers`, `queues`, `schedules`, `templates`, `admin`) for calls without a helper;
pass them `metadata=client.metadata` and `timeout=`.
"""
import logging
import time

import grpc

from jobd import convert, proto
from jobd.proto import job_pb2, job_service_pb2, queue_service_pb2

# Worth calling again: the server or the network was briefly unable to answer.
TRANSIENT_CODES = frozenset({
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
})

# A watch stream that ends with one of these went away under us (jobd restarted, a proxy
# dropped it): resume it. The C++ resumable watch uses the same set.
_RECONNECTABLE_CODES = frozenset({
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNKNOWN,
})

_TERMINAL_STATES = frozenset({
    job_pb2.JOB_STATE_SUCCEEDED, job_pb2.JOB_STATE_FAILED, job_pb2.JOB_STATE_CANCELLED,
})

log = logging.getLogger("jobd")


def is_terminal(state):
    """SUCCEEDED, FAILED and CANCELLED: the job will not change again (short of a retry)."""
    return state in _TERMINAL_STATES


class Client:
    """One channel to jobd and the key to use on it.

    address:   "host:port" (ignored when `channel` is given)
    api_key:   sent as `authorization: Bearer <key>`; None sends no key
    timeout:   the default deadline of each call, in seconds
    workspace_id: the default workspace of create and list calls
    channel:   a channel of the caller's own (TLS, interceptors); else an insecure one
    """

    def __init__(self, address=None, api_key=None, *, timeout=10.0, workspace_id="default",
                 channel=None):
        if channel is None:
            if not address:
                raise ValueError("an address or a channel is needed")
            channel = grpc.insecure_channel(address)
            self._owns_channel = True
        else:
            self._owns_channel = False
        self.channel = channel
        self.api_key = api_key
        self.timeout = timeout
        self.workspace_id = workspace_id
        self.metadata = (("authorization", "Bearer " + api_key),) if api_key else ()
        self.jobs = proto.job_service_pb2_grpc.JobServiceStub(channel)
        self.workers = proto.worker_service_pb2_grpc.WorkerServiceStub(channel)
        self.queues = proto.queue_service_pb2_grpc.QueueServiceStub(channel)
        self.schedules = proto.schedule_service_pb2_grpc.ScheduleServiceStub(channel)
        self.templates = proto.template_service_pb2_grpc.TemplateServiceStub(channel)
        self.admin = proto.admin_service_pb2_grpc.AdminServiceStub(channel)

    def close(self):
        """Closes the channel if this client made it."""
        if self._owns_channel:
            self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _call(self, method, request, deadline):
        return method(request, metadata=self.metadata,
                      timeout=self.timeout if deadline is None else deadline)

    # --- one job ---------------------------------------------------------------------------

    def create_job(self, type, payload=None, *, workspace_id=None, priority=0, labels=None,
                   idempotency_key="", run_after=None, retry_policy=None, job_timeout=None,
                   ttl=None, template="", deadline=None):
        """Creates a job; returns it (QUEUED, or SCHEDULED for a run_after ahead).

        payload: a dict; run_after: a datetime; retry_policy: a RetryPolicy or a dict
        (backoffs in seconds); job_timeout, ttl: seconds or timedeltas.
        """
        request = job_service_pb2.CreateJobRequest(
            workspace_id=workspace_id or self.workspace_id, type=type,
            payload=convert.dict_to_struct(payload), priority=priority, labels=labels or {},
            idempotency_key=idempotency_key, template=template)
        if run_after is not None:
            request.run_after.CopyFrom(convert.to_timestamp(run_after))
        if retry_policy is not None:
            request.retry_policy.CopyFrom(convert.to_retry_policy(retry_policy))
        if job_timeout is not None:
            request.timeout.CopyFrom(convert.to_duration(job_timeout))
        if ttl is not None:
            request.ttl.CopyFrom(convert.to_duration(ttl))
        return self._call(self.jobs.CreateJob, request, deadline).job

    def get_job(self, job_id, *, deadline=None):
        return self._call(self.jobs.GetJob, job_service_pb2.GetJobRequest(id=job_id),
                          deadline).job

    def cancel_job(self, job_id, reason="", *, deadline=None):
        """CANCELLED at once (a running job's worker is told); returns the job."""
        request = job_service_pb2.CancelJobRequest(id=job_id, reason=reason)
        return self._call(self.jobs.CancelJob, request, deadline).job

    def retry_job(self, job_id, *, deadline=None):
        """A FAILED or CANCELLED job QUEUED again, attempt + 1; returns the job."""
        return self._call(self.jobs.RetryJob, job_service_pb2.RetryJobRequest(id=job_id),
                          deadline).job

    def pause_job(self, job_id, *, deadline=None):
        """PAUSED (a running job loses its lease, its worker is told); returns the job."""
        return self._call(self.jobs.PauseJob, job_service_pb2.PauseJobRequest(id=job_id),
                          deadline).job

    def resume_job(self, job_id, *, deadline=None):
        """A PAUSED job QUEUED again with its attempt and checkpoint; returns the job."""
        return self._call(self.jobs.ResumeJob, job_service_pb2.ResumeJobRequest(id=job_id),
                          deadline).job

    def delete_job(self, job_id, *, deadline=None):
        self._call(self.jobs.DeleteJob, job_service_pb2.DeleteJobRequest(id=job_id), deadline)

    # --- lists -----------------------------------------------------------------------------

    def list_jobs(self, *, workspace_id=None, states=(), type="", labels=None, page_size=0,
                  page_token="", view=job_service_pb2.JOB_VIEW_UNSPECIFIED,
                  deadline=None):
        """One page, newest first: (jobs, next_page_token); the token is "" on the last page."""
        request = job_service_pb2.ListJobsRequest(
            workspace_id=workspace_id or self.workspace_id, states=list(states), type=type,
            labels=labels or {}, page_size=page_size, page_token=page_token, view=view)
        response = self._call(self.jobs.ListJobs, request, deadline)
        return list(response.jobs), response.next_page_token

    def iter_jobs(self, **filters):
        """Every matching job, newest first, page after page (each page its own call and
        deadline). Takes list_jobs' arguments except page_token."""
        token = ""
        while True:
            jobs, token = self.list_jobs(page_token=token, **filters)
            yield from jobs
            if not token:
                return

    def iter_job_events(self, job_id, *, page_size=0, deadline=None):
        """The job's retained events, oldest first, page after page."""
        token = ""
        while True:
            request = job_service_pb2.ListJobEventsRequest(id=job_id, page_size=page_size,
                                                           page_token=token)
            response = self._call(self.jobs.ListJobEvents, request, deadline)
            yield from response.events
            token = response.next_page_token
            if not token:
                return

    # --- bulk ------------------------------------------------------------------------------
    # Each takes either a filter (states, type, labels, created_before, created_after; every
    # field given must match) or ids (at most 1,000), not both; jobd refuses neither or both
    # with INVALID_ARGUMENT. Each returns the BulkJobsResponse: matched, changed, dry_run,
    # chunks. dry_run=True counts what would change (matched) and changes nothing.

    def _bulk(self, method, workspace_id, ids, states, type, labels, created_before,
              created_after, dry_run, reason, deadline):
        job_filter = job_service_pb2.JobFilter(states=list(states), type=type,
                                               labels=labels or {})
        if created_before is not None:
            job_filter.created_before.CopyFrom(convert.to_timestamp(created_before))
        if created_after is not None:
            job_filter.created_after.CopyFrom(convert.to_timestamp(created_after))
        request = job_service_pb2.BulkJobsRequest(
            workspace_id=workspace_id or self.workspace_id, filter=job_filter, ids=list(ids),
            dry_run=dry_run, reason=reason)
        return self._call(method, request, deadline)

    def bulk_cancel_jobs(self, *, ids=(), states=(), type="", labels=None, created_before=None,
                         created_after=None, dry_run=False, reason="", workspace_id=None,
                         deadline=None):
        """QUEUED, SCHEDULED, RUNNING or PAUSED -> CANCELLED, each with `reason` as its
        error_message (default "cancelled by <caller>")."""
        return self._bulk(self.jobs.BulkCancelJobs, workspace_id, ids, states, type, labels,
                          created_before, created_after, dry_run, reason, deadline)

    def bulk_retry_jobs(self, *, ids=(), states=(), type="", labels=None, created_before=None,
                        created_after=None, dry_run=False, workspace_id=None, deadline=None):
        """FAILED or CANCELLED -> QUEUED, attempt + 1, as retry_job."""
        return self._bulk(self.jobs.BulkRetryJobs, workspace_id, ids, states, type, labels,
                          created_before, created_after, dry_run, "", deadline)

    def bulk_pause_jobs(self, *, ids=(), states=(), type="", labels=None, created_before=None,
                        created_after=None, dry_run=False, workspace_id=None, deadline=None):
        """QUEUED, SCHEDULED or RUNNING -> PAUSED, as pause_job."""
        return self._bulk(self.jobs.BulkPauseJobs, workspace_id, ids, states, type, labels,
                          created_before, created_after, dry_run, "", deadline)

    def bulk_resume_jobs(self, *, ids=(), states=(), type="", labels=None, created_before=None,
                         created_after=None, dry_run=False, workspace_id=None, deadline=None):
        """PAUSED -> QUEUED (SCHEDULED while run_after is ahead), as resume_job."""
        return self._bulk(self.jobs.BulkResumeJobs, workspace_id, ids, states, type, labels,
                          created_before, created_after, dry_run, "", deadline)

    def bulk_fail_jobs(self, *, ids=(), states=(), type="", labels=None, created_before=None,
                       created_after=None, dry_run=False, reason="", workspace_id=None,
                       deadline=None):
        """QUEUED, SCHEDULED, RUNNING or PAUSED -> FAILED with `reason`, no retry (default
        "failed by <caller>"); a worker still holding one is ABORTED. Admin keys only."""
        return self._bulk(self.jobs.BulkFailJobs, workspace_id, ids, states, type, labels,
                          created_before, created_after, dry_run, reason, deadline)

    def bulk_delete_jobs(self, *, ids=(), states=(), type="", labels=None, created_before=None,
                         created_after=None, dry_run=False, workspace_id=None, deadline=None):
        """SUCCEEDED, FAILED or CANCELLED jobs deleted with their history. Admin keys only."""
        return self._bulk(self.jobs.BulkDeleteJobs, workspace_id, ids, states, type, labels,
                          created_before, created_after, dry_run, "", deadline)

    # --- queues ----------------------------------------------------------------------------
    # A queue is a job type of a workspace. The pause and limit calls return its Queue
    # (settings only: state_counts and oldest_queued_age are list_queues').

    def list_queues(self, *, workspace_id=None, deadline=None):
        """Every queue of the workspace that has jobs or settings, by type: a list of Queue,
        with its settings, jobs per state and the age of its oldest QUEUED job."""
        request = queue_service_pb2.ListQueuesRequest(
            workspace_id=workspace_id or self.workspace_id)
        return list(self._call(self.queues.ListQueues, request, deadline).queues)

    def pause_queue(self, type, *, workspace_id=None, deadline=None):
        """Workers take none of its jobs until resume_queue; creates still succeed and running
        jobs go on. Returns the Queue."""
        request = queue_service_pb2.PauseQueueRequest(
            workspace_id=workspace_id or self.workspace_id, type=type)
        return self._call(self.queues.PauseQueue, request, deadline).queue

    def resume_queue(self, type, *, workspace_id=None, deadline=None):
        """Its jobs are taken again (waiting workers wake at once). Returns the Queue."""
        request = queue_service_pb2.ResumeQueueRequest(
            workspace_id=workspace_id or self.workspace_id, type=type)
        return self._call(self.queues.ResumeQueue, request, deadline).queue

    def set_queue_limits(self, type, max_running=None, max_starts_per_second=None, burst=0, *,
                         workspace_id=None, deadline=None):
        """Replaces the queue's limits (None: no limit): at most `max_running` of its jobs
        RUNNING at once, and starts at `max_starts_per_second` with `burst` at once after a
        quiet spell (0: jobd's default, max(1, ceil(rate))). Admin keys only. Returns the
        Queue."""
        request = queue_service_pb2.SetQueueLimitsRequest(
            workspace_id=workspace_id or self.workspace_id, type=type, burst=burst)
        # Optional fields: left unset (no limit) unless given, as 0 is a value jobd refuses.
        if max_running is not None:
            request.max_running = max_running
        if max_starts_per_second is not None:
            request.max_starts_per_second = max_starts_per_second
        return self._call(self.queues.SetQueueLimits, request, deadline).queue

    # --- watch -----------------------------------------------------------------------------

    def watch_job(self, job_id, *, after_sequence=None, timeout=None, reconnect_timeout=60.0):
        """Yields the job's events (JobEvent) in order, each once, until its terminal event.

        Starts with a SNAPSHOT, or after event `after_sequence`. A stream that drops
        (UNAVAILABLE: jobd restarted, ...) is opened again with after_sequence = the last event
        yielded, so nothing is missed or repeated; reconnects that keep failing for
        `reconnect_timeout` seconds raise the last error. `timeout`: seconds the whole watch
        may take (None: no limit); past it the stream's DEADLINE_EXCEEDED is raised. Closing
        the generator cancels the stream.
        """
        end = None if timeout is None else time.monotonic() + timeout
        sequencer = EventSequencer(after_sequence)
        state = job_pb2.JOB_STATE_UNSPECIFIED
        reached = False  # some stream delivered an event: the job and the server exist
        yielded_any = False
        asked_for_snapshot = False
        failing_since = None
        backoff = 0.1
        while True:
            request = job_service_pb2.WatchJobRequest(id=job_id)
            # Resume after what we handed on; but when the job had finished at our starting
            # point, the server rightly sends nothing after it: then ask for its SNAPSHOT (a
            # repeat, not handed on) to learn how it ended.
            if sequencer.last is not None and not (asked_for_snapshot and not yielded_any):
                request.after_sequence = sequencer.last
            remaining = None if end is None else max(0.0, end - time.monotonic())
            stream = self.jobs.WatchJob(request, metadata=self.metadata, timeout=remaining)
            got_new = False
            error = None
            try:
                for response in stream:
                    event = response.event
                    reached = True
                    if not sequencer.accept(event):
                        # A repeat; but it tells how the job stands if nothing did yet.
                        if state == job_pb2.JOB_STATE_UNSPECIFIED and event.HasField("job"):
                            state = event.job.state
                        continue
                    if event.HasField("job"):
                        state = event.job.state
                    got_new = yielded_any = True
                    yield event
            except grpc.RpcError as rpc_error:
                # A first call that fails says what is wrong (bad id, no server): no retry.
                if (rpc_error.code() not in _RECONNECTABLE_CODES or not reached
                        or (end is not None and time.monotonic() >= end)):
                    raise
                error = rpc_error
            finally:
                stream.cancel()  # a no-op once it ended; stops it when the caller stops early
            if error is None:
                if is_terminal(state):
                    return
                if state == job_pb2.JOB_STATE_UNSPECIFIED and not asked_for_snapshot:
                    asked_for_snapshot = True
                    continue
                # Ended before the job did: as good as dropped, and resuming costs nothing.
            now = time.monotonic()
            if got_new or failing_since is None:
                failing_since, backoff = now, 0.1
                log.warning("watch of job %s: stream ended (%s); resuming after #%s", job_id,
                            error.code().name if error else "early", sequencer.last)
            elif now - failing_since >= reconnect_timeout:
                if error is not None:
                    raise error
                raise RuntimeError(f"watch of job {job_id}: its streams keep ending early")
            time.sleep(backoff)  # the pause between reconnects, not synchronization
            backoff = min(backoff * 2, 2.0)


class EventSequencer:
    """Decides whether a received event is new: not at or below the last one handed on.

    A sequence that is not last + 1 means the server skipped events (logged), except for a
    SNAPSHOT, which legitimately jumps, and a progress event that folded the ones before it.
    """

    def __init__(self, after=None):
        self.last = after

    def accept(self, event):
        if self.last is not None and event.sequence <= self.last:
            return False
        in_order = (self.last is None or event.sequence == self.last + 1
                    or event.sequence - event.folded_progress_events <= self.last + 1
                    or event.kind == job_pb2.JOB_EVENT_KIND_SNAPSHOT)
        if not in_order:
            log.warning("job %s: event #%d came after #%d: the server skipped events",
                        event.job_id, event.sequence, self.last)
        self.last = event.sequence
        return True
