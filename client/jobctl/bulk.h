// `jobctl bulk cancel|retry|pause|resume|fail|delete`: one operation on every job of a workspace
// that matches a filter, or on a list of job ids, through JobService's Bulk*Jobs RPCs (the
// server changes them in chunks). The flags (CLI11 fills them in cli_groups.cc), the request
// built from them (pure; each error is INVALID_ARGUMENT naming the flag, and jobctl exits
// kExitUsage), the summary line, and RunBulk, which calls jobd and prints.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/jobctl/commands.h"
#include "client/jobd_client.h"
#include "jobd/v1/job_service.pb.h"

namespace jobd::jobctl {

struct BulkFlags {
  std::string workspace = "default";
  // The filter: every flag given must match.
  std::vector<std::string> states;  // any of these
  std::string type;
  std::vector<std::string> labels;  // key=value, each must match
  std::string created_before;       // RFC 3339
  std::string created_after;        // RFC 3339
  // Or the jobs themselves.
  std::vector<std::string> ids;
  bool dry_run = false;
  std::string reason;  // cancel and fail
};

enum class BulkCommand { kCancel, kRetry, kPause, kResume, kFail, kDelete };

// A filter (any of --state, --type, --label, --created-before, --created-after) or --id, not
// both; --reason only for cancel and fail. The filter is set only when one of its flags is
// given.
absl::StatusOr<v1::BulkJobsRequest> BuildBulkRequest(BulkCommand command, const BulkFlags& flags);

// "would change 1204 jobs" for a dry run, else "changed 1204 of 1204 matching jobs in 3 chunks".
std::string FormatBulkResult(const v1::BulkJobsResponse& response);

// Builds the request, calls the command's RPC and prints the summary line (the response as
// JSON with --output json). Returns the exit code.
int RunBulk(client::JobdClient& client, BulkCommand command, const BulkFlags& flags, Output output);

}  // namespace jobd::jobctl
