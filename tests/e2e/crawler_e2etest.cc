// A crawler on the C++ Worker: it saves a checkpoint after every page; paused half way, its
// handler stops within two heartbeats, and once resumed the same attempt carries on from the
// checkpoint, redoing no page whose checkpoint reached jobd.
#include <mutex>
#include <set>

#include "client/worker.h"
#include "tests/e2e/worker_fixture.h"

namespace jobd::testing {
namespace {

constexpr int kPages = 20;

class CrawlerTest : public WorkerTest {};

TEST_F(CrawlerTest, PausedMidWayAndResumedItRedoesNoSavedPage) {
  std::mutex mu;
  std::vector<std::pair<int, int>> crawled;  // (page, run of the handler)
  int runs = 0;
  std::atomic<bool> handler_stopped{false};
  std::atomic<int64_t> stopped_after_ms{-1};
  absl::Time paused_at;

  client::WorkerOptions options;
  options.client.address = jobd_->address();
  options.client.api_key = jobd_->admin_key();
  options.workspace_id = "demo";
  options.worker_id = "crawler";
  options.lease_duration = absl::Seconds(3);  // heartbeats every second
  options.poll_wait = absl::Seconds(2);
  client::Worker worker(grpc::CreateChannel(jobd_->address(), grpc::InsecureChannelCredentials()),
                        options);
  worker.Handle(
      "crawl",
      [&](const v1::Job&, client::JobContext& ctx) -> absl::StatusOr<google::protobuf::Struct> {
        int run;
        {
          std::lock_guard<std::mutex> lock(mu);
          run = ++runs;
        }
        const auto& start = ctx.starting_checkpoint().fields();
        int page =
            start.count("next_page") ? static_cast<int>(start.at("next_page").number_value()) : 0;
        for (; page < kPages; ++page) {
          if (ctx.Cancelled()) {
            if (ctx.Paused()) {
              stopped_after_ms = absl::ToInt64Milliseconds(absl::Now() - paused_at);
              handler_stopped = true;
            }
            return absl::AbortedError("paused");
          }
          absl::SleepFor(absl::Milliseconds(100));  // fetch the page
          {
            std::lock_guard<std::mutex> lock(mu);
            crawled.emplace_back(page, run);
          }
          google::protobuf::Struct checkpoint;
          (*checkpoint.mutable_fields())["next_page"].set_number_value(page + 1);
          ctx.SaveCheckpoint(std::move(checkpoint));
          ctx.Progress(100.0f * (page + 1) / kPages, "page " + std::to_string(page + 1));
        }
        google::protobuf::Struct result;
        (*result.mutable_fields())["pages"].set_number_value(kPages);
        return result;
      });
  const v1::Job job = Create("crawl", /*max_attempts=*/1);
  ASSERT_TRUE(worker.Start().ok());
  ASSERT_TRUE(WaitFor(
      [&] {
        std::lock_guard<std::mutex> lock(mu);
        return crawled.size() >= 8;
      },
      absl::Seconds(20)));
  v1::PauseJobRequest pause;
  pause.set_id(job.id());
  v1::PauseJobResponse paused;
  paused_at = absl::Now();
  ASSERT_TRUE(jobs_->PauseJob(Ctx().get(), pause, &paused).ok());
  ASSERT_TRUE(WaitFor([&] { return handler_stopped.load(); }, absl::Seconds(10)));
  // Within two heartbeats (lease 3 s: one a second), plus the page in hand.
  EXPECT_LT(stopped_after_ms.load(), 2000 + 100);
  int crawled_before;
  {
    std::lock_guard<std::mutex> lock(mu);
    crawled_before = static_cast<int>(crawled.size());
  }
  // The handler's last checkpoint reaches jobd with the Worker's final report, sent once the
  // handler has returned: every page fetched before the pause is saved.
  auto saved_page = [&](const v1::Job& j) {
    auto field = j.checkpoint().fields().find("next_page");
    return field == j.checkpoint().fields().end() ? -1
                                                  : static_cast<int>(field->second.number_value());
  };
  EXPECT_TRUE(
      WaitFor([&] { return saved_page(Get(job.id())) == crawled_before; }, absl::Seconds(10)));
  const v1::Job at_pause = Get(job.id());
  EXPECT_EQ(at_pause.state(), v1::JOB_STATE_PAUSED);
  const int saved = saved_page(at_pause);
  EXPECT_EQ(saved, crawled_before);

  v1::ResumeJobRequest resume;
  resume.set_id(job.id());
  v1::ResumeJobResponse resumed;
  ASSERT_TRUE(jobs_->ResumeJob(Ctx().get(), resume, &resumed).ok());
  ASSERT_TRUE(
      WaitFor([&] { return Get(job.id()).state() == v1::JOB_STATE_SUCCEEDED; }, absl::Seconds(30)));
  worker.Stop();
  const v1::Job done = Get(job.id());
  EXPECT_EQ(done.attempt(), 1);  // the pause used no attempt
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(runs, 2);
  std::map<int, int> times;
  for (const auto& [page, run] : crawled) ++times[page];
  for (int page = 0; page < kPages; ++page) EXPECT_EQ(times[page], 1) << page;
  // The resumed run started exactly at the checkpoint.
  auto first_resumed = std::find_if(crawled.begin(), crawled.end(),
                                    [](const std::pair<int, int>& c) { return c.second == 2; });
  ASSERT_NE(first_resumed, crawled.end());
  EXPECT_EQ(first_resumed->first, saved);
  std::cerr << "crawler: paused after " << crawled_before << " pages, checkpoint at " << saved
            << ", handler stopped " << stopped_after_ms.load() << " ms after the pause, "
            << crawled.size() << " page fetches for " << kPages << " pages\n";
}

}  // namespace
}  // namespace jobd::testing
