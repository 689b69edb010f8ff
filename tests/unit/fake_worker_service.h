// A jobd.v1.WorkerService for Worker tests, on an in-process channel: AcquireJobs hands out the
// jobs offered (or holds its long poll until one is, or the call is cancelled), and every
// ReportProgress, CompleteJob (also one carried by AcquireJobs) and FailJob is recorded in
// order, with the answer given (a ReportProgress may answer cancelled or paused).
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/util/message_differencer.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "client/worker.h"
#include "jobd/v1/worker_service.grpc.pb.h"

namespace jobd::client::testing {

// {"<key>": <number>}
inline google::protobuf::Struct NumberStruct(const std::string& key, double value) {
  google::protobuf::Struct s;
  (*s.mutable_fields())[key].set_number_value(value);
  return s;
}

inline bool SameStruct(const google::protobuf::Struct& a, const google::protobuf::Struct& b) {
  return google::protobuf::util::MessageDifferencer::Equals(a, b);
}

// A leased job of type "t" with lease token "lease-<id>".
inline v1::LeasedJob Leased(const std::string& id, int attempt = 1) {
  v1::LeasedJob leased;
  leased.set_lease_token(absl::StrCat("lease-", id));
  leased.mutable_job()->set_id(id);
  leased.mutable_job()->set_type("t");
  leased.mutable_job()->set_attempt(attempt);
  return leased;
}

class FakeWorkerService : public v1::WorkerService::Service {
 public:
  struct Call {
    std::string method;  // ReportProgress, CompleteJob or FailJob
    grpc::StatusCode answer = grpc::StatusCode::OK;
    v1::ReportProgressRequest report;
    v1::CompleteJobRequest complete;
    v1::FailJobRequest fail;
  };

  void Offer(v1::LeasedJob job) {
    std::lock_guard<std::mutex> lock(mu_);
    offered_.push_back(std::move(job));
    changed_.notify_all();
  }

  // The next ReportProgress calls get these answers, in order; OK once they are used up.
  void AnswerReports(std::vector<grpc::Status> answers) {
    std::lock_guard<std::mutex> lock(mu_);
    report_answers_.assign(answers.begin(), answers.end());
  }
  // The next ReportProgress calls answered OK respond these, in order (e.g. `paused`); an
  // empty response once they are used up.
  void RespondToReports(std::vector<v1::ReportProgressResponse> responses) {
    std::lock_guard<std::mutex> lock(mu_);
    report_responses_.assign(responses.begin(), responses.end());
  }

  // Waits until `done(calls)` holds; false if it does not within `timeout`.
  bool WaitFor(const std::function<bool(const std::vector<Call>&)>& done,
               absl::Duration timeout = absl::Seconds(10)) {
    std::unique_lock<std::mutex> lock(mu_);
    return changed_.wait_for(lock, absl::ToChronoMilliseconds(timeout),
                             [&] { return done(calls_); });
  }
  // Until the attempt of `job_id` was completed or failed.
  bool WaitForEnd(const std::string& job_id, absl::Duration timeout = absl::Seconds(10)) {
    return WaitFor(
        [&](const std::vector<Call>& calls) {
          for (const Call& c : calls) {
            if ((c.method == "CompleteJob" && c.complete.job_id() == job_id) ||
                (c.method == "FailJob" && c.fail.job_id() == job_id)) {
              return true;
            }
          }
          return false;
        },
        timeout);
  }

  std::vector<Call> calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

  grpc::Status AcquireJobs(grpc::ServerContext* context, const v1::AcquireJobsRequest* request,
                           v1::AcquireJobsResponse* response) override {
    std::unique_lock<std::mutex> lock(mu_);
    for (const v1::CompleteJobRequest& c : request->completed()) {
      Call call;
      call.method = "CompleteJob";
      call.complete = c;
      calls_.push_back(std::move(call));
      response->add_completed();  // code 0: OK
    }
    changed_.notify_all();
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::seconds(request->wait().seconds());
    while (offered_.empty() && !context->IsCancelled() &&
           std::chrono::steady_clock::now() < until && request->completed().empty()) {
      changed_.wait_for(lock, std::chrono::milliseconds(10));
    }
    while (!offered_.empty() && response->jobs_size() < request->max_jobs()) {
      *response->add_jobs() = std::move(offered_.front());
      offered_.pop_front();
    }
    return grpc::Status::OK;
  }

  grpc::Status ReportProgress(grpc::ServerContext*, const v1::ReportProgressRequest* request,
                              v1::ReportProgressResponse* response) override {
    std::lock_guard<std::mutex> lock(mu_);
    grpc::Status answer = grpc::Status::OK;
    if (!report_answers_.empty()) {
      answer = report_answers_.front();
      report_answers_.pop_front();
    }
    if (answer.ok() && !report_responses_.empty()) {
      *response = std::move(report_responses_.front());
      report_responses_.pop_front();
    }
    Call call;
    call.method = "ReportProgress";
    call.answer = answer.error_code();
    call.report = *request;
    calls_.push_back(std::move(call));
    changed_.notify_all();
    return answer;
  }

  grpc::Status CompleteJob(grpc::ServerContext*, const v1::CompleteJobRequest* request,
                           v1::CompleteJobResponse*) override {
    std::lock_guard<std::mutex> lock(mu_);
    Call call;
    call.method = "CompleteJob";
    call.complete = *request;
    calls_.push_back(std::move(call));
    changed_.notify_all();
    return grpc::Status::OK;
  }

  grpc::Status FailJob(grpc::ServerContext*, const v1::FailJobRequest* request,
                       v1::FailJobResponse*) override {
    std::lock_guard<std::mutex> lock(mu_);
    Call call;
    call.method = "FailJob";
    call.fail = *request;
    calls_.push_back(std::move(call));
    changed_.notify_all();
    return grpc::Status::OK;
  }

 private:
  std::mutex mu_;  // std, not absl: visible to ThreadSanitizer
  std::condition_variable changed_;
  std::deque<v1::LeasedJob> offered_;
  std::deque<grpc::Status> report_answers_;
  std::deque<v1::ReportProgressResponse> report_responses_;
  std::vector<Call> calls_;
};

// The fake on an in-process server, and a Worker on it with `handler` for type "t" (lease
// 3 s: a heartbeat every second). Its log lines are kept in `log`.
class WorkerOnFake : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.RegisterService(&fake_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override {
    if (worker_ != nullptr) worker_->Stop();
    worker_.reset();
    server_->Shutdown();
  }

  void StartWorker(Handler handler) {
    WorkerOptions options;
    options.worker_id = "w1";
    options.lease_duration = absl::Seconds(3);
    options.poll_wait = absl::Seconds(5);
    options.client.timeout = absl::Seconds(5);
    options.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(log_mu_);
      log_.push_back(line);
    };
    worker_ = std::make_unique<Worker>(server_->InProcessChannel({}), options);
    worker_->Handle("t", std::move(handler));
    ASSERT_TRUE(worker_->Start().ok());
  }

  std::vector<std::string> log() {
    std::lock_guard<std::mutex> lock(log_mu_);
    return log_;
  }
  // Waits until the worker logged `line`; false if it does not within `timeout`.
  bool WaitForLog(const std::string& line, absl::Duration timeout = absl::Seconds(10)) {
    for (const absl::Time deadline = absl::Now() + timeout; absl::Now() < deadline;
         absl::SleepFor(absl::Milliseconds(10))) {
      for (const std::string& logged : log()) {
        if (logged == line) return true;
      }
    }
    return false;
  }

  // The calls up to and including the end of `job_id`'s attempt.
  std::vector<FakeWorkerService::Call> CallsUntilEnd(const std::string& job_id) {
    EXPECT_TRUE(fake_.WaitForEnd(job_id)) << "job " << job_id << " never ended";
    return fake_.calls();
  }

  FakeWorkerService fake_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<Worker> worker_;
  std::mutex log_mu_;
  std::vector<std::string> log_;
};

}  // namespace jobd::client::testing
