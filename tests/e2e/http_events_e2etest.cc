// Server-sent events end to end: a job stream's exact events and its end after the terminal
// event; clients that drop and resume with Last-Event-ID at random points while a worker
// reports (every client's concatenated stream is exactly 1..N); a revoked key's stream; the
// workspace stream; the heartbeat comment.
#include <atomic>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "tests/e2e/jobd_fixture.h"
#include "tests/support/http_client.h"

namespace jobd::testing {
namespace {

using nlohmann::json;

class HttpEventsTest : public JobdTest {
 protected:
  void SetUp() override {
    JobdTest::SetUp();
    port_ = jobd_->http_port();
    ASSERT_GT(port_, 0);
  }
  std::vector<std::string> JobdArgs() override { return {"--http_sse_heartbeat", "300ms"}; }

  std::string CreateJob(const std::string& workspace) {
    HttpReply reply = HttpCall(port_, "POST", "/v1/workspaces/" + workspace + "/jobs",
                               R"({"type":"t"})", Bearer(jobd_->admin_key()));
    EXPECT_EQ(reply.status, 200) << reply.body;
    return json::parse(reply.body)["job"]["id"];
  }

  // Leases the workspace's next job of type t over gRPC; returns its lease token.
  std::string Lease(const std::string& workspace) {
    v1::AcquireJobsRequest request;
    request.set_workspace_id(workspace);
    request.add_types("t");
    request.set_worker_id("w");
    request.set_max_jobs(1);
    v1::AcquireJobsResponse response;
    EXPECT_TRUE(workers_->AcquireJobs(Ctx().get(), request, &response).ok());
    return response.jobs_size() == 1 ? response.jobs(0).lease_token() : "";
  }

  void Report(const std::string& id, const std::string& token, float percent) {
    v1::ReportProgressRequest request;
    request.set_job_id(id);
    request.set_lease_token(token);
    request.set_progress_percent(percent);
    v1::ReportProgressResponse response;
    EXPECT_TRUE(workers_->ReportProgress(Ctx().get(), request, &response).ok());
  }

  void Complete(const std::string& id, const std::string& token) {
    v1::CompleteJobRequest request;
    request.set_job_id(id);
    request.set_lease_token(token);
    v1::CompleteJobResponse response;
    EXPECT_TRUE(workers_->CompleteJob(Ctx().get(), request, &response).ok());
  }

  // The next event that is not a heartbeat comment.
  static std::optional<SseEvent> NextEvent(SseReader& reader) {
    for (;;) {
      std::optional<SseEvent> event = reader.Next();
      if (!event || !event->comment) return event;
    }
  }

  int port_ = 0;
};

TEST_F(HttpEventsTest, JobStreamSendsEveryEventThenEnds) {
  const std::string id = CreateJob("ws1");
  SseReader reader(port_, "/v1/jobs/" + id + ":watch", Bearer(jobd_->admin_key()));
  ASSERT_EQ(reader.status(), 200) << reader.error_body();
  EXPECT_EQ(reader.header("content-type"), "text/event-stream");
  EXPECT_EQ(reader.header("x-content-type-options"), "nosniff");
  std::optional<SseEvent> snapshot = NextEvent(reader);
  ASSERT_TRUE(snapshot);
  EXPECT_EQ(snapshot->event, "snapshot");
  EXPECT_EQ(snapshot->id, "1");
  EXPECT_EQ(json::parse(snapshot->data)["job"]["state"], "JOB_STATE_QUEUED");

  const std::string token = Lease("ws1");
  Report(id, token, 40);
  Complete(id, token);
  std::vector<std::string> seen;
  while (std::optional<SseEvent> event = NextEvent(reader)) {
    seen.push_back(absl::StrCat(event->id, " ", event->event));
    EXPECT_EQ(json::parse(event->data)["sequence"], event->id);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"2 state_changed", "3 progress", "4 state_changed"}));
  EXPECT_TRUE(reader.ended());  // the stream ends after the terminal event
}

TEST_F(HttpEventsTest, ResumingClientsSeeEachSequenceExactlyOnce) {
  const std::string id = CreateJob("ws1");
  const std::string token = Lease("ws1");
  constexpr int kReports = 150;
  std::thread worker([&] {
    for (int i = 1; i <= kReports; ++i) Report(id, token, static_cast<float>(i) * 100 / kReports);
    Complete(id, token);
  });
  // Each client reads a random number of events, drops the connection, and resumes with
  // Last-Event-ID (the first time with ?after_sequence=0: the whole history).
  constexpr int kClients = 4;
  std::vector<std::vector<int64_t>> streams(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      std::mt19937 random(1234 + c);
      std::string last;
      for (int round = 0; round < 100; ++round) {
        Headers headers = Bearer(jobd_->admin_key());
        std::string target = "/v1/jobs/" + id + ":watch";
        if (last.empty()) {
          target += "?after_sequence=0";
        } else {
          headers.emplace_back("Last-Event-ID", last);
        }
        SseReader reader(port_, target, headers);
        if (reader.status() != 200) {
          ADD_FAILURE() << "status " << reader.status() << ": " << reader.error_body();
          return;
        }
        const int take = 1 + static_cast<int>(random() % 25);
        for (int i = 0; i < take; ++i) {
          std::optional<SseEvent> event = NextEvent(reader);
          if (!event) return;  // ended after the terminal event
          int64_t sequence = 0;
          ASSERT_TRUE(absl::SimpleAtoi(event->id, &sequence)) << event->id;
          streams[c].push_back(sequence);
          last = event->id;
        }
        reader.Close();
      }
    });
  }
  worker.join();
  for (std::thread& client : clients) client.join();
  // created, running, kReports progress events, succeeded.
  const int64_t last_sequence = kReports + 3;
  for (int c = 0; c < kClients; ++c) {
    std::vector<int64_t> expected;
    for (int64_t s = 1; s <= last_sequence; ++s) expected.push_back(s);
    EXPECT_EQ(streams[c], expected) << "client " << c;
  }
}

TEST_F(HttpEventsTest, RevokedKeyEndsItsStreamAndUnknownJobsAre404) {
  const std::string member = CreateApiKey(database_->url(), "member", "m", {"--workspace", "ws1"});
  ASSERT_TRUE(WaitFor(  // made in the database: jobd learns it within its refresh interval
      [&] {
        return HttpCall(port_, "GET", "/v1/workspaces/ws1/stats", "", Bearer(member)).status == 200;
      },
      absl::Seconds(10)));
  const std::string id = CreateJob("ws1");
  SseReader missing(port_, "/v1/jobs/00000000-0000-4000-8000-000000000000:watch", Bearer(member));
  EXPECT_EQ(missing.status(), 404);
  EXPECT_EQ(json::parse(missing.error_body())["code"], 5);
  SseReader unauthenticated(port_, "/v1/jobs/" + id + ":watch", {});
  EXPECT_EQ(unauthenticated.status(), 401);

  SseReader reader(port_, "/v1/jobs/" + id + ":watch", Bearer(member));
  ASSERT_EQ(reader.status(), 200) << reader.error_body();
  ASSERT_TRUE(NextEvent(reader));  // the snapshot
  HttpReply keys =
      HttpCall(port_, "GET", "/v1/keys?workspace_id=ws1", "", Bearer(jobd_->admin_key()));
  ASSERT_EQ(keys.status, 200);
  const std::string key_id = json::parse(keys.body)["apiKeys"][0]["id"];
  ASSERT_EQ(
      HttpCall(port_, "POST", "/v1/keys/" + key_id + ":revoke", "", Bearer(jobd_->admin_key()))
          .status,
      200);
  std::optional<SseEvent> error = NextEvent(reader);
  ASSERT_TRUE(error);
  EXPECT_EQ(error->event, "error");
  EXPECT_EQ(json::parse(error->data)["code"], 16);
  EXPECT_FALSE(NextEvent(reader));
  EXPECT_TRUE(reader.ended());
}

TEST_F(HttpEventsTest, WorkspaceStreamAndHeartbeat) {
  SseReader reader(port_, "/v1/workspaces/ws1/jobs:watch?state=QUEUED&type=t",
                   Bearer(jobd_->admin_key()));
  ASSERT_EQ(reader.status(), 200) << reader.error_body();
  // Quiet: the heartbeat comment comes (--http_sse_heartbeat 300ms).
  std::optional<SseEvent> comment = reader.Next(absl::Seconds(10));
  ASSERT_TRUE(comment);
  EXPECT_TRUE(comment->comment);
  EXPECT_EQ(comment->data, " keep-alive");
  const std::string id = CreateJob("ws1");
  std::optional<SseEvent> created = NextEvent(reader);
  ASSERT_TRUE(created);
  EXPECT_EQ(created->event, "created");
  EXPECT_EQ(created->id, "");  // workspace streams carry no resume point
  EXPECT_EQ(json::parse(created->data)["jobId"], id);
}

}  // namespace
}  // namespace jobd::testing
