"""Interop tests of client/python's jobd.Client against a real jobd: create, get, list (pages
and the paging iterator), cancel, retry, pause, resume, watch (and its resumption after
dropped streams), the API key and the per-call deadlines, the bulk operations (filters, ids,
dry runs) and the queue calls (pause, resume, limits, list). Exact states and fields
throughout.

Run by python_worker_test.sh (see python_test_support for the environment).
"""
import datetime
import logging
import unittest

import grpc

import jobd
from jobd.client import EventSequencer
from jobd.v1 import admin_service_pb2, job_pb2, job_service_pb2, worker_service_pb2

from python_test_support import API_KEY, ADDRESS, CallRecorder, recording_client, unique

WS = "pyc"
S = job_pb2  # states and kinds


class WithClient(unittest.TestCase):
    """One admin client per test class, and the check of a refused call's code."""

    @classmethod
    def setUpClass(cls):
        cls.client = jobd.Client(ADDRESS, API_KEY, workspace_id=WS)

    @classmethod
    def tearDownClass(cls):
        cls.client.close()

    def assertCode(self, code, call, *args, **kwargs):
        with self.assertRaises(grpc.RpcError) as caught:
            call(*args, **kwargs)
        self.assertEqual(caught.exception.code(), code, caught.exception.details())
        return caught.exception.details()


class ClientCallsTest(WithClient):

    def test_create_and_get(self):
        payload = {"file": 's3://b/"q".csv', "name": "naïve ✓", "rows": 3,
                   "opts": {"a": [1, "x"]}}
        job = self.client.create_job(
            "py.create", payload, priority=5, labels={"team": "data"},
            retry_policy={"max_attempts": 4, "initial_backoff": 0.5, "max_backoff": 2},
            job_timeout=60, ttl=datetime.timedelta(hours=1))
        self.assertEqual(job.state, S.JOB_STATE_QUEUED)
        self.assertEqual((job.workspace_id, job.type, job.priority, job.attempt),
                         (WS, "py.create", 5, 1))
        self.assertEqual(job.requested_by, "test-admin")
        self.assertEqual(dict(job.labels), {"team": "data"})
        self.assertEqual(job.retry_policy.max_attempts, 4)
        self.assertEqual(job.retry_policy.initial_backoff.ToMilliseconds(), 500)
        self.assertEqual(job.retry_policy.max_backoff.ToSeconds(), 2)
        self.assertEqual((job.timeout.ToSeconds(), job.ttl.ToSeconds()), (60, 3600))

        got = self.client.get_job(job.id)
        self.assertEqual(got.id, job.id)
        self.assertEqual(got.state, S.JOB_STATE_QUEUED)
        self.assertEqual(jobd.struct_to_dict(got.payload), payload)
        self.assertFalse(got.HasField("checkpoint"))
        self.assertFalse(got.HasField("finish_time"))

        # The same idempotency key: the first job; another request with it: ALREADY_EXISTS.
        key = unique("key")
        first = self.client.create_job("py.create", {"n": 1}, idempotency_key=key)
        again = self.client.create_job("py.create", {"n": 1}, idempotency_key=key)
        self.assertEqual(again.id, first.id)
        self.assertCode(grpc.StatusCode.ALREADY_EXISTS, self.client.create_job, "py.create",
                        {"n": 2}, idempotency_key=key)

        # A run_after ahead: SCHEDULED, with that time.
        later = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + \
            datetime.timedelta(hours=1)
        scheduled = self.client.create_job("py.create", run_after=later)
        self.assertEqual(scheduled.state, S.JOB_STATE_SCHEDULED)
        self.assertEqual(scheduled.run_after.ToDatetime(datetime.timezone.utc), later)

        self.assertCode(grpc.StatusCode.NOT_FOUND, self.client.get_job,
                        "01890000-0000-7000-8000-000000000000")
        details = self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.client.create_job,
                                  "Bad Type")
        self.assertTrue(details.startswith("type"), details)

    def test_api_key_and_deadlines(self):
        job = self.client.create_job("py.auth")
        with jobd.Client(ADDRESS) as anonymous:
            self.assertCode(grpc.StatusCode.UNAUTHENTICATED, anonymous.get_job, job.id)
        with jobd.Client(ADDRESS, "jobd_not_a_key") as wrong:
            self.assertCode(grpc.StatusCode.UNAUTHENTICATED, wrong.get_job, job.id)

        recorder = CallRecorder()
        with recording_client(recorder, WS, timeout=7.0) as client:
            self.assertEqual(client.get_job(job.id).id, job.id)
            client.get_job(job.id, deadline=2.5)
            calls = recorder.calls("GetJob")
            self.assertEqual([c.timeout for c in calls], [7.0, 2.5])
            for call in calls:
                self.assertIn(("authorization", "Bearer " + API_KEY), call.metadata)
            # A watch whose deadline passes while the job waits: DEADLINE_EXCEEDED, after its
            # SNAPSHOT.
            events = client.watch_job(job.id, timeout=0.5)
            self.assertEqual(next(events).kind, S.JOB_EVENT_KIND_SNAPSHOT)
            self.assertCode(grpc.StatusCode.DEADLINE_EXCEEDED, next, events)

    def test_list_pages_and_iterator(self):
        job_type, batch = "py.list", unique("b")
        created = [self.client.create_job(job_type, {"i": i}, labels={"batch": batch}).id
                   for i in range(5)]
        newest_first = list(reversed(created))
        filters = {"type": job_type, "labels": {"batch": batch}}

        pages, token = [], ""
        while True:
            jobs, token = self.client.list_jobs(page_size=2, page_token=token, **filters)
            pages.append([j.id for j in jobs])
            if not token:
                break
        self.assertEqual(pages, [newest_first[0:2], newest_first[2:4], newest_first[4:]])
        self.assertEqual([j.id for j in self.client.iter_jobs(page_size=2, **filters)],
                         newest_first)

        self.client.cancel_job(created[1], reason="filtered")
        cancelled = list(self.client.iter_jobs(states=[S.JOB_STATE_CANCELLED], **filters))
        self.assertEqual([j.id for j in cancelled], [created[1]])
        basic, _ = self.client.list_jobs(view=job_service_pb2.JOB_VIEW_BASIC, page_size=1,
                                         **filters)
        self.assertEqual(basic[0].id, created[4])
        self.assertEqual(len(basic[0].payload.fields), 0)

    def test_cancel_and_retry(self):
        job = self.client.create_job("py.cancel")
        cancelled = self.client.cancel_job(job.id, reason="not needed")
        self.assertEqual((cancelled.state, cancelled.error_message),
                         (S.JOB_STATE_CANCELLED, "not needed"))
        self.assertTrue(cancelled.HasField("finish_time"))
        again = self.client.cancel_job(job.id, reason="twice")  # no change
        self.assertEqual((again.state, again.error_message), (S.JOB_STATE_CANCELLED, "not needed"))

        retried = self.client.retry_job(job.id)
        self.assertEqual((retried.state, retried.attempt), (S.JOB_STATE_QUEUED, 2))
        self.assertEqual(self.client.get_job(job.id).state, S.JOB_STATE_QUEUED)
        details = self.assertCode(grpc.StatusCode.FAILED_PRECONDITION, self.client.retry_job,
                                  job.id)
        self.assertIn("QUEUED", details)

    def test_pause_and_resume(self):
        job = self.client.create_job("py.pause")
        paused = self.client.pause_job(job.id)
        self.assertEqual((paused.state, paused.attempt), (S.JOB_STATE_PAUSED, 1))
        self.assertEqual(self.client.pause_job(job.id).state, S.JOB_STATE_PAUSED)
        resumed = self.client.resume_job(job.id)
        self.assertEqual((resumed.state, resumed.attempt), (S.JOB_STATE_QUEUED, 1))
        self.assertEqual(self.client.resume_job(job.id).state, S.JOB_STATE_QUEUED)
        self.client.cancel_job(job.id)
        self.assertCode(grpc.StatusCode.FAILED_PRECONDITION, self.client.pause_job, job.id)
        self.assertCode(grpc.StatusCode.FAILED_PRECONDITION, self.client.resume_job, job.id)


class BulkTest(WithClient):
    """The six bulk helpers. Each test uses job types of its own, so that its filters match
    only its jobs in the shared workspace."""

    def states(self, ids):
        return [self.client.get_job(i).state for i in ids]

    def assertBulk(self, response, matched, changed, dry_run=False):
        self.assertEqual((response.matched, response.changed, response.dry_run),
                         (matched, changed, dry_run), response)

    def test_cancel_dry_run_then_real(self):
        job_type, other_type = unique("py.bulk"), unique("py.bulk")
        ids = [self.client.create_job(job_type, {"i": i}).id for i in range(4)]
        bystander = self.client.create_job(other_type).id

        dry = self.client.bulk_cancel_jobs(type=job_type, dry_run=True, reason="dry")
        self.assertBulk(dry, 4, 0, dry_run=True)
        self.assertEqual(dry.chunks, 0)
        self.assertEqual(self.states(ids + [bystander]), [S.JOB_STATE_QUEUED] * 5)

        done = self.client.bulk_cancel_jobs(type=job_type, reason="batch withdrawn")
        self.assertBulk(done, 4, 4)
        self.assertEqual(done.chunks, 1)
        for job_id in ids:
            job = self.client.get_job(job_id)
            self.assertEqual((job.state, job.error_message),
                             (S.JOB_STATE_CANCELLED, "batch withdrawn"))
        self.assertEqual(self.client.get_job(bystander).state, S.JOB_STATE_QUEUED)
        # Repeated: nothing is left that it applies to.
        self.assertBulk(self.client.bulk_cancel_jobs(type=job_type), 0, 0)

    def test_by_ids_through_every_operation(self):
        job_type = unique("py.bulkids")
        a, b, c = (self.client.create_job(job_type).id for _ in range(3))
        unknown = "01890000-0000-7000-8000-000000000000"

        self.assertBulk(self.client.bulk_pause_jobs(ids=[a, b, unknown]), 2, 2)
        self.assertEqual(self.states([a, b, c]),
                         [S.JOB_STATE_PAUSED, S.JOB_STATE_PAUSED, S.JOB_STATE_QUEUED])
        # Only the PAUSED ones are resumed; the QUEUED one does not count.
        self.assertBulk(self.client.bulk_resume_jobs(type=job_type), 2, 2)
        self.assertEqual(self.states([a, b, c]), [S.JOB_STATE_QUEUED] * 3)

        self.assertBulk(self.client.bulk_cancel_jobs(ids=[a]), 1, 1)
        self.assertEqual(self.client.get_job(a).error_message, "cancelled by test-admin")
        retried = self.client.bulk_retry_jobs(type=job_type, states=[S.JOB_STATE_CANCELLED])
        self.assertBulk(retried, 1, 1)
        job = self.client.get_job(a)
        self.assertEqual((job.state, job.attempt), (S.JOB_STATE_QUEUED, 2))

        self.assertBulk(self.client.bulk_fail_jobs(ids=[a, b, c], reason="stuck"), 3, 3)
        for job_id in (a, b, c):
            job = self.client.get_job(job_id)
            self.assertEqual((job.state, job.error_message), (S.JOB_STATE_FAILED, "stuck"))

        self.assertBulk(self.client.bulk_delete_jobs(ids=[a, b], dry_run=True), 2, 0, True)
        self.assertEqual(self.states([a, b]), [S.JOB_STATE_FAILED] * 2)
        self.assertBulk(self.client.bulk_delete_jobs(ids=[a, b]), 2, 2)
        for job_id in (a, b):
            self.assertCode(grpc.StatusCode.NOT_FOUND, self.client.get_job, job_id)
        self.assertEqual(self.client.get_job(c).state, S.JOB_STATE_FAILED)

    def test_labels_and_creation_times(self):
        job_type, batch = unique("py.bulktime"), unique("b")
        jobs = [self.client.create_job(job_type, labels={"batch": batch, "n": str(i)})
                for i in range(3)]
        times = [j.create_time for j in jobs]
        self.assertLess(times[0].ToNanoseconds(), times[1].ToNanoseconds())
        self.assertLess(times[1].ToNanoseconds(), times[2].ToNanoseconds())
        count = lambda **f: self.client.bulk_pause_jobs(dry_run=True, **f).matched  # noqa: E731
        self.assertEqual(count(labels={"batch": batch}), 3)
        self.assertEqual(count(labels={"batch": batch, "n": "1"}), 1)
        self.assertEqual(count(labels={"batch": batch, "n": "9"}), 0)
        # created_after is inclusive, created_before exclusive; Timestamps or datetimes.
        self.assertEqual(count(type=job_type, created_after=times[1]), 2)
        self.assertEqual(count(type=job_type, created_before=times[1]), 1)
        self.assertEqual(count(type=job_type, created_after=times[0].ToDatetime(),
                               created_before=times[2].ToDatetime()), 2)

        paused = self.client.bulk_pause_jobs(labels={"batch": batch}, created_after=times[1])
        self.assertBulk(paused, 2, 2)
        self.assertEqual(self.states([j.id for j in jobs]),
                         [S.JOB_STATE_QUEUED, S.JOB_STATE_PAUSED, S.JOB_STATE_PAUSED])

    def test_refusals(self):
        details = self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.client.bulk_cancel_jobs)
        self.assertTrue(details.startswith("filter:"), details)
        details = self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.client.bulk_retry_jobs,
                                  dry_run=True)
        self.assertTrue(details.startswith("filter:"), details)
        details = self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.client.bulk_pause_jobs,
                                  ids=["01890000-0000-7000-8000-000000000000"], type="py.x")
        self.assertTrue(details.startswith("ids:"), details)
        details = self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.client.bulk_resume_jobs,
                                  ids=["not-an-id"])
        self.assertTrue(details.startswith("ids[0]"), details)
        later = datetime.datetime.now(datetime.timezone.utc)
        details = self.assertCode(
            grpc.StatusCode.INVALID_ARGUMENT, self.client.bulk_delete_jobs, type="py.x",
            created_after=later, created_before=later - datetime.timedelta(hours=1))
        self.assertTrue(details.startswith("filter.created_after"), details)


class QueueTest(WithClient):
    """list_queues, pause_queue, resume_queue and set_queue_limits, each test on a queue (job
    type) of its own."""

    def queue(self, job_type, **kwargs):
        """The queue of `job_type` as list_queues shows it; None when it is not listed."""
        found = [q for q in self.client.list_queues(**kwargs) if q.type == job_type]
        self.assertLessEqual(len(found), 1)
        return found[0] if found else None

    def acquire(self, job_type):
        """The ids AcquireJobs leases at once (no wait) for `job_type`."""
        return [j.job.id for j in self.client.workers.AcquireJobs(
            worker_service_pb2.AcquireJobsRequest(workspace_id=WS, types=[job_type],
                                                  worker_id="py-queue", max_jobs=1),
            metadata=self.client.metadata, timeout=10).jobs]

    def test_pause_and_resume(self):
        job_type = unique("py.queue")
        self.assertIsNone(self.queue(job_type))
        job = self.client.create_job(job_type)
        listed = self.queue(job_type)
        self.assertEqual((listed.workspace_id, listed.paused), (WS, False))
        self.assertEqual([(c.state, c.count) for c in listed.state_counts],
                         [(S.JOB_STATE_QUEUED, 1)])
        self.assertTrue(listed.HasField("oldest_queued_age"))
        self.assertFalse(listed.HasField("update_time"))  # no settings yet

        paused = self.client.pause_queue(job_type)
        self.assertEqual((paused.workspace_id, paused.type, paused.paused), (WS, job_type, True))
        self.assertTrue(paused.HasField("update_time"))
        self.assertTrue(self.queue(job_type).paused)
        self.assertTrue(self.client.pause_queue(job_type).paused)  # again: no change
        self.assertEqual(self.acquire(job_type), [])  # workers take none of its jobs
        self.assertEqual(self.client.get_job(job.id).state, S.JOB_STATE_QUEUED)

        resumed = self.client.resume_queue(job_type)
        self.assertEqual((resumed.type, resumed.paused), (job_type, False))
        self.assertFalse(self.queue(job_type).paused)
        self.assertEqual(self.acquire(job_type), [job.id])
        self.client.cancel_job(job.id)

        # Another workspace, by workspace_id; an invalid type names its field.
        other = unique("py.queue")
        self.assertTrue(self.client.pause_queue(other, workspace_id="pyc2").paused)
        self.assertTrue(self.queue(other, workspace_id="pyc2").paused)
        self.assertIsNone(self.queue(other))
        details = self.assertCode(grpc.StatusCode.INVALID_ARGUMENT, self.client.pause_queue,
                                  "Not A Type")
        self.assertTrue(details.startswith("type"), details)

    def test_limits(self):
        job_type = unique("py.limits")
        queue = self.client.set_queue_limits(job_type, max_running=3)
        self.assertEqual((queue.type, queue.max_running, queue.burst, queue.paused),
                         (job_type, 3, 1, False))
        self.assertFalse(queue.HasField("max_starts_per_second"))
        listed = self.queue(job_type)
        self.assertEqual((listed.max_running, listed.burst), (3, 1))
        self.assertFalse(listed.HasField("max_starts_per_second"))
        self.assertEqual(list(listed.state_counts), [])

        # Replaced, not merged: max_running is gone; burst defaults to ceil(rate).
        queue = self.client.set_queue_limits(job_type, max_starts_per_second=2.5)
        self.assertFalse(queue.HasField("max_running"))
        self.assertEqual((queue.max_starts_per_second, queue.burst), (2.5, 3))

        self.client.set_queue_limits(job_type, 7, 0.5, 4)
        listed = self.queue(job_type)
        self.assertEqual((listed.max_running, listed.max_starts_per_second, listed.burst),
                         (7, 0.5, 4))

        queue = self.client.set_queue_limits(job_type)  # no limits at all
        self.assertFalse(queue.HasField("max_running"))
        self.assertFalse(queue.HasField("max_starts_per_second"))
        self.assertEqual(queue.burst, 1)

        for kwargs, field in (({"max_running": 0}, "max_running"),
                              ({"max_starts_per_second": 0.0001}, "max_starts_per_second"),
                              ({"max_running": 2, "burst": 3}, "burst")):
            details = self.assertCode(grpc.StatusCode.INVALID_ARGUMENT,
                                      self.client.set_queue_limits, job_type, **kwargs)
            self.assertTrue(details.startswith(field + ":"), details)
        self.assertFalse(self.queue(job_type).HasField("max_running"), "refusals change nothing")

    def test_member_key(self):
        """A member key may pause queues and bulk-cancel in its workspace; limits, bulk fail
        and bulk delete are for admins, and other workspaces are not its own."""
        name = unique("py-member")
        with jobd.Client(ADDRESS, API_KEY) as admin:
            member_key = admin.admin.CreateApiKey(admin_service_pb2.CreateApiKeyRequest(
                name=name, role=admin_service_pb2.API_KEY_ROLE_MEMBER, workspace_id=WS),
                metadata=admin.metadata, timeout=10).secret
        job_type = unique("py.member")
        with jobd.Client(ADDRESS, member_key, workspace_id=WS) as member:
            job = member.create_job(job_type)
            self.assertTrue(member.pause_queue(job_type).paused)
            self.assertFalse(member.resume_queue(job_type).paused)
            self.assertEqual([q.type for q in member.list_queues() if q.type == job_type],
                             [job_type])
            self.assertCode(grpc.StatusCode.PERMISSION_DENIED, member.set_queue_limits,
                            job_type, max_running=1)
            self.assertCode(grpc.StatusCode.PERMISSION_DENIED, member.bulk_fail_jobs,
                            ids=[job.id])
            self.assertCode(grpc.StatusCode.PERMISSION_DENIED, member.bulk_delete_jobs,
                            ids=[job.id])
            self.assertCode(grpc.StatusCode.PERMISSION_DENIED, member.list_queues,
                            workspace_id="pyc2")
            self.assertCode(grpc.StatusCode.PERMISSION_DENIED, member.bulk_cancel_jobs,
                            type=job_type, workspace_id="pyc2")
            self.assertEqual(member.get_job(job.id).state, S.JOB_STATE_QUEUED)
            done = member.bulk_cancel_jobs(ids=[job.id])
            self.assertEqual((done.matched, done.changed), (1, 1))
            self.assertEqual(member.get_job(job.id).error_message, "cancelled by " + name)
        self.assertFalse(self.queue(job_type).HasField("max_running"))


class WatchTest(unittest.TestCase):
    """Watches a job while the test works it by hand through the raw WorkerService stub."""

    def setUp(self):
        self.client = jobd.Client(ADDRESS, API_KEY, workspace_id=WS)
        self.addCleanup(self.client.close)

    def work(self, job_type, messages=0):
        """Leases the job of `job_type`, reports progress (and messages), completes it."""
        workers, md = self.client.workers, self.client.metadata
        leased = workers.AcquireJobs(worker_service_pb2.AcquireJobsRequest(
            workspace_id=WS, types=[job_type], worker_id="py-hand", max_jobs=1),
            metadata=md, timeout=10).jobs
        self.assertEqual(len(leased), 1)
        job_id, token = leased[0].job.id, leased[0].lease_token
        for i in range(messages):
            workers.ReportProgress(worker_service_pb2.ReportProgressRequest(
                job_id=job_id, lease_token=token, progress_percent=10.0 * (i + 1),
                progress_message=f"step {i}", messages=[job_pb2.JobMessage(
                    level=job_pb2.MESSAGE_LEVEL_INFO, text=f"line {i}")]),
                metadata=md, timeout=10)
        if not messages:
            workers.ReportProgress(worker_service_pb2.ReportProgressRequest(
                job_id=job_id, lease_token=token, progress_percent=50,
                progress_message="half"), metadata=md, timeout=10)
        workers.CompleteJob(worker_service_pb2.CompleteJobRequest(
            job_id=job_id, lease_token=token, result=jobd.dict_to_struct({"ok": True})),
            metadata=md, timeout=10)

    def test_watch_a_job_to_its_end(self):
        job_type = unique("py.watch")
        job = self.client.create_job(job_type)
        events = self.client.watch_job(job.id, timeout=30)
        first = next(events)
        self.assertEqual((first.kind, first.sequence, first.job.state),
                         (S.JOB_EVENT_KIND_SNAPSHOT, 1, S.JOB_STATE_QUEUED))
        self.work(job_type)
        rest = [(e.sequence, e.kind, e.job.state, e.job.progress_percent) for e in events]
        self.assertEqual(rest, [
            (2, S.JOB_EVENT_KIND_STATE_CHANGED, S.JOB_STATE_RUNNING, 0.0),
            (3, S.JOB_EVENT_KIND_PROGRESS, S.JOB_STATE_RUNNING, 50.0),
            (4, S.JOB_EVENT_KIND_STATE_CHANGED, S.JOB_STATE_SUCCEEDED, 100.0),
        ])
        # From the middle of a finished job's history: the rest of it, then the end.
        self.assertEqual([e.sequence for e in self.client.watch_job(job.id, after_sequence=2,
                                                                    timeout=10)], [3, 4])
        # After its last event: nothing, and the watch still ends.
        self.assertEqual(list(self.client.watch_job(job.id, after_sequence=4, timeout=10)), [])
        # A finished job cannot be cancelled.
        with self.assertRaises(grpc.RpcError) as caught:
            self.client.cancel_job(job.id)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.FAILED_PRECONDITION)

    def test_watch_resumes_without_gaps_or_duplicates(self):
        job_type = unique("py.resume")
        job = self.client.create_job(job_type)
        recorder = CallRecorder()
        # Every stream breaks (UNAVAILABLE) after 3 events, and each resumed call gets first
        # an event it had already.
        recorder.cut_watches(after_events=3, rewind=1)
        with recording_client(recorder, WS) as client:
            events = client.watch_job(job.id, timeout=60)
            seen = [next(events)]
            self.work(job_type, messages=6)
            with self.assertLogs("jobd", logging.WARNING):
                seen += list(events)
        history = [(e.sequence, e.kind) for e in self.client.iter_job_events(job.id)]
        self.assertEqual(seen[0].kind, S.JOB_EVENT_KIND_SNAPSHOT)
        self.assertEqual([(e.sequence, e.kind) for e in seen[1:]], history[1:])
        self.assertEqual(seen[-1].job.state, S.JOB_STATE_SUCCEEDED)
        self.assertEqual(len(history), 15)  # created, running, 6 x (progress, message), done
        # The client resumed after exactly what it had handed on each time.
        self.assertEqual(recorder.watch_after[0], None)
        self.assertEqual(recorder.watch_after[1:], [2 * i + 1 for i in range(1, 8)])


class EventSequencerTest(unittest.TestCase):
    """The sequencing rules on their own (no server)."""

    def event(self, sequence, kind=S.JOB_EVENT_KIND_PROGRESS, folded=0):
        return job_pb2.JobEvent(job_id="j", sequence=sequence, kind=kind,
                                folded_progress_events=folded)

    def test_rules(self):
        sequencer = EventSequencer(after=3)
        self.assertFalse(sequencer.accept(self.event(2)))  # a repeat
        self.assertFalse(sequencer.accept(self.event(3)))
        self.assertTrue(sequencer.accept(self.event(4)))
        self.assertTrue(sequencer.accept(self.event(9, folded=4)))  # 5..8 folded into 9
        with self.assertLogs("jobd", logging.WARNING):
            self.assertTrue(sequencer.accept(self.event(12)))  # a gap: handed on, logged
        self.assertTrue(sequencer.accept(self.event(20, kind=S.JOB_EVENT_KIND_SNAPSHOT)))
        self.assertEqual(sequencer.last, 20)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    unittest.main()
