// The WorkerService test fixture: a jobd with fast background loops and helpers for each
// worker call (shared by worker_e2etest.cc and finish_on_acquire_e2etest.cc).
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "tests/e2e/jobd_fixture.h"

namespace jobd::testing {

#define EXPECT_CODE(status, code) EXPECT_EQ((status).error_code(), code) << (status).error_message()

inline const std::vector<std::string> kFastLoops = {"--reaper_interval", "100ms",
                                                    "--promote_interval", "100ms"};

// What worker threads leased and completed, for the exactly-once tests.
class ExactlyOnceLedger {
 public:
  void Leased(const v1::LeasedJob& leased, const std::string& worker) {
    std::lock_guard<std::mutex> lock(mu_);
    if (!leased_by_.emplace(std::make_pair(leased.job().id(), leased.job().attempt()), worker)
             .second) {
      ++duplicate_leases_;
    }
  }
  void Completed(const std::string& job_id) {
    std::lock_guard<std::mutex> lock(mu_);
    completed_.insert(job_id);
  }
  // No (job, attempt) leased twice, and each of `jobs` jobs completed exactly once.
  void ExpectEachJobOnce(int jobs) {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(duplicate_leases_, 0);
    EXPECT_EQ(completed_.size(), static_cast<size_t>(jobs));
    EXPECT_EQ(std::set<std::string>(completed_.begin(), completed_.end()).size(),
              static_cast<size_t>(jobs));
  }

 private:
  std::mutex mu_;
  std::map<std::pair<std::string, int>, std::string> leased_by_;  // (job, attempt) -> worker
  std::multiset<std::string> completed_;
  int duplicate_leases_ = 0;
};

class WorkerTest : public JobdTest {
 protected:
  std::vector<std::string> JobdArgs() override { return kFastLoops; }

  v1::Job Create(const std::string& type = "t", int max_attempts = 3, int64_t backoff_ms = 1,
                 int64_t timeout_ms = 0) {
    v1::CreateJobRequest request;
    request.set_workspace_id("demo");
    request.set_type(type);
    request.mutable_retry_policy()->set_max_attempts(max_attempts);
    *request.mutable_retry_policy()->mutable_initial_backoff() = Millis(backoff_ms);
    if (timeout_ms > 0) *request.mutable_timeout() = Millis(timeout_ms);
    v1::CreateJobResponse response;
    grpc::Status status = jobs_->CreateJob(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_message();
    return response.job();
  }

  static grpc::Status Acquire(v1::WorkerService::Stub& stub, const std::string& worker,
                              v1::AcquireJobsResponse* response, int max_jobs = 1,
                              int64_t wait_ms = 0, int64_t lease_ms = 30000,
                              const std::string& type = "t") {
    v1::AcquireJobsRequest request;
    request.set_workspace_id("demo");
    request.add_types(type);
    request.set_worker_id(worker);
    request.set_max_jobs(max_jobs);
    if (wait_ms > 0) *request.mutable_wait() = Millis(wait_ms);
    *request.mutable_lease_duration() = Millis(lease_ms);
    return stub.AcquireJobs(Ctx(absl::Milliseconds(wait_ms) + absl::Seconds(10)).get(), request,
                            response);
  }

  static grpc::Status Progress(v1::WorkerService::Stub& stub, const v1::LeasedJob& leased,
                               float percent, v1::ReportProgressResponse* response) {
    v1::ReportProgressRequest request;
    request.set_job_id(leased.job().id());
    request.set_lease_token(leased.lease_token());
    request.set_progress_percent(percent);
    request.set_progress_message("at " + std::to_string(static_cast<int>(percent)));
    return stub.ReportProgress(Ctx().get(), request, response);
  }

  static grpc::Status Complete(v1::WorkerService::Stub& stub, const v1::LeasedJob& leased,
                               const std::string& who, v1::Job* job = nullptr) {
    v1::CompleteJobRequest request;
    request.set_job_id(leased.job().id());
    request.set_lease_token(leased.lease_token());
    (*request.mutable_result()->mutable_fields())["by"].set_string_value(who);
    v1::CompleteJobResponse response;
    grpc::Status status = stub.CompleteJob(Ctx().get(), request, &response);
    if (job) *job = response.job();
    return status;
  }

  static grpc::Status Fail(v1::WorkerService::Stub& stub, const v1::LeasedJob& leased,
                           const std::string& error, bool retryable, v1::Job* job = nullptr) {
    v1::FailJobRequest request;
    request.set_job_id(leased.job().id());
    request.set_lease_token(leased.lease_token());
    request.set_error_message(error);
    request.set_retryable(retryable);
    v1::FailJobResponse response;
    grpc::Status status = stub.FailJob(Ctx().get(), request, &response);
    if (job) *job = response.job();
    return status;
  }

  // "sequence:kind:state:attempt" of every event, in order.
  std::string Events(const std::string& id) {
    return Sql(
        "SELECT string_agg(sequence || ':' || kind || ':' || state || ':' || attempt, ',' "
        "ORDER BY sequence) FROM job_events WHERE job_id = '" +
        id + "'");
  }
};

}  // namespace jobd::testing
