#include "client/jobctl/bulk.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "client/jobctl/actions.h"
#include "client/jobctl/args.h"

namespace jobd::jobctl {
namespace {

constexpr const char* kFilterFlags = "--state, --type, --label, --created-before, --created-after";

// "1 job", "3 jobs".
std::string Count(int64_t n, const char* noun) {
  return absl::StrCat(n, " ", noun, n == 1 ? "" : "s");
}

using BulkCall =
    absl::StatusOr<v1::BulkJobsResponse> (client::JobdClient::*)(const v1::BulkJobsRequest&);

BulkCall CallOf(BulkCommand command) {
  switch (command) {
    case BulkCommand::kCancel:
      return &client::JobdClient::BulkCancelJobs;
    case BulkCommand::kRetry:
      return &client::JobdClient::BulkRetryJobs;
    case BulkCommand::kPause:
      return &client::JobdClient::BulkPauseJobs;
    case BulkCommand::kResume:
      return &client::JobdClient::BulkResumeJobs;
    case BulkCommand::kFail:
      return &client::JobdClient::BulkFailJobs;
    case BulkCommand::kDelete:
      return &client::JobdClient::BulkDeleteJobs;
  }
  return nullptr;
}

}  // namespace

absl::StatusOr<v1::BulkJobsRequest> BuildBulkRequest(BulkCommand command, const BulkFlags& flags) {
  const bool filtered = !flags.states.empty() || !flags.type.empty() || !flags.labels.empty() ||
                        !flags.created_before.empty() || !flags.created_after.empty();
  if (!filtered && flags.ids.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("give a filter (", kFilterFlags, ") or the jobs (--id)"));
  }
  if (filtered && !flags.ids.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("--id: not with a filter (", kFilterFlags, ")"));
  }
  if (!flags.reason.empty() && command != BulkCommand::kCancel && command != BulkCommand::kFail) {
    return absl::InvalidArgumentError("--reason: only bulk cancel and bulk fail take one");
  }
  v1::BulkJobsRequest request;
  request.set_workspace_id(flags.workspace);
  for (const std::string& id : flags.ids) request.add_ids(id);
  request.set_dry_run(flags.dry_run);
  request.set_reason(flags.reason);
  if (!filtered) return request;

  v1::JobFilter& filter = *request.mutable_filter();
  if (absl::Status s = ParseStates(flags.states, filter.mutable_states()); !s.ok()) return s;
  filter.set_type(flags.type);
  if (absl::Status s = ParseLabels("--label", flags.labels, filter.mutable_labels()); !s.ok()) {
    return s;
  }
  // Made only when given: an unset bound is none.
  if (!flags.created_before.empty()) {
    absl::Status s =
        ParseRfc3339("--created-before", flags.created_before, filter.mutable_created_before());
    if (!s.ok()) return s;
  }
  if (!flags.created_after.empty()) {
    absl::Status s =
        ParseRfc3339("--created-after", flags.created_after, filter.mutable_created_after());
    if (!s.ok()) return s;
  }
  return request;
}

std::string FormatBulkResult(const v1::BulkJobsResponse& response) {
  if (response.dry_run()) return absl::StrCat("would change ", Count(response.matched(), "job"));
  return absl::StrCat("changed ", response.changed(), " of ",
                      Count(response.matched(), "matching job"), " in ",
                      Count(response.chunks(), "chunk"));
}

int RunBulk(client::JobdClient& client, BulkCommand command, const BulkFlags& flags,
            Output output) {
  absl::StatusOr<v1::BulkJobsRequest> request = BuildBulkRequest(command, flags);
  if (!request.ok()) return UsageError(request.status());
  return PrintResponse((client.*CallOf(command))(*request), output,
                       [](const v1::BulkJobsResponse& r) { return FormatBulkResult(r) + "\n"; });
}

}  // namespace jobd::jobctl
