// GET /metrics after a known sequence of calls: exact counts of RPCs, leases, attempts by
// outcome, fencing refusals, stops told to workers, lease expiries, jobs per queue and state
// (with workspaces and types past the label limit folded into "other"), open streams, and the
// process's figures; Prometheus' text format.
#include <map>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tests/e2e/worker_fixture.h"
#include "tests/support/http_client.h"

namespace jobd::testing {
namespace {

using Labels = std::map<std::string, std::string>;

// The value of the sample `name` with exactly `labels`; nullopt when there is none.
std::optional<double> Sample(const std::string& text, const std::string& name,
                             const Labels& labels = {}) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    absl::string_view series = line.substr(0, space);
    Labels found;
    absl::string_view series_name = series;
    if (const size_t brace = series.find('{'); brace != absl::string_view::npos) {
      series_name = series.substr(0, brace);
      absl::string_view inside = series.substr(brace + 1, series.size() - brace - 2);
      for (absl::string_view pair : absl::StrSplit(inside, "\",", absl::SkipEmpty())) {
        std::pair<std::string, std::string> kv = absl::StrSplit(pair, absl::MaxSplits("=\"", 1));
        found[kv.first] = std::string(absl::StripSuffix(kv.second, "\""));
      }
    }
    if (series_name != name || found != labels) continue;
    double value = 0;
    if (absl::SimpleAtod(line.substr(space + 1), &value)) return value;
  }
  return std::nullopt;
}

class MetricsTest : public WorkerTest {
 protected:
  std::vector<std::string> JobdArgs() override {
    std::vector<std::string> args = kFastLoops;
    for (const char* arg :
         {"--metrics_refresh_interval", "100ms", "--metrics_max_label_values", "2"}) {
      args.push_back(arg);
    }
    return args;
  }
  std::string Scrape() {
    HttpReply reply = HttpCall(jobd_->http_port(), "GET", "/metrics");
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.header("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    return reply.body;
  }
  v1::Job CreateIn(const std::string& workspace, const std::string& type) {
    v1::CreateJobRequest request;
    request.set_workspace_id(workspace);
    request.set_type(type);
    v1::CreateJobResponse response;
    EXPECT_TRUE(jobs_->CreateJob(Ctx().get(), request, &response).ok());
    return response.job();
  }
};

TEST_F(MetricsTest, ExactValuesAfterAKnownSequenceOfCalls) {
  // 7 creates: demo t ×4, demo u ×1, ws2 t ×1, ws3 v ×1.
  std::string queued_id;
  for (int i = 0; i < 4; ++i) queued_id = Create("t", /*max_attempts=*/1).id();
  Create("u", 1);
  CreateIn("ws2", "t");
  CreateIn("ws3", "v");
  v1::GetJobRequest unknown;
  unknown.set_id("00000000-0000-7000-8000-000000000000");
  v1::GetJobResponse got;
  EXPECT_EQ(jobs_->GetJob(Ctx().get(), unknown, &got).error_code(), grpc::StatusCode::NOT_FOUND);

  v1::AcquireJobsResponse leased;
  ASSERT_TRUE(Acquire(*workers_, "w", &leased, 3, 0, 30000, "t").ok());
  ASSERT_EQ(leased.jobs_size(), 3);
  ASSERT_TRUE(Complete(*workers_, leased.jobs(0), "w").ok());
  ASSERT_TRUE(Fail(*workers_, leased.jobs(1), "boom", /*retryable=*/false).ok());
  // A late completion of the failed attempt: fenced.
  EXPECT_EQ(Complete(*workers_, leased.jobs(1), "w").error_code(), grpc::StatusCode::ABORTED);
  // A cancel reaches the third job's worker on its next report.
  v1::CancelJobRequest cancel;
  cancel.set_id(leased.jobs(2).job().id());
  v1::CancelJobResponse cancelled;
  ASSERT_TRUE(jobs_->CancelJob(Ctx().get(), cancel, &cancelled).ok());
  v1::ReportProgressResponse reported;
  ASSERT_TRUE(Progress(*workers_, leased.jobs(2), 10, &reported).ok());
  EXPECT_TRUE(reported.cancelled());
  // A lost worker: a 1 s lease of the "u" job runs out; the reaper fails the attempt.
  v1::AcquireJobsResponse lost;
  ASSERT_TRUE(Acquire(*workers_, "gone", &lost, 1, 0, 1000, "u").ok());
  ASSERT_EQ(lost.jobs_size(), 1);
  const std::string lost_id = lost.jobs(0).job().id();
  ASSERT_TRUE(
      WaitFor([&] { return Get(lost_id).state() == v1::JOB_STATE_FAILED; }, absl::Seconds(10)));
  // One watch stream open (on a job that stays QUEUED: a finished job's stream ends).
  grpc::ClientContext watch_context;
  v1::WatchJobRequest watch;
  watch.set_id(queued_id);
  auto stream = jobs_->WatchJob(&watch_context, watch);
  v1::WatchJobResponse first;
  ASSERT_TRUE(stream->Read(&first));

  std::string text;
  // The job counts are read every 100 ms: wait for one taken after the last change.
  ASSERT_TRUE(WaitFor(
      [&] {
        text = Scrape();
        return Sample(text, "jobd_jobs",
                      {{"workspace", "demo"}, {"type", "u"}, {"state", "failed"}}) == 1.0;
      },
      absl::Seconds(10)))
      << text;
  EXPECT_EQ(Sample(text, "jobd_rpc_requests_total", {{"method", "CreateJob"}, {"code", "OK"}}), 7);
  EXPECT_EQ(Sample(text, "jobd_rpc_requests_total", {{"method", "GetJob"}, {"code", "NOT_FOUND"}}),
            1);
  EXPECT_EQ(
      Sample(text, "jobd_rpc_requests_total", {{"method", "CompleteJob"}, {"code", "ABORTED"}}), 1);
  EXPECT_EQ(Sample(text, "jobd_rpc_duration_seconds_count", {{"method", "CreateJob"}}), 7);
  EXPECT_EQ(Sample(text, "jobd_job_schedule_to_start_seconds_count", {{"type", "t"}}), 3);
  EXPECT_EQ(Sample(text, "jobd_job_schedule_to_start_seconds_count", {{"type", "u"}}), 1);
  EXPECT_EQ(Sample(text, "jobd_job_run_duration_seconds_count",
                   {{"type", "t"}, {"outcome", "succeeded"}}),
            1);
  EXPECT_EQ(
      Sample(text, "jobd_job_run_duration_seconds_count", {{"type", "t"}, {"outcome", "failed"}}),
      1);
  EXPECT_EQ(Sample(text, "jobd_job_run_duration_seconds_count",
                   {{"type", "u"}, {"outcome", "lease_expired"}}),
            1);
  EXPECT_EQ(Sample(text, "jobd_attempts_failed_total", {{"type", "t"}}), 1);
  EXPECT_EQ(Sample(text, "jobd_attempts_failed_total", {{"type", "u"}}), 1);
  EXPECT_EQ(Sample(text, "jobd_leases_expired_total", {{"type", "u"}}), 1);
  EXPECT_EQ(Sample(text, "jobd_fencing_refusals_total", {{"method", "CompleteJob"}}), 1);
  EXPECT_EQ(Sample(text, "jobd_stops_delivered_total", {{"kind", "cancel"}}), 1);
  EXPECT_EQ(Sample(text, "jobd_group_commit_batch_size_sum", {{"batcher", "create"}}), 7);
  // Jobs per queue: two workspaces and two types have labels of their own; ws3's "v" folds.
  EXPECT_EQ(Sample(text, "jobd_jobs", {{"workspace", "demo"}, {"type", "t"}, {"state", "queued"}}),
            1);
  EXPECT_EQ(
      Sample(text, "jobd_jobs", {{"workspace", "demo"}, {"type", "t"}, {"state", "succeeded"}}), 1);
  EXPECT_EQ(Sample(text, "jobd_jobs", {{"workspace", "demo"}, {"type", "t"}, {"state", "failed"}}),
            1);
  EXPECT_EQ(
      Sample(text, "jobd_jobs", {{"workspace", "demo"}, {"type", "t"}, {"state", "cancelled"}}), 1);
  EXPECT_EQ(Sample(text, "jobd_jobs", {{"workspace", "ws2"}, {"type", "t"}, {"state", "queued"}}),
            1);
  EXPECT_EQ(
      Sample(text, "jobd_jobs", {{"workspace", "other"}, {"type", "other"}, {"state", "queued"}}),
      1);
  EXPECT_TRUE(
      Sample(text, "jobd_queue_oldest_queued_age_seconds", {{"workspace", "demo"}, {"type", "t"}})
          .has_value());
  EXPECT_EQ(Sample(text, "jobd_open_streams", {{"kind", "watch"}}), 1);
  EXPECT_EQ(Sample(text, "jobd_open_streams", {{"kind", "long_poll"}}), 0);
  EXPECT_GT(Sample(text, "process_resident_memory_bytes").value_or(0), 1e6);
  EXPECT_GT(Sample(text, "process_open_fds").value_or(0), 3);
  EXPECT_TRUE(Sample(text, "jobd_db_pool_wait_seconds_count").has_value());
  watch_context.TryCancel();
}

}  // namespace
}  // namespace jobd::testing
