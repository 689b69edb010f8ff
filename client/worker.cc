#include "client/worker.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <exception>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace jobd::client {
namespace {

// Progress is sent at most this often per job, so a chatty handler costs at most two calls a
// second; a heartbeat goes every lease/3 regardless.
constexpr absl::Duration kMinReportInterval = absl::Milliseconds(500);
// How often the heartbeat thread looks at its jobs while any are active.
constexpr absl::Duration kTick = absl::Milliseconds(100);
constexpr absl::Duration kMaxBackoff = absl::Seconds(5);

// Worth calling again: the server or the network was briefly unable to answer.
bool Transient(const absl::Status& s) {
  return s.code() == absl::StatusCode::kUnavailable ||
         s.code() == absl::StatusCode::kDeadlineExceeded ||
         s.code() == absl::StatusCode::kResourceExhausted;
}

// Codes that say another attempt of the same job would fail the same way.
bool Retryable(const absl::Status& s) {
  return s.code() != absl::StatusCode::kInvalidArgument &&
         s.code() != absl::StatusCode::kFailedPrecondition;
}

}  // namespace

std::string DefaultWorkerId() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "worker");
  return absl::StrCat(host, "-", getpid());
}

Worker::Worker(std::shared_ptr<grpc::ChannelInterface> channel, WorkerOptions options)
    : options_(std::move(options)), stub_(v1::WorkerService::NewStub(std::move(channel))) {
  if (options_.worker_id.empty()) options_.worker_id = DefaultWorkerId();
}

Worker::~Worker() { Stop(); }

void Worker::Handle(std::string type, Handler handler) {
  absl::MutexLock lock(&mu_);
  if (!started_) handlers_[std::move(type)] = std::move(handler);
}

absl::Status Worker::Start() {
  absl::MutexLock lock(&mu_);
  if (started_) return absl::InvalidArgumentError("the worker was already started");
  if (handlers_.empty()) return absl::InvalidArgumentError("no job type has a handler");
  if (options_.concurrency < 1) return absl::InvalidArgumentError("concurrency must be >= 1");
  if (options_.lease_duration < absl::Seconds(1)) {
    return absl::InvalidArgumentError("lease_duration must be at least 1s");
  }
  if (options_.poll_wait < absl::ZeroDuration() || options_.poll_wait > absl::Seconds(60)) {
    return absl::InvalidArgumentError("poll_wait must be within 0..60s");
  }
  started_ = true;
  acquirer_ = std::thread([this] { AcquireLoop(); });
  heartbeater_ = std::thread([this] { HeartbeatLoop(); });
  for (int i = 0; i < options_.concurrency; ++i) {
    handler_threads_.emplace_back([this] { HandlerLoop(); });
  }
  return absl::OkStatus();
}

void Worker::Stop() {
  {
    absl::MutexLock lock(&mu_);
    if (!started_ || stopping_) return;
    stopping_ = true;
    if (acquire_call_ != nullptr) acquire_call_->TryCancel();
  }
  // 1. No new leases. Jobs that a cancelled call still returned are queued and handed back.
  acquirer_.join();

  // 2. Running handlers get the grace period; queued jobs are handed back by HandlerLoop.
  std::vector<std::shared_ptr<JobContext>> remaining;
  {
    absl::MutexLock lock(&mu_);
    handlers_exit_ = true;
    auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return active_.empty(); };
    mu_.AwaitWithTimeout(absl::Condition(&idle), options_.grace_period);
    remaining = active_;
  }

  // 3. Hand back what is still running, then tell its handler.
  for (const std::shared_ptr<JobContext>& ctx : remaining) {
    {
      absl::MutexLock call_lock(&ctx->call_mu_);
      if (ctx->settled_) continue;
      if (!ctx->Cancelled()) {
        ReportLocked(*ctx, /*force=*/true);
        if (!ctx->Cancelled()) FailLocked(*ctx, "worker stopped", /*retryable=*/true);
      }
      ctx->settled_ = true;
    }
    Log(absl::StrCat("job ", ctx->job().id(), ": handed back (worker stopped)"));
    ctx->Cancel("worker stopped");
  }

  // 4. Handlers return (they were told), then the heartbeat thread has nothing left.
  for (std::thread& t : handler_threads_) t.join();
  {
    absl::MutexLock lock(&mu_);
    heartbeat_done_ = true;
  }
  heartbeater_.join();
}

void Worker::AcquireLoop() {
  v1::AcquireJobsRequest request;
  request.set_workspace_id(options_.workspace_id);
  request.set_worker_id(options_.worker_id);
  for (const auto& [type, handler] : handlers_) request.add_types(type);
  const int64_t wait_ms = absl::ToInt64Milliseconds(options_.poll_wait);
  google::protobuf::Duration long_poll;
  long_poll.set_seconds(wait_ms / 1000);
  long_poll.set_nanos(static_cast<int32_t>(wait_ms % 1000) * 1000000);
  const int64_t lease_ms = absl::ToInt64Milliseconds(options_.lease_duration);
  request.mutable_lease_duration()->set_seconds(lease_ms / 1000);
  request.mutable_lease_duration()->set_nanos(static_cast<int32_t>(lease_ms % 1000) * 1000000);

  absl::Duration backoff = absl::Milliseconds(100);
  for (;;) {
    grpc::ClientContext call;
    std::vector<std::shared_ptr<CarriedCompletion>> carried;
    {
      absl::MutexLock lock(&mu_);
      // Batches: ask for as many jobs as there are free slots, and only when one is free (a
      // job whose completion waits to ride this call has freed its slot).
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return stopping_ || !finished_.empty() ||
               static_cast<int>(active_.size()) < options_.concurrency;
      };
      acquirer_idle_ = true;
      mu_.Await(absl::Condition(&ready));
      acquirer_idle_ = false;
      if (stopping_) {
        for (auto& c : finished_) c->answered = true;  // not sent: their handlers call CompleteJob
        finished_.clear();
        return;
      }
      carried.swap(finished_);
      const int busy = static_cast<int>(active_.size() - carried.size());
      request.set_max_jobs(std::min(100, options_.concurrency - busy));
      request.clear_completed();
      for (const auto& c : carried) *request.add_completed() = c->request;
      // A call that carries completions does not wait: their handlers wait for its answer.
      if (carried.empty()) {
        *request.mutable_wait() = long_poll;
      } else {
        request.clear_wait();
      }
      acquire_call_ = &call;
    }
    // The call may be held for poll_wait, on top of the usual deadline.
    PrepareContext(call, options_.client.timeout + options_.poll_wait);
    const absl::Time start = absl::Now();
    v1::AcquireJobsResponse response;
    const absl::Status status = FromGrpcStatus(stub_->AcquireJobs(&call, request, &response));
    // A long poll leases its jobs just before it answers, not when it was called: count the
    // lease from the answer (late by one response's latency, which the fencing covers).
    const absl::Time leased_at = absl::Now();

    // Made before taking mu_: a context's call_mu_ is taken before mu_ (Settle), never after.
    std::vector<std::shared_ptr<JobContext>> leased_now;
    for (v1::LeasedJob& leased : *response.mutable_jobs()) {
      auto ctx = std::make_shared<JobContext>(std::move(leased));
      absl::MutexLock call_lock(&ctx->call_mu_);
      ctx->lease_deadline_ = leased_at + options_.lease_duration;
      ctx->last_report_ = leased_at;
      leased_now.push_back(std::move(ctx));
    }
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      acquire_call_ = nullptr;
      stopping = stopping_;
      for (size_t i = 0; i < carried.size(); ++i) {
        CarriedCompletion& c = *carried[i];
        c.answered = true;
        if (status.ok() && static_cast<int>(i) < response.completed_size()) {
          const v1::FinishResult& r = response.completed(static_cast<int>(i));
          c.sent = true;
          c.status = absl::Status(static_cast<absl::StatusCode>(r.code()), r.message());
        }
      }
      for (std::shared_ptr<JobContext>& ctx : leased_now) {
        active_.push_back(ctx);
        queue_.push_back(std::move(ctx));
      }
    }
    if (stopping) return;

    absl::Duration pause = absl::ZeroDuration();
    if (!status.ok()) {
      Log(absl::StrCat("AcquireJobs: ", status.ToString()));
      pause = backoff;
      backoff = std::min(backoff * 2, kMaxBackoff);
    } else {
      backoff = absl::Milliseconds(100);
      // A server that answers an empty list at once (no long poll) must not make us spin.
      if (carried.empty() && response.jobs().empty() && absl::Now() - start < absl::Seconds(1)) {
        pause = absl::Seconds(1);
      }
    }
    if (pause > absl::ZeroDuration()) {
      absl::MutexLock lock(&mu_);
      mu_.AwaitWithTimeout(absl::Condition(&stopping_), pause);
    }
  }
}

void Worker::HandlerLoop() {
  for (;;) {
    std::shared_ptr<JobContext> ctx;
    bool stopping;
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !queue_.empty() || handlers_exit_;
      };
      mu_.Await(absl::Condition(&ready));
      if (queue_.empty()) return;  // handlers_exit_: nothing left to start
      ctx = std::move(queue_.front());
      queue_.pop_front();
      stopping = stopping_;
    }
    if (stopping) {
      // Leased but not started: hand it back at once rather than start it during a stop.
      Settle(*ctx, absl::AbortedError("worker stopped"));
    } else {
      RunJob(ctx);
    }
    absl::MutexLock lock(&mu_);
    active_.erase(std::find(active_.begin(), active_.end(), ctx));
  }
}

void Worker::RunJob(const std::shared_ptr<JobContext>& ctx) {
  const Handler& handler = handlers_.at(ctx->job().type());  // we only acquire these types
  absl::StatusOr<google::protobuf::Struct> outcome;
  try {
    outcome = handler(ctx->job(), *ctx);
  } catch (const std::exception& e) {
    // One bad job must not take the worker down with the other jobs it holds.
    outcome = absl::InternalError(absl::StrCat("handler threw: ", e.what()));
  } catch (...) {
    outcome = absl::InternalError("handler threw");
  }
  Settle(*ctx, outcome);
}

void Worker::Settle(JobContext& ctx, const absl::StatusOr<google::protobuf::Struct>& outcome) {
  absl::MutexLock call_lock(&ctx.call_mu_);
  if (ctx.settled_) return;  // Stop() handed it back already
  ctx.settled_ = true;
  FlushLocked(ctx);  // the last progress and messages
  if (ctx.Cancelled()) {
    Log(absl::StrCat("job ", ctx.job().id(), ": not reported: ", ctx.CancelReason()));
    return;
  }
  if (!outcome.ok()) {
    const absl::Status& s = outcome.status();
    FailLocked(ctx,
               s.message().empty() ? absl::StatusCodeToString(s.code()) : std::string(s.message()),
               Retryable(s));
    return;
  }
  v1::CompleteJobRequest request;
  request.set_job_id(ctx.job().id());
  request.set_lease_token(ctx.leased_.lease_token());
  *request.mutable_result() = *outcome;
  absl::Status done;
  if (std::optional<absl::Status> carried = CompleteOnAcquire(request)) {
    done = *carried;
    if (!done.ok() && done.code() != absl::StatusCode::kInvalidArgument) {
      Log(absl::StrCat("job ", ctx.job().id(), ": CompleteJob: ", done.ToString()));
    }
  } else {
    // A retry of a completion the server took answers the same: no double write.
    done = FinalCall(ctx, "CompleteJob", &v1::WorkerService::Stub::CompleteJob, request).status();
  }
  if (done.code() == absl::StatusCode::kInvalidArgument) {
    // The result itself was refused (too large, ...): the same result would be refused again.
    FailLocked(ctx, absl::StrCat("result refused: ", done.message()), /*retryable=*/false);
  }
}

std::optional<absl::Status> Worker::CompleteOnAcquire(const v1::CompleteJobRequest& request) {
  auto carried = std::make_shared<CarriedCompletion>();
  carried->request = request;
  absl::MutexLock lock(&mu_);
  if (!acquirer_idle_ || stopping_) return std::nullopt;
  finished_.push_back(carried);
  mu_.Await(absl::Condition(&carried->answered));
  if (!carried->sent) return std::nullopt;
  return carried->status;
}

void Worker::FlushLocked(JobContext& ctx) {
  // Retried like the outcome itself (FinalCall), so that a brief outage, e.g. jobd
  // restarting, does not lose the last progress and messages.
  absl::Duration backoff = absl::Milliseconds(100);
  for (;;) {
    if (ctx.Cancelled()) {
      // jobd keeps the checkpoint of a paused job's report (nothing else): the resumed
      // attempt starts from the last page the handler finished, not the last one sent.
      if (ctx.PausedWithUnsentCheckpoint()) SendReport(ctx);
      return;
    }
    ReportLocked(ctx, /*force=*/true);
    bool dirty, full_batch;
    ctx.Pending(&dirty, &full_batch);
    if (!dirty || ctx.Cancelled() || absl::Now() + backoff >= ctx.lease_deadline_) return;
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(2));
  }
}

void Worker::FailLocked(JobContext& ctx, const std::string& error, bool retryable) {
  v1::FailJobRequest request;
  request.set_job_id(ctx.job().id());
  request.set_lease_token(ctx.leased_.lease_token());
  request.set_error_message(CleanText(error, kMaxMessageTextBytes));
  request.set_retryable(retryable);
  FinalCall(ctx, "FailJob", &v1::WorkerService::Stub::FailJob, request).IgnoreError();
}

template <typename Request, typename Response>
absl::StatusOr<Response> Worker::FinalCall(JobContext& ctx, const char* name,
                                           grpc::Status (v1::WorkerService::Stub::*method)(
                                               grpc::ClientContext*, const Request&, Response*),
                                           const Request& request) {
  absl::Duration backoff = absl::Milliseconds(100);
  for (;;) {
    grpc::ClientContext call;
    PrepareContext(call, options_.client.timeout);
    Response response;
    const absl::Status status = FromGrpcStatus(((*stub_).*method)(&call, request, &response));
    if (status.ok()) return response;
    // Past the lease the server refuses the call anyway and the reaper retries the job.
    if (!Transient(status) || absl::Now() + backoff >= ctx.lease_deadline_) {
      Log(absl::StrCat("job ", ctx.job().id(), ": ", name, ": ", status.ToString()));
      return status;
    }
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(2));
  }
}

void Worker::HeartbeatLoop() {
  for (;;) {
    std::vector<std::shared_ptr<JobContext>> jobs;
    {
      absl::MutexLock lock(&mu_);
      auto wake = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return heartbeat_done_ || !active_.empty();
      };
      mu_.Await(absl::Condition(&wake));  // idle: sleep until there is a job
      if (heartbeat_done_) return;
      jobs = active_;
    }
    // One thread for every job, and no lock of the worker held during the calls. A job whose
    // calls are busy (its final report, CompleteJob retries) is skipped rather than waited
    // for, so that it cannot delay the heartbeats of the others.
    for (const std::shared_ptr<JobContext>& ctx : jobs) {
      if (!ctx->call_mu_.TryLock()) continue;
      if (!ctx->settled_) ReportLocked(*ctx, /*force=*/false);
      ctx->call_mu_.Unlock();
    }
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithTimeout(absl::Condition(&heartbeat_done_), kTick);
  }
}

void Worker::ReportLocked(JobContext& ctx, bool force) {
  // Bounded: a handler that logs while we flush must not keep us here forever.
  for (int i = 0; i < 20; ++i) {
    if (ctx.Cancelled()) return;  // a cancelled or lost attempt is not renewed
    const absl::Time now = absl::Now();
    if (now >= ctx.lease_deadline_) {
      ctx.Cancel("lease expired without a renewal");
      Log(absl::StrCat("job ", ctx.job().id(), ": lease lost: no renewal in time"));
      return;
    }
    bool dirty, full_batch;
    ctx.Pending(&dirty, &full_batch);
    const absl::Duration since = now - ctx.last_report_;
    const bool due =
        force ? dirty
              : since >= HeartbeatInterval() || full_batch ||
                    (dirty && since >= std::min(kMinReportInterval, HeartbeatInterval()));
    if (!due || !SendReport(ctx)) return;
    if (!force) {
      ctx.Pending(&dirty, &full_batch);
      if (!full_batch) return;
    }
  }
}

bool Worker::SendReport(JobContext& ctx) {
  const absl::Time now = absl::Now();
  JobContext::Report report = ctx.TakeReport();
  grpc::ClientContext call;
  // A heartbeat that takes longer than its interval is late already; try again instead.
  PrepareContext(call, std::min(options_.client.timeout, HeartbeatInterval()));
  v1::ReportProgressResponse response;
  const absl::Status status =
      FromGrpcStatus(stub_->ReportProgress(&call, report.request, &response));
  const absl::Duration retry_after = std::min(absl::Seconds(1), HeartbeatInterval());
  if (status.ok()) {
    ctx.lease_deadline_ = now + options_.lease_duration;
    ctx.last_report_ = now;
    if (response.cancelled()) {
      ctx.Cancel("job cancelled");
      Log(absl::StrCat("job ", ctx.job().id(), ": cancelled"));
    } else if (response.paused()) {
      // The lease is gone as for a cancel; the job waits for ResumeJob, not for us.
      ctx.Pause();
      Log(absl::StrCat("job ", ctx.job().id(), ": paused"));
    }
    return true;
  }
  switch (status.code()) {
    case absl::StatusCode::kAborted:  // the lease is no longer ours (expired, re-leased, retried)
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kFailedPrecondition:
      ctx.Cancel(absl::StrCat("lease lost: ", status.message()));
      Log(absl::StrCat("job ", ctx.job().id(), ": lease lost: ", status.ToString()));
      break;
    case absl::StatusCode::kInvalidArgument:
      if (report.request.has_checkpoint() && absl::StartsWith(status.message(), "checkpoint")) {
        // The checkpoint was refused (too large): drop it, send the rest again at once. Should
        // that be refused too, its messages go below.
        Log(absl::StrCat("job ", ctx.job().id(), ": checkpoint dropped: ", status.ToString()));
        report.request.clear_checkpoint();
        report.dirty = true;
        ctx.Restore(std::move(report));
        break;
      }
      // Sending these messages again would fail again: drop them, keep heartbeating.
      Log(absl::StrCat("job ", ctx.job().id(), ": report dropped: ", status.ToString()));
      ctx.last_report_ = now - HeartbeatInterval() + retry_after;
      break;
    default:
      // Transient: keep the messages and try again in a second (or the next heartbeat).
      Log(absl::StrCat("job ", ctx.job().id(), ": ReportProgress: ", status.ToString()));
      ctx.Restore(std::move(report));
      ctx.last_report_ = now - HeartbeatInterval() + retry_after;
      break;
  }
  return false;
}

void Worker::PrepareContext(grpc::ClientContext& context, absl::Duration timeout) const {
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  if (!options_.client.api_key.empty()) {
    context.AddMetadata("authorization", "Bearer " + options_.client.api_key);
  }
}

void Worker::Log(const std::string& line) const {
  if (options_.log) {
    options_.log(line);
  } else {
    std::fprintf(stderr, "jobd worker %s: %s\n", options_.worker_id.c_str(), line.c_str());
  }
}

}  // namespace jobd::client
