// A WatchJobs stream's memory does not grow with the jobs its filter drops: 500 streams
// whose filters match nothing watch a workspace where 100,000 jobs are made (and stay
// unfinished), and jobd's resident memory stays under a stated bound. Labelled `rss`: the
// sanitizer builds, whose memory means nothing here, leave it out.
#include <atomic>
#include <fstream>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/e2e/jobd_fixture.h"

namespace jobd::testing {
namespace {

class WatchMemoryTest : public JobdTest {
 protected:
  std::vector<std::string> JobdArgs() override { return {"--max_streams_per_key", "1000"}; }
};

TEST_F(WatchMemoryTest, FiveHundredFilteredStreamsOverOneHundredThousandJobsStayWithinBound) {
  constexpr int kStreams = 500;
  constexpr int kJobs = 100000;
  constexpr int kCreators = 8;
  // The bound: what remembering each job once per stream would cost is 500 x 100,000 x
  // ~150 bytes = 7.5 GB; a stream that remembers nothing of them grows by its buffers only.
  constexpr int64_t kMaxGrowthKiB = 96 * 1024;

  // Half the streams filter by a type never made, half by a state no job reaches.
  // Spread over 10 connections: one carries at most 100 calls at once (a jobd bound).
  std::vector<std::unique_ptr<v1::JobService::Stub>> stubs;
  for (int i = 0; i < 10; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    stubs.push_back(
        v1::JobService::NewStub(KeyedChannel(jobd_->address(), jobd_->admin_key(), args)));
  }
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReader<v1::WatchJobsResponse>>> streams;
  for (int i = 0; i < kStreams; ++i) {
    contexts.push_back(Ctx(absl::Minutes(10)));
    v1::WatchJobsRequest request;
    request.set_workspace_id("demo");
    if (i % 2 == 0) {
      request.add_types("never-made");
    } else {
      request.add_states(v1::JOB_STATE_CANCELLED);
    }
    streams.push_back(stubs[i % stubs.size()]->WatchJobs(contexts.back().get(), request));
  }
  // A job of the watched type, cancelled: every stream shows it (CREATED on the type-filtered
  // ones, then CANCELLED; CANCELLED on the others). Returns its id ("" on failure).
  auto watched_job = [&]() -> std::string {
    v1::CreateJobRequest create;
    create.set_workspace_id("demo");
    create.set_type("never-made");
    v1::CreateJobResponse created;
    if (!jobs_->CreateJob(Ctx().get(), create, &created).ok()) return "";
    v1::CancelJobRequest cancel;
    cancel.set_id(created.job().id());
    v1::CancelJobResponse cancelled;
    if (!jobs_->CancelJob(Ctx().get(), cancel, &cancelled).ok()) return "";
    return created.job().id();
  };
  // Every stream subscribed once it has seen the first one.
  {
    ASSERT_NE(watched_job(), "");
    for (auto& stream : streams) {
      v1::WatchJobsResponse event;
      ASSERT_TRUE(stream->Read(&event));
    }
  }
  const pid_t pid = jobd_->pid();
  const int64_t before = ResidentKiB(pid);
  ASSERT_GT(before, 0);

  std::atomic<int> next{0}, failed{0};
  std::atomic<int64_t> peak{before};
  std::atomic<bool> creating{true};
  std::thread sampler([&] {
    while (creating.load()) {
      const int64_t now = ResidentKiB(pid);
      if (now > peak.load()) peak.store(now);
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  std::vector<std::thread> creators;
  for (int c = 0; c < kCreators; ++c) {
    creators.emplace_back([&] {
      v1::CreateJobRequest create;
      create.set_workspace_id("demo");
      create.set_type("work");
      (*create.mutable_payload()->mutable_fields())["n"].set_number_value(1);
      while (next.fetch_add(1) < kJobs) {
        v1::CreateJobResponse created;
        if (!jobs_->CreateJob(Ctx().get(), create, &created).ok()) ++failed;
      }
    });
  }
  for (std::thread& thread : creators) thread.join();
  // The last creates have reached every stream once one more watched event has.
  {
    const std::string last = watched_job();
    ASSERT_NE(last, "");
    for (auto& stream : streams) {
      v1::WatchJobsResponse event;
      do {
        ASSERT_TRUE(stream->Read(&event));
      } while (event.event().job_id() != last ||
               event.event().job().state() != v1::JOB_STATE_CANCELLED);
    }
  }
  creating = false;
  sampler.join();
  const int64_t after = ResidentKiB(pid);
  std::cerr << "jobd VmRSS " << before / 1024 << " MiB before, peak " << peak.load() / 1024
            << " MiB, " << after / 1024 << " MiB after " << kJobs << " creates under " << kStreams
            << " filtered WatchJobs streams\n";
  EXPECT_EQ(failed.load(), 0);
  EXPECT_LT(peak.load() - before, kMaxGrowthKiB);
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE state = 'queued'"), std::to_string(kJobs));
  for (auto& context : contexts) context->TryCancel();
  for (auto& stream : streams) stream->Finish();
}

}  // namespace
}  // namespace jobd::testing
