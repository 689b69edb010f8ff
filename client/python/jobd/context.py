"""JobContext: what a handler gets besides the job, for one attempt: progress, messages,
checkpoints, and the events that tell it to stop. PermanentError: fail without a retry.

The handler's calls only record what to send; the Worker's heartbeat thread sends it
(ReportProgress), so a handler never waits on the network and a chatty one costs at most two
calls a second.
"""
import collections
import threading

from jobd import convert
from jobd.proto import job_pb2, worker_service_pb2

# The server's limits: message text, messages per report; and how many may wait at once, so
# that a handler that logs faster than the server takes it cannot exhaust memory.
MAX_TEXT_BYTES = 4 * 1024
MAX_MESSAGES_PER_REPORT = 100
MAX_PENDING_MESSAGES = 1000


class PermanentError(Exception):
    """Raised by a handler: the job fails with no further attempt (FailJob retryable=false),
    for input that another attempt could not fix. Any other exception is retryable."""


def clean_text(text, max_bytes=MAX_TEXT_BYTES):
    """Text jobd accepts: no NUL (PostgreSQL text cannot hold it), valid UTF-8, cut at a
    character boundary to at most max_bytes."""
    data = str(text).replace("\0", "\ufffd").encode("utf-8", "replace")[:max_bytes]
    return data.decode("utf-8", "ignore")


class JobContext:
    """One attempt of one job. Thread-safe; the handler may hand it to its own threads.

    job:                  the leased jobd.v1.Job
    payload:              the job's payload as a dict
    starting_checkpoint:  where this attempt starts: the last checkpoint an earlier attempt
                          (or this one before a pause) saved, as a dict; None if none was
    cancelled:            a threading.Event, set once the job was cancelled or paused, its
                          lease is lost, or the worker stopped and handed it back: stop work,
                          the result is ignored
    paused:               a threading.Event, set (with `cancelled`) when the stop is a pause:
                          ResumeJob queues the job again and it starts at the last checkpoint
    cancel_reason:        why `cancelled` was set ("" until then)
    """

    def __init__(self, leased):
        self.leased = leased
        self.job = leased.job
        self.lease_token = leased.lease_token
        self.payload = convert.struct_to_dict(self.job.payload)
        self.starting_checkpoint = (convert.struct_to_dict(self.job.checkpoint)
                                    if self.job.HasField("checkpoint") else None)
        self.cancelled = threading.Event()
        self.paused = threading.Event()
        self.cancel_reason = ""

        self._lock = threading.Lock()
        # A heartbeat always carries progress, so it starts from what the job shows already.
        self._percent = self.job.progress_percent
        self._message = self.job.progress_message
        self._messages = collections.deque()
        self._dropped_messages = 0
        self._checkpoint = None  # saved, not yet sent
        self._dirty = False

        # Owned by the Worker: serializes this attempt's calls (heartbeat, final report,
        # Complete/Fail) so that messages keep their order and nothing follows the settlement.
        self.call_lock = threading.Lock()
        self.settled = False
        self.lease_deadline = 0.0  # time.monotonic() by which the lease runs out
        self.last_report = 0.0

    # --- for the handler -------------------------------------------------------------------

    def progress(self, percent, message=""):
        """Sent with the next report (at most half a second later); percent clamped 0..100."""
        with self._lock:
            self._percent = min(100.0, max(0.0, float(percent)))
            self._message = clean_text(message)
            self._dirty = True

    def log(self, level, text):
        """A message for the job's history: level "info", "warning", "error" (or a
        MessageLevel); sent in order with the next report. Beyond 1,000 waiting, the oldest
        are dropped and a WARNING says how many."""
        message = job_pb2.JobMessage(level=convert.message_level(level), text=clean_text(text))
        with self._lock:
            if len(self._messages) >= MAX_PENDING_MESSAGES:
                self._messages.popleft()  # a program's last lines usually say the most
                self._dropped_messages += 1
            self._messages.append(message)
            self._dirty = True

    def save_checkpoint(self, checkpoint):
        """Where this attempt has got to (a JSON-like dict, at most 256 KiB), for the next
        attempt should this one fail, be lost or paused. Sent with the next report and in any
        case before the attempt ends; a later save replaces one not yet sent."""
        struct = convert.dict_to_struct(checkpoint)  # bad values fail here, in the handler
        with self._lock:
            self._checkpoint = struct
            self._dirty = True

    # --- for the Worker --------------------------------------------------------------------

    def pending(self):
        """(anything to send, a full batch of messages waiting)."""
        with self._lock:
            return self._dirty, len(self._messages) >= MAX_MESSAGES_PER_REPORT

    def has_unsent_checkpoint(self):
        with self._lock:
            return self._checkpoint is not None

    def take_report(self):
        """The next ReportProgressRequest and whether it carries anything new."""
        request = worker_service_pb2.ReportProgressRequest(job_id=self.job.id,
                                                           lease_token=self.lease_token)
        with self._lock:
            request.progress_percent = self._percent
            request.progress_message = self._message
            if self._dropped_messages:
                request.messages.add(
                    level=job_pb2.MESSAGE_LEVEL_WARNING,
                    text=f"{self._dropped_messages} earlier messages dropped: more than "
                         f"{MAX_PENDING_MESSAGES} were waiting to be sent")
                self._dropped_messages = 0
            while self._messages and len(request.messages) < MAX_MESSAGES_PER_REPORT:
                request.messages.append(self._messages.popleft())
            if self._checkpoint is not None:
                request.checkpoint.CopyFrom(self._checkpoint)
                self._checkpoint = None
            dirty = self._dirty
            self._dirty = bool(self._messages)  # the rest goes with the next report
        return request, dirty

    def restore(self, request, dirty):
        """Puts back a report that was not delivered: its messages go first into the next one,
        its checkpoint too unless a newer one was saved meanwhile."""
        with self._lock:
            for message in reversed(request.messages):
                if len(self._messages) >= MAX_PENDING_MESSAGES:
                    break
                self._messages.appendleft(message)
            if request.HasField("checkpoint") and self._checkpoint is None:
                self._checkpoint = request.checkpoint
            self._dirty = self._dirty or dirty

    def cancel(self, reason):
        """Sets `cancelled` with the reason; False if it was set already."""
        with self._lock:
            if self.cancelled.is_set():
                return False
            self.cancel_reason = reason
            self.cancelled.set()
            return True

    def pause(self):
        """Cancelled as by a pause, unless it was cancelled already; False then."""
        with self._lock:
            if self.cancelled.is_set():
                return False
            self.cancel_reason = "job paused"
            self.paused.set()  # before `cancelled`: a handler woken by it sees both
            self.cancelled.set()
            return True
