// jobctl work through a real client::Worker on an in-process fake WorkerService: its saved
// checkpoints, and its program stopped when the job is paused (threads: kept out of the
// ThreadSanitizer tree, see tests/CMakeLists.txt).
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/jobctl/work.h"
#include "tests/unit/fake_worker_service.h"

namespace jobd::jobctl {
namespace {

using client::testing::FakeWorkerService;
using client::testing::Leased;
using client::testing::NumberStruct;
using client::testing::SameStruct;

// As jobctl work does (actions.cc): a program that exits without reading its stdin must not
// kill the test with SIGPIPE.
void IgnoreWorkSigpipe() { signal(SIGPIPE, SIG_IGN); }

class SavedCheckpoint : public client::testing::WorkerOnFake {
 protected:
  void StartCommand(const std::string& script) {
    IgnoreWorkSigpipe();
    CommandSpec spec;
    spec.argv = {"sh", "-c", script};
    StartWorker(
        [spec](const v1::Job& job, client::JobContext& ctx) { return RunCommand(spec, job, ctx); });
  }
};

TEST_F(SavedCheckpoint, TheLastGoodOneReachesTheServerBeforeTheFailureAndABadOneIsAWarning) {
  fake_.Offer(Leased("j1"));
  StartCommand(R"(echo 'checkpoint {"page": 1}'
    echo 'checkpoint [1, 2]'
    echo 'checkpoint {"page": 3}'
    echo 'checkpoint {"page": 4'
    exit 3)");
  const std::vector<FakeWorkerService::Call> calls = CallsUntilEnd("j1");

  ASSERT_FALSE(calls.empty());
  ASSERT_EQ(calls.back().method, "FailJob");
  EXPECT_TRUE(calls.back().fail.retryable());
  EXPECT_EQ(calls.back().fail.error_message(), "exit code 3 (no stderr output)");
  google::protobuf::Struct last;
  std::vector<std::string> texts;
  for (const FakeWorkerService::Call& c : calls) {
    if (c.method != "ReportProgress") continue;
    if (c.report.has_checkpoint()) last = c.report.checkpoint();
    for (const v1::JobMessage& m : c.report.messages()) {
      texts.push_back(absl::StrCat(v1::MessageLevel_Name(m.level()), " ", m.text()));
    }
  }
  EXPECT_TRUE(SameStruct(last, NumberStruct("page", 3)));
  // The bad lines are warnings, not INFO messages; the good ones are not messages at all.
  ASSERT_EQ(texts.size(), 2u);
  EXPECT_EQ(
      texts[0],
      R"(MESSAGE_LEVEL_WARNING checkpoint: must be a JSON object, e.g. '{"rows": 10}'; ignored)");
  EXPECT_TRUE(absl::StartsWith(texts[1], "MESSAGE_LEVEL_WARNING checkpoint: not valid JSON: "))
      << texts[1];
}

TEST_F(SavedCheckpoint, ALineLongerThanAMessageIsOneCheckpoint) {
  fake_.Offer(Leased("j1"));
  StartCommand(R"sh(
    printf 'checkpoint {"blob": "%s"}\n' "$(head -c 204800 /dev/zero | tr '\0' x)"
    echo '{"ok": 1}')sh");
  const std::vector<FakeWorkerService::Call> calls = CallsUntilEnd("j1");

  google::protobuf::Struct expected;
  (*expected.mutable_fields())["blob"].set_string_value(std::string(204800, 'x'));
  int with_checkpoint = 0;
  std::vector<std::string> texts;
  for (const FakeWorkerService::Call& c : calls) {
    if (c.method != "ReportProgress") continue;
    if (c.report.has_checkpoint()) {
      ++with_checkpoint;
      EXPECT_TRUE(SameStruct(c.report.checkpoint(), expected));
    }
    for (const v1::JobMessage& m : c.report.messages()) texts.push_back(m.text());
  }
  EXPECT_EQ(with_checkpoint, 1);
  // No piece of the long line became a message: only the result line is one.
  EXPECT_EQ(texts, std::vector<std::string>{R"({"ok": 1})"});
  ASSERT_EQ(calls.back().method, "CompleteJob");
  EXPECT_TRUE(SameStruct(calls.back().complete.result(), NumberStruct("ok", 1)));
}

using PausedJob = SavedCheckpoint;  // the same worker and program, another subject

TEST_F(PausedJob, ItsProgramGetsSigtermAndTheAttemptIsNotReported) {
  v1::ReportProgressResponse paused;
  paused.set_paused(true);
  fake_.RespondToReports({paused});
  fake_.Offer(Leased("j1"));
  char dir_template[] = "/tmp/jobctl_pause_XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  const std::string term = absl::StrCat(dir_template, "/term");
  StartCommand(absl::StrCat("trap 'echo term >", term, "; exit 0' TERM\n",
                            "echo 'progress 10 working'\n", "while :; do sleep 0.05; done"));
  ASSERT_TRUE(WaitForLog("job j1: not reported: job paused"));

  std::ifstream in(term);
  std::string line;
  EXPECT_TRUE(std::getline(in, line)) << "the program got no SIGTERM";
  EXPECT_EQ(line, "term");
  // The program's exit 0 completes nothing: the pause took the lease.
  for (const FakeWorkerService::Call& c : fake_.calls()) EXPECT_EQ(c.method, "ReportProgress");
  std::remove(term.c_str());
  rmdir(dir_template);
}

}  // namespace
}  // namespace jobd::jobctl
