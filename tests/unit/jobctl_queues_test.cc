// jobctl queues: the requests of list, pause and resume; every limits flag into its field (and
// none: no limits), the refusals (with their exact messages); the table and the queue's lines.
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "client/jobctl/queues.h"
#include "tests/support/test_clock.h"
#include "tests/unit/jobctl_test_util.h"

namespace jobd::jobctl {
namespace {

using builder_test::ExpectError;
using builder_test::ExpectProto;
using builder_test::Proto;
using test::kNow;

QueueFlags ImportQueue() {
  QueueFlags flags;
  flags.workspace = "ws";
  flags.type = "import.csv";
  return flags;
}

TEST(QueueRequests, ListPauseAndResume) {
  const QueueFlags flags = ImportQueue();
  EXPECT_EQ(BuildListQueues(flags).workspace_id(), "ws");
  const v1::PauseQueueRequest pause = QueueRequest<v1::PauseQueueRequest>(flags);
  EXPECT_EQ(pause.workspace_id(), "ws");
  EXPECT_EQ(pause.type(), "import.csv");
  const v1::ResumeQueueRequest resume = QueueRequest<v1::ResumeQueueRequest>(flags);
  EXPECT_EQ(resume.workspace_id(), "ws");
  EXPECT_EQ(resume.type(), "import.csv");
}

TEST(BuildSetQueueLimits, EveryFlagGoesToItsField) {
  QueueFlags flags = ImportQueue();
  flags.max_running = 4;
  flags.rate = 2.5;
  flags.burst = 10;
  ExpectProto(BuildSetQueueLimits(flags), R"pb(
    workspace_id: "ws"
    type: "import.csv"
    max_running: 4
    max_starts_per_second: 2.5
    burst: 10
  )pb");
  // The bounds are allowed.
  flags.max_running = 100000;
  flags.rate = 100000;
  flags.burst = 1;
  absl::StatusOr<v1::SetQueueLimitsRequest> bounds = BuildSetQueueLimits(flags);
  ASSERT_TRUE(bounds.ok()) << bounds.status();
  EXPECT_EQ(bounds->max_running(), 100000);
  EXPECT_EQ(bounds->max_starts_per_second(), 100000);
  EXPECT_EQ(bounds->burst(), 1);
}

TEST(BuildSetQueueLimits, AFlagNotGivenIsNoLimit) {
  QueueFlags flags = ImportQueue();
  ExpectProto(BuildSetQueueLimits(flags), R"pb(workspace_id: "ws" type: "import.csv")pb");
  absl::StatusOr<v1::SetQueueLimitsRequest> request = BuildSetQueueLimits(flags);
  ASSERT_TRUE(request.ok());
  EXPECT_FALSE(request->has_max_running());
  EXPECT_FALSE(request->has_max_starts_per_second());

  flags.rate = 0.5;  // the burst is the server's default
  ExpectProto(BuildSetQueueLimits(flags),
              R"pb(workspace_id: "ws" type: "import.csv" max_starts_per_second: 0.5)pb");
  flags.rate.reset();
  flags.max_running = 1;
  ExpectProto(BuildSetQueueLimits(flags),
              R"pb(workspace_id: "ws" type: "import.csv" max_running: 1)pb");
}

TEST(BuildSetQueueLimits, RefusesLimitsOutOfRange) {
  QueueFlags flags = ImportQueue();
  for (int bad : {0, -1, 100001}) {
    flags.max_running = bad;
    ExpectError(BuildSetQueueLimits(flags).status(), "--max-running: must be 1 to 100000");
  }
  flags.max_running.reset();
  for (double bad : {-1.0, 0.0, 100000.5, std::numeric_limits<double>::infinity(),
                     std::numeric_limits<double>::quiet_NaN()}) {
    flags.rate = bad;
    ExpectError(BuildSetQueueLimits(flags).status(),
                "--rate: must be more than 0 and at most 100000 per second");
  }
  flags.rate = 5;
  for (int bad : {0, -3, 100001}) {
    flags.burst = bad;
    ExpectError(BuildSetQueueLimits(flags).status(), "--burst: must be 1 to 100000");
  }
}

TEST(BuildSetQueueLimits, ABurstNeedsARate) {
  QueueFlags flags = ImportQueue();
  flags.max_running = 3;
  flags.burst = 5;
  ExpectError(BuildSetQueueLimits(flags).status(), "--burst: only with --rate");
}

v1::Queue ImportCsv() {
  return Proto<v1::Queue>(R"pb(
    workspace_id: "ws"
    type: "import.csv"
    paused: true
    max_running: 4
    max_starts_per_second: 2.5
    burst: 3
    state_counts { state: JOB_STATE_QUEUED count: 120 }
    state_counts { state: JOB_STATE_RUNNING count: 4 }
    state_counts { state: JOB_STATE_PAUSED count: 2 }
    oldest_queued_age { seconds: 300 }
    update_time { seconds: 1799999940 }
  )pb");
}

TEST(FormatRate, RateWithItsBurstOrNone) {
  EXPECT_EQ(FormatRate(ImportCsv()), "2.5/s (burst 3)");
  EXPECT_EQ(FormatRate(Proto<v1::Queue>("max_starts_per_second: 10")), "10/s");
  EXPECT_EQ(FormatRate(v1::Queue()), "-");
}

TEST(FormatQueueTable, OneRowPerQueue) {
  google::protobuf::RepeatedPtrField<v1::Queue> queues;
  *queues.Add() = ImportCsv();
  *queues.Add() = Proto<v1::Queue>(R"pb(
    type: "thumbnail"
    state_counts { state: JOB_STATE_SUCCEEDED count: 9 }
  )pb");
  EXPECT_EQ(FormatQueueTable(queues),
            "TYPE        PAUSED  MAX RUNNING  RATE             QUEUED  RUNNING  PAUSED JOBS  "
            "OLDEST QUEUED\n"
            "import.csv  yes     4            2.5/s (burst 3)  120     4        2            5m\n"
            "thumbnail   no      -            -                0       0        0            -\n");
  EXPECT_EQ(FormatQueueTable({}),
            "TYPE  PAUSED  MAX RUNNING  RATE  QUEUED  RUNNING  PAUSED JOBS  OLDEST QUEUED\n");
}

TEST(FormatQueue, KeyValueLines) {
  EXPECT_EQ(FormatQueue(ImportCsv(), kNow),
            "workspace:      ws\n"
            "type:           import.csv\n"
            "paused:         yes\n"
            "max_running:    4\n"
            "rate:           2.5/s (burst 3)\n"
            "jobs:           QUEUED 120, RUNNING 4, PAUSED 2\n"
            "oldest_queued:  5m\n"
            "updated:        2027-01-15T07:59:00Z (1m ago)\n");
  EXPECT_EQ(FormatQueue(Proto<v1::Queue>(R"pb(workspace_id: "ws" type: "t")pb"), kNow),
            "workspace:      ws\n"
            "type:           t\n"
            "paused:         no\n"
            "max_running:    -\n"
            "rate:           -\n"
            "jobs:           -\n"
            "oldest_queued:  -\n"
            "updated:        -\n");
}

}  // namespace
}  // namespace jobd::jobctl
