// Pausing and resuming jobs, deleting them, and the bulk operations, through a real jobd:
// a paused RUNNING job's worker learns it on its next report and is ABORTED after; the
// resumed attempt gets the checkpoint and keeps its number; a bulk change makes exactly the
// events single calls would, a dry run counts what the change then changes, and a repeat
// changes nothing.
#include <atomic>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/e2e/worker_fixture.h"

namespace jobd::testing {
namespace {

using grpc::StatusCode;

class ControlTest : public WorkerTest {
 protected:
  grpc::Status Pause(const std::string& id, v1::Job* job = nullptr) {
    v1::PauseJobRequest request;
    request.set_id(id);
    v1::PauseJobResponse response;
    grpc::Status status = jobs_->PauseJob(Ctx().get(), request, &response);
    if (job) *job = response.job();
    return status;
  }
  grpc::Status Resume(const std::string& id, v1::Job* job = nullptr) {
    v1::ResumeJobRequest request;
    request.set_id(id);
    v1::ResumeJobResponse response;
    grpc::Status status = jobs_->ResumeJob(Ctx().get(), request, &response);
    if (job) *job = response.job();
    return status;
  }
  grpc::Status Delete(const std::string& id) {
    v1::DeleteJobRequest request;
    request.set_id(id);
    v1::DeleteJobResponse response;
    return jobs_->DeleteJob(Ctx().get(), request, &response);
  }
  grpc::Status Report(const v1::LeasedJob& leased, float percent, const std::string& checkpoint,
                      v1::ReportProgressResponse* response) {
    v1::ReportProgressRequest request;
    request.set_job_id(leased.job().id());
    request.set_lease_token(leased.lease_token());
    request.set_progress_percent(percent);
    if (!checkpoint.empty()) *request.mutable_checkpoint() = JsonStruct(checkpoint);
    return workers_->ReportProgress(Ctx().get(), request, response);
  }
  using BulkCall = grpc::Status (v1::JobService::Stub::*)(grpc::ClientContext*,
                                                          const v1::BulkJobsRequest&,
                                                          v1::BulkJobsResponse*);
  v1::BulkJobsResponse Bulk(BulkCall call, v1::BulkJobsRequest request, bool dry_run,
                            grpc::Status* status_out = nullptr) {
    request.set_workspace_id("demo");
    request.set_dry_run(dry_run);
    v1::BulkJobsResponse response;
    grpc::Status status = ((*jobs_).*call)(Ctx(absl::Seconds(60)).get(), request, &response);
    if (status_out) {
      *status_out = status;
    } else {
      EXPECT_TRUE(status.ok()) << status.error_message();
    }
    return response;
  }
};

TEST_F(ControlTest, APausedRunningJobStopsItsWorkerAndResumesWithItsCheckpoint) {
  const v1::Job created = Create("t", /*max_attempts=*/1);
  v1::AcquireJobsResponse first;
  ASSERT_TRUE(Acquire(*workers_, "w1", &first).ok());
  ASSERT_EQ(first.jobs_size(), 1);
  v1::ReportProgressResponse reported;
  ASSERT_TRUE(Report(first.jobs(0), 40, R"({"page": 4})", &reported).ok());
  EXPECT_FALSE(reported.paused());

  v1::Job paused;
  ASSERT_TRUE(Pause(created.id(), &paused).ok());
  EXPECT_EQ(paused.state(), v1::JOB_STATE_PAUSED);
  EXPECT_EQ(paused.attempt(), 1);
  // Pausing again changes nothing.
  v1::Job again;
  ASSERT_TRUE(Pause(created.id(), &again).ok());
  EXPECT_EQ(again.sequence(), paused.sequence());

  // The worker's next heartbeat says so; nothing is written but its checkpoint (where the
  // resumed attempt starts), with no event.
  ASSERT_TRUE(Report(first.jobs(0), 50, R"({"page": 5})", &reported).ok());
  EXPECT_TRUE(reported.paused());
  EXPECT_FALSE(reported.cancelled());
  EXPECT_FALSE(reported.has_lease_expire_time());
  EXPECT_EQ(Get(created.id()).progress_percent(), 40);
  EXPECT_EQ(Get(created.id()).sequence(), paused.sequence());
  // Its late completion is refused.
  grpc::Status late = Complete(*workers_, first.jobs(0), "w1");
  EXPECT_EQ(late.error_code(), StatusCode::ABORTED);
  EXPECT_EQ(late.error_message(),
            absl::StrCat("lease on job ", created.id(), " is no longer valid: the job is PAUSED"));
  grpc::Status late_fail = Fail(*workers_, first.jobs(0), "boom", true);
  EXPECT_EQ(late_fail.error_code(), StatusCode::ABORTED);
  // No worker gets a paused job.
  v1::AcquireJobsResponse none;
  ASSERT_TRUE(Acquire(*workers_, "w2", &none).ok());
  EXPECT_EQ(none.jobs_size(), 0);

  v1::Job resumed;
  ASSERT_TRUE(Resume(created.id(), &resumed).ok());
  EXPECT_EQ(resumed.state(), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(resumed.worker_id(), "");
  v1::AcquireJobsResponse second;
  ASSERT_TRUE(Acquire(*workers_, "w2", &second, 1, /*wait_ms=*/5000).ok());
  ASSERT_EQ(second.jobs_size(), 1);
  // Same attempt (max_attempts 1: a pause used none), and the last saved checkpoint.
  EXPECT_EQ(second.jobs(0).job().attempt(), 1);
  EXPECT_TRUE(SameJson(second.jobs(0).job().checkpoint(), R"({"page": 5})"));
  ASSERT_TRUE(Complete(*workers_, second.jobs(0), "w2").ok());
  EXPECT_EQ(Events(created.id()),
            "1:created:queued:1,2:state_changed:running:1,3:progress:running:1,"
            "4:state_changed:paused:1,5:state_changed:queued:1,6:state_changed:running:1,"
            "7:state_changed:succeeded:1");
}

TEST_F(ControlTest, AResumeBeforeTheWorkerHeardGivesTheJobBackToIt) {
  const v1::Job created = Create("t", /*max_attempts=*/1);
  v1::AcquireJobsResponse leased;
  ASSERT_TRUE(Acquire(*workers_, "w1", &leased).ok());
  ASSERT_EQ(leased.jobs_size(), 1);
  ASSERT_TRUE(Pause(created.id()).ok());
  v1::Job resumed;
  ASSERT_TRUE(Resume(created.id(), &resumed).ok());
  // No second worker gets it: it runs on under the first one's lease.
  EXPECT_EQ(resumed.state(), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(resumed.worker_id(), "w1");
  v1::AcquireJobsResponse none;
  ASSERT_TRUE(Acquire(*workers_, "w2", &none).ok());
  EXPECT_EQ(none.jobs_size(), 0);
  v1::ReportProgressResponse reported;
  ASSERT_TRUE(Report(leased.jobs(0), 50, "", &reported).ok());
  EXPECT_FALSE(reported.paused());
  EXPECT_TRUE(reported.has_lease_expire_time());
  ASSERT_TRUE(Complete(*workers_, leased.jobs(0), "w1").ok());
  EXPECT_EQ(Events(created.id()),
            "1:created:queued:1,2:state_changed:running:1,3:state_changed:paused:1,"
            "4:state_changed:running:1,5:progress:running:1,6:state_changed:succeeded:1");
}

TEST_F(ControlTest, AResumeAfterTheWorkerHeardStillTakesItsFinalCheckpoint) {
  const v1::Job created = Create("t", /*max_attempts=*/1);
  v1::AcquireJobsResponse first;
  ASSERT_TRUE(Acquire(*workers_, "w1", &first).ok());
  ASSERT_EQ(first.jobs_size(), 1);
  ASSERT_TRUE(Pause(created.id()).ok());
  // The heartbeat that hears of the pause; the handler is still finishing its page.
  v1::ReportProgressResponse reported;
  ASSERT_TRUE(Report(first.jobs(0), 30, R"({"page": 3})", &reported).ok());
  EXPECT_TRUE(reported.paused());
  // Resumed before the stopping worker's final report arrives.
  v1::Job resumed;
  ASSERT_TRUE(Resume(created.id(), &resumed).ok());
  EXPECT_EQ(resumed.state(), v1::JOB_STATE_QUEUED);
  ASSERT_TRUE(Report(first.jobs(0), 40, R"({"page": 4})", &reported).ok());
  EXPECT_TRUE(reported.paused());
  EXPECT_FALSE(reported.has_lease_expire_time());
  // Only the checkpoint was kept: no progress, no event, still queued.
  const v1::Job queued = Get(created.id());
  EXPECT_EQ(queued.state(), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(queued.progress_percent(), 0);
  EXPECT_EQ(queued.sequence(), resumed.sequence());
  // Its late completion is refused as before.
  grpc::Status late = Complete(*workers_, first.jobs(0), "w1");
  EXPECT_EQ(late.error_code(), StatusCode::ABORTED);
  EXPECT_EQ(late.error_message(),
            absl::StrCat("lease on job ", created.id(), " is no longer valid: the job is QUEUED"));
  v1::AcquireJobsResponse second;
  ASSERT_TRUE(Acquire(*workers_, "w2", &second).ok());
  ASSERT_EQ(second.jobs_size(), 1);
  EXPECT_EQ(second.jobs(0).job().attempt(), 1);
  EXPECT_TRUE(SameJson(second.jobs(0).job().checkpoint(), R"({"page": 4})"));
  // Once leased again, the old token is refused outright.
  grpc::Status stale = Report(first.jobs(0), 50, R"({"page": 5})", &reported);
  EXPECT_EQ(stale.error_code(), StatusCode::ABORTED);
  EXPECT_TRUE(SameJson(Get(created.id()).checkpoint(), R"({"page": 4})"));
  ASSERT_TRUE(Complete(*workers_, second.jobs(0), "w2").ok());
  EXPECT_EQ(Events(created.id()),
            "1:created:queued:1,2:state_changed:running:1,3:state_changed:paused:1,"
            "4:state_changed:queued:1,5:state_changed:running:1,6:state_changed:succeeded:1");
}

TEST_F(ControlTest, PauseAndResumeRulesPerState) {
  const v1::Job queued = Create();
  v1::Job job;
  // Resume of a job that is not paused: no change.
  ASSERT_TRUE(Resume(queued.id(), &job).ok());
  EXPECT_EQ(job.state(), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(job.sequence(), 1);
  ASSERT_TRUE(Pause(queued.id(), &job).ok());
  EXPECT_EQ(job.state(), v1::JOB_STATE_PAUSED);
  // A paused job can be cancelled.
  v1::CancelJobRequest cancel;
  cancel.set_id(queued.id());
  v1::CancelJobResponse cancelled;
  ASSERT_TRUE(jobs_->CancelJob(Ctx().get(), cancel, &cancelled).ok());
  EXPECT_EQ(cancelled.job().state(), v1::JOB_STATE_CANCELLED);
  grpc::Status s = Pause(queued.id());
  EXPECT_EQ(s.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), absl::StrCat("job ", queued.id(),
                                            " is CANCELLED: only QUEUED, SCHEDULED or RUNNING "
                                            "jobs can be paused"));
  s = Resume(queued.id());
  EXPECT_EQ(s.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(),
            absl::StrCat("job ", queued.id(), " is CANCELLED: only PAUSED jobs can be resumed"));
  s = Pause("not-a-uuid");
  EXPECT_EQ(s.error_code(), StatusCode::INVALID_ARGUMENT);
  s = Pause("00000000-0000-7000-8000-000000000000");
  EXPECT_EQ(s.error_code(), StatusCode::NOT_FOUND);

  // A delayed job paused and resumed waits out its run_after again (SCHEDULED).
  v1::CreateJobRequest delayed;
  delayed.set_workspace_id("demo");
  delayed.set_type("t");
  delayed.mutable_run_after()->set_seconds(absl::ToUnixSeconds(absl::Now()) + 3600);
  v1::CreateJobResponse made;
  ASSERT_TRUE(jobs_->CreateJob(Ctx().get(), delayed, &made).ok());
  ASSERT_TRUE(Pause(made.job().id(), &job).ok());
  ASSERT_TRUE(Resume(made.job().id(), &job).ok());
  EXPECT_EQ(job.state(), v1::JOB_STATE_SCHEDULED);
}

TEST_F(ControlTest, DeleteTakesOnlyFinishedJobs) {
  const v1::Job job = Create();
  grpc::Status s = Delete(job.id());
  EXPECT_EQ(s.error_code(), StatusCode::FAILED_PRECONDITION);
  EXPECT_EQ(s.error_message(), absl::StrCat("job ", job.id(),
                                            " is QUEUED: only SUCCEEDED, FAILED or CANCELLED "
                                            "jobs can be deleted"));
  v1::CancelJobRequest cancel;
  cancel.set_id(job.id());
  v1::CancelJobResponse cancelled;
  ASSERT_TRUE(jobs_->CancelJob(Ctx().get(), cancel, &cancelled).ok());
  ASSERT_TRUE(Delete(job.id()).ok());
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE id = '" + job.id() + "'"), "0");
  EXPECT_EQ(Sql("SELECT count(*) FROM job_events WHERE job_id = '" + job.id() + "'"), "0");
  EXPECT_EQ(Delete(job.id()).error_code(), StatusCode::NOT_FOUND);
}

TEST_F(ControlTest, BulkCancelByFilterMakesTheEventsOfSingleCancels) {
  std::vector<std::string> matching;
  for (int i = 0; i < 1203; ++i) matching.push_back(Create("bulk").id());
  const v1::Job other_type = Create("other");
  v1::AcquireJobsResponse leased;  // one RUNNING among them
  ASSERT_TRUE(Acquire(*workers_, "w1", &leased, 1, 0, 30000, "bulk").ok());
  ASSERT_EQ(leased.jobs_size(), 1);

  v1::BulkJobsRequest request;
  request.mutable_filter()->set_type("bulk");
  request.set_reason("clean-up");
  v1::BulkJobsResponse dry = Bulk(&v1::JobService::Stub::BulkCancelJobs, request, true);
  EXPECT_TRUE(dry.dry_run());
  EXPECT_EQ(dry.matched(), 1203);
  EXPECT_EQ(dry.changed(), 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE state = 'cancelled'"), "0");

  v1::BulkJobsResponse real = Bulk(&v1::JobService::Stub::BulkCancelJobs, request, false);
  EXPECT_EQ(real.matched(), 1203);
  EXPECT_EQ(real.changed(), 1203);
  EXPECT_EQ(real.chunks(), 3);
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE type = 'bulk' AND state = 'cancelled' AND "
                "error_message = 'clean-up'"),
            "1203");
  EXPECT_EQ(Get(other_type.id()).state(), v1::JOB_STATE_QUEUED);
  // One STATE_CHANGED event per job, right after what it had.
  EXPECT_EQ(Events(matching[5]), "1:created:queued:1,2:state_changed:cancelled:1");
  EXPECT_EQ(Events(leased.jobs(0).job().id()),
            "1:created:queued:1,2:state_changed:running:1,3:state_changed:cancelled:1");
  // The running job's worker learns it on its next report.
  v1::ReportProgressResponse reported;
  ASSERT_TRUE(Report(leased.jobs(0), 10, "", &reported).ok());
  EXPECT_TRUE(reported.cancelled());

  // A repeat changes nothing.
  v1::BulkJobsResponse repeat = Bulk(&v1::JobService::Stub::BulkCancelJobs, request, false);
  EXPECT_EQ(repeat.matched(), 0);
  EXPECT_EQ(repeat.changed(), 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM job_events WHERE state = 'cancelled'"), "1203");

  // Retry by ids, then delete what finished, by state.
  v1::BulkJobsRequest by_ids;
  for (int i = 0; i < 10; ++i) by_ids.add_ids(matching[i]);
  v1::BulkJobsResponse retried = Bulk(&v1::JobService::Stub::BulkRetryJobs, by_ids, false);
  EXPECT_EQ(retried.changed(), 10);
  EXPECT_EQ(Get(matching[0]).state(), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(Get(matching[0]).attempt(), 2);
  v1::BulkJobsRequest finished;
  finished.mutable_filter()->add_states(v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(Bulk(&v1::JobService::Stub::BulkDeleteJobs, finished, true).matched(), 1193);
  EXPECT_EQ(Bulk(&v1::JobService::Stub::BulkDeleteJobs, finished, false).changed(), 1193);
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs"), "11");
}

TEST_F(ControlTest, BulkPauseResumeAndFail) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(Create("p").id());
  v1::BulkJobsRequest request;
  request.mutable_filter()->set_type("p");
  EXPECT_EQ(Bulk(&v1::JobService::Stub::BulkPauseJobs, request, false).changed(), 5);
  EXPECT_EQ(Get(ids[0]).state(), v1::JOB_STATE_PAUSED);
  EXPECT_EQ(Bulk(&v1::JobService::Stub::BulkResumeJobs, request, false).changed(), 5);
  EXPECT_EQ(Get(ids[0]).state(), v1::JOB_STATE_QUEUED);
  request.set_reason("stuck");
  EXPECT_EQ(Bulk(&v1::JobService::Stub::BulkFailJobs, request, false).changed(), 5);
  const v1::Job failed = Get(ids[4]);
  EXPECT_EQ(failed.state(), v1::JOB_STATE_FAILED);
  EXPECT_EQ(failed.error_message(), "stuck");
  EXPECT_EQ(Events(ids[4]),
            "1:created:queued:1,2:state_changed:paused:1,3:state_changed:queued:1,"
            "4:state_changed:failed:1");
}

TEST_F(ControlTest, BulkRefusalsNameTheFieldAndChangeNothing) {
  const v1::Job job = Create("t");
  struct Case {
    std::function<void(v1::BulkJobsRequest&)> fill;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](v1::BulkJobsRequest&) {},
       "filter: give at least one of states, type, labels, created_before, created_after (or "
       "ids)"},
      {[&](v1::BulkJobsRequest& r) {
         r.add_ids(job.id());
         r.mutable_filter()->set_type("t");
       },
       "ids: give either ids or a filter, not both"},
      {[](v1::BulkJobsRequest& r) { r.add_ids("nope"); }, "ids[0]: "},
      {[](v1::BulkJobsRequest& r) { r.mutable_filter()->set_type("BAD TYPE"); }, "filter.type: "},
      {[](v1::BulkJobsRequest& r) {
         r.mutable_filter()->add_states(static_cast<v1::JobState>(42));
       },
       "filter.states: 42 is not a job state"},
  };
  for (const Case& c : cases) {
    v1::BulkJobsRequest request;
    c.fill(request);
    grpc::Status status;
    Bulk(&v1::JobService::Stub::BulkCancelJobs, request, false, &status);
    EXPECT_EQ(status.error_code(), StatusCode::INVALID_ARGUMENT) << c.message;
    EXPECT_EQ(status.error_message().substr(0, c.message.size()), c.message);
  }
  v1::BulkJobsRequest retry_reason;
  retry_reason.mutable_filter()->set_type("t");
  retry_reason.set_reason("why");
  grpc::Status status;
  Bulk(&v1::JobService::Stub::BulkRetryJobs, retry_reason, false, &status);
  EXPECT_EQ(status.error_message(), "reason: only BulkCancelJobs and BulkFailJobs take one");
  EXPECT_EQ(Get(job.id()).state(), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(Get(job.id()).sequence(), 1);
}

class RetentionByCountTest : public WorkerTest {
 protected:
  std::vector<std::string> JobdArgs() override {
    std::vector<std::string> args = kFastLoops;
    for (const char* arg :
         {"--retain_finished_per_workspace", "3", "--retention_interval", "200ms"}) {
      args.push_back(arg);
    }
    return args;
  }
};

TEST_F(RetentionByCountTest, KeepsTheNewestFinishedJobsOfAWorkspace) {
  const v1::Job active = Create();
  std::vector<std::string> finished;
  for (int i = 0; i < 6; ++i) {
    const v1::Job job = Create();
    v1::CancelJobRequest cancel;
    cancel.set_id(job.id());
    v1::CancelJobResponse cancelled;
    ASSERT_TRUE(jobs_->CancelJob(Ctx().get(), cancel, &cancelled).ok());
    finished.push_back(job.id());
  }
  ASSERT_TRUE(WaitFor([&] { return Sql("SELECT count(*) FROM jobs") == "4"; }, absl::Seconds(10)));
  EXPECT_EQ(Get(active.id()).state(), v1::JOB_STATE_QUEUED);
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE id = '" + finished[i] + "'"), i < 3 ? "0" : "1")
        << i;
  }
}

}  // namespace
}  // namespace jobd::testing
