"""Shared by the interop tests of client/python (python_worker_test.sh runs them): where jobd
is, a wait with a deadline, and a client interceptor that records calls and injects faults.

The shell test sets JOBD_TEST_ADDRESS and JOBD_TEST_API_KEY (an admin key) and puts the
generated jobd.v1 modules and client/python on PYTHONPATH.
"""
import os
import threading
import time
import uuid

import grpc

import jobd

ADDRESS = os.environ.get("JOBD_TEST_ADDRESS", "")
API_KEY = os.environ.get("JOBD_TEST_API_KEY", "")


def unique(prefix):
    """A job type (or label value) no other test uses: [a-z0-9._-]."""
    return f"{prefix}.{uuid.uuid4().hex[:10]}"


def wait_for(what, predicate, timeout=10.0, interval=0.05):
    """Polls predicate() until it returns a truthy value, which is returned; fails after
    `timeout` seconds with `what` and the last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout} s (last: {value!r})")
        time.sleep(interval)


def wait_for_job(client, job_id, what, condition, timeout=10.0):
    """The job once condition(job) holds."""
    last = []

    def check():
        job = client.get_job(job_id)
        last[:] = [job]
        return job if condition(job) else None
    try:
        return wait_for(what, check, timeout)
    except AssertionError as error:
        raise AssertionError(f"{error}; job: {last[0] if last else None}") from None


def wait_for_state(client, job_id, state, timeout=10.0):
    name = jobd.v1.job_pb2.JobState.Name(state)
    return wait_for_job(client, job_id, f"job {job_id} {name}", lambda j: j.state == state,
                        timeout)


class InjectedError(grpc.RpcError):
    """A failed call as the stub would raise it, also usable as the interceptor's outcome
    (its result() raises it) for both blocking calls and futures."""

    def __init__(self, code, details="injected by the test"):
        super().__init__(f"{code.name}: {details}")
        self._code, self._details = code, details

    def code(self):
        return self._code

    def details(self):
        return self._details

    def result(self, timeout=None):
        raise self

    def exception(self, timeout=None):
        return self

    def traceback(self, timeout=None):
        return None

    def cancel(self):
        return False

    def cancelled(self):
        return False

    def done(self):
        return True

    def running(self):
        return False

    def add_done_callback(self, callback):
        callback(self)

    def initial_metadata(self):
        return ()

    def trailing_metadata(self):
        return ()


class Recorded:
    def __init__(self, method, request, timeout, metadata):
        self.method, self.request, self.timeout = method, request, timeout
        self.metadata = tuple(metadata or ())
        self.at = time.monotonic()


class CutStream:
    """A WatchJob stream that breaks with UNAVAILABLE after `cut_after` events, as when jobd
    restarts mid-stream."""

    def __init__(self, call, cut_after):
        self._call, self._left = call, cut_after

    def __iter__(self):
        return self

    def __next__(self):
        if self._left == 0:
            self._call.cancel()
            raise InjectedError(grpc.StatusCode.UNAVAILABLE, "stream cut by the test")
        self._left -= 1
        return next(self._call)

    def cancel(self):
        return self._call.cancel()


class CallRecorder(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor):
    """Records every call (method name, request, deadline, metadata); answers the next calls
    of a method with scripted errors (fail_next); can cut WatchJob streams after N events and
    make their resumed calls ask for `rewind` events they had already (cut_watches)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._calls = []
        self._faults = {}
        self._cut_after = None
        self._rewind = 0
        self.watch_after = []  # after_sequence of each WatchJob as the client asked, or None

    def fail_next(self, method, *codes):
        with self._lock:
            self._faults.setdefault(method, []).extend(codes)

    def cut_watches(self, after_events, rewind=0):
        self._cut_after, self._rewind = after_events, rewind

    def calls(self, method=None, job_id=None):
        with self._lock:
            return [c for c in self._calls if (method is None or c.method == method) and
                    (job_id is None or getattr(c.request, "job_id", None) == job_id)]

    def _record(self, details, request):
        method = details.method
        if isinstance(method, bytes):
            method = method.decode()
        method = method.rsplit("/", 1)[-1]
        with self._lock:
            self._calls.append(Recorded(method, request, details.timeout, details.metadata))
            faults = self._faults.get(method)
            return faults.pop(0) if faults else None

    def intercept_unary_unary(self, continuation, client_call_details, request):
        fault = self._record(client_call_details, request)
        if fault is not None:
            return InjectedError(fault)
        return continuation(client_call_details, request)

    def intercept_unary_stream(self, continuation, client_call_details, request):
        self._record(client_call_details, request)
        if self._cut_after is None:
            return continuation(client_call_details, request)
        asked = request.after_sequence if request.HasField("after_sequence") else None
        self.watch_after.append(asked)
        if asked is not None and self._rewind:
            # The server then repeats events the client has: it must drop them.
            request = type(request)(id=request.id,
                                    after_sequence=max(1, asked - self._rewind))
        return CutStream(continuation(client_call_details, request), self._cut_after)


def recording_client(recorder, workspace_id, timeout=10.0):
    """A jobd.Client whose calls go through `recorder`."""
    channel = grpc.intercept_channel(grpc.insecure_channel(ADDRESS), recorder)
    return jobd.Client(channel=channel, api_key=API_KEY, workspace_id=workspace_id,
                       timeout=timeout)
