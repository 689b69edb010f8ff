// WorkerService end to end: leases, fencing, long-poll, retries, timeouts, cancellation,
// against real jobd processes and PostgreSQL. Background loops run fast here (100 ms).
#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "tests/e2e/rpc_log.h"
#include "tests/e2e/worker_fixture.h"

namespace jobd::testing {
namespace {

using grpc::StatusCode;

// What jobd's log line of the AcquireJobs call that leased `job_id` says about the call.
std::optional<RpcLogLine> AcquireLogLine(const JobdProcess& jobd, const std::string& job_id) {
  return FindRpcLogLine(jobd.log(), "AcquireJobs", {"\"job_id\":\"" + job_id + "\""});
}

TEST_F(WorkerTest, AcquireReportCompleteWritesEachEvent) {
  v1::Job created = Create();
  v1::AcquireJobsResponse acquired;
  ASSERT_TRUE(Acquire(*workers_, "w1", &acquired, 10).ok());
  ASSERT_EQ(acquired.jobs_size(), 1);
  const v1::LeasedJob& leased = acquired.jobs(0);
  EXPECT_EQ(leased.job().id(), created.id());
  EXPECT_EQ(leased.job().state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(leased.job().attempt(), 1);
  EXPECT_EQ(leased.job().worker_id(), "w1");
  EXPECT_TRUE(leased.job().has_start_time());
  EXPECT_EQ(leased.lease_token().size(), 36u);
  EXPECT_NEAR(leased.lease_expire_time().seconds() - leased.job().start_time().seconds(), 30, 1);

  v1::ReportProgressRequest report;
  report.set_job_id(created.id());
  report.set_lease_token(leased.lease_token());
  report.set_progress_percent(40);
  report.set_progress_message("page 4 of 10");
  auto* message = report.add_messages();
  message->set_level(v1::MESSAGE_LEVEL_WARNING);
  message->set_text("slow page");
  v1::ReportProgressResponse progress;
  ASSERT_TRUE(workers_->ReportProgress(Ctx().get(), report, &progress).ok());
  EXPECT_FALSE(progress.cancelled());
  EXPECT_TRUE(progress.has_lease_expire_time());
  v1::Job running = Get(created.id());
  EXPECT_EQ(running.progress_percent(), 40);
  EXPECT_EQ(running.progress_message(), "page 4 of 10");
  EXPECT_TRUE(running.has_estimated_finish_time());

  v1::Job done;
  ASSERT_TRUE(Complete(*workers_, leased, "w1", &done).ok());
  EXPECT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(done.result().fields().at("by").string_value(), "w1");
  EXPECT_EQ(done.progress_percent(), 100);
  EXPECT_TRUE(done.has_finish_time());
  EXPECT_TRUE(done.has_duration());
  EXPECT_EQ(Events(created.id()),
            "1:created:queued:1,2:state_changed:running:1,3:progress:running:1,"
            "4:message:running:1,5:state_changed:succeeded:1");
  EXPECT_EQ(Sql("SELECT message_level || ':' || message_text FROM job_events WHERE kind = "
                "'message'"),
            "warning:slow page");

  // The same history through ListJobEvents, two events a page.
  std::vector<std::string> kinds;
  v1::ListJobEventsRequest list;
  list.set_id(created.id());
  list.set_page_size(2);
  int pages = 0;
  for (;;) {
    v1::ListJobEventsResponse page;
    ASSERT_TRUE(jobs_->ListJobEvents(Ctx().get(), list, &page).ok());
    ++pages;
    for (const auto& event : page.events()) {
      EXPECT_EQ(event.job_id(), created.id());
      EXPECT_EQ(event.sequence(), static_cast<int64_t>(kinds.size()) + 1);
      EXPECT_FALSE(event.job().has_payload());
      kinds.push_back(v1::JobEventKind_Name(event.kind()) + ":" +
                      v1::JobState_Name(event.job().state()));
      if (event.kind() == v1::JOB_EVENT_KIND_PROGRESS) {
        EXPECT_EQ(event.job().progress_percent(), 40);
      }
      if (event.kind() == v1::JOB_EVENT_KIND_MESSAGE) {
        EXPECT_EQ(event.message().level(), v1::MESSAGE_LEVEL_WARNING);
        EXPECT_EQ(event.message().text(), "slow page");
      }
    }
    if (page.next_page_token().empty()) break;
    list.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(kinds, (std::vector<std::string>{"JOB_EVENT_KIND_CREATED:JOB_STATE_QUEUED",
                                             "JOB_EVENT_KIND_STATE_CHANGED:JOB_STATE_RUNNING",
                                             "JOB_EVENT_KIND_PROGRESS:JOB_STATE_RUNNING",
                                             "JOB_EVENT_KIND_MESSAGE:JOB_STATE_RUNNING",
                                             "JOB_EVENT_KIND_STATE_CHANGED:JOB_STATE_SUCCEEDED"}));
  v1::ListJobEventsRequest other = list;
  other.set_id(Create().id());  // a token of another job's history
  v1::ListJobEventsResponse refused;
  grpc::Status status = jobs_->ListJobEvents(Ctx().get(), other, &refused);
  EXPECT_CODE(status, StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "page_token:"));
  other.set_id("01a201e7-5c53-7000-bf26-50a897f50418");
  other.clear_page_token();
  EXPECT_CODE(jobs_->ListJobEvents(Ctx().get(), other, &refused), StatusCode::NOT_FOUND);

  // Nothing left but the job just made: an acquire without wait takes it, then none.
  v1::AcquireJobsResponse last;
  ASSERT_TRUE(Acquire(*workers_, "w1", &last, 10).ok());
  EXPECT_EQ(last.jobs_size(), 1);
  v1::AcquireJobsResponse empty;
  ASSERT_TRUE(Acquire(*workers_, "w1", &empty).ok());
  EXPECT_EQ(empty.jobs_size(), 0);
}

TEST_F(WorkerTest, PriorityThenOldestFirstAndBatches) {
  std::vector<std::string> ids;
  for (int priority : {0, 5, 0, 5}) {
    v1::CreateJobRequest request;
    request.set_workspace_id("demo");
    request.set_type("t");
    request.set_priority(priority);
    v1::CreateJobResponse response;
    ASSERT_TRUE(jobs_->CreateJob(Ctx().get(), request, &response).ok());
    ids.push_back(response.job().id());
  }
  v1::AcquireJobsResponse acquired;
  ASSERT_TRUE(Acquire(*workers_, "w1", &acquired, 3).ok());
  ASSERT_EQ(acquired.jobs_size(), 3);
  EXPECT_EQ(acquired.jobs(0).job().id(), ids[1]);
  EXPECT_EQ(acquired.jobs(1).job().id(), ids[3]);
  EXPECT_EQ(acquired.jobs(2).job().id(), ids[0]);
  std::set<std::string> tokens;
  for (const auto& j : acquired.jobs()) tokens.insert(j.lease_token());
  EXPECT_EQ(tokens.size(), 3u);
}

TEST_F(WorkerTest, FencingStaleWorkerCannotTouchTheRetry) {
  v1::Job created = Create("t", 3, 1);
  v1::AcquireJobsResponse a;
  ASSERT_TRUE(Acquire(*workers_, "worker-a", &a, 1, 0, /*lease_ms=*/1000).ok());
  ASSERT_EQ(a.jobs_size(), 1);
  // A stalls; its lease expires and the reaper turns the attempt into a retry.
  v1::AcquireJobsResponse b;
  ASSERT_TRUE(Acquire(*workers_, "worker-b", &b, 1, /*wait_ms=*/30000).ok());
  ASSERT_EQ(b.jobs_size(), 1);
  EXPECT_EQ(b.jobs(0).job().id(), created.id());
  EXPECT_EQ(b.jobs(0).job().attempt(), 2);
  EXPECT_TRUE(absl::StrContains(b.jobs(0).job().error_message(), "worker worker-a lost"))
      << b.jobs(0).job().error_message();

  v1::ReportProgressResponse progress;
  EXPECT_CODE(Progress(*workers_, a.jobs(0), 50, &progress), StatusCode::ABORTED);
  EXPECT_CODE(Complete(*workers_, a.jobs(0), "worker-a"), StatusCode::ABORTED);
  EXPECT_CODE(Fail(*workers_, a.jobs(0), "late", true), StatusCode::ABORTED);

  v1::Job done;
  ASSERT_TRUE(Complete(*workers_, b.jobs(0), "worker-b", &done).ok());
  EXPECT_EQ(done.state(), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(done.result().fields().at("by").string_value(), "worker-b");
  EXPECT_CODE(Complete(*workers_, a.jobs(0), "worker-a"), StatusCode::ABORTED);
  // B retrying its completion (say its answer was lost) is OK and changes nothing.
  v1::Job again;
  ASSERT_TRUE(Complete(*workers_, b.jobs(0), "worker-b again", &again).ok());
  EXPECT_EQ(again.sequence(), done.sequence());
  EXPECT_EQ(Get(created.id()).result().fields().at("by").string_value(), "worker-b");
  // The lost attempt is in the history: RUNNING(1) -> SCHEDULED(2) [-> QUEUED(2)] -> RUNNING(2).
  const std::string events = Events(created.id());
  EXPECT_TRUE(absl::StartsWith(events,
                               "1:created:queued:1,2:state_changed:running:1,"
                               "3:state_changed:scheduled:2,"))
      << events;
  EXPECT_TRUE(absl::EndsWith(events, "state_changed:running:2," +
                                         std::to_string(Get(created.id()).sequence()) +
                                         ":state_changed:succeeded:2"))
      << events;
}

TEST_F(WorkerTest, BackoffGapsGrowWithinPolicyBounds) {
  // 4 attempts, initial 200 ms, x2, capped at 500 ms: caps 200, 400, 500 ms.
  v1::CreateJobRequest request;
  request.set_workspace_id("demo");
  request.set_type("t");
  request.mutable_retry_policy()->set_max_attempts(4);
  *request.mutable_retry_policy()->mutable_initial_backoff() = Millis(200);
  *request.mutable_retry_policy()->mutable_max_backoff() = Millis(500);
  request.mutable_retry_policy()->set_multiplier(2);
  v1::CreateJobResponse created;
  ASSERT_TRUE(jobs_->CreateJob(Ctx().get(), request, &created).ok());
  const std::vector<int64_t> caps_ms = {200, 400, 500};
  std::optional<v1::AcquireJobsResponse> taken_early;  // see "cannot take it" below
  for (int attempt = 1; attempt <= 4; ++attempt) {
    v1::AcquireJobsResponse acquired;
    if (taken_early) {
      acquired = *taken_early;
      taken_early.reset();
    } else {
      ASSERT_TRUE(Acquire(*workers_, "w", &acquired, 1, 30000).ok());
    }
    ASSERT_EQ(acquired.jobs_size(), 1) << "attempt " << attempt;
    EXPECT_EQ(acquired.jobs(0).job().attempt(), attempt);
    v1::Job failed;
    ASSERT_TRUE(
        Fail(*workers_, acquired.jobs(0), "boom " + std::to_string(attempt), true, &failed).ok());
    if (attempt < 4) {
      EXPECT_EQ(failed.state(), v1::JOB_STATE_SCHEDULED);
      EXPECT_EQ(failed.attempt(), attempt + 1);
      const int64_t gap_us =
          (failed.run_after().seconds() - failed.update_time().seconds()) * 1000000 +
          (failed.run_after().nanos() - failed.update_time().nanos()) / 1000;
      EXPECT_GE(gap_us, 0);
      EXPECT_LE(gap_us, caps_ms[attempt - 1] * 1000) << "attempt " << attempt;
      // The worker cannot take it before run_after. A loaded machine may reach run_after
      // before this call does, so "none" is required only of an answer that came before
      // run_after (jobd's clock is this one); a job taken later must have been leased (its
      // attempt started, by jobd's clock) at run_after or after, and is the next attempt's.
      if (gap_us > 50000) {
        v1::AcquireJobsResponse early;
        ASSERT_TRUE(Acquire(*workers_, "w", &early).ok());
        const absl::Time answered = absl::Now();
        if (answered < ToTime(failed.run_after())) {
          EXPECT_EQ(early.jobs_size(), 0) << "attempt " << attempt;
        } else if (early.jobs_size() > 0) {
          EXPECT_GE(ToTime(early.jobs(0).job().start_time()), ToTime(failed.run_after()))
              << "attempt " << attempt + 1 << " started before run_after";
          taken_early = early;
        }
      }
    } else {
      EXPECT_EQ(failed.state(), v1::JOB_STATE_FAILED);
      EXPECT_EQ(failed.attempt(), 4);
      EXPECT_EQ(failed.error_message(), "boom 4");
    }
  }
}

TEST_F(WorkerTest, NotRetryableFailureFailsAtOnce) {
  Create();
  v1::AcquireJobsResponse acquired;
  ASSERT_TRUE(Acquire(*workers_, "w", &acquired).ok());
  ASSERT_EQ(acquired.jobs_size(), 1);
  v1::Job failed;
  ASSERT_TRUE(Fail(*workers_, acquired.jobs(0), "bad input", false, &failed).ok());
  EXPECT_EQ(failed.state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(failed.attempt(), 1);
  EXPECT_EQ(failed.error_message(), "bad input");
  EXPECT_TRUE(failed.has_expire_time());
}

TEST_F(WorkerTest, TimeoutFailsTheAttemptWithThatReason) {
  // 3 s, not 1 s: the heartbeat below must land before the timeout even on a loaded machine.
  v1::Job created = Create("t", /*max_attempts=*/1, 1, /*timeout_ms=*/3000);
  v1::AcquireJobsResponse acquired;
  ASSERT_TRUE(Acquire(*workers_, "w", &acquired, 1, 0, /*lease_ms=*/30000).ok());
  ASSERT_EQ(acquired.jobs_size(), 1);
  // The lease never runs past the attempt's deadline, however long the worker asked for.
  EXPECT_LE(acquired.jobs(0).lease_expire_time().seconds() -
                acquired.jobs(0).job().start_time().seconds(),
            3);
  // Heartbeats do not extend it either.
  v1::ReportProgressResponse progress;
  ASSERT_TRUE(Progress(*workers_, acquired.jobs(0), 10, &progress).ok());
  v1::Job job;
  ASSERT_TRUE(WaitFor(
      [&] {
        job = Get(created.id());
        return job.state() == v1::JOB_STATE_FAILED;
      },
      absl::Seconds(30)));
  EXPECT_EQ(job.error_message(), "attempt 1 timed out after 3s");
  EXPECT_CODE(Complete(*workers_, acquired.jobs(0), "late"), StatusCode::ABORTED);
}

TEST_F(WorkerTest, CancelReachesTheRunningWorker) {
  v1::Job created = Create();
  v1::AcquireJobsResponse acquired;
  ASSERT_TRUE(Acquire(*workers_, "w", &acquired).ok());
  ASSERT_EQ(acquired.jobs_size(), 1);
  v1::CancelJobRequest cancel;
  cancel.set_id(absl::AsciiStrToUpper(created.id()));  // ids are UUIDs in either case
  cancel.set_reason("user asked");
  v1::CancelJobResponse cancelled;
  ASSERT_TRUE(jobs_->CancelJob(Ctx().get(), cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.job().state(), v1::JOB_STATE_CANCELLED);

  v1::ReportProgressResponse progress;
  ASSERT_TRUE(Progress(*workers_, acquired.jobs(0), 60, &progress).ok());
  EXPECT_TRUE(progress.cancelled());
  EXPECT_CODE(Complete(*workers_, acquired.jobs(0), "late"), StatusCode::ABORTED);
  EXPECT_CODE(Fail(*workers_, acquired.jobs(0), "late", true), StatusCode::ABORTED);
  v1::Job job = Get(created.id());
  EXPECT_EQ(job.state(), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(job.error_message(), "user asked");
  EXPECT_EQ(job.progress_percent(), 0);  // the report after cancel wrote nothing
}

TEST_F(WorkerTest, LongPollReturnsPromptlyForLocalAndRemoteCreates) {
  // The waiting jobd never polls on its own (no backstop poll, no promotion): only a wake-up,
  // by its own create or by the other jobd's notification, can end the call with the job
  // before its 20 s wait runs out.
  JobdProcess waiting(database_->url(),
                      {"--promote_interval", "1h", "--acquire_poll_interval", "1h"});
  ASSERT_TRUE(waiting.running());
  auto waiting_workers = v1::WorkerService::NewStub(waiting.channel());
  auto waiting_jobs = v1::JobService::NewStub(waiting.channel());
  for (bool remote : {false, true}) {
    const std::string where = remote ? "remote" : "local";
    // The create must come after the call is parked in jobd, which nothing shows while it
    // waits; jobd's log line of the call shows it afterwards. A head start that proves too
    // short (a loaded machine) is tried again, longer.
    bool parked_before_create = false;
    for (const absl::Duration head_start :
         {absl::Milliseconds(300), absl::Seconds(1), absl::Seconds(3)}) {
      std::atomic<bool> returned{false};
      v1::AcquireJobsResponse acquired;
      grpc::Status status;
      absl::Time returned_at;
      std::thread waiter([&] {
        status = Acquire(*waiting_workers, "w", &acquired, 1, /*wait_ms=*/20000);
        returned_at = absl::Now();
        returned = true;
      });
      absl::SleepFor(head_start);
      // No job is ready: the call cannot have ended (this holds however far it got).
      EXPECT_FALSE(returned) << where;
      v1::CreateJobRequest request;
      request.set_workspace_id("demo");
      request.set_type("t");
      v1::CreateJobResponse created;
      const absl::Time created_at = absl::Now();
      auto& stub = remote ? *jobs_ : *waiting_jobs;
      const grpc::Status create_status = stub.CreateJob(Ctx().get(), request, &created);
      waiter.join();
      ASSERT_TRUE(create_status.ok()) << create_status.error_message();
      ASSERT_TRUE(status.ok()) << status.error_message();
      ASSERT_EQ(acquired.jobs_size(), 1) << where;
      EXPECT_EQ(acquired.jobs(0).job().id(), created.job().id());
      const absl::Duration delivery = returned_at - created_at;
      // Prompt: generous for a loaded (or sanitized) machine, yet far below the 20 s the call
      // would have waited without a wake-up.
      EXPECT_LT(delivery, absl::Seconds(3)) << where << " " << absl::FormatDuration(delivery);
      std::cerr << where << " create to acquire: " << absl::FormatDuration(delivery) << "\n";
      // jobd logs the call before answering it, with how long it held it. Held for longer
      // than from just before the create to the answer, plus 100 ms for the call's first
      // look, means the call had found nothing and was parked before the create was sent.
      const std::optional<RpcLogLine> line = AcquireLogLine(waiting, created.job().id());
      ASSERT_TRUE(line.has_value()) << "no rpc log line of the AcquireJobs call that leased "
                                    << created.job().id() << "; jobd log:\n"
                                    << waiting.log();
      if (line->latency > delivery + absl::Milliseconds(100)) {
        parked_before_create = true;
        break;
      }
      std::cerr << where << ": after a head start of " << absl::FormatDuration(head_start)
                << " the call was not yet parked in jobd (held "
                << absl::FormatDuration(line->latency) << "); again, longer\n";
    }
    EXPECT_TRUE(parked_before_create)
        << where
        << ": the AcquireJobs call never was parked in jobd before the create, so no "
           "wake-up was tested";
  }
}

TEST_F(WorkerTest, AnAbandonedLongPollLeasesNothing) {
  // The client gives up after 300 ms on a 10 s wait; a job created afterwards must not be
  // leased to the call that is gone.
  v1::AcquireJobsRequest request;
  request.set_workspace_id("demo");
  request.add_types("t");
  request.set_worker_id("gone");
  request.set_max_jobs(1);
  *request.mutable_wait() = Millis(10000);
  v1::AcquireJobsResponse response;
  grpc::Status status =
      workers_->AcquireJobs(Ctx(absl::Milliseconds(300)).get(), request, &response);
  EXPECT_CODE(status, StatusCode::DEADLINE_EXCEEDED);
  v1::Job created = Create();
  v1::AcquireJobsResponse acquired;
  ASSERT_TRUE(Acquire(*workers_, "present", &acquired, 1, /*wait_ms=*/20000).ok());
  ASSERT_EQ(acquired.jobs_size(), 1);
  EXPECT_EQ(acquired.jobs(0).job().id(), created.id());
  EXPECT_EQ(acquired.jobs(0).job().worker_id(), "present");
  EXPECT_EQ(acquired.jobs(0).job().attempt(), 1);
}

TEST_F(WorkerTest, DelayedJobWakesTheWaitingWorkerOnTime) {
  // Promotion never runs on this jobd: only the wake-up at run_after can deliver the job.
  JobdProcess slow(database_->url(), {"--promote_interval", "1h", "--acquire_poll_interval", "1h"});
  ASSERT_TRUE(slow.running());
  auto jobs = v1::JobService::NewStub(slow.channel());
  auto workers = v1::WorkerService::NewStub(slow.channel());
  // The call must be parked before run_after for the timed wake-up to be what delivers the
  // job; jobd's log line of the call shows whether it was. A delay that proves too short (a
  // loaded machine) is tried again, longer.
  bool parked_before_run_after = false;
  for (const absl::Duration delay : {absl::Milliseconds(700), absl::Seconds(2), absl::Seconds(5)}) {
    v1::CreateJobRequest request;
    request.set_workspace_id("demo");
    request.set_type("t");
    const absl::Time run_after = absl::Now() + delay;
    request.mutable_run_after()->set_seconds(absl::ToUnixSeconds(run_after));
    request.mutable_run_after()->set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(
        run_after - absl::FromUnixSeconds(absl::ToUnixSeconds(run_after)))));
    v1::CreateJobResponse created;
    ASSERT_TRUE(jobs->CreateJob(Ctx().get(), request, &created).ok());
    EXPECT_EQ(created.job().state(), v1::JOB_STATE_SCHEDULED);
    v1::AcquireJobsResponse acquired;
    ASSERT_TRUE(Acquire(*workers, "w", &acquired, 1, /*wait_ms=*/30000).ok());
    const absl::Time got = absl::Now();
    ASSERT_EQ(acquired.jobs_size(), 1);
    EXPECT_EQ(acquired.jobs(0).job().id(), created.job().id());
    // Exact: jobd leases the job only once its clock (the one read here) has passed run_after.
    EXPECT_GE(got, run_after);
    // On time: generous for a loaded (or sanitized) machine, yet far below the 30 s the call
    // would have waited without the timed wake-up.
    EXPECT_LT(got - run_after, absl::Seconds(3)) << absl::FormatDuration(got - run_after);
    // Held by jobd for longer than from run_after to the answer, plus 100 ms for the call's
    // first look: the call had found nothing and was parked before run_after.
    const std::optional<RpcLogLine> line = AcquireLogLine(slow, created.job().id());
    ASSERT_TRUE(line.has_value()) << "no rpc log line of the AcquireJobs call that leased "
                                  << created.job().id() << "; jobd log:\n"
                                  << slow.log();
    if (line->latency > (got - run_after) + absl::Milliseconds(100)) {
      parked_before_run_after = true;
      break;
    }
    std::cerr << "with run_after " << absl::FormatDuration(delay)
              << " ahead the call was not yet parked in jobd (held "
              << absl::FormatDuration(line->latency) << "); again, further ahead\n";
  }
  EXPECT_TRUE(parked_before_run_after)
      << "the AcquireJobs call never was parked in jobd before run_after, so no timed wake-up "
         "was tested";
}

TEST_F(WorkerTest, ManyWorkersOnTwoProcessesCompleteEachJobOnce) {
  constexpr int kJobs = 2000;
  constexpr int kWorkers = 8;
  JobdProcess second(database_->url(), kFastLoops);
  ASSERT_TRUE(second.running());
  {
    std::vector<std::thread> creators;
    for (int c = 0; c < 4; ++c) {
      creators.emplace_back([&] {
        auto stub = v1::JobService::NewStub(jobd_->channel());
        for (int i = 0; i < kJobs / 4; ++i) {
          v1::CreateJobRequest request;
          request.set_workspace_id("demo");
          request.set_type("t");
          v1::CreateJobResponse response;
          ASSERT_TRUE(stub->CreateJob(Ctx().get(), request, &response).ok());
        }
      });
    }
    for (auto& t : creators) t.join();
  }
  ExactlyOnceLedger ledger;
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; ++w) {
    workers.emplace_back([&, w] {
      auto stub = v1::WorkerService::NewStub(w % 2 == 0 ? jobd_->channel() : second.channel());
      const std::string name = "worker-" + std::to_string(w);
      for (;;) {
        v1::AcquireJobsResponse acquired;
        grpc::Status s = Acquire(*stub, name, &acquired, 16);
        ASSERT_TRUE(s.ok()) << s.error_message();
        if (acquired.jobs_size() == 0) return;
        for (const auto& leased : acquired.jobs()) {
          ledger.Leased(leased, name);
          grpc::Status done = Complete(*stub, leased, name);
          ASSERT_TRUE(done.ok()) << done.error_message();
          ledger.Completed(leased.job().id());
        }
      }
    });
  }
  for (auto& t : workers) t.join();
  ledger.ExpectEachJobOnce(kJobs);
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE state = 'succeeded' AND attempt = 1"),
            std::to_string(kJobs));
  EXPECT_EQ(Sql("SELECT count(*) FROM job_events WHERE kind = 'state_changed' AND state = "
                "'running'"),
            std::to_string(kJobs));
}

TEST_F(WorkerTest, InvalidWorkerCallsNameTheField) {
  auto acquire = [&](std::function<void(v1::AcquireJobsRequest*)> spoil) {
    v1::AcquireJobsRequest request;
    request.set_workspace_id("demo");
    request.add_types("t");
    request.set_worker_id("w");
    request.set_max_jobs(1);
    spoil(&request);
    v1::AcquireJobsResponse response;
    return workers_->AcquireJobs(Ctx().get(), request, &response);
  };
  const std::vector<std::pair<std::string, std::function<void(v1::AcquireJobsRequest*)>>> cases = {
      {"workspace_id", [](auto* r) { r->clear_workspace_id(); }},
      {"types", [](auto* r) { r->clear_types(); }},
      {"types", [](auto* r) { r->add_types("Bad Type"); }},
      {"worker_id", [](auto* r) { r->clear_worker_id(); }},
      {"max_jobs", [](auto* r) { r->set_max_jobs(0); }},
      {"max_jobs", [](auto* r) { r->set_max_jobs(101); }},
      {"wait", [](auto* r) { r->mutable_wait()->set_seconds(61); }},
      {"lease_duration", [](auto* r) { r->mutable_lease_duration()->set_seconds(0); }}};
  for (const auto& [field, spoil] : cases) {
    grpc::Status status = acquire(spoil);
    EXPECT_CODE(status, StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StartsWith(status.error_message(), field + ":"))
        << field << " vs " << status.error_message();
  }

  Create();
  v1::AcquireJobsResponse acquired;
  ASSERT_TRUE(Acquire(*workers_, "w", &acquired).ok());
  ASSERT_EQ(acquired.jobs_size(), 1);
  v1::ReportProgressResponse progress;
  grpc::Status status = Progress(*workers_, acquired.jobs(0), 101, &progress);
  EXPECT_CODE(status, StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "progress_percent:"));
  v1::LeasedJob unknown = acquired.jobs(0);
  unknown.mutable_job()->set_id("01a201e7-5c53-7000-bf26-50a897f50418");
  EXPECT_CODE(Complete(*workers_, unknown, "w"), StatusCode::NOT_FOUND);
  v1::LeasedJob no_token = acquired.jobs(0);
  no_token.clear_lease_token();
  status = Complete(*workers_, no_token, "w");
  EXPECT_CODE(status, StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "lease_token:"));
  v1::LeasedJob wrong_token = acquired.jobs(0);
  wrong_token.set_lease_token("not-even-a-uuid");
  EXPECT_CODE(Complete(*workers_, wrong_token, "w"), StatusCode::ABORTED);
  EXPECT_EQ(Get(acquired.jobs(0).job().id()).state(), v1::JOB_STATE_RUNNING);
}

}  // namespace
}  // namespace jobd::testing
