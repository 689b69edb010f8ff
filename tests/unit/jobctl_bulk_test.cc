// jobctl bulk: every flag into its BulkJobsRequest field, the filter left unset for --id, the
// refusals (with their exact messages) and the summary line.
#include <string>

#include <gtest/gtest.h>

#include "client/jobctl/bulk.h"
#include "tests/unit/jobctl_test_util.h"

namespace jobd::jobctl {
namespace {

using builder_test::ExpectError;
using builder_test::ExpectProto;
using builder_test::Proto;

constexpr BulkCommand kEveryCommand[] = {BulkCommand::kCancel, BulkCommand::kRetry,
                                         BulkCommand::kPause,  BulkCommand::kResume,
                                         BulkCommand::kFail,   BulkCommand::kDelete};

TEST(BuildBulkRequest, EveryFilterFlagGoesToItsField) {
  BulkFlags flags;
  flags.workspace = "ws";
  flags.states = {"queued", "PAUSED", "JOB_STATE_RUNNING"};
  flags.type = "import.csv";
  flags.labels = {"team=search", "env=prod"};
  flags.created_before = "2027-01-15T08:00:00Z";
  flags.created_after = "2027-01-14T09:00:00.5+01:00";
  flags.dry_run = true;
  flags.reason = "the import was wrong";
  ExpectProto(BuildBulkRequest(BulkCommand::kCancel, flags), R"pb(
    workspace_id: "ws"
    filter {
      states: [ JOB_STATE_QUEUED, JOB_STATE_PAUSED, JOB_STATE_RUNNING ]
      type: "import.csv"
      labels { key: "team" value: "search" }
      labels { key: "env" value: "prod" }
      created_before { seconds: 1800000000 }
      created_after { seconds: 1799913600 nanos: 500000000 }
    }
    dry_run: true
    reason: "the import was wrong"
  )pb");
}

TEST(BuildBulkRequest, OneFilterFlagIsEnoughAndTheOthersStayUnset) {
  BulkFlags flags;
  flags.workspace = "ws";
  flags.type = "import.csv";
  for (BulkCommand command : kEveryCommand) {
    ExpectProto(BuildBulkRequest(command, flags), R"pb(workspace_id: "ws"
                                                       filter { type: "import.csv" })pb");
  }
  flags.type.clear();
  flags.created_after = "2027-01-15T08:00:00Z";
  ExpectProto(BuildBulkRequest(BulkCommand::kDelete, flags),
              R"pb(workspace_id: "ws"
                   filter { created_after { seconds: 1800000000 } })pb");
}

TEST(BuildBulkRequest, IdsInsteadOfAFilterLeaveTheFilterUnset) {
  BulkFlags flags;
  flags.workspace = "ws";
  flags.ids = {"j1", "j2"};
  flags.reason = "stuck";
  ExpectProto(BuildBulkRequest(BulkCommand::kFail, flags), R"pb(
    workspace_id: "ws"
    ids: [ "j1", "j2" ]
    reason: "stuck"
  )pb");
  flags.reason.clear();
  flags.dry_run = true;
  absl::StatusOr<v1::BulkJobsRequest> request = BuildBulkRequest(BulkCommand::kRetry, flags);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_FALSE(request->has_filter());
  EXPECT_TRUE(request->dry_run());
}

TEST(BuildBulkRequest, RefusesNeitherOrBothOfAFilterAndIds) {
  BulkFlags flags;
  flags.workspace = "ws";
  for (BulkCommand command : kEveryCommand) {
    ExpectError(BuildBulkRequest(command, flags).status(),
                "give a filter (--state, --type, --label, --created-before, --created-after) or "
                "the jobs (--id)");
  }
  flags.dry_run = true;  // a dry run is no filter either
  flags.reason = "why";
  ExpectError(BuildBulkRequest(BulkCommand::kCancel, flags).status(),
              "give a filter (--state, --type, --label, --created-before, --created-after) or "
              "the jobs (--id)");
  flags.ids = {"j1"};
  flags.labels = {"env=prod"};
  ExpectError(BuildBulkRequest(BulkCommand::kCancel, flags).status(),
              "--id: not with a filter (--state, --type, --label, --created-before, "
              "--created-after)");
}

TEST(BuildBulkRequest, OnlyCancelAndFailTakeAReason) {
  BulkFlags flags;
  flags.ids = {"j1"};
  flags.reason = "why";
  for (BulkCommand command :
       {BulkCommand::kRetry, BulkCommand::kPause, BulkCommand::kResume, BulkCommand::kDelete}) {
    ExpectError(BuildBulkRequest(command, flags).status(),
                "--reason: only bulk cancel and bulk fail take one");
  }
  EXPECT_TRUE(BuildBulkRequest(BulkCommand::kCancel, flags).ok());
  EXPECT_TRUE(BuildBulkRequest(BulkCommand::kFail, flags).ok());
}

TEST(BuildBulkRequest, RefusesBadFilterValuesNamingTheFlag) {
  BulkFlags flags;
  flags.states = {"queued", "sleeping"};
  ExpectError(BuildBulkRequest(BulkCommand::kCancel, flags).status(),
              "--state: unknown state 'sleeping' (use scheduled, queued, running, paused, "
              "succeeded, failed or cancelled)");
  flags.states.clear();
  flags.labels = {"=prod"};
  ExpectError(BuildBulkRequest(BulkCommand::kCancel, flags).status(),
              "--label: '=prod' is not key=value");
  flags.labels.clear();
  flags.created_before = "yesterday";
  ExpectError(BuildBulkRequest(BulkCommand::kCancel, flags).status(),
              "--created-before: 'yesterday' is not an RFC 3339 time (e.g. 2024-05-01T10:00:00Z)");
  flags.created_before.clear();
  flags.created_after = "1h";  // a duration is not a time here
  ExpectError(BuildBulkRequest(BulkCommand::kCancel, flags).status(),
              "--created-after: '1h' is not an RFC 3339 time (e.g. 2024-05-01T10:00:00Z)");
}

TEST(FormatBulkResult, ADryRunCountsWhatItWouldChange) {
  EXPECT_EQ(FormatBulkResult(Proto<v1::BulkJobsResponse>("matched: 1204 dry_run: true")),
            "would change 1204 jobs");
  EXPECT_EQ(FormatBulkResult(Proto<v1::BulkJobsResponse>("matched: 1 dry_run: true")),
            "would change 1 job");
  EXPECT_EQ(FormatBulkResult(Proto<v1::BulkJobsResponse>("dry_run: true")), "would change 0 jobs");
}

TEST(FormatBulkResult, ARealRunCountsWhatItChangedOfWhatMatched) {
  EXPECT_EQ(FormatBulkResult(Proto<v1::BulkJobsResponse>("matched: 1204 changed: 1204 chunks: 3")),
            "changed 1204 of 1204 matching jobs in 3 chunks");
  EXPECT_EQ(FormatBulkResult(Proto<v1::BulkJobsResponse>("matched: 5 changed: 4 chunks: 1")),
            "changed 4 of 5 matching jobs in 1 chunk");
  EXPECT_EQ(FormatBulkResult(Proto<v1::BulkJobsResponse>("matched: 1 changed: 1 chunks: 1")),
            "changed 1 of 1 matching job in 1 chunk");
  EXPECT_EQ(FormatBulkResult(v1::BulkJobsResponse()), "changed 0 of 0 matching jobs in 0 chunks");
}

}  // namespace
}  // namespace jobd::jobctl
