// Worker: runs jobd jobs in this process. It leases jobs of the registered types through
// jobd.v1.WorkerService, runs each in a handler on one of `concurrency` threads, keeps the
// lease alive with heartbeats from its own thread, and ends the attempt with the handler's
// result (CompleteJob) or error (FailJob).
//
//   Worker worker(options);
//   worker.Handle("import.csv", [](const v1::Job& job, JobContext& ctx)
//                                   -> absl::StatusOr<google::protobuf::Struct> {
//     const auto& start = ctx.starting_checkpoint().fields();  // where a failed attempt got to
//     double page = start.count("page") ? start.at("page").number_value() : 0;
//     ctx.Progress(50, "half way");
//     google::protobuf::Struct checkpoint;
//     (*checkpoint.mutable_fields())["page"].set_number_value(page + 1);
//     ctx.SaveCheckpoint(std::move(checkpoint));  // a retry starts from here
//     if (ctx.Cancelled()) return absl::AbortedError("cancelled");
//     return google::protobuf::Struct();
//   });
//   worker.Start();
//   ...
//   worker.Stop();  // graceful: see Stop()
//
// How an attempt ends:
// - A returned Struct completes the job: when every slot is busy (so the acquirer waits for
//   one) it rides the next AcquireJobs (AcquireJobsRequest.completed), so a busy worker
//   finishes jobs and takes the next ones in one call; otherwise CompleteJob. If the server rejects
//   the result as INVALID_ARGUMENT (e.g. too large), the job is failed without retry, since the
//   same result would be rejected again.
// - A returned error fails the attempt with the error's message. It is retryable (the job's
//   retry_policy applies) unless the code is INVALID_ARGUMENT or FAILED_PRECONDITION: those say
//   the input or the state of the world is wrong, which another attempt of the same job cannot
//   fix; every other code (UNAVAILABLE, INTERNAL, UNKNOWN, ...) may be transient.
// - Before CompleteJob or FailJob the last progress, messages and checkpoint are sent
//   (ReportProgress), so that a checkpoint saved just before a failure reaches the next attempt.
// - Once the context is Cancelled() (the server answered cancelled or paused, said the lease is
//   no longer ours, or the lease ran out without a successful renewal), nothing is reported for
//   the attempt: the server would refuse it with ABORTED, and fencing makes it safe to let go.
//   A paused job (PauseJob) is stopped exactly like a cancelled one; Paused() tells the two
//   apart. Its last checkpoint not yet sent goes in one final report once the handler returns
//   (jobd keeps a paused job's checkpoint, nothing else), and ResumeJob queues it again: the
//   next attempt starts from the last checkpoint the handler saved.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <google/protobuf/struct.pb.h>
#include <grpcpp/grpcpp.h>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/jobd_client.h"
#include "jobd/v1/job.pb.h"
#include "jobd/v1/worker_service.grpc.pb.h"

namespace jobd::client {

struct WorkerOptions {
  // Address, API key and the deadline of each call (AcquireJobs adds its `poll_wait`).
  ClientOptions client;
  std::string workspace_id = "default";
  // Empty: "<hostname>-<pid>".
  std::string worker_id;
  // Handlers running at once; also the most jobs leased at once.
  int concurrency = 1;
  // Asked for at acquire; every heartbeat renews it by as much. Heartbeats go every third of it.
  absl::Duration lease_duration = absl::Seconds(30);
  // How long one AcquireJobs call waits for a job (the server allows up to 60 s).
  absl::Duration poll_wait = absl::Seconds(30);
  // How long Stop() lets running handlers finish before it hands their jobs back.
  absl::Duration grace_period = absl::Seconds(10);
  // Where the worker reports what goes wrong (failed calls, lost leases); default stderr.
  std::function<void(const std::string&)> log;
};

// What a handler gets besides the job: progress, messages, checkpoints and the cancellation
// flag of one attempt. Thread-safe; valid until the handler returns.
class JobContext {
 public:
  explicit JobContext(v1::LeasedJob leased);

  const v1::Job& job() const { return leased_.job(); }

  // Where this attempt starts from: the last checkpoint an earlier attempt saved (the leased
  // job's `checkpoint`). Empty when none was saved (job().has_checkpoint() is then false). Not
  // changed by SaveCheckpoint().
  const google::protobuf::Struct& starting_checkpoint() const { return job().checkpoint(); }
  // Saves where this attempt has got to, for the next attempt should this one fail or be lost.
  // Sent like Progress: with the next report, at most half a second later; and in any case
  // before the attempt's FailJob (or CompleteJob). A later save replaces one not yet sent. The
  // server keeps the last one, up to 256 KiB as JSON; one it refuses as too large is dropped
  // (and logged), the progress and messages sent with it are sent again without it.
  void SaveCheckpoint(google::protobuf::Struct checkpoint);

  // Sent with the next heartbeat, or sooner (at most twice a second per job), not per call.
  // The percent is clamped to 0..100.
  void Progress(float percent, std::string message);
  // Queued and sent in order with the next report; text beyond 4 KiB is cut. At most 1,000
  // wait at a time: beyond that the oldest are dropped and counted (a WARNING message says
  // how many), so that a handler that logs faster than the server takes it cannot exhaust
  // memory.
  void Log(v1::MessageLevel level, std::string text);

  // True once the job was cancelled or paused or its lease is lost: stop work, the result is
  // ignored.
  bool Cancelled() const;
  // True once the job was paused (Cancelled() is then true too): the stop is not the job's
  // end, ResumeJob queues it again.
  bool Paused() const;
  // Waits until Cancelled() or `timeout` passes; returns Cancelled().
  bool WaitCancelled(absl::Duration timeout) const;

 private:
  friend class Worker;

  // One ReportProgress worth of state, taken by the heartbeat (or the final flush).
  struct Report {
    v1::ReportProgressRequest request;
    bool dirty = false;
  };

  // Whether progress, messages or a checkpoint wait, and whether a full batch of messages does.
  void Pending(bool* dirty, bool* full_batch) const ABSL_LOCKS_EXCLUDED(mu_);
  // The current progress, the oldest messages (at most the server's per-call limit) and the
  // checkpoint saved since the last report, if any.
  Report TakeReport() ABSL_LOCKS_EXCLUDED(mu_);
  // A report that failed transiently: its messages go first into the next one, and its
  // checkpoint too unless a newer one was saved meanwhile.
  void Restore(Report report) ABSL_LOCKS_EXCLUDED(mu_);
  void Cancel(std::string why) ABSL_LOCKS_EXCLUDED(mu_);
  // Cancel("job paused"), and Paused() turns true unless the attempt was cancelled already.
  void Pause() ABSL_LOCKS_EXCLUDED(mu_);
  bool PausedWithUnsentCheckpoint() const ABSL_LOCKS_EXCLUDED(mu_);
  std::string CancelReason() const ABSL_LOCKS_EXCLUDED(mu_);

  const v1::LeasedJob leased_;

  mutable absl::Mutex mu_;
  float percent_ ABSL_GUARDED_BY(mu_) = 0;
  std::string message_ ABSL_GUARDED_BY(mu_);
  std::deque<v1::JobMessage> messages_ ABSL_GUARDED_BY(mu_);
  int64_t dropped_messages_ ABSL_GUARDED_BY(mu_) = 0;
  std::optional<google::protobuf::Struct> checkpoint_ ABSL_GUARDED_BY(mu_);  // saved, not sent
  bool dirty_ ABSL_GUARDED_BY(mu_) = false;
  std::string cancel_reason_ ABSL_GUARDED_BY(mu_);  // non-empty once cancelled
  bool paused_ ABSL_GUARDED_BY(mu_) = false;        // cancelled by a pause

  // Serializes this attempt's calls (heartbeat, final flush, Complete/Fail) so that messages
  // keep their order and nothing is reported after the attempt was settled.
  absl::Mutex call_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  bool settled_ ABSL_GUARDED_BY(call_mu_) = false;       // Complete/Fail sent or given up
  absl::Time lease_deadline_ ABSL_GUARDED_BY(call_mu_);  // by our clock, from the last renewal
  absl::Time last_report_ ABSL_GUARDED_BY(call_mu_);
};

using Handler =
    std::function<absl::StatusOr<google::protobuf::Struct>(const v1::Job&, JobContext&)>;

class Worker {
 public:
  // The channel: a JobdClient's channel(), client::MakeChannel(options.client), or one of
  // the caller's own.
  Worker(std::shared_ptr<grpc::ChannelInterface> channel, WorkerOptions options);
  // Calls Stop().
  ~Worker();

  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Registers the handler of one job type; only before Start(). A handler runs on a worker
  // thread and may block; it should return soon after ctx.Cancelled() turns true (a cancel, a
  // pause or a lost lease).
  void Handle(std::string type, Handler handler);

  // Starts acquiring. INVALID_ARGUMENT when no handler is registered, the options are out of
  // range, or the worker was already started.
  absl::Status Start();

  // Graceful stop, in this order:
  // 1. stop acquiring (an AcquireJobs in flight is cancelled);
  // 2. let running handlers finish for up to grace_period, still heartbeating their leases,
  //    and report their outcomes as usual;
  // 3. hand every job still running back to the server: FailJob(retryable=true, "worker
  //    stopped"), so that another worker can take it after its backoff (a stop counts as a
  //    failed attempt against max_attempts), and mark those contexts Cancelled();
  // 4. wait for those handlers to return (a handler that ignores Cancelled() delays this)
  //    and join every thread.
  // Idempotent; returns at once when not started. Not from a handler: it joins their threads.
  void Stop();

  const std::string& worker_id() const { return options_.worker_id; }

 private:
  void AcquireLoop();
  void HandlerLoop();
  void HeartbeatLoop();

  void RunJob(const std::shared_ptr<JobContext>& ctx);
  // Sends the pending report of `ctx` when due; with `force`, everything that is pending.
  void ReportLocked(JobContext& ctx, bool force) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ctx.call_mu_);
  // One ReportProgress call; false when it failed.
  bool SendReport(JobContext& ctx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ctx.call_mu_);
  // Ends the attempt: flushes the last report, then CompleteJob or FailJob.
  void Settle(JobContext& ctx, const absl::StatusOr<google::protobuf::Struct>& outcome);
  // Sends what is pending (ReportLocked with force), retrying transient failures until the
  // lease would run out.
  void FlushLocked(JobContext& ctx) ABSL_EXCLUSIVE_LOCKS_REQUIRED(ctx.call_mu_);
  void FailLocked(JobContext& ctx, const std::string& error, bool retryable)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ctx.call_mu_);
  // Retries transient errors until the attempt's lease would be gone.
  template <typename Request, typename Response>
  absl::StatusOr<Response> FinalCall(JobContext& ctx, const char* name,
                                     grpc::Status (v1::WorkerService::Stub::*method)(
                                         grpc::ClientContext*, const Request&, Response*),
                                     const Request& request)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(ctx.call_mu_);

  // A completion handed to the acquirer, to ride its next AcquireJobs.
  struct CarriedCompletion {
    v1::CompleteJobRequest request;
    bool answered = false;  // by the acquirer (guarded by mu_)
    bool sent = false;      // the server answered it: `status` is its answer
    absl::Status status;
  };
  // With every slot busy, hands the completion to the acquirer and waits for its answer;
  // nullopt when the acquirer is not waiting for a slot (or the call failed): CompleteJob then.
  std::optional<absl::Status> CompleteOnAcquire(const v1::CompleteJobRequest& request);

  void PrepareContext(grpc::ClientContext& context, absl::Duration timeout) const;
  void Log(const std::string& line) const;
  absl::Duration HeartbeatInterval() const { return options_.lease_duration / 3; }

  WorkerOptions options_;
  std::unique_ptr<v1::WorkerService::Stub> stub_;
  std::map<std::string, Handler> handlers_;  // fixed once started

  absl::Mutex mu_;
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool handlers_exit_ ABSL_GUARDED_BY(mu_) = false;  // the acquirer is gone: exit when idle
  bool heartbeat_done_ ABSL_GUARDED_BY(mu_) = false;
  // Jobs leased and not yet handed to a handler thread.
  std::deque<std::shared_ptr<JobContext>> queue_ ABSL_GUARDED_BY(mu_);
  // Every leased attempt not yet over (queued or running), heartbeated by HeartbeatLoop.
  std::vector<std::shared_ptr<JobContext>> active_ ABSL_GUARDED_BY(mu_);
  // Completions waiting for the next AcquireJobs, and whether the acquirer waits for a slot.
  std::vector<std::shared_ptr<CarriedCompletion>> finished_ ABSL_GUARDED_BY(mu_);
  bool acquirer_idle_ ABSL_GUARDED_BY(mu_) = false;
  // The AcquireJobs in flight, so that Stop() can cancel its long poll.
  grpc::ClientContext* acquire_call_ ABSL_GUARDED_BY(mu_) = nullptr;

  std::thread acquirer_;
  std::thread heartbeater_;
  std::vector<std::thread> handler_threads_;
};

// The server's limit on message text (API.md "Errors and limits").
inline constexpr size_t kMaxMessageTextBytes = 4 * 1024;

// "<hostname>-<pid>", the default worker id.
std::string DefaultWorkerId();

// `text` with invalid UTF-8 and NUL replaced by U+FFFD, cut at a character boundary to at most
// `max_bytes`: proto3 strings must be valid UTF-8, the server refuses NUL (PostgreSQL text
// cannot hold it) and text over its limit, and a child's output may have any of these.
std::string CleanText(absl::string_view text, size_t max_bytes);

}  // namespace jobd::client
