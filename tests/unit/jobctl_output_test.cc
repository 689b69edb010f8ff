// jobctl's output: compact ages, state names, the job block, the list table and JSON.
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "client/jobctl/args.h"
#include "client/jobctl/output.h"
#include "tests/support/test_clock.h"
#include "tests/unit/job_event_builders.h"

namespace jobd::jobctl {
namespace {

using test::kNow;

using test_events::At;

google::protobuf::Duration Of(absl::Duration d) {
  google::protobuf::Duration out;
  ToProto(d, &out);
  return out;
}

TEST(FormatCompact, LargestWholeUnit) {
  EXPECT_EQ(FormatCompact(absl::ZeroDuration()), "0s");
  EXPECT_EQ(FormatCompact(absl::Milliseconds(850)), "0s");
  EXPECT_EQ(FormatCompact(absl::Seconds(5)), "5s");
  EXPECT_EQ(FormatCompact(absl::Milliseconds(59999)), "59s");
  EXPECT_EQ(FormatCompact(absl::Minutes(1)), "1m");
  EXPECT_EQ(FormatCompact(absl::Seconds(3 * 60 + 59)), "3m");
  EXPECT_EQ(FormatCompact(absl::Minutes(59) + absl::Seconds(59)), "59m");
  EXPECT_EQ(FormatCompact(absl::Hours(1)), "1h");
  EXPECT_EQ(FormatCompact(absl::Hours(2) + absl::Minutes(59)), "2h");
  EXPECT_EQ(FormatCompact(absl::Hours(23) + absl::Minutes(59)), "23h");
  EXPECT_EQ(FormatCompact(absl::Hours(24)), "1d");
  EXPECT_EQ(FormatCompact(absl::Hours(4 * 24 + 23)), "4d");
  EXPECT_EQ(FormatCompact(absl::Hours(400 * 24)), "400d");
}

TEST(FormatCompact, NegativeCountsAsZero) {
  EXPECT_EQ(FormatCompact(-absl::Milliseconds(1)), "0s");
  EXPECT_EQ(FormatCompact(-absl::Hours(3)), "0s");
}

TEST(StateName, StripsThePrefix) {
  EXPECT_EQ(StateName(v1::JOB_STATE_UNSPECIFIED), "UNSPECIFIED");
  EXPECT_EQ(StateName(v1::JOB_STATE_SCHEDULED), "SCHEDULED");
  EXPECT_EQ(StateName(v1::JOB_STATE_QUEUED), "QUEUED");
  EXPECT_EQ(StateName(v1::JOB_STATE_RUNNING), "RUNNING");
  EXPECT_EQ(StateName(v1::JOB_STATE_SUCCEEDED), "SUCCEEDED");
  EXPECT_EQ(StateName(v1::JOB_STATE_FAILED), "FAILED");
  EXPECT_EQ(StateName(v1::JOB_STATE_CANCELLED), "CANCELLED");
}

TEST(FormatJob, AlignedBlockWithDashesForUnsetFields) {
  v1::Job job;
  job.set_id("j1");
  job.set_type("report");
  job.set_workspace_id("ws");
  job.set_state(v1::JOB_STATE_RUNNING);
  job.set_attempt(2);
  job.mutable_retry_policy()->set_max_attempts(3);
  job.set_progress_percent(42.5f);
  job.set_progress_message("halfway");
  job.set_priority(5);
  (*job.mutable_labels())["b"] = "2";
  (*job.mutable_labels())["a"] = "1";
  (*job.mutable_payload()->mutable_fields())["rows"].set_number_value(10);
  job.set_requested_by("alice");
  job.set_worker_id("w1");
  *job.mutable_create_time() = At(kNow - absl::Seconds(90));
  *job.mutable_update_time() = At(kNow - absl::Seconds(5));
  *job.mutable_start_time() = At(kNow - absl::Seconds(60));
  *job.mutable_duration() = Of(absl::Seconds(60));
  *job.mutable_estimated_finish_time() = At(kNow + absl::Hours(2));
  *job.mutable_timeout() = Of(absl::Minutes(90));
  job.set_sequence(7);

  EXPECT_EQ(FormatJob(job, kNow),
            "id:                j1\n"
            "type:              report\n"
            "workspace:         ws\n"
            "state:             RUNNING\n"
            "attempt:           2 of 3\n"
            "progress:          42.5% halfway\n"
            "priority:          5\n"
            "labels:            a=1, b=2\n"
            "payload:           {\"rows\":10}\n"
            "result:            -\n"
            "error:             -\n"
            "requested_by:      alice\n"
            "worker:            w1\n"
            "idempotency_key:   -\n"
            "created:           2027-01-15T07:58:30Z (1m ago)\n"
            "updated:           2027-01-15T07:59:55Z (5s ago)\n"
            "run_after:         -\n"
            "started:           2027-01-15T07:59:00Z (1m ago)\n"
            "finished:          -\n"
            "duration:          1m\n"
            "estimated_finish:  2027-01-15T10:00:00Z (in 2h)\n"
            "expires:           -\n"
            "timeout:           1h30m\n"
            "ttl:               -\n"
            "sequence:          7\n");
}

TEST(FormatJob, EmptyIdTypeAndWorkspaceShowAsDashes) {
  const std::string block = FormatJob(v1::Job(), absl::UnixEpoch());
  EXPECT_TRUE(absl::StartsWith(block,
                               "id:                -\n"
                               "type:              -\n"
                               "workspace:         -\n"))
      << block;
}

TEST(FormatJob, FinishedJobShowsResultErrorAndAttemptWithoutMax) {
  v1::Job job;
  job.set_id("j2");
  job.set_state(v1::JOB_STATE_FAILED);
  job.set_attempt(1);  // no retry_policy.max_attempts: just the number
  job.set_progress_percent(100);
  (*job.mutable_result()->mutable_fields())["ok"].set_bool_value(false);
  job.set_error_message("exit code 3 (no stderr output)");
  job.set_idempotency_key("key-1");
  *job.mutable_finish_time() = At(kNow - absl::Hours(25));
  *job.mutable_expire_time() = At(kNow + absl::Hours(24 * 6 + 23));
  *job.mutable_run_after() = At(kNow);  // exactly now counts as the past
  *job.mutable_ttl() = Of(absl::Hours(168));

  const std::string out = FormatJob(job, kNow);
  EXPECT_NE(out.find("\nattempt:           1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nprogress:          100%\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nresult:            {\"ok\":false}\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nerror:             exit code 3 (no stderr output)\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("\nidempotency_key:   key-1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nfinished:          2027-01-14T07:00:00Z (1d ago)\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("\nexpires:           2027-01-22T07:00:00Z (in 6d)\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("\nrun_after:         2027-01-15T08:00:00Z (0s ago)\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("\nttl:               168h\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\nlabels:            -\n"), std::string::npos) << out;
  EXPECT_NE(out.find("\npayload:           -\n"), std::string::npos) << out;
}

TEST(FormatJobTable, HeaderOnlyWhenEmpty) {
  google::protobuf::RepeatedPtrField<v1::Job> jobs;
  EXPECT_EQ(FormatJobTable(jobs, kNow), "ID  TYPE  STATE  PROGRESS  AGE  DURATION\n");
}

TEST(FormatJobTable, ColumnsAlignToTheWidestCell) {
  google::protobuf::RepeatedPtrField<v1::Job> jobs;
  v1::Job* a = jobs.Add();
  a->set_id("j-1");
  a->set_type("report");
  a->set_state(v1::JOB_STATE_QUEUED);
  *a->mutable_create_time() = At(kNow - absl::Hours(3 * 24 + 5));
  v1::Job* b = jobs.Add();
  b->set_id("job-long-id");
  b->set_type("x");
  b->set_state(v1::JOB_STATE_SUCCEEDED);
  b->set_progress_percent(100);
  *b->mutable_create_time() = At(kNow - absl::Seconds(45));
  *b->mutable_duration() = Of(absl::Milliseconds(850));
  v1::Job* c = jobs.Add();  // no create_time: the age is "-"
  c->set_id("c");
  c->set_type("t");
  c->set_state(v1::JOB_STATE_RUNNING);
  c->set_progress_percent(12.5f);
  *c->mutable_duration() = Of(absl::Minutes(3));

  EXPECT_EQ(FormatJobTable(jobs, kNow),
            "ID           TYPE    STATE      PROGRESS  AGE  DURATION\n"
            "j-1          report  QUEUED     0%        3d   -\n"
            "job-long-id  x       SUCCEEDED  100%      45s  0s\n"
            "c            t       RUNNING    12.5%     -    3m\n");
}

TEST(FormatJson, TwoSpaceIndentProtoNamesAndDefaults) {
  v1::RetryPolicy policy;
  policy.set_max_attempts(3);
  policy.set_multiplier(2.5);
  const absl::StatusOr<std::string> json = FormatJson(policy);
  ASSERT_TRUE(json.ok()) << json.status();
  // The unset message fields (initial_backoff, max_backoff) are left out.
  EXPECT_EQ(*json,
            "{\n"
            "  \"max_attempts\": 3,\n"
            "  \"multiplier\": 2.5\n"
            "}");

  const absl::StatusOr<std::string> empty = FormatJson(v1::RetryPolicy());
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty,
            "{\n"
            "  \"max_attempts\": 0,\n"
            "  \"multiplier\": 0\n"
            "}");
}

TEST(FormatJson, WellKnownTypesInTheirJsonForm) {
  // Where protobuf's printer puts a set message field among the defaulted scalars depends
  // on its version, so only the line itself is checked here.
  v1::RetryPolicy policy;
  *policy.mutable_initial_backoff() = Of(absl::Milliseconds(1500));
  v1::Job job;
  *job.mutable_create_time() = At(kNow + absl::Milliseconds(250));
  (*job.mutable_payload()->mutable_fields())["rows"].set_number_value(10);
  const absl::StatusOr<std::string> policy_json = FormatJson(policy);
  const absl::StatusOr<std::string> job_json = FormatJson(job);
  ASSERT_TRUE(policy_json.ok()) << policy_json.status();
  ASSERT_TRUE(job_json.ok()) << job_json.status();
  EXPECT_NE(policy_json->find("\n  \"initial_backoff\": \"1.500s\""), std::string::npos)
      << *policy_json;
  EXPECT_NE(job_json->find("\n  \"create_time\": \"2027-01-15T08:00:00.250Z\""), std::string::npos)
      << *job_json;
  EXPECT_NE(job_json->find("\n  \"payload\": {\n    \"rows\": 10\n  }"), std::string::npos)
      << *job_json;
}

TEST(FormatJson, JobPrintsEveryScalarWithProtoNames) {
  v1::Job job;
  job.set_id("j1");
  job.set_type("report");
  job.set_state(v1::JOB_STATE_QUEUED);
  (*job.mutable_labels())["team"] = "data";
  job.set_sequence(7);
  const absl::StatusOr<std::string> json = FormatJson(job);
  ASSERT_TRUE(json.ok()) << json.status();
  // int64 as a string, as proto3 JSON wants.
  EXPECT_EQ(*json,
            "{\n"
            "  \"id\": \"j1\",\n"
            "  \"workspace_id\": \"\",\n"
            "  \"type\": \"report\",\n"
            "  \"state\": \"JOB_STATE_QUEUED\",\n"
            "  \"progress_percent\": 0,\n"
            "  \"progress_message\": \"\",\n"
            "  \"error_message\": \"\",\n"
            "  \"requested_by\": \"\",\n"
            "  \"priority\": 0,\n"
            "  \"attempt\": 0,\n"
            "  \"labels\": {\n"
            "    \"team\": \"data\"\n"
            "  },\n"
            "  \"idempotency_key\": \"\",\n"
            "  \"worker_id\": \"\",\n"
            "  \"sequence\": \"7\"\n"
            "}");
}

}  // namespace
}  // namespace jobd::jobctl
