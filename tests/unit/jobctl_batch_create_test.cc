// `jobctl create --from-file`: JSON lines into BatchCreateJobs requests, the flags as defaults,
// batches of --batch-size, and errors naming the line before anything is sent.
#include <sstream>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "client/jobctl/batch_create.h"
#include "tests/support/test_clock.h"

namespace jobd::jobctl {
namespace {

absl::StatusOr<BatchCreatePlan> BuildPlan(const CreateFlags& flags, const std::string& text) {
  std::istringstream in(text);
  return BuildBatchCreateRequests(flags, in, test::kNow);
}

TEST(BuildBatchCreateRequests, OneRequestPerLineWithTheFlagsAsDefaults) {
  CreateFlags flags;
  flags.workspace = "ws";
  flags.type = "default.type";
  flags.priority = 3;
  flags.labels = {"team=search"};
  flags.batch_size = 2;
  const absl::StatusOr<BatchCreatePlan> plan =
      BuildPlan(flags,
                "{\"payload\": {\"n\": 1}}\n"
                "\n"
                "{\"type\": \"other\", \"priority\": 9, \"labels\": {\"env\": \"prod\"}}\n"
                "{\"workspace_id\": \"ws\", \"idempotencyKey\": \"k3\", \"run_after\": "
                "\"2030-01-01T00:00:00Z\"}\n");
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->batches.size(), 2u);
  EXPECT_EQ(plan->line_numbers, (std::vector<std::vector<int>>{{1, 3}, {4}}));
  const v1::BatchCreateJobsRequest& first = plan->batches[0];
  EXPECT_EQ(first.workspace_id(), "ws");
  ASSERT_EQ(first.requests_size(), 2);
  EXPECT_EQ(first.requests(0).type(), "default.type");
  EXPECT_EQ(first.requests(0).priority(), 3);
  EXPECT_EQ(first.requests(0).payload().fields().at("n").number_value(), 1);
  EXPECT_EQ(first.requests(0).labels().at("team"), "search");
  EXPECT_EQ(first.requests(1).type(), "other");
  EXPECT_EQ(first.requests(1).priority(), 9);
  EXPECT_EQ(first.requests(1).labels().size(), 2u);  // the flag's and the line's
  const v1::CreateJobRequest& last = plan->batches[1].requests(0);
  EXPECT_EQ(last.idempotency_key(), "k3");
  EXPECT_EQ(last.workspace_id(), "");  // the batch carries it
  EXPECT_EQ(last.run_after().seconds(), 1893456000);
}

TEST(BuildBatchCreateRequests, ErrorsNameTheLineOrTheFlag) {
  CreateFlags flags;
  flags.workspace = "ws";
  absl::StatusOr<BatchCreatePlan> plan = BuildPlan(flags, "{\"type\": \"a\"}\n{\"tpye\": \"b\"}\n");
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(plan.status().message(), "--from-file: line 2: ")) << plan.status();

  plan = BuildPlan(flags, "not json\n");
  EXPECT_TRUE(absl::StartsWith(plan.status().message(), "--from-file: line 1: ")) << plan.status();

  plan = BuildPlan(flags, "{\"type\": \"a\", \"workspace_id\": \"other\"}\n");
  EXPECT_TRUE(absl::StartsWith(plan.status().message(), "--from-file: line 1: workspace_id"))
      << plan.status();

  plan = BuildPlan(flags, "\n\n");
  EXPECT_EQ(plan.status().message(), "--from-file: holds no job");

  CreateFlags with_payload = flags;
  with_payload.payload = "{}";
  plan = BuildPlan(with_payload, "{\"type\": \"a\"}\n");
  EXPECT_TRUE(absl::StartsWith(plan.status().message(), "--from-file: --payload")) << plan.status();

  CreateFlags too_big = flags;
  too_big.batch_size = 1001;
  plan = BuildPlan(too_big, "{\"type\": \"a\"}\n");
  EXPECT_EQ(plan.status().message(), "--batch-size: must be between 1 and 1000");
}

}  // namespace
}  // namespace jobd::jobctl
