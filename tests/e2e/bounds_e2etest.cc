// What one caller may hold of a jobd: ListJobs pages cut by bytes, watch streams and long
// polls per API key, the unfinished jobs one WatchJobs stream remembers. Each limit holds
// exactly at its value and refuses with its RESOURCE_EXHAUSTED message.
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/e2e/jobd_fixture.h"
#include "tests/support/http_client.h"

namespace jobd::testing {
namespace {

v1::Job CreateDemoJob(v1::JobService::Stub& jobs, const std::string& type,
                      const std::string& blob = "") {
  v1::CreateJobRequest request;
  request.set_workspace_id("demo");
  request.set_type(type);
  if (!blob.empty()) (*request.mutable_payload()->mutable_fields())["blob"].set_string_value(blob);
  v1::CreateJobResponse response;
  grpc::Status status = jobs.CreateJob(Ctx().get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response.job();
}

v1::ListJobsResponse ListPage(v1::JobService::Stub& jobs, const std::string& token,
                              v1::JobView view, int32_t page_size = 500) {
  v1::ListJobsRequest request;
  request.set_workspace_id("demo");
  request.set_page_size(page_size);
  request.set_page_token(token);
  request.set_view(view);
  v1::ListJobsResponse response;
  grpc::Status status = jobs.ListJobs(Ctx(absl::Seconds(30)).get(), request, &response);
  EXPECT_TRUE(status.ok()) << status.error_message();
  return response;
}

using BoundsTest = JobdTest;

TEST_F(BoundsTest, ListJobsPagesEndBeforeTheirBodiesPassTheBudgetAndTheBasicViewLeavesThemOut) {
  // 500 jobs of ~250 KB payloads: 125 MB in one 500-job page without the byte budget.
  constexpr int kJobs = 500;
  const std::string blob(250000, 'x');
  // One job through the API, 499 copies of it by SQL (the test is of ListJobs, not creates).
  CreateDemoJob(*jobs_, "big", blob);
  // LATERAL: `(f(...)).*` would call f once per column.
  Sql("INSERT INTO jobs SELECT copy.* FROM (SELECT to_jsonb(one) AS row FROM jobs AS one) AS src "
      "CROSS JOIN (SELECT gen_random_uuid() AS id FROM generate_series(2, " +
      std::to_string(kJobs) +
      ")) AS fresh CROSS JOIN LATERAL jsonb_populate_record(NULL::jobs, src.row || "
      "jsonb_build_object('id', fresh.id, 'idempotency_key', NULL)) AS copy");
  std::set<std::string> created;
  {
    pqxx::connection conn(database_->url());
    pqxx::nontransaction tx(conn);
    for (const auto& row : tx.exec("SELECT id FROM jobs")) created.insert(row[0].c_str());
  }
  ASSERT_EQ(created.size(), static_cast<size_t>(kJobs));
  // The payload as stored, the bytes the budget counts (the default, 1 MiB).
  const int64_t payload_bytes =
      std::stoll(Sql("SELECT octet_length(payload::text) FROM jobs LIMIT 1"));
  const size_t per_page = static_cast<size_t>((1 << 20) / payload_bytes);
  ASSERT_EQ(per_page, 4u);

  std::set<std::string> listed;
  std::string token;
  int pages = 0;
  do {
    // The first page asks for all 500; the rest for 8 (a token is good for any page size):
    // each page reads the sizes of all the jobs it may hold, 500 x 125 pages would be slow.
    const v1::ListJobsResponse page =
        ListPage(*jobs_, token, v1::JOB_VIEW_UNSPECIFIED, pages == 0 ? 500 : 8);
    ASSERT_FALSE(page.jobs().empty());
    ++pages;
    token = page.next_page_token();
    if (!token.empty()) {
      ASSERT_EQ(static_cast<size_t>(page.jobs_size()), per_page);
    }
    for (const v1::Job& job : page.jobs()) {
      EXPECT_EQ(job.payload().fields().at("blob").string_value().size(), blob.size());
      EXPECT_TRUE(listed.insert(job.id()).second) << "listed twice: " << job.id();
    }
  } while (!token.empty() && pages <= kJobs);
  EXPECT_EQ(listed, created);
  EXPECT_EQ(pages, kJobs / 4);

  const v1::ListJobsResponse basic = ListPage(*jobs_, "", v1::JOB_VIEW_BASIC);
  EXPECT_EQ(basic.jobs_size(), kJobs);
  EXPECT_EQ(basic.next_page_token(), "");
  for (const v1::Job& job : basic.jobs()) {
    EXPECT_FALSE(job.has_payload());
    EXPECT_EQ(job.type(), "big");
  }
  // The same over HTTP: ?view=BASIC.
  HttpReply reply =
      HttpCall(jobd_->http_port(), "GET", "/v1/workspaces/demo/jobs?page_size=2&view=BASIC", "",
               Bearer(jobd_->admin_key()));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.body.find("\"payload\""), std::string::npos);
}

class StreamLimitTest : public JobdTest {
 protected:
  std::vector<std::string> JobdArgs() override { return {"--max_streams_per_key", "3"}; }

  struct Stream {
    std::unique_ptr<grpc::ClientContext> context;
    std::unique_ptr<grpc::ClientReader<v1::WatchJobResponse>> reader;
  };
  // A WatchJob stream; true when its SNAPSHOT came (it is open), false when it ended.
  bool Open(const std::string& id, Stream* stream, grpc::Status* ended) {
    stream->context = Ctx(absl::Seconds(60));
    v1::WatchJobRequest request;
    request.set_id(id);
    stream->reader = jobs_->WatchJob(stream->context.get(), request);
    v1::WatchJobResponse first;
    if (stream->reader->Read(&first)) return true;
    *ended = stream->reader->Finish();
    return false;
  }
};

TEST_F(StreamLimitTest, AKeyOpensExactlyItsStreamsOnGrpcAndHttpTogether) {
  const std::string id = CreateDemoJob(*jobs_, "t").id();
  std::vector<Stream> open(3);
  grpc::Status ended;
  for (Stream& stream : open) ASSERT_TRUE(Open(id, &stream, &ended)) << ended.error_message();

  Stream fourth;
  ASSERT_FALSE(Open(id, &fourth, &ended));
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ended.error_message(),
            "quota: API key \"test-admin\" may have 3 watch streams open on one jobd "
            "(--max_streams_per_key); end one first");
  HttpReply http = HttpCall(jobd_->http_port(), "GET", "/v1/workspaces/demo/jobs:watch", "",
                            Bearer(jobd_->admin_key()));
  EXPECT_EQ(http.status, 429) << http.body;
  EXPECT_NE(http.body.find("--max_streams_per_key"), std::string::npos) << http.body;

  // Ending one makes room for exactly one.
  open[0].context->TryCancel();
  open[0].reader->Finish();
  EXPECT_TRUE(WaitFor([&] { return Open(id, &fourth, &ended); }, absl::Seconds(10)))
      << ended.error_message();
  Stream fifth;
  ASSERT_FALSE(Open(id, &fifth, &ended));
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  for (Stream* stream : {&open[1], &open[2], &fourth}) {
    stream->context->TryCancel();
    stream->reader->Finish();
  }
}

class LongPollLimitTest : public JobdTest {
 protected:
  std::vector<std::string> JobdArgs() override { return {"--max_long_polls_per_key", "2"}; }

  grpc::Status Acquire(grpc::ClientContext* context, absl::Duration wait) {
    v1::AcquireJobsRequest request;
    request.set_workspace_id("demo");
    request.add_types("never-made");
    request.set_worker_id("w");
    request.set_max_jobs(1);
    *request.mutable_wait() = Millis(absl::ToInt64Milliseconds(wait));
    v1::AcquireJobsResponse response;
    return workers_->AcquireJobs(context, request, &response);
  }
};

TEST_F(LongPollLimitTest, AKeyWaitsInExactlyItsLongPolls) {
  // Two long polls that wait until cancelled; refused while the probe below holds a place,
  // they try again.
  std::mutex mu;
  bool stopping = false;
  std::vector<std::shared_ptr<grpc::ClientContext>> current(2);
  std::vector<grpc::Status> results(2);
  std::vector<std::thread> waiting;
  for (int i = 0; i < 2; ++i) {
    waiting.emplace_back([&, i] {
      for (;;) {
        auto context = std::shared_ptr<grpc::ClientContext>(Ctx(absl::Seconds(60)));
        {
          std::lock_guard<std::mutex> lock(mu);
          if (stopping) return;
          current[i] = context;
        }
        results[i] = Acquire(context.get(), absl::Seconds(50));
        if (results[i].error_code() != grpc::StatusCode::RESOURCE_EXHAUSTED) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    });
  }
  grpc::Status third;
  // Once both wait, a third long poll is refused (until then it may be let in and time out).
  EXPECT_TRUE(WaitFor(
      [&] {
        third = Acquire(Ctx().get(), absl::Milliseconds(200));
        return third.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED;
      },
      absl::Seconds(15)));
  EXPECT_EQ(third.error_message(),
            "quota: API key \"test-admin\" may have 2 AcquireJobs calls waiting on one jobd "
            "(--max_long_polls_per_key)");
  // A poll without a wait holds nothing and is not counted.
  EXPECT_TRUE(Acquire(Ctx().get(), absl::ZeroDuration()).ok());

  {
    std::lock_guard<std::mutex> lock(mu);
    stopping = true;
    for (auto& context : current) {
      if (context) context->TryCancel();
    }
  }
  for (std::thread& thread : waiting) thread.join();
  for (const grpc::Status& status : results) {
    EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED) << status.error_message();
  }
  EXPECT_TRUE(WaitFor([&] { return Acquire(Ctx().get(), absl::Milliseconds(100)).ok(); },
                      absl::Seconds(10)));
}

class WatchMaxJobsTest : public JobdTest {
 protected:
  std::vector<std::string> JobdArgs() override { return {"--watch_max_jobs", "5"}; }
};

TEST_F(WatchMaxJobsTest, AStreamRemembersExactlyItsUnfinishedJobsAndFilteredOnesCostNothing) {
  auto open = [&](const std::string& type, std::unique_ptr<grpc::ClientContext>* context) {
    *context = Ctx(absl::Seconds(60));
    v1::WatchJobsRequest request;
    request.set_workspace_id("demo");
    if (!type.empty()) request.add_types(type);
    return jobs_->WatchJobs(context->get(), request);
  };
  std::unique_ptr<grpc::ClientContext> all_context, other_context;
  auto all = open("", &all_context);
  auto other = open("other", &other_context);
  // Both subscribed once each has seen an event.
  CreateDemoJob(*jobs_, "other");
  v1::WatchJobsResponse event;
  ASSERT_TRUE(all->Read(&event));
  ASSERT_TRUE(other->Read(&event));

  for (int i = 0; i < 4; ++i) CreateDemoJob(*jobs_, "t");  // 5 unfinished jobs shown
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(all->Read(&event));
    EXPECT_EQ(event.event().kind(), v1::JOB_EVENT_KIND_CREATED);
  }
  for (int i = 0; i < 20; ++i) CreateDemoJob(*jobs_, "t");  // past the limit
  EXPECT_FALSE(all->Read(&event));
  grpc::Status status = all->Finish();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(status.error_message(),
            "the stream follows 5 unfinished jobs, its limit (--watch_max_jobs); narrow it with "
            "states or types");

  // The filtered stream remembers one job (the first), not the 24 it never showed.
  const std::string id = CreateDemoJob(*jobs_, "other").id();
  ASSERT_TRUE(other->Read(&event));
  EXPECT_EQ(event.event().job_id(), id);
  other_context->TryCancel();
  other->Finish();
}

class HistoryLimitTest : public JobdTest {
 protected:
  std::vector<std::string> JobdArgs() override {
    return {"--max_progress_events_per_attempt", "3", "--max_messages_per_job", "4"};
  }

  void Report(const v1::LeasedJob& leased, float percent, int messages) {
    v1::ReportProgressRequest request;
    request.set_job_id(leased.job().id());
    request.set_lease_token(leased.lease_token());
    request.set_progress_percent(percent);
    for (int i = 0; i < messages; ++i) {
      v1::JobMessage* message = request.add_messages();
      message->set_level(v1::MESSAGE_LEVEL_INFO);
      message->set_text(absl::StrCat("m", i));
    }
    v1::ReportProgressResponse response;
    grpc::Status status = workers_->ReportProgress(Ctx().get(), request, &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
  }

  std::vector<v1::JobEvent> History(const std::string& id) {
    v1::ListJobEventsRequest request;
    request.set_id(id);
    request.set_page_size(500);
    v1::ListJobEventsResponse response;
    EXPECT_TRUE(jobs_->ListJobEvents(Ctx().get(), request, &response).ok());
    return {response.events().begin(), response.events().end()};
  }
};

// Past 3 progress events an attempt keeps the latest of each run (with what it folds); past 4
// messages a job keeps one notice. A live watcher sees every event; a late one, what is kept.
TEST_F(HistoryLimitTest, ProgressFoldsIntoTheLatestAndMessagesEndWithANotice) {
  const std::string id = CreateDemoJob(*jobs_, "t").id();
  v1::AcquireJobsRequest acquire;
  acquire.set_workspace_id("demo");
  acquire.add_types("t");
  acquire.set_worker_id("w");
  acquire.set_max_jobs(1);
  v1::AcquireJobsResponse acquired;
  ASSERT_TRUE(workers_->AcquireJobs(Ctx().get(), acquire, &acquired).ok());
  ASSERT_EQ(acquired.jobs_size(), 1);
  const v1::LeasedJob leased = acquired.jobs(0);

  auto live_context = Ctx(absl::Seconds(60));
  v1::WatchJobRequest watch;
  watch.set_id(id);
  auto live = jobs_->WatchJob(live_context.get(), watch);
  v1::WatchJobResponse snapshot;
  ASSERT_TRUE(live->Read(&snapshot));  // subscribed, at sequence 2 (RUNNING)

  for (int p = 1; p <= 10; ++p) Report(leased, static_cast<float>(p), 0);  // 3..12
  Report(leased, 10, 6);  // 4 messages and the notice: 13..17
  Report(leased, 11, 0);  // 18: a message came between, so a new run
  Report(leased, 12, 0);  // 19 folds 18
  Report(leased, 12, 2);  // dropped
  v1::CompleteJobRequest complete;
  complete.set_job_id(id);
  complete.set_lease_token(leased.lease_token());
  v1::CompleteJobResponse completed;
  ASSERT_TRUE(workers_->CompleteJob(Ctx().get(), complete, &completed).ok());  // 20

  std::vector<int64_t> seen;
  v1::WatchJobResponse event;
  while (live->Read(&event)) seen.push_back(event.event().sequence());
  EXPECT_TRUE(live->Finish().ok());
  std::vector<int64_t> all;
  for (int64_t s = 3; s <= 20; ++s) all.push_back(s);
  EXPECT_EQ(seen, all);

  const std::vector<v1::JobEvent> history = History(id);
  std::vector<int64_t> kept;
  for (const v1::JobEvent& e : history) kept.push_back(e.sequence());
  EXPECT_EQ(kept, (std::vector<int64_t>{1, 2, 3, 4, 5, 12, 13, 14, 15, 16, 17, 19, 20}));
  ASSERT_EQ(history.size(), 13u);
  EXPECT_EQ(history[5].folded_progress_events(), 6);  // 6..11
  EXPECT_EQ(history[5].job().progress_percent(), 10);
  EXPECT_EQ(history[11].folded_progress_events(), 1);  // 18
  EXPECT_EQ(history[11].job().progress_percent(), 12);
  EXPECT_EQ(history[10].message().level(), v1::MESSAGE_LEVEL_WARNING);
  EXPECT_EQ(history[10].message().text(),
            "this job has 4 messages, its limit (--max_messages_per_job): later ones are dropped");

  // A watcher from the start gets what is kept, in order, and no gap.
  watch.set_after_sequence(0);
  auto late_context = Ctx(absl::Seconds(30));
  auto late = jobs_->WatchJob(late_context.get(), watch);
  std::vector<int64_t> replayed;
  while (late->Read(&event)) {
    EXPECT_NE(event.event().kind(), v1::JOB_EVENT_KIND_SNAPSHOT) << event.event().sequence();
    replayed.push_back(event.event().sequence());
  }
  EXPECT_TRUE(late->Finish().ok());
  EXPECT_EQ(replayed, kept);
}

}  // namespace
}  // namespace jobd::testing
