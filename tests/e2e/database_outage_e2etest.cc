// PostgreSQL going away and coming back: health NOT_SERVING and calls UNAVAILABLE within
// seconds, then SERVING again with no restart of jobd. Uses a private cluster of its own.
#include <cstdio>
#include <cstdlib>

#include "tests/e2e/jobd_fixture.h"

namespace jobd::testing {
namespace {

// Runs tests/pg_cluster.sh (path from JOBD_TEST_PG_CLUSTER_SCRIPT) and returns its stdout.
std::string Cluster(const std::string& args, int* exit_code) {
  const char* script = std::getenv("JOBD_TEST_PG_CLUSTER_SCRIPT");
  if (script == nullptr) {
    ADD_FAILURE() << "JOBD_TEST_PG_CLUSTER_SCRIPT is not set: run the tests with deploy/test.sh";
    *exit_code = -1;
    return "";
  }
  FILE* pipe = popen((std::string(script) + " " + args).c_str(), "r");
  std::string out;
  char buffer[512];
  while (fgets(buffer, sizeof(buffer), pipe) != nullptr) out += buffer;
  *exit_code = pclose(pipe);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

grpc::health::v1::HealthCheckResponse::ServingStatus Health(grpc::health::v1::Health::Stub& stub) {
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  if (!stub.Check(Ctx(absl::Seconds(2)).get(), request, &response).ok()) {
    return grpc::health::v1::HealthCheckResponse::UNKNOWN;
  }
  return response.status();
}

TEST(DatabaseOutage, HealthAndCallsFollowTheDatabase) {
  char dir_template[] = "/tmp/jobd-outage.XXXXXX";
  const std::string dir = mkdtemp(dir_template);
  int code = 0;
  const std::string url = Cluster("start " + dir + " --fast", &code);
  ASSERT_EQ(code, 0);
  {
    ASSERT_EQ(RunJobd({"migrate", "--database_url", url, "--log_level", "warning"}), 0);
    JobdProcess jobd(url);
    ASSERT_TRUE(jobd.running());
    auto jobs = v1::JobService::NewStub(jobd.channel());
    auto health = grpc::health::v1::Health::NewStub(jobd.channel());
    using Serving = grpc::health::v1::HealthCheckResponse;
    EXPECT_EQ(Health(*health), Serving::SERVING);

    v1::CreateJobRequest create;
    create.set_workspace_id("demo");
    create.set_type("t");
    v1::CreateJobResponse created;
    ASSERT_TRUE(jobs->CreateJob(Ctx().get(), create, &created).ok());

    Cluster("stop " + dir, &code);
    ASSERT_EQ(code, 0);
    const absl::Time stopped = absl::Now();
    // "Within seconds" (the probe runs every 200 ms here); 10 s leaves a loaded machine room.
    EXPECT_TRUE(
        WaitFor([&] { return Health(*health) == Serving::NOT_SERVING; }, absl::Seconds(10)));
    v1::GetJobRequest get;
    get.set_id(created.job().id());
    v1::GetJobResponse got;
    bool unavailable = WaitFor(
        [&] {
          grpc::Status s = jobs->GetJob(Ctx().get(), get, &got);
          return s.error_code() == grpc::StatusCode::UNAVAILABLE;
        },
        absl::Seconds(10));
    EXPECT_TRUE(unavailable);
    grpc::Status create_status = jobs->CreateJob(Ctx().get(), create, &created);
    EXPECT_EQ(create_status.error_code(), grpc::StatusCode::UNAVAILABLE)
        << create_status.error_message();
    std::cerr << "NOT_SERVING and UNAVAILABLE within "
              << absl::FormatDuration(absl::Now() - stopped) << "\n";

    Cluster("start " + dir + " --fast", &code);
    ASSERT_EQ(code, 0);
    EXPECT_TRUE(WaitFor([&] { return Health(*health) == Serving::SERVING; }, absl::Seconds(30)));
    EXPECT_TRUE(
        WaitFor([&] { return jobs->GetJob(Ctx().get(), get, &got).ok(); }, absl::Seconds(30)));
    EXPECT_EQ(got.job().id(), created.job().id());
    if (HasFailure()) std::cerr << jobd.log();
  }
  Cluster("stop " + dir, &code);
  std::system(("rm -rf '" + dir + "'").c_str());
}

}  // namespace
}  // namespace jobd::testing
