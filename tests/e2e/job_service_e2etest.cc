// JobService end to end: a real jobd on loopback, a real PostgreSQL; exact codes and states.
#include <atomic>
#include <csignal>
#include <mutex>
#include <set>
#include <thread>

#include <google/protobuf/util/message_differencer.h>
#include <pqxx/transaction>

#include "absl/strings/match.h"
#include "tests/e2e/jobd_fixture.h"

namespace jobd::testing {
namespace {

using grpc::StatusCode;

class JobServiceTest : public JobdTest {
 protected:
  v1::CreateJobRequest Request(const std::string& type = "rebuild_graph") {
    v1::CreateJobRequest r;
    r.set_workspace_id("demo");
    r.set_type(type);
    return r;
  }

  v1::Job Create(const v1::CreateJobRequest& request) {
    v1::CreateJobResponse response;
    grpc::Status status = jobs_->CreateJob(Ctx().get(), request, &response);
    EXPECT_TRUE(status.ok()) << status.error_code() << " " << status.error_message();
    return response.job();
  }

  grpc::Status Get(const std::string& id, v1::Job* job = nullptr) {
    v1::GetJobRequest request;
    request.set_id(id);
    v1::GetJobResponse response;
    grpc::Status status = jobs_->GetJob(Ctx().get(), request, &response);
    if (job) *job = response.job();
    return status;
  }

  grpc::Status Cancel(const std::string& id, const std::string& reason, v1::Job* job) {
    v1::CancelJobRequest request;
    request.set_id(id);
    request.set_reason(reason);
    v1::CancelJobResponse response;
    grpc::Status status = jobs_->CancelJob(Ctx().get(), request, &response);
    *job = response.job();
    return status;
  }

  grpc::Status Retry(const std::string& id, v1::Job* job) {
    v1::RetryJobRequest request;
    request.set_id(id);
    v1::RetryJobResponse response;
    grpc::Status status = jobs_->RetryJob(Ctx().get(), request, &response);
    *job = response.job();
    return status;
  }

  grpc::Status List(const v1::ListJobsRequest& request, v1::ListJobsResponse* response) {
    return jobs_->ListJobs(Ctx().get(), request, response);
  }

  int JobRows() { return std::stoi(Sql("SELECT count(*) FROM jobs")); }
};

#define EXPECT_CODE(status, code) EXPECT_EQ((status).error_code(), code) << (status).error_message()

TEST_F(JobServiceTest, CreateGetListCancelRetry) {
  v1::CreateJobRequest request = Request();
  (*request.mutable_payload()->mutable_fields())["pages"].set_number_value(900);
  (*request.mutable_labels())["env"] = "prod";
  v1::Job created = Create(request);
  EXPECT_EQ(created.state(), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(created.workspace_id(), "demo");
  EXPECT_EQ(created.type(), "rebuild_graph");
  EXPECT_EQ(created.attempt(), 1);
  EXPECT_EQ(created.requested_by(), "test-admin");  // the key's name, not the request's
  EXPECT_EQ(created.sequence(), 1);
  EXPECT_EQ(created.payload().fields().at("pages").number_value(), 900);
  EXPECT_EQ(created.labels().at("env"), "prod");
  EXPECT_EQ(created.id().size(), 36u);
  EXPECT_EQ(created.id()[14], '7');

  v1::Job got;
  ASSERT_TRUE(Get(created.id(), &got).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(got, created))
      << got.DebugString() << created.DebugString();

  v1::ListJobsRequest list;
  list.set_workspace_id("demo");
  v1::ListJobsResponse page;
  ASSERT_TRUE(List(list, &page).ok());
  ASSERT_EQ(page.jobs_size(), 1);
  EXPECT_EQ(page.jobs(0).id(), created.id());
  EXPECT_EQ(page.next_page_token(), "");

  v1::Job cancelled;
  ASSERT_TRUE(Cancel(created.id(), "not needed", &cancelled).ok());
  EXPECT_EQ(cancelled.state(), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(cancelled.error_message(), "not needed");
  EXPECT_EQ(cancelled.sequence(), 2);
  EXPECT_TRUE(cancelled.has_finish_time());
  EXPECT_TRUE(cancelled.has_expire_time());
  EXPECT_EQ(cancelled.expire_time().seconds() - cancelled.finish_time().seconds(), 86400);

  v1::Job again;
  ASSERT_TRUE(Cancel(created.id(), "other reason", &again).ok());  // idempotent
  EXPECT_EQ(again.state(), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(again.error_message(), "not needed");
  EXPECT_EQ(again.sequence(), 2);

  v1::Job retried;
  ASSERT_TRUE(Retry(created.id(), &retried).ok());
  EXPECT_EQ(retried.state(), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(retried.attempt(), 2);
  EXPECT_EQ(retried.error_message(), "");
  EXPECT_FALSE(retried.has_finish_time());
  EXPECT_EQ(retried.sequence(), 3);

  v1::Job refused;
  grpc::Status status = Retry(created.id(), &refused);
  EXPECT_CODE(status, StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "QUEUED")) << status.error_message();

  EXPECT_EQ(Sql("SELECT string_agg(sequence || ':' || kind || ':' || state, ',' ORDER BY "
                "sequence) FROM job_events"),
            "1:created:queued,2:state_changed:cancelled,3:state_changed:queued");
}

TEST_F(JobServiceTest, CreateEchoesEveryField) {
  v1::CreateJobRequest request = Request("import.csv");
  request.set_priority(5);
  request.mutable_retry_policy()->set_max_attempts(7);
  request.mutable_retry_policy()->mutable_initial_backoff()->set_seconds(2);
  request.mutable_retry_policy()->mutable_max_backoff()->set_seconds(60);
  request.mutable_retry_policy()->set_multiplier(3);
  request.mutable_timeout()->set_seconds(600);
  request.mutable_ttl()->set_seconds(3600);
  request.set_idempotency_key("import-42");
  const int64_t run_after = absl::ToUnixSeconds(absl::Now()) + 3600;
  request.mutable_run_after()->set_seconds(run_after);
  (*request.mutable_payload()->mutable_fields())["q"].set_string_value("'); DROP TABLE jobs;--\"");
  v1::Job job = Create(request);
  EXPECT_EQ(job.state(), v1::JOB_STATE_SCHEDULED);
  EXPECT_EQ(job.priority(), 5);
  EXPECT_EQ(job.retry_policy().max_attempts(), 7);
  EXPECT_EQ(job.retry_policy().initial_backoff().seconds(), 2);
  EXPECT_EQ(job.retry_policy().max_backoff().seconds(), 60);
  EXPECT_EQ(job.retry_policy().multiplier(), 3);
  EXPECT_EQ(job.timeout().seconds(), 600);
  EXPECT_EQ(job.ttl().seconds(), 3600);
  EXPECT_EQ(job.idempotency_key(), "import-42");
  EXPECT_EQ(job.run_after().seconds(), run_after);
  EXPECT_EQ(job.payload().fields().at("q").string_value(), "'); DROP TABLE jobs;--\"");

  v1::Job defaults = Create(Request());
  EXPECT_EQ(defaults.retry_policy().max_attempts(), 3);
  EXPECT_EQ(defaults.retry_policy().initial_backoff().seconds(), 1);
  EXPECT_EQ(defaults.retry_policy().max_backoff().seconds(), 300);
  EXPECT_EQ(defaults.retry_policy().multiplier(), 2.0);
  EXPECT_EQ(defaults.ttl().seconds(), 86400);
  EXPECT_FALSE(defaults.has_timeout());
  EXPECT_EQ(defaults.priority(), 0);
  EXPECT_EQ(defaults.run_after().seconds(), defaults.create_time().seconds());
}

TEST_F(JobServiceTest, InvalidCreateNamesTheFieldAndWritesNothing) {
  struct Case {
    std::string field;
    std::function<void(v1::CreateJobRequest*)> spoil;
  };
  const std::vector<Case> cases = {
      {"workspace_id", [](auto* r) { r->clear_workspace_id(); }},
      {"workspace_id", [](auto* r) { r->set_workspace_id("no spaces"); }},
      {"workspace_id", [](auto* r) { r->set_workspace_id(std::string(65, 'w')); }},
      {"type", [](auto* r) { r->clear_type(); }},
      {"type", [](auto* r) { r->set_type("Upper"); }},
      {"type", [](auto* r) { r->set_type(std::string(129, 't')); }},
      {"payload",
       [](auto* r) {
         (*r->mutable_payload()->mutable_fields())["big"].set_string_value(
             std::string(256 * 1024, 'x'));
       }},
      {"retry_policy.max_attempts",
       [](auto* r) { r->mutable_retry_policy()->set_max_attempts(101); }},
      {"retry_policy.multiplier", [](auto* r) { r->mutable_retry_policy()->set_multiplier(0.5); }},
      {"retry_policy.initial_backoff",
       [](auto* r) { r->mutable_retry_policy()->mutable_initial_backoff()->set_seconds(-1); }},
      {"retry_policy.max_backoff",
       [](auto* r) { r->mutable_retry_policy()->mutable_max_backoff()->set_nanos(-5); }},
      {"timeout", [](auto* r) { r->mutable_timeout()->set_seconds(0); }},
      {"ttl", [](auto* r) { r->mutable_ttl()->set_seconds(366LL * 86400); }},
      {"run_after", [](auto* r) { r->mutable_run_after()->set_seconds(4102444800LL * 10); }},
      {"run_after",
       [](auto* r) {
         r->mutable_run_after()->set_seconds(absl::ToUnixSeconds(absl::Now()) + 400LL * 86400);
       }},
      {"labels", [](auto* r) { (*r->mutable_labels())["bad key"] = "v"; }},
      {"labels",
       [](auto* r) {
         for (int i = 0; i < 33; ++i) (*r->mutable_labels())["k" + std::to_string(i)] = "v";
       }},
      {"idempotency_key", [](auto* r) { r->set_idempotency_key(std::string(257, 'k')); }},
  };
  for (const Case& c : cases) {
    v1::CreateJobRequest request = Request();
    c.spoil(&request);
    v1::CreateJobResponse response;
    grpc::Status status = jobs_->CreateJob(Ctx().get(), request, &response);
    EXPECT_CODE(status, StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StartsWith(status.error_message(), c.field + ":"))
        << c.field << " vs " << status.error_message();
  }
  EXPECT_EQ(JobRows(), 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM job_events"), "0");
}

TEST_F(JobServiceTest, IdempotencyKey) {
  v1::CreateJobRequest request = Request();
  request.set_idempotency_key("once");
  (*request.mutable_payload()->mutable_fields())["a"].set_number_value(1);
  (*request.mutable_payload()->mutable_fields())["b"].set_string_value("x");
  v1::Job first = Create(request);
  v1::Job second = Create(request);
  EXPECT_EQ(second.id(), first.id());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(second, first));

  v1::CreateJobRequest different = request;
  (*different.mutable_payload()->mutable_fields())["a"].set_number_value(2);
  v1::CreateJobResponse response;
  grpc::Status status = jobs_->CreateJob(Ctx().get(), different, &response);
  EXPECT_CODE(status, StatusCode::ALREADY_EXISTS);
  EXPECT_TRUE(absl::StrContains(status.error_message(), first.id()));

  // The same key in another workspace is another job.
  v1::CreateJobRequest elsewhere = request;
  elsewhere.set_workspace_id("other");
  EXPECT_NE(Create(elsewhere).id(), first.id());

  // Concurrent duplicates: one job.
  v1::CreateJobRequest racing = Request();
  racing.set_idempotency_key("race");
  std::vector<std::string> ids(16);
  std::vector<std::thread> threads;
  for (int i = 0; i < 16; ++i) {
    threads.emplace_back([&, i] {
      v1::CreateJobResponse r;
      grpc::Status s = jobs_->CreateJob(Ctx().get(), racing, &r);
      EXPECT_TRUE(s.ok()) << s.error_message();
      ids[i] = r.job().id();
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 1u);
  EXPECT_EQ(JobRows(), 3);
}

TEST_F(JobServiceTest, ListPagesNewestFirstWithFilters) {
  std::vector<std::string> ids;
  for (int i = 0; i < 45; ++i) {
    v1::CreateJobRequest request = Request(i % 3 == 0 ? "three" : "other");
    if (i % 5 == 0) (*request.mutable_labels())["tier"] = "gold";
    ids.push_back(Create(request).id());
  }
  std::vector<std::string> newest_first(ids.rbegin(), ids.rend());

  v1::ListJobsRequest request;
  request.set_workspace_id("demo");
  request.set_page_size(10);
  std::vector<std::string> seen;
  std::string first_token;
  for (int pages = 0; pages < 10; ++pages) {
    v1::ListJobsResponse page;
    ASSERT_TRUE(List(request, &page).ok());
    for (const auto& job : page.jobs()) seen.push_back(job.id());
    if (pages == 0) first_token = page.next_page_token();
    if (page.next_page_token().empty()) break;
    request.set_page_token(page.next_page_token());
  }
  EXPECT_EQ(seen, newest_first);

  // Filters: type, label, state.
  v1::ListJobsRequest filtered;
  filtered.set_workspace_id("demo");
  filtered.set_type("three");
  filtered.set_page_size(500);
  (*filtered.mutable_labels())["tier"] = "gold";
  v1::ListJobsResponse page;
  ASSERT_TRUE(List(filtered, &page).ok());
  std::vector<std::string> got;
  for (const auto& job : page.jobs()) got.push_back(job.id());
  EXPECT_EQ(got, (std::vector<std::string>{ids[30], ids[15], ids[0]}));

  v1::Job cancelled;
  ASSERT_TRUE(Cancel(ids[7], "", &cancelled).ok());
  v1::ListJobsRequest by_state;
  by_state.set_workspace_id("demo");
  by_state.add_states(v1::JOB_STATE_CANCELLED);
  ASSERT_TRUE(List(by_state, &page).ok());
  ASSERT_EQ(page.jobs_size(), 1);
  EXPECT_EQ(page.jobs(0).id(), ids[7]);
  EXPECT_EQ(page.jobs(0).error_message(), "cancelled by test-admin");

  // A token reused with other filters, an altered token, and bad page sizes.
  v1::ListJobsRequest reused = by_state;
  reused.set_page_token(first_token);
  grpc::Status status = List(reused, &page);
  EXPECT_CODE(status, StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "page_token:"));
  v1::ListJobsRequest altered;
  altered.set_workspace_id("demo");
  std::string token = first_token;
  token[token.size() / 2] = token[token.size() / 2] == 'A' ? 'B' : 'A';
  altered.set_page_token(token);
  status = List(altered, &page);
  EXPECT_CODE(status, StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "page_token:"));
  v1::ListJobsRequest too_big;
  too_big.set_workspace_id("demo");
  too_big.set_page_size(501);
  status = List(too_big, &page);
  EXPECT_CODE(status, StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "page_size:"));
  v1::ListJobsRequest bad_state;
  bad_state.set_workspace_id("demo");
  bad_state.add_states(v1::JOB_STATE_UNSPECIFIED);
  status = List(bad_state, &page);
  EXPECT_CODE(status, StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "states:"));
  v1::ListJobsRequest no_workspace;
  status = List(no_workspace, &page);
  EXPECT_CODE(status, StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "workspace_id:"));
}

TEST_F(JobServiceTest, UnknownAndMalformedIds) {
  const std::string unknown = "01a201e7-5c53-7000-bf26-50a897f50418";
  v1::Job job;
  EXPECT_CODE(Get(unknown), StatusCode::NOT_FOUND);
  EXPECT_CODE(Cancel(unknown, "", &job), StatusCode::NOT_FOUND);
  EXPECT_CODE(Retry(unknown, &job), StatusCode::NOT_FOUND);
  for (const std::string bad : {"", "42", "not-a-uuid"}) {
    grpc::Status status = Get(bad);
    EXPECT_CODE(status, StatusCode::INVALID_ARGUMENT);
    EXPECT_TRUE(absl::StartsWith(status.error_message(), "id:"));
    EXPECT_CODE(Cancel(bad, "", &job), StatusCode::INVALID_ARGUMENT);
    EXPECT_CODE(Retry(bad, &job), StatusCode::INVALID_ARGUMENT);
  }
  v1::Job created = Create(Request());
  grpc::Status status = Cancel(created.id(), std::string(4097, 'r'), &job);
  EXPECT_CODE(status, StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "reason:"));
  EXPECT_EQ(Sql("SELECT state FROM jobs"), "queued");
}

TEST_F(JobServiceTest, FinishedJobsCannotBeCancelledAndOnlyFailedOrCancelledRetry) {
  v1::Job succeeded = Create(Request());
  v1::Job failed = Create(Request());
  v1::Job running = Create(Request());
  // No worker RPCs yet: put the jobs in their states directly.
  Sql("UPDATE jobs SET state = 'succeeded', finish_time = now() WHERE id = '" + succeeded.id() +
      "'");
  Sql("UPDATE jobs SET state = 'failed', error_message = 'boom', finish_time = now() WHERE id = '" +
      failed.id() + "'");
  Sql("UPDATE jobs SET state = 'running', start_time = now() WHERE id = '" + running.id() + "'");

  v1::Job job;
  grpc::Status status = Cancel(succeeded.id(), "", &job);
  EXPECT_CODE(status, StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "SUCCEEDED"));
  status = Cancel(failed.id(), "", &job);
  EXPECT_CODE(status, StatusCode::FAILED_PRECONDITION);
  EXPECT_TRUE(absl::StrContains(status.error_message(), "FAILED"));
  EXPECT_CODE(Retry(succeeded.id(), &job), StatusCode::FAILED_PRECONDITION);

  ASSERT_TRUE(Retry(failed.id(), &job).ok());
  EXPECT_EQ(job.state(), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(job.attempt(), 2);
  EXPECT_EQ(job.error_message(), "");

  EXPECT_CODE(Retry(running.id(), &job), StatusCode::FAILED_PRECONDITION);
  ASSERT_TRUE(Cancel(running.id(), "", &job).ok());
  EXPECT_EQ(job.state(), v1::JOB_STATE_CANCELLED);
  EXPECT_TRUE(job.has_duration());
}

TEST_F(JobServiceTest, JobStats) {
  v1::Job first = Create(Request("a"));
  Create(Request("a"));
  Create(Request("b"));
  v1::Job job;
  ASSERT_TRUE(Cancel(first.id(), "", &job).ok());
  v1::GetJobStatsRequest request;
  request.set_workspace_id("demo");
  v1::GetJobStatsResponse response;
  ASSERT_TRUE(jobs_->GetJobStats(Ctx().get(), request, &response).ok());
  std::vector<std::pair<int, int64_t>> totals;
  for (const auto& c : response.state_counts()) totals.emplace_back(c.state(), c.count());
  const std::vector<std::pair<int, int64_t>> expected = {
      {v1::JOB_STATE_SCHEDULED, 0}, {v1::JOB_STATE_QUEUED, 2}, {v1::JOB_STATE_RUNNING, 0},
      {v1::JOB_STATE_SUCCEEDED, 0}, {v1::JOB_STATE_FAILED, 0}, {v1::JOB_STATE_CANCELLED, 1},
      {v1::JOB_STATE_PAUSED, 0}};
  EXPECT_EQ(totals, expected);
  EXPECT_EQ(response.type_state_counts_size(), 3);
  EXPECT_TRUE(response.has_oldest_queued_age());
  EXPECT_LT(response.oldest_queued_age().seconds(), 60);

  request.set_workspace_id("bad workspace");
  grpc::Status status = jobs_->GetJobStats(Ctx().get(), request, &response);
  EXPECT_CODE(status, StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(status.error_message(), "workspace_id:"));
}

TEST_F(JobServiceTest, HealthIsServingAndSigtermStopsCleanly) {
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  ASSERT_TRUE(health_->Check(Ctx().get(), request, &response).ok());
  EXPECT_EQ(response.status(), grpc::health::v1::HealthCheckResponse::SERVING);

  // Creates keep coming while jobd stops: each answer is OK (and the job is stored), or
  // UNAVAILABLE (refused by jobd while draining), or CANCELLED (gRPC cancels calls that reach
  // the transport after shutdown began, before any handler ran); in both, nothing is stored.
  std::atomic<bool> done{false};
  std::mutex mu;
  std::set<std::string> stored;
  std::vector<grpc::Status> refusals;
  std::vector<std::thread> clients;
  for (int i = 0; i < 8; ++i) {
    clients.emplace_back([&] {
      while (!done) {
        v1::CreateJobResponse created;
        // A generous deadline: the answer must be jobd's (OK, UNAVAILABLE, CANCELLED), not
        // DEADLINE_EXCEEDED from a client on a loaded machine.
        grpc::Status status = jobs_->CreateJob(Ctx(absl::Seconds(30)).get(), Request(), &created);
        std::lock_guard<std::mutex> lock(mu);
        if (status.ok()) {
          stored.insert(created.job().id());
        } else {
          refusals.push_back(status);
          return;
        }
      }
    });
  }
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard<std::mutex> l(mu);
        return stored.size() >= 50;
      },
      absl::Seconds(30)));
  EXPECT_EQ(jobd_->Stop(), 0);
  done = true;
  for (auto& t : clients) t.join();
  for (const grpc::Status& status : refusals) {
    EXPECT_TRUE(status.error_code() == StatusCode::UNAVAILABLE ||
                status.error_code() == StatusCode::CANCELLED)
        << status.error_code() << " " << status.error_message();
  }
  EXPECT_EQ(JobRows(), static_cast<int>(stored.size()));
}

TEST_F(JobServiceTest, ASecondJobdCannotTakeTheSamePort) {
  EXPECT_EQ(RunJobd({"serve", "--database_url", database_->url(), "--listen", jobd_->address(),
                     "--log_level", "error"}),
            1);
  grpc::health::v1::HealthCheckRequest request;
  grpc::health::v1::HealthCheckResponse response;
  EXPECT_TRUE(health_->Check(Ctx().get(), request, &response).ok());
}

TEST_F(JobServiceTest, OversizedRequestIsRefusedBeforeItIsParsed) {
  // Default limits: requests up to 8 MiB are read (a batch of 1,000 jobs of ~8 KiB); this
  // one is 9 MiB.
  v1::CreateJobRequest request;
  request.set_workspace_id("big");
  request.set_type("t");
  (*request.mutable_payload()->mutable_fields())["big"].set_string_value(
      std::string(9 * 1024 * 1024, 'x'));
  v1::CreateJobResponse response;
  const grpc::Status status = jobs_->CreateJob(Ctx().get(), request, &response);
  EXPECT_EQ(status.error_code(), StatusCode::RESOURCE_EXHAUSTED) << status.error_message();
  EXPECT_EQ(JobRows(), 0);
  // jobd is still there.
  grpc::health::v1::HealthCheckRequest check;
  grpc::health::v1::HealthCheckResponse health;
  EXPECT_TRUE(health_->Check(Ctx().get(), check, &health).ok());
}

TEST(JobdStart, RefusesPlaintextOnANonLoopbackAddress) {
  // Refused before anything is bound (so no test listens beyond loopback).
  EXPECT_EQ(RunJobd({"serve", "--listen", "0.0.0.0:0", "--log_level", "error"}), 2);
  EXPECT_EQ(RunJobd({"serve", "--listen", "[::]:0", "--log_level", "error"}), 2);
}

TEST(JobdStart, RefusesAnUnmigratedDatabase) {
  TestDatabase database(TestDatabaseUrl());
  ASSERT_FALSE(database.url().empty());
  EXPECT_EQ(RunJobd({"serve", "--database_url", database.url(), "--listen", "127.0.0.1:0",
                     "--log_level", "error"}),
            1);
  EXPECT_EQ(RunJobd({"bogus"}), 2);
}

TEST_F(JobServiceTest, ACallsDeadlineStopsItsDatabaseWork) {
  const v1::Job job = Create(Request());
  // Hold a lock that makes GetJob's query wait.
  JobsTableLock lock(database_->url());
  auto waiting_get_jobs = [&] { return WaitingGetJobQueries(); };

  v1::GetJobRequest request;
  request.set_id(job.id());
  v1::GetJobResponse response;
  // The query must be seen waiting behind the lock before the deadline, or "no query waits"
  // below would hold without jobd cancelling anything (a call that never reached the
  // database). 2 s leaves a loaded machine time to get it there and the test time to see it.
  std::atomic<bool> returned{false};
  grpc::Status status;
  std::thread call([&] {
    status = jobs_->GetJob(Ctx(absl::Seconds(2)).get(), request, &response);
    returned = true;
  });
  bool seen_waiting = false;
  WaitFor([&] { return (seen_waiting = waiting_get_jobs() == "1") || returned; },
          absl::Seconds(30));
  call.join();
  EXPECT_EQ(status.error_code(), StatusCode::DEADLINE_EXCEEDED);
  EXPECT_TRUE(seen_waiting) << "GetJob's query was never seen waiting for the lock";
  // jobd cancels the query at the deadline instead of leaving it queued behind the lock (it
  // would wait there until the lock is released, at the end of this test).
  EXPECT_TRUE(WaitFor([&] { return waiting_get_jobs() == "0"; }, absl::Seconds(10)))
      << waiting_get_jobs() << " GetJob queries still wait for the lock";
  // jobd logs the call when its (cancelled) database work returns.
  EXPECT_TRUE(
      WaitFor([&] { return absl::StrContains(jobd_->log(), "\"code\":\"DEADLINE_EXCEEDED\""); },
              absl::Seconds(10)))
      << jobd_->log();

  lock.Release();
  v1::Job after;
  EXPECT_TRUE(Get(job.id(), &after).ok());
  EXPECT_EQ(after.id(), job.id());
}

// A second SIGTERM during a graceful stop that waits for a call ends jobd at once.
TEST_F(JobServiceTest, ASecondSignalExitsWithoutWaitingForTheGrace) {
  JobdProcess slow_stop(database_->url(), {"--shutdown_grace", "60s"});
  ASSERT_TRUE(slow_stop.running());
  auto stub = v1::JobService::NewStub(slow_stop.channel());
  const v1::Job job = Create(Request());
  // A GetJob held by a lock keeps the graceful stop waiting for it.
  JobsTableLock lock(database_->url());
  std::thread call([&] {
    v1::GetJobRequest request;
    request.set_id(job.id());
    v1::GetJobResponse response;
    stub->GetJob(Ctx(absl::Seconds(90)).get(), request, &response).IgnoreError();
  });
  ASSERT_TRUE(WaitFor([&] { return WaitingGetJobQueries() == "1"; }, absl::Seconds(30)));
  ASSERT_EQ(kill(slow_stop.pid(), SIGTERM), 0);
  ASSERT_TRUE(WaitFor([&] { return absl::StrContains(slow_stop.log(), "\"msg\":\"stopping\""); },
                      absl::Seconds(10)));
  const absl::Time second = absl::Now();
  ASSERT_EQ(kill(slow_stop.pid(), SIGTERM), 0);
  EXPECT_EQ(slow_stop.Stop(), 1);                      // not the graceful 0
  EXPECT_LT(absl::Now() - second, absl::Seconds(30));  // the grace is 60 s
  EXPECT_TRUE(absl::StrContains(slow_stop.log(), "second signal")) << slow_stop.log();
  lock.Release();
  call.join();
}

}  // namespace
}  // namespace jobd::testing
