// Two Server objects in one process on one database: both serve, a job created through one
// is leased and finished through the other, a watch on the first sees the whole story (the
// events cross over the database's notifications as between processes), and stopping one
// leaves the other serving. Possible only because a Server holds no global state.
#include <memory>
#include <string>
#include <vector>

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "jobd/v1/job_service.grpc.pb.h"
#include "jobd/v1/worker_service.grpc.pb.h"
#include "server/config.h"
#include "server/server.h"
#include "tests/e2e/jobd_fixture.h"
#include "tests/support/jobd_process.h"
#include "tests/support/test_database.h"

namespace jobd::testing {
namespace {

class TwoServersTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = MigratedTestDatabase();
    ASSERT_NE(database_, nullptr);
    admin_key_ = CreateApiKey(database_->url(), "admin", "two-servers");
    ASSERT_FALSE(admin_key_.empty());
    // LoadServerConfig parses into absl's global flags: once per process, so both servers
    // share one configuration (port 0 each).
    static absl::StatusOr<ServerConfig>* config = nullptr;
    if (config == nullptr) {
      std::vector<std::string> args = {
          "jobd",        "serve",       "--listen", "127.0.0.1:0",    "--http_listen",
          "127.0.0.1:0", "--log_level", "warning",  "--database_url", "unset"};
      std::vector<char*> argv;
      for (std::string& arg : args) argv.push_back(arg.data());
      config = new absl::StatusOr<ServerConfig>(
          LoadServerConfig(static_cast<int>(argv.size()), argv.data()));
    }
    ASSERT_TRUE(config->ok()) << config->status();
    config_ = **config;
    config_.database.url = database_->url();
    config_.database.pool_size = 4;
  }

  void TearDown() override {
    first_.reset();
    second_.reset();
    database_.reset();
  }

  std::unique_ptr<Server> StartServer() {
    absl::StatusOr<std::unique_ptr<Server>> server = Server::Start(config_);
    EXPECT_TRUE(server.ok()) << server.status();
    return server.ok() ? std::move(*server) : nullptr;
  }

  std::shared_ptr<grpc::Channel> ChannelTo(const Server& server) {
    return KeyedChannel("127.0.0.1:" + std::to_string(server.port()), admin_key_);
  }

  std::unique_ptr<TestDatabase> database_;
  std::string admin_key_;
  ServerConfig config_;
  std::unique_ptr<Server> first_, second_;
};

TEST_F(TwoServersTest, BothServeOneDatabaseAndEitherStopsAlone) {
  first_ = StartServer();
  second_ = StartServer();
  ASSERT_TRUE(first_ && second_);
  ASSERT_NE(first_->port(), second_->port());
  auto jobs_first = v1::JobService::NewStub(ChannelTo(*first_));
  auto jobs_second = v1::JobService::NewStub(ChannelTo(*second_));
  auto workers_second = v1::WorkerService::NewStub(ChannelTo(*second_));

  v1::CreateJobRequest create;
  create.set_workspace_id("two");
  create.set_type("crossing");
  v1::CreateJobResponse created;
  ASSERT_TRUE(jobs_first->CreateJob(Ctx().get(), create, &created).ok());
  const std::string id = created.job().id();
  EXPECT_EQ(created.job().state(), v1::JOB_STATE_QUEUED);

  // A watch on the first server, opened before the second one touches the job.
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::WatchJobRequest watch;
  watch.set_id(id);
  watch.set_after_sequence(0);
  std::unique_ptr<grpc::ClientReader<v1::WatchJobResponse>> events =
      jobs_first->WatchJob(&watch_context, watch);

  v1::GetJobRequest get;
  get.set_id(id);
  v1::GetJobResponse got;
  ASSERT_TRUE(jobs_second->GetJob(Ctx().get(), get, &got).ok());
  EXPECT_EQ(got.job().id(), id);
  EXPECT_EQ(got.job().state(), v1::JOB_STATE_QUEUED);

  v1::AcquireJobsRequest acquire;
  acquire.set_workspace_id("two");
  acquire.add_types("crossing");
  acquire.set_worker_id("w");
  acquire.set_max_jobs(1);
  acquire.mutable_wait()->set_seconds(5);
  v1::AcquireJobsResponse leased;
  ASSERT_TRUE(workers_second->AcquireJobs(Ctx().get(), acquire, &leased).ok());
  ASSERT_EQ(leased.jobs_size(), 1);
  EXPECT_EQ(leased.jobs(0).job().id(), id);
  v1::CompleteJobRequest complete;
  complete.set_job_id(id);
  complete.set_lease_token(leased.jobs(0).lease_token());
  v1::CompleteJobResponse completed;
  ASSERT_TRUE(workers_second->CompleteJob(Ctx().get(), complete, &completed).ok());
  EXPECT_EQ(completed.job().state(), v1::JOB_STATE_SUCCEEDED);

  // Created, started, succeeded: sequences 1, 2, 3, and the stream ends after the last.
  std::vector<std::pair<int64_t, v1::JobState>> seen;
  v1::WatchJobResponse event;
  while (events->Read(&event))
    seen.emplace_back(event.event().sequence(), event.event().job().state());
  EXPECT_TRUE(events->Finish().ok());
  const std::vector<std::pair<int64_t, v1::JobState>> expected = {
      {1, v1::JOB_STATE_QUEUED}, {2, v1::JOB_STATE_RUNNING}, {3, v1::JOB_STATE_SUCCEEDED}};
  EXPECT_EQ(seen, expected);

  // The first stops; the second goes on serving, and the first's port refuses.
  first_->Stop();
  ASSERT_TRUE(jobs_second->GetJob(Ctx().get(), get, &got).ok());
  EXPECT_EQ(got.job().state(), v1::JOB_STATE_SUCCEEDED);
  const grpc::Status after_stop = jobs_first->GetJob(Ctx(absl::Seconds(10)).get(), get, &got);
  EXPECT_EQ(after_stop.error_code(), grpc::StatusCode::UNAVAILABLE) << after_stop.error_message();
  first_.reset();
  ASSERT_TRUE(jobs_second->CreateJob(Ctx().get(), create, &created).ok());
  EXPECT_EQ(created.job().state(), v1::JOB_STATE_QUEUED);
}

}  // namespace
}  // namespace jobd::testing
