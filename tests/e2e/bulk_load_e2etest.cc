// A bulk operation on 50,000 jobs while creates and acquires go on: it runs in chunks (no
// giant transaction, no table lock), changes exactly the matching jobs with one event each,
// leaves the jobs created meanwhile alone, and the latency of the other calls is measured
// (p50/p99 printed, before and during).
#include <algorithm>
#include <atomic>
#include <iostream>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/e2e/worker_fixture.h"

namespace jobd::testing {
namespace {

constexpr int kJobs = 50000;

class Latencies {
 public:
  void Add(absl::Duration d) {
    std::lock_guard<std::mutex> lock(mu_);
    ms_.push_back(absl::ToDoubleMilliseconds(d));
  }
  std::string Summary() {
    std::lock_guard<std::mutex> lock(mu_);
    if (ms_.empty()) return "none";
    std::sort(ms_.begin(), ms_.end());
    auto at = [&](double q) { return ms_[std::min(ms_.size() - 1, size_t(q * ms_.size()))]; };
    return absl::StrCat(ms_.size(), " calls, p50 ", at(0.5), " ms, p99 ", at(0.99), " ms, max ",
                        ms_.back(), " ms");
  }
  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return ms_.size();
  }

 private:
  std::mutex mu_;
  std::vector<double> ms_;
};

class BulkLoadTest : public WorkerTest {};

TEST_F(BulkLoadTest, FiftyThousandJobsCancelledInChunksWhileCreatesAndAcquiresGoOn) {
  for (int done = 0; done < kJobs;) {
    v1::BatchCreateJobsRequest batch;
    batch.set_workspace_id("demo");
    for (int i = 0; i < 1000; ++i) batch.add_requests()->set_type("bulk");
    v1::BatchCreateJobsResponse created;
    ASSERT_TRUE(jobs_->BatchCreateJobs(Ctx(absl::Seconds(60)).get(), batch, &created).ok());
    done += 1000;
  }
  // Other traffic: creates of another type, and a worker taking and finishing them.
  std::atomic<bool> stop{false}, bulk_running{false};
  Latencies creates_before, creates_during, acquires_before, acquires_during;
  std::thread creator([&] {
    auto stub = v1::JobService::NewStub(jobd_->channel());
    while (!stop.load()) {
      v1::CreateJobRequest request;
      request.set_workspace_id("demo");
      request.set_type("live");
      v1::CreateJobResponse response;
      const bool during = bulk_running.load();
      const absl::Time start = absl::Now();
      if (stub->CreateJob(Ctx().get(), request, &response).ok()) {
        (during ? creates_during : creates_before).Add(absl::Now() - start);
      }
    }
  });
  std::thread worker([&] {
    while (!stop.load()) {
      v1::AcquireJobsResponse leased;
      const bool during = bulk_running.load();
      const absl::Time start = absl::Now();
      if (!Acquire(*workers_, "w", &leased, 1, /*wait_ms=*/200, 30000, "live").ok()) continue;
      if (leased.jobs_size() == 0) continue;
      (during ? acquires_during : acquires_before).Add(absl::Now() - start);
      Complete(*workers_, leased.jobs(0), "w");
    }
  });
  ASSERT_TRUE(WaitFor([&] { return creates_before.size() >= 200; }, absl::Seconds(60)));

  v1::BulkJobsRequest request;
  request.set_workspace_id("demo");
  request.mutable_filter()->set_type("bulk");
  request.set_dry_run(true);
  v1::BulkJobsResponse dry;
  ASSERT_TRUE(jobs_->BulkCancelJobs(Ctx().get(), request, &dry).ok());
  EXPECT_EQ(dry.matched(), kJobs);

  request.set_dry_run(false);
  v1::BulkJobsResponse real;
  bulk_running = true;
  const absl::Time start = absl::Now();
  grpc::Status status = jobs_->BulkCancelJobs(Ctx(absl::Seconds(300)).get(), request, &real);
  const absl::Duration took = absl::Now() - start;
  bulk_running = false;
  stop = true;
  creator.join();
  worker.join();
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(real.matched(), kJobs);
  EXPECT_EQ(real.changed(), kJobs);
  EXPECT_EQ(real.chunks(), kJobs / 500);
  std::cerr << "bulk cancel of " << kJobs << " jobs: " << absl::FormatDuration(took) << " ("
            << static_cast<int>(kJobs / absl::ToDoubleSeconds(took)) << " jobs/s, " << real.chunks()
            << " chunks)\n"
            << "  creates before: " << creates_before.Summary() << "\n"
            << "  creates during: " << creates_during.Summary() << "\n"
            << "  acquires before: " << acquires_before.Summary() << "\n"
            << "  acquires during: " << acquires_during.Summary() << "\n";
  // Exactly the matching jobs, each with one more event; the other traffic untouched.
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE type = 'bulk' AND state = 'cancelled' AND "
                "sequence = 2"),
            std::to_string(kJobs));
  EXPECT_EQ(Sql("SELECT count(*) FROM job_events e JOIN jobs j ON j.id = e.job_id "
                "WHERE j.type = 'bulk' AND e.state = 'cancelled'"),
            std::to_string(kJobs));
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE type = 'live' AND state = 'cancelled'"), "0");
  // A repeat changes nothing; the dry run of a delete counts what the delete then deletes.
  ASSERT_TRUE(jobs_->BulkCancelJobs(Ctx(absl::Seconds(60)).get(), request, &real).ok());
  EXPECT_EQ(real.changed(), 0);
  v1::BulkJobsRequest remove;
  remove.set_workspace_id("demo");
  remove.mutable_filter()->set_type("bulk");
  remove.set_dry_run(true);
  v1::BulkJobsResponse counted, deleted;
  ASSERT_TRUE(jobs_->BulkDeleteJobs(Ctx().get(), remove, &counted).ok());
  remove.set_dry_run(false);
  ASSERT_TRUE(jobs_->BulkDeleteJobs(Ctx(absl::Seconds(300)).get(), remove, &deleted).ok());
  EXPECT_EQ(counted.matched(), kJobs);
  EXPECT_EQ(deleted.changed(), kJobs);
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE type = 'bulk'"), "0");
  EXPECT_EQ(Sql("SELECT count(*) FROM job_events e LEFT JOIN jobs j ON j.id = e.job_id "
                "WHERE j.id IS NULL"),
            "0");
}

}  // namespace
}  // namespace jobd::testing
