// Request validation: each field's limit gives INVALID_ARGUMENT naming that field.
#include "server/core/validation.h"

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "tests/support/test_clock.h"

namespace jobd::core {
namespace {

using test::kNow;

CreateJobCommand ValidCreate() {
  CreateJobCommand c;
  c.workspace_id = "demo";
  c.type = "rebuild_graph";
  return c;
}

void ExpectInvalid(const absl::Status& status, const std::string& field) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(absl::StartsWith(status.message(), field + ":")) << status;
}

TEST(ValidateCreate, AcceptsMinimalRequest) {
  EXPECT_TRUE(ValidateCreate(ValidCreate(), kNow, Limits()).ok());
}

TEST(ValidateCreate, WorkspaceId) {
  Limits limits;
  for (std::string bad :
       std::vector<std::string>{"", "has space", "semi;colon", std::string(65, 'a'), "ünï"}) {
    auto c = ValidCreate();
    c.workspace_id = bad;
    ExpectInvalid(ValidateCreate(c, kNow, limits), "workspace_id");
  }
  auto c = ValidCreate();
  c.workspace_id = std::string(64, 'A');
  EXPECT_TRUE(ValidateCreate(c, kNow, limits).ok());
  c.workspace_id = "Team_9-x";
  EXPECT_TRUE(ValidateCreate(c, kNow, limits).ok());
}

TEST(ValidateCreate, Type) {
  for (std::string bad :
       std::vector<std::string>{"", "Upper", "a b", "x/y", std::string(129, 'a')}) {
    auto c = ValidCreate();
    c.type = bad;
    ExpectInvalid(ValidateCreate(c, kNow, Limits()), "type");
  }
  auto c = ValidCreate();
  c.type = "import.csv_v2-x";
  EXPECT_TRUE(ValidateCreate(c, kNow, Limits()).ok());
  c.type = std::string(128, 'z');
  EXPECT_TRUE(ValidateCreate(c, kNow, Limits()).ok());
}

TEST(ValidateCreate, PayloadSize) {
  Limits limits;
  limits.max_payload_bytes = 20;
  auto c = ValidCreate();
  c.payload_json = R"({"k":"0123456789"})";  // 18 bytes
  EXPECT_TRUE(ValidateCreate(c, kNow, limits).ok());
  c.payload_json = R"({"k":"0123456789abc"})";
  ExpectInvalid(ValidateCreate(c, kNow, limits), "payload");
}

TEST(ValidateCreate, RetryPolicy) {
  auto c = ValidCreate();
  c.retry_policy.max_attempts = 101;
  ExpectInvalid(ValidateCreate(c, kNow, Limits()), "retry_policy.max_attempts");
  c = ValidCreate();
  c.retry_policy.max_attempts = -1;
  ExpectInvalid(ValidateCreate(c, kNow, Limits()), "retry_policy.max_attempts");
  c = ValidCreate();
  c.retry_policy.initial_backoff = absl::ZeroDuration();
  ExpectInvalid(ValidateCreate(c, kNow, Limits()), "retry_policy.initial_backoff");
  c = ValidCreate();
  c.retry_policy.max_backoff = absl::Hours(25);
  ExpectInvalid(ValidateCreate(c, kNow, Limits()), "retry_policy.max_backoff");
  c = ValidCreate();
  c.retry_policy.initial_backoff = absl::Seconds(10);
  c.retry_policy.max_backoff = absl::Seconds(5);
  ExpectInvalid(ValidateCreate(c, kNow, Limits()), "retry_policy.max_backoff");
  for (double bad : {0.5, 10.5, std::nan("")}) {
    c = ValidCreate();
    c.retry_policy.multiplier = bad;
    ExpectInvalid(ValidateCreate(c, kNow, Limits()), "retry_policy.multiplier");
  }
}

TEST(ValidateCreate, DurationsAndRunAfter) {
  auto c = ValidCreate();
  c.ttl = absl::Hours(24 * 365) + absl::Seconds(1);
  ExpectInvalid(ValidateCreate(c, kNow, Limits()), "ttl");
  c = ValidCreate();
  c.ttl = absl::Hours(24 * 365);
  EXPECT_TRUE(ValidateCreate(c, kNow, Limits()).ok());
  c = ValidCreate();
  c.timeout = -absl::Seconds(1);
  ExpectInvalid(ValidateCreate(c, kNow, Limits()), "timeout");
  c = ValidCreate();
  c.run_after = kNow + absl::Hours(24 * 366);
  ExpectInvalid(ValidateCreate(c, kNow, Limits()), "run_after");
  c = ValidCreate();
  c.run_after = kNow - absl::Hours(1);  // in the past: runs now
  EXPECT_TRUE(ValidateCreate(c, kNow, Limits()).ok());
}

TEST(ValidateCreate, Labels) {
  auto c = ValidCreate();
  for (int i = 0; i < 33; ++i) c.labels["k" + std::to_string(i)] = "v";
  ExpectInvalid(ValidateCreate(c, kNow, Limits()), "labels");
  c = ValidCreate();
  c.labels["bad key"] = "v";
  ExpectInvalid(ValidateCreate(c, kNow, Limits()), "labels");
  c = ValidCreate();
  c.labels[""] = "v";
  ExpectInvalid(ValidateCreate(c, kNow, Limits()), "labels");
  c = ValidCreate();
  c.labels["k"] = std::string(257, 'v');
  ExpectInvalid(ValidateCreate(c, kNow, Limits()), "labels[k]");
  c = ValidCreate();
  c.labels["k"] = std::string("a\0b", 3);
  ExpectInvalid(ValidateCreate(c, kNow, Limits()), "labels[k]");
  c = ValidCreate();
  c.labels["team/owner.name"] = "any value, with 'quotes' and ünïcode";
  EXPECT_TRUE(ValidateCreate(c, kNow, Limits()).ok());
}

TEST(ValidateCreate, IdempotencyKey) {
  auto c = ValidCreate();
  c.idempotency_key = std::string(257, 'k');
  ExpectInvalid(ValidateCreate(c, kNow, Limits()), "idempotency_key");
  c.idempotency_key = std::string(256, 'k');
  EXPECT_TRUE(ValidateCreate(c, kNow, Limits()).ok());
}

TEST(ValidateList, Fields) {
  ListJobsCommand c;
  c.workspace_id = "demo";
  EXPECT_TRUE(ValidateList(c, Limits()).ok());
  c.page_size = 501;
  ExpectInvalid(ValidateList(c, Limits()), "page_size");
  c.page_size = -1;
  ExpectInvalid(ValidateList(c, Limits()), "page_size");
  c.page_size = 500;
  EXPECT_TRUE(ValidateList(c, Limits()).ok());
  c.type = "Bad";
  ExpectInvalid(ValidateList(c, Limits()), "type");
  c.type = "";
  c.workspace_id = "";
  ExpectInvalid(ValidateList(c, Limits()), "workspace_id");
}

TEST(ValidateJobId, RequiresUuid) {
  ExpectInvalid(ValidateJobId("id", ""), "id");
  ExpectInvalid(ValidateJobId("id", "42"), "id");
  ExpectInvalid(ValidateJobId("id", "01a201e7-5c53-7000-bf26-50a897f5041z"), "id");
  EXPECT_TRUE(ValidateJobId("id", "01a201e7-5c53-7000-bf26-50a897f50418").ok());
}

TEST(ValidateText, LimitsAndNul) {
  ExpectInvalid(ValidateText("reason", std::string(4097, 'x'), Limits()), "reason");
  ExpectInvalid(ValidateText("reason", std::string("a\0", 2), Limits()), "reason");
  EXPECT_TRUE(ValidateText("reason", std::string(4096, 'x'), Limits()).ok());
}

}  // namespace
}  // namespace jobd::core
