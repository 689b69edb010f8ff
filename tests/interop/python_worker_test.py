"""Interop tests of client/python's jobd.Worker against a real jobd: completion with progress,
messages and checkpoints; retryable and permanent failures; transient errors retried; a
cancel, a pause (and the resume from the checkpoint) and a lost lease reaching a running
handler without a Complete or Fail; the graceful stop handing a running job back.

Each test's worker talks through a CallRecorder, so the calls it made (or did not make) are
asserted. Run by python_worker_test.sh (see python_test_support for the environment).
"""
import logging
import threading
import time
import unittest

import grpc

import jobd
from jobd.v1 import job_pb2, job_service_pb2

from python_test_support import (ADDRESS, API_KEY, CallRecorder, recording_client, unique,
                                 wait_for, wait_for_job, wait_for_state)

WS = "pyw"
S = job_pb2
LEASE = 3.0  # seconds: a heartbeat every second
HEARTBEAT = LEASE / 3


class WorkerTest(unittest.TestCase):
    def setUp(self):
        self.client = jobd.Client(ADDRESS, API_KEY, workspace_id=WS)
        self.addCleanup(self.client.close)
        self.job_type = unique("py.work")

    def start_worker(self, handler, **options):
        """A started worker of self.job_type whose calls `self.recorder` records."""
        self.recorder = CallRecorder()
        worker_client = recording_client(self.recorder, WS)
        self.addCleanup(worker_client.close)
        options.setdefault("lease_duration", LEASE)
        options.setdefault("poll_wait", 1.0)
        worker = jobd.Worker(worker_client, worker_id=unique("w"), **options)
        worker.handle(self.job_type, handler)
        worker.start()
        self.addCleanup(worker.stop)  # after a test's own stop() it does nothing
        return worker

    def finish_calls(self, job_id):
        return [c.method for c in self.recorder.calls(job_id=job_id)
                if c.method in ("CompleteJob", "FailJob")]

    def state_changes(self, job_id):
        return [e.job.state for e in self.client.iter_job_events(job_id)
                if e.kind in (S.JOB_EVENT_KIND_CREATED, S.JOB_EVENT_KIND_STATE_CHANGED)]

    def test_completes_with_progress_messages_and_checkpoint(self):
        proceed = threading.Event()

        def handler(job, ctx):
            self.assertIsNone(ctx.starting_checkpoint)
            ctx.progress(40, "reading")
            ctx.log("info", "started")
            ctx.save_checkpoint({"page": 2})
            self.assertTrue(proceed.wait(10))
            return {"rows": ctx.payload["rows"]}

        worker = self.start_worker(handler)
        job = self.client.create_job(self.job_type, {"rows": 7})
        running = wait_for_job(self.client, job.id, "progress and checkpoint reported",
                               lambda j: j.progress_message == "reading" and
                               j.HasField("checkpoint"), timeout=5)
        self.assertEqual((running.state, running.worker_id, running.progress_percent),
                         (S.JOB_STATE_RUNNING, worker.worker_id, 40.0))
        self.assertEqual(jobd.struct_to_dict(running.checkpoint), {"page": 2})
        proceed.set()
        done = wait_for_state(self.client, job.id, S.JOB_STATE_SUCCEEDED)
        self.assertEqual(jobd.struct_to_dict(done.result), {"rows": 7})
        self.assertEqual((done.attempt, done.progress_percent), (1, 100.0))
        self.assertEqual(jobd.struct_to_dict(done.checkpoint), {"page": 2})
        messages = [(e.message.level, e.message.text) for e in self.client.iter_job_events(job.id)
                    if e.kind == S.JOB_EVENT_KIND_MESSAGE]
        self.assertEqual(messages, [(S.MESSAGE_LEVEL_INFO, "started")])
        worker.stop()
        self.assertEqual(self.finish_calls(job.id), ["CompleteJob"])

    def test_failures_retry_from_checkpoint_or_are_permanent(self):
        starts = []

        def handler(job, ctx):
            if job.payload["mode"] == "permanent":
                raise jobd.PermanentError("bad input")
            starts.append((job.attempt, ctx.starting_checkpoint))
            if job.attempt == 1:
                ctx.save_checkpoint({"step": 1})  # must reach attempt 2 (sent before FailJob)
                raise ValueError("disk full")
            return {"ok": True}

        self.start_worker(handler, concurrency=2)
        policy = {"max_attempts": 3, "initial_backoff": 0.1, "max_backoff": 0.1}
        retried = self.client.create_job(self.job_type, {"mode": "retry"}, retry_policy=policy)
        permanent = self.client.create_job(self.job_type, {"mode": "permanent"},
                                           retry_policy=policy)
        done = wait_for_state(self.client, retried.id, S.JOB_STATE_SUCCEEDED)
        self.assertEqual(done.attempt, 2)
        self.assertEqual(starts, [(1, None), (2, {"step": 1})])
        failed = wait_for_state(self.client, permanent.id, S.JOB_STATE_FAILED)
        self.assertEqual((failed.attempt, failed.error_message), (1, "bad input"))

        fails = [(c.request.error_message, c.request.retryable)
                 for c in self.recorder.calls("FailJob")]
        self.assertCountEqual(fails, [("ValueError: disk full", True), ("bad input", False)])
        # After its backoff the job is promoted to QUEUED, or leased straight from SCHEDULED.
        q, r, s = S.JOB_STATE_QUEUED, S.JOB_STATE_RUNNING, S.JOB_STATE_SCHEDULED
        self.assertIn(self.state_changes(retried.id), [
            [q, r, s, q, r, S.JOB_STATE_SUCCEEDED], [q, r, s, r, S.JOB_STATE_SUCCEEDED]])

    def test_transient_errors_are_retried(self):
        def handler(job, ctx):
            ctx.progress(90, "almost")
            ctx.save_checkpoint({"done": True})
            return {"ok": True}

        recorder = CallRecorder()  # scripted before the worker's first call
        recorder.fail_next("AcquireJobs", grpc.StatusCode.RESOURCE_EXHAUSTED)
        recorder.fail_next("ReportProgress", grpc.StatusCode.UNAVAILABLE)
        recorder.fail_next("CompleteJob", grpc.StatusCode.UNAVAILABLE,
                           grpc.StatusCode.DEADLINE_EXCEEDED)
        job = self.client.create_job(self.job_type)
        worker_client = recording_client(recorder, WS)
        self.addCleanup(worker_client.close)
        worker = jobd.Worker(worker_client, lease_duration=LEASE, poll_wait=1.0)
        worker.handle(self.job_type, handler)
        self.recorder = recorder
        with self.assertLogs("jobd.worker", logging.WARNING):
            with worker:
                done = wait_for_state(self.client, job.id, S.JOB_STATE_SUCCEEDED)
        self.assertEqual(jobd.struct_to_dict(done.checkpoint), {"done": True})
        self.assertEqual(done.attempt, 1)  # retried within the attempt, not by jobd
        acquires = recorder.calls("AcquireJobs")
        self.assertGreaterEqual(len(acquires), 2)
        self.assertGreaterEqual(acquires[1].at - acquires[0].at, 0.09)  # backed off
        # The refused report's content went again: its checkpoint reached jobd (above).
        reports = recorder.calls("ReportProgress", job.id)
        self.assertGreaterEqual(len(reports), 2)
        self.assertEqual(reports[-1].request.progress_message, "almost")
        completes = recorder.calls("CompleteJob", job.id)
        self.assertEqual(len(completes), 3)
        self.assertEqual(len({c.request.lease_token for c in completes}), 1)
        gaps = [later.at - earlier.at for earlier, later in zip(completes, completes[1:])]
        self.assertGreaterEqual(gaps[0], 0.09)  # 0.1 s, then doubled
        self.assertGreaterEqual(gaps[1], 0.19)
        self.assertEqual(self.finish_calls(job.id), ["CompleteJob"] * 3)

    def test_cancel_reaches_the_running_handler(self):
        running, stopped, returned = threading.Event(), threading.Event(), threading.Event()
        seen = {}

        def handler(job, ctx):
            running.set()
            if ctx.cancelled.wait(30):
                seen.update(at=time.monotonic(), reason=ctx.cancel_reason,
                            paused=ctx.paused.is_set())
                stopped.set()
            returned.set()
            return {"ignored": True}  # must not be sent: the job is cancelled

        worker = self.start_worker(handler)
        job = self.client.create_job(self.job_type)
        self.assertTrue(running.wait(10))
        cancelled_at = time.monotonic()
        cancelled = self.client.cancel_job(job.id, reason="stop it")
        self.assertEqual(cancelled.state, S.JOB_STATE_CANCELLED)
        self.assertTrue(stopped.wait(2 * HEARTBEAT), "the handler did not see the cancel "
                        f"within two heartbeats ({2 * HEARTBEAT} s)")
        self.assertLessEqual(seen["at"] - cancelled_at, 2 * HEARTBEAT)
        self.assertEqual((seen["reason"], seen["paused"]), ("job cancelled", False))
        self.assertTrue(returned.wait(5))
        worker.stop()  # every call of the attempt is over

        self.assertEqual(self.finish_calls(job.id), [])
        final = self.client.get_job(job.id)
        self.assertEqual((final.state, final.error_message, final.attempt),
                         (S.JOB_STATE_CANCELLED, "stop it", 1))
        self.assertFalse(final.HasField("result") and final.result.fields)
        self.assertEqual(self.state_changes(job.id),
                         [S.JOB_STATE_QUEUED, S.JOB_STATE_RUNNING, S.JOB_STATE_CANCELLED])
        last = list(self.client.iter_job_events(job.id))[-1]
        self.assertEqual((last.kind, last.job.state),
                         (S.JOB_EVENT_KIND_STATE_CHANGED, S.JOB_STATE_CANCELLED))

    def test_pause_stops_the_handler_and_resume_continues_from_the_checkpoint(self):
        pages = threading.Semaphore(0)  # the test releases the pages one by one
        saw_pause = threading.Event()
        starts = []

        def crawl(job, ctx):
            start = int(ctx.starting_checkpoint["page"]) if ctx.starting_checkpoint else 0
            starts.append((job.attempt, start))
            page = start
            while page < 6:
                while not pages.acquire(timeout=0.05):
                    if ctx.cancelled.is_set():
                        if ctx.paused.is_set():
                            # Saved after the pause, so sent only by the worker's final report.
                            ctx.save_checkpoint({"page": page, "paused": True})
                            saw_pause.set()
                        return None
                page += 1
                ctx.save_checkpoint({"page": page})
                ctx.progress(page * 100 / 6, f"page {page}")
            return {"pages": page, "started_at": start}

        worker = self.start_worker(crawl)
        job = self.client.create_job(self.job_type)
        pages.release(2)
        wait_for_job(self.client, job.id, "checkpoint at page 2",
                     lambda j: jobd.struct_to_dict(j.checkpoint) == {"page": 2}, timeout=5)

        paused = self.client.pause_job(job.id)
        self.assertEqual((paused.state, paused.attempt), (S.JOB_STATE_PAUSED, 1))
        self.assertTrue(saw_pause.wait(2 * HEARTBEAT), "the handler did not see the pause")
        kept = wait_for_job(self.client, job.id, "the checkpoint saved after the pause kept",
                            lambda j: "paused" in j.checkpoint.fields, timeout=5)
        self.assertEqual(jobd.struct_to_dict(kept.checkpoint), {"page": 2, "paused": True})
        self.assertEqual(kept.state, S.JOB_STATE_PAUSED)
        self.assertEqual(self.finish_calls(job.id), [])

        resumed = self.client.resume_job(job.id)
        self.assertEqual((resumed.state, resumed.attempt), (S.JOB_STATE_QUEUED, 1))
        pages.release(4)
        done = wait_for_state(self.client, job.id, S.JOB_STATE_SUCCEEDED)
        self.assertEqual(jobd.struct_to_dict(done.result), {"pages": 6, "started_at": 2})
        self.assertEqual(done.attempt, 1)
        self.assertEqual(starts, [(1, 0), (1, 2)])
        worker.stop()
        self.assertEqual(self.finish_calls(job.id), ["CompleteJob"])

    def test_lost_lease_stops_the_handler(self):
        running, stopped = threading.Event(), threading.Event()
        seen = {}

        def handler(job, ctx):
            running.set()
            if ctx.cancelled.wait(30):
                seen["reason"] = ctx.cancel_reason
                stopped.set()
            return {"ignored": True}

        worker = self.start_worker(handler)
        job = self.client.create_job(self.job_type)
        self.assertTrue(running.wait(10))
        with self.assertLogs("jobd.worker", logging.WARNING) as logs:
            # An admin force-fails the job: the worker's next heartbeat is ABORTED.
            bulk = self.client.jobs.BulkFailJobs(
                job_service_pb2.BulkJobsRequest(workspace_id=WS, ids=[job.id],
                                                reason="forced by the test"),
                metadata=self.client.metadata, timeout=10)
            self.assertEqual((bulk.matched, bulk.changed), (1, 1))
            self.assertTrue(stopped.wait(2 * HEARTBEAT), "the handler was not stopped")
            worker.stop()
        self.assertTrue(seen["reason"].startswith("lease lost"), seen["reason"])
        self.assertTrue(any("ABORTED" in line for line in logs.output), logs.output)
        self.assertEqual(self.finish_calls(job.id), [])
        final = self.client.get_job(job.id)
        self.assertEqual((final.state, final.error_message, final.attempt),
                         (S.JOB_STATE_FAILED, "forced by the test", 1))

    def test_graceful_stop_finishes_or_hands_back(self):
        both_running = threading.Barrier(3, timeout=10)
        stop_begun = threading.Event()
        reasons = {}

        def handler(job, ctx):
            both_running.wait()
            if job.payload["mode"] == "finish":
                self.assertTrue(stop_begun.wait(10))
                # Work longer than one lease: only heartbeats during the grace keep it.
                if ctx.cancelled.wait(LEASE * 0.8):
                    return None
                return {"finished": True}
            ctx.cancelled.wait(30)  # ignores the stop until it is handed back
            reasons[job.id] = ctx.cancel_reason
            return {"ignored": True}

        worker = self.start_worker(handler, concurrency=2, lease_duration=1.5,
                                   grace_period=LEASE)
        finishing = self.client.create_job(self.job_type, {"mode": "finish"})
        blocking = self.client.create_job(self.job_type, {"mode": "block"})
        both_running.wait()
        stop_begun.set()
        began = time.monotonic()
        worker.stop()
        self.assertGreaterEqual(time.monotonic() - began, LEASE - 0.1)  # the whole grace

        done = self.client.get_job(finishing.id)
        self.assertEqual((done.state, done.attempt), (S.JOB_STATE_SUCCEEDED, 1))
        self.assertEqual(jobd.struct_to_dict(done.result), {"finished": True})
        back = self.client.get_job(blocking.id)
        self.assertIn(back.state, (S.JOB_STATE_SCHEDULED, S.JOB_STATE_QUEUED))
        self.assertEqual((back.attempt, back.error_message), (2, "worker stopped"))
        self.assertEqual(reasons, {blocking.id: "worker stopped"})
        fails = self.recorder.calls("FailJob", blocking.id)
        self.assertEqual([(c.request.error_message, c.request.retryable) for c in fails],
                         [("worker stopped", True)])
        self.assertEqual(self.finish_calls(blocking.id), ["FailJob"])

    def test_stop_cancels_the_long_poll(self):
        worker = self.start_worker(lambda job, ctx: {}, poll_wait=30.0)
        wait_for("an AcquireJobs in flight", lambda: self.recorder.calls("AcquireJobs"))
        began = time.monotonic()
        worker.stop()
        self.assertLess(time.monotonic() - began, 2.0)


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(threadName)s %(name)s: %(message)s")
    unittest.main()
