// The Worker against a fake WorkerService on an in-process channel. Checkpoints: the handler
// reads the one its attempt starts from; one it saves goes with the next report, is kept over a
// failed report, dropped alone when refused, and reaches the server before the attempt's FailJob.
// A report answered `paused` stops the handler as a cancel does (Paused() tells them apart), and
// the attempt is not reported.
#include "client/worker.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/synchronization/mutex.h"
#include "tests/unit/fake_worker_service.h"

namespace jobd::client::testing {
namespace {

using Call = FakeWorkerService::Call;
using CheckpointWorker = WorkerOnFake;

// Index of the first `method` call, or -1.
int IndexOf(const std::vector<Call>& calls, const std::string& method) {
  for (size_t i = 0; i < calls.size(); ++i) {
    if (calls[i].method == method) return static_cast<int>(i);
  }
  return -1;
}

// The checkpoints the reports carried, in order (reports without one left out).
std::vector<google::protobuf::Struct> SentCheckpoints(const std::vector<Call>& calls) {
  std::vector<google::protobuf::Struct> out;
  for (const Call& c : calls) {
    if (c.method == "ReportProgress" && c.report.has_checkpoint())
      out.push_back(c.report.checkpoint());
  }
  return out;
}

TEST_F(CheckpointWorker, TheHandlerSeesTheCheckpointItsAttemptStartsFrom) {
  v1::LeasedJob resumed = Leased("j1", /*attempt=*/2);
  *resumed.mutable_job()->mutable_checkpoint() = NumberStruct("page", 3);
  fake_.Offer(resumed);
  fake_.Offer(Leased("j2"));

  absl::Mutex mu;
  std::vector<std::pair<bool, google::protobuf::Struct>> seen;  // has_checkpoint, the struct
  StartWorker([&](const v1::Job& job, JobContext& ctx) -> absl::StatusOr<google::protobuf::Struct> {
    absl::MutexLock lock(&mu);
    seen.emplace_back(job.has_checkpoint(), ctx.starting_checkpoint());
    // Saving does not change where this attempt started.
    ctx.SaveCheckpoint(NumberStruct("page", 99));
    EXPECT_TRUE(SameStruct(ctx.starting_checkpoint(), job.checkpoint()));
    return google::protobuf::Struct();
  });
  CallsUntilEnd("j1");
  CallsUntilEnd("j2");

  absl::MutexLock lock(&mu);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_TRUE(seen[0].first);
  EXPECT_TRUE(SameStruct(seen[0].second, NumberStruct("page", 3)));
  EXPECT_FALSE(seen[1].first);
  EXPECT_TRUE(SameStruct(seen[1].second, google::protobuf::Struct()));
}

TEST_F(CheckpointWorker, ACheckpointSavedBeforeAFailureReachesTheServerBeforeFailJob) {
  fake_.Offer(Leased("j1"));
  StartWorker([](const v1::Job&, JobContext& ctx) -> absl::StatusOr<google::protobuf::Struct> {
    ctx.SaveCheckpoint(NumberStruct("page", 3));
    return absl::UnavailableError("the source went away");
  });
  const std::vector<Call> calls = CallsUntilEnd("j1");

  const int fail = IndexOf(calls, "FailJob");
  ASSERT_GE(fail, 1);
  EXPECT_EQ(calls[fail].fail.error_message(), "the source went away");
  EXPECT_TRUE(calls[fail].fail.retryable());
  const std::vector<Call> before(calls.begin(), calls.begin() + fail);
  const std::vector<google::protobuf::Struct> sent = SentCheckpoints(before);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(SameStruct(sent[0], NumberStruct("page", 3)));
  EXPECT_EQ(calls[fail - 1].method, "ReportProgress");
  EXPECT_EQ(calls[fail - 1].report.lease_token(), "lease-j1");
  EXPECT_EQ(IndexOf(calls, "CompleteJob"), -1);
}

TEST_F(CheckpointWorker, ACheckpointGoesWithTheNextReportOnceAndALaterSaveReplacesAnUnsentOne) {
  fake_.Offer(Leased("j1"));
  auto has_checkpoint = [](const std::vector<Call>& calls) {
    return !SentCheckpoints(calls).empty();
  };
  StartWorker([&](const v1::Job&, JobContext& ctx) -> absl::StatusOr<google::protobuf::Struct> {
    // Both before the first report is due (half a second after the lease).
    ctx.SaveCheckpoint(NumberStruct("page", 1));
    ctx.SaveCheckpoint(NumberStruct("page", 2));
    // Sent while the handler still runs (not only by the final flush) ...
    EXPECT_TRUE(fake_.WaitFor(has_checkpoint, absl::Seconds(5)));
    // ... and the next heartbeat (a second later) leaves it out: unset keeps the last one.
    const size_t reports = fake_.calls().size();
    EXPECT_TRUE(fake_.WaitFor(
        [&](const std::vector<Call>& calls) { return calls.size() > reports; }, absl::Seconds(5)));
    return google::protobuf::Struct();
  });
  const std::vector<Call> calls = CallsUntilEnd("j1");

  const std::vector<google::protobuf::Struct> sent = SentCheckpoints(calls);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_TRUE(SameStruct(sent[0], NumberStruct("page", 2)));
  int reports = 0;
  for (const Call& c : calls) reports += c.method == "ReportProgress" ? 1 : 0;
  EXPECT_GE(reports, 2);
}

TEST_F(CheckpointWorker, AReportThatFailedTransientlyKeepsItsCheckpointForTheNext) {
  fake_.AnswerReports({grpc::Status(grpc::StatusCode::UNAVAILABLE, "restarting")});
  fake_.Offer(Leased("j1"));
  StartWorker([](const v1::Job&, JobContext& ctx) -> absl::StatusOr<google::protobuf::Struct> {
    ctx.SaveCheckpoint(NumberStruct("page", 3));
    return absl::InternalError("crashed");
  });
  const std::vector<Call> calls = CallsUntilEnd("j1");

  const int fail = IndexOf(calls, "FailJob");
  ASSERT_EQ(fail, 2);
  EXPECT_EQ(calls[0].method, "ReportProgress");
  EXPECT_EQ(calls[0].answer, grpc::StatusCode::UNAVAILABLE);
  EXPECT_TRUE(SameStruct(calls[0].report.checkpoint(), NumberStruct("page", 3)));
  EXPECT_EQ(calls[1].method, "ReportProgress");
  EXPECT_EQ(calls[1].answer, grpc::StatusCode::OK);
  EXPECT_TRUE(calls[1].report.has_checkpoint());
  EXPECT_TRUE(SameStruct(calls[1].report.checkpoint(), NumberStruct("page", 3)));
}

TEST_F(CheckpointWorker, ACheckpointRefusedAsInvalidIsDroppedAndTheRestSentAgain) {
  fake_.AnswerReports(
      {grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "checkpoint: must be at most 262144")});
  fake_.Offer(Leased("j1"));
  StartWorker([](const v1::Job&, JobContext& ctx) -> absl::StatusOr<google::protobuf::Struct> {
    ctx.Log(v1::MESSAGE_LEVEL_INFO, "hello");
    ctx.SaveCheckpoint(NumberStruct("page", 3));
    return absl::InternalError("crashed");
  });
  const std::vector<Call> calls = CallsUntilEnd("j1");

  ASSERT_EQ(IndexOf(calls, "FailJob"), 2);
  EXPECT_EQ(calls[0].answer, grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(calls[0].report.has_checkpoint());
  ASSERT_EQ(calls[0].report.messages_size(), 1);
  EXPECT_EQ(calls[1].method, "ReportProgress");
  EXPECT_EQ(calls[1].answer, grpc::StatusCode::OK);
  EXPECT_FALSE(calls[1].report.has_checkpoint());
  ASSERT_EQ(calls[1].report.messages_size(), 1);
  EXPECT_EQ(calls[1].report.messages(0).text(), "hello");
  bool logged = false;
  for (const std::string& line : log()) {
    logged |= line ==
              "job j1: checkpoint dropped: INVALID_ARGUMENT: checkpoint: must be at most "
              "262144";
  }
  EXPECT_TRUE(logged);
}

// ---- paused and cancelled ------------------------------------------------------------------

struct Stop {
  bool cancelled = false;
  bool paused = false;
};

v1::ReportProgressResponse Answer(bool cancelled, bool paused) {
  v1::ReportProgressResponse response;
  response.set_cancelled(cancelled);
  response.set_paused(paused);
  return response;
}

class StoppedWorker : public WorkerOnFake {
 protected:
  // Runs job j1 in a handler that reports progress, waits to be stopped and returns a result
  // (which must not be sent), until the worker logs `settled`; how the handler saw the stop.
  Stop RunUntilStopped(const std::string& settled) {
    fake_.Offer(Leased("j1"));
    absl::Mutex mu;
    std::vector<Stop> stops;
    StartWorker([&](const v1::Job&, JobContext& ctx) -> absl::StatusOr<google::protobuf::Struct> {
      ctx.Progress(10, "working");
      EXPECT_TRUE(ctx.WaitCancelled(absl::Seconds(10)));
      absl::MutexLock lock(&mu);
      stops.push_back({ctx.Cancelled(), ctx.Paused()});
      return NumberStruct("done", 1);
    });
    EXPECT_TRUE(WaitForLog(settled)) << settled;
    worker_->Stop();  // the handler and its references are gone after this
    absl::MutexLock lock(&mu);
    EXPECT_EQ(stops.size(), 1u);
    return stops.empty() ? Stop() : stops[0];
  }
};

TEST_F(StoppedWorker, APausedJobStopsItsHandlerAndIsNeitherCompletedNorFailed) {
  fake_.RespondToReports({Answer(/*cancelled=*/false, /*paused=*/true)});
  const Stop stop = RunUntilStopped("job j1: not reported: job paused");
  EXPECT_TRUE(stop.cancelled);
  EXPECT_TRUE(stop.paused);
  // The lease is gone: after the report that said so, nothing more for the attempt.
  const std::vector<Call> calls = fake_.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].method, "ReportProgress");
  EXPECT_EQ(calls[0].report.progress_message(), "working");
  const std::vector<std::string> lines = log();
  EXPECT_NE(std::find(lines.begin(), lines.end(), "job j1: paused"), lines.end());
}

TEST_F(StoppedWorker, ACancelIsNotAPause) {
  fake_.RespondToReports({Answer(/*cancelled=*/true, /*paused=*/false)});
  const Stop stop = RunUntilStopped("job j1: not reported: job cancelled");
  EXPECT_TRUE(stop.cancelled);
  EXPECT_FALSE(stop.paused);
  ASSERT_EQ(fake_.calls().size(), 1u);
}

TEST_F(StoppedWorker, ALostLeaseIsNotAPause) {
  fake_.AnswerReports({grpc::Status(grpc::StatusCode::ABORTED, "lease lost")});
  const Stop stop = RunUntilStopped("job j1: not reported: lease lost: lease lost");
  EXPECT_TRUE(stop.cancelled);
  EXPECT_FALSE(stop.paused);
  ASSERT_EQ(fake_.calls().size(), 1u);
}

}  // namespace
}  // namespace jobd::client::testing
