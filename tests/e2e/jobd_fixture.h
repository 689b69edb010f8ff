// A migrated throwaway database and a real jobd serving it on loopback, per test.
#pragma once

#include <memory>
#include <string>

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <pqxx/connection>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "grpc/health/v1/health.grpc.pb.h"
#include "jobd/v1/job_service.grpc.pb.h"
#include "jobd/v1/worker_service.grpc.pb.h"
#include "tests/support/jobd_process.h"
#include "tests/support/proto_time.h"
#include "tests/support/test_database.h"

namespace jobd::testing {

using test::Millis;
using test::ToProtoTime;
using test::ToTime;

// A context with a deadline, so a hung server fails the test instead of hanging it.
inline std::unique_ptr<grpc::ClientContext> Ctx(absl::Duration timeout = absl::Seconds(10)) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  return context;
}

// A Struct from JSON text (a test failure when it is not a JSON object).
inline google::protobuf::Struct JsonStruct(const std::string& json) {
  google::protobuf::Struct out;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(json, &out).ok()) << json;
  return out;
}

// Equal as JSON values (a Struct's keys have no order).
inline ::testing::AssertionResult SameJson(const google::protobuf::Struct& got,
                                           const std::string& expected) {
  if (google::protobuf::util::MessageDifferencer::Equals(got, JsonStruct(expected))) {
    return ::testing::AssertionSuccess();
  }
  std::string json;
  (void)google::protobuf::util::MessageToJsonString(got, &json);
  return ::testing::AssertionFailure() << json << " is not " << expected;
}

// A fresh database with every migration applied by `jobd migrate`; null (and a test failure)
// when either step fails.
inline std::unique_ptr<TestDatabase> MigratedTestDatabase() {
  auto database = std::make_unique<TestDatabase>(TestDatabaseUrl());
  if (database->url().empty()) return nullptr;
  const int rc = RunJobd({"migrate", "--database_url", database->url(), "--log_level", "warning"});
  EXPECT_EQ(rc, 0) << "jobd migrate";
  return rc == 0 ? std::move(database) : nullptr;
}

// An ACCESS EXCLUSIVE lock on jobs, held until Release or destruction: every statement that
// reads jobs waits (tests hold calls in flight with it).
class JobsTableLock {
 public:
  explicit JobsTableLock(const std::string& url) : conn_(url), tx_(conn_) {
    tx_.exec("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE");
  }
  void Release() { tx_.abort(); }

 private:
  pqxx::connection conn_;
  pqxx::work tx_;
};

class JobdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    database_ = MigratedTestDatabase();
    ASSERT_NE(database_, nullptr);
    jobd_ = std::make_unique<JobdProcess>(database_->url(), JobdArgs());
    ASSERT_TRUE(jobd_->running());
    jobs_ = v1::JobService::NewStub(jobd_->channel());
    workers_ = v1::WorkerService::NewStub(jobd_->channel());
    health_ = grpc::health::v1::Health::NewStub(jobd_->channel());
  }

  // Extra flags for the jobd under test.
  virtual std::vector<std::string> JobdArgs() { return {}; }

  void TearDown() override {
    if (jobd_ && (HasFailure() || getenv("JOBD_TEST_SHOW_LOG")))
      std::cerr << "jobd log:\n" << jobd_->log();
    // Drop our channel first: jobd's graceful stop waits for connected clients to leave.
    jobs_.reset();
    workers_.reset();
    health_.reset();
    jobd_.reset();
    database_.reset();
  }

  // Runs one SQL statement on the test database and returns the first column of row one.
  std::string Sql(const std::string& statement) {
    pqxx::connection conn(database_->url());
    pqxx::nontransaction tx(conn);
    pqxx::result r = tx.exec(statement);
    return r.empty() || r[0][0].is_null() ? "" : r[0][0].c_str();
  }

  // How many GetJob queries wait for a lock now (behind a JobsTableLock).
  std::string WaitingGetJobQueries() {
    return Sql(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query LIKE 'SELECT * FROM jobs WHERE id = $1%'");
  }

  // The job as GetJob returns it now (a failed call fails the test and gives an empty job).
  v1::Job Get(const std::string& id) {
    v1::GetJobRequest request;
    request.set_id(id);
    v1::GetJobResponse response;
    EXPECT_TRUE(jobs_->GetJob(Ctx().get(), request, &response).ok());
    return response.job();
  }

  std::unique_ptr<TestDatabase> database_;
  std::unique_ptr<JobdProcess> jobd_;
  std::unique_ptr<v1::JobService::Stub> jobs_;
  std::unique_ptr<v1::WorkerService::Stub> workers_;
  std::unique_ptr<grpc::health::v1::Health::Stub> health_;
};

}  // namespace jobd::testing
