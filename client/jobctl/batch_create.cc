#include "client/jobctl/batch_create.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include <google/protobuf/util/json_util.h>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "client/jobctl/actions.h"
#include "client/jobctl/output.h"

namespace jobd::jobctl {

absl::StatusOr<BatchCreatePlan> BuildBatchCreateRequests(const CreateFlags& flags,
                                                         std::istream& lines, absl::Time now) {
  if (!flags.payload.empty() || !flags.idempotency_key.empty() || flags.wait) {
    return absl::InvalidArgumentError(
        "--from-file: --payload, --idempotency-key and --wait belong to one job; put them on "
        "each line instead");
  }
  if (flags.batch_size < 1 || flags.batch_size > 1000) {
    return absl::InvalidArgumentError("--batch-size: must be between 1 and 1000");
  }
  absl::StatusOr<v1::CreateJobRequest> defaults = BuildCreateRequest(flags, now);
  if (!defaults.ok()) return defaults.status();
  defaults->clear_workspace_id();  // the batch's

  BatchCreatePlan plan;
  std::string line;
  for (int number = 1; std::getline(lines, line); ++number) {
    if (absl::StripAsciiWhitespace(line).empty()) continue;
    v1::CreateJobRequest item;
    google::protobuf::util::JsonParseOptions options;
    options.ignore_unknown_fields = false;
    if (auto s = google::protobuf::util::JsonStringToMessage(line, &item, options); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--from-file: line ", number, ": not a CreateJobRequest: ", s.message().as_string()));
    }
    if (!item.workspace_id().empty() && item.workspace_id() != flags.workspace) {
      return absl::InvalidArgumentError(
          absl::StrCat("--from-file: line ", number, ": workspace_id \"", item.workspace_id(),
                       "\" is not --workspace \"", flags.workspace, "\""));
    }
    v1::CreateJobRequest request = *defaults;
    request.MergeFrom(item);
    request.clear_workspace_id();
    if (plan.batches.empty() || plan.batches.back().requests_size() >= flags.batch_size) {
      plan.batches.emplace_back().set_workspace_id(flags.workspace);
      plan.line_numbers.emplace_back();
    }
    *plan.batches.back().add_requests() = std::move(request);
    plan.line_numbers.back().push_back(number);
  }
  if (lines.bad()) return absl::InvalidArgumentError("--from-file: could not be read");
  if (plan.batches.empty()) return absl::InvalidArgumentError("--from-file: holds no job");
  return plan;
}

namespace {

// "requests[12].type: ..." -> the file line of item 12, or -1.
int LineOfItem(const absl::Status& status, const std::vector<int>& lines) {
  absl::string_view message = status.message();
  if (!absl::ConsumePrefix(&message, "requests[")) return -1;
  const size_t end = message.find(']');
  size_t index = 0;
  if (end == absl::string_view::npos || !absl::SimpleAtoi(message.substr(0, end), &index) ||
      index >= lines.size()) {
    return -1;
  }
  return lines[index];
}

}  // namespace

int RunCreateFromFile(client::JobdClient& client, const CreateFlags& flags, Output output) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (flags.from_file != "-") {
    file.open(flags.from_file);
    if (!file) {
      return UsageError(
          absl::InvalidArgumentError(absl::StrCat("--from-file: cannot open ", flags.from_file)));
    }
    in = &file;
  }
  absl::StatusOr<BatchCreatePlan> plan = BuildBatchCreateRequests(flags, *in, absl::Now());
  if (!plan.ok()) return UsageError(plan.status());

  v1::BatchCreateJobsResponse all;
  int result = kExitOk;
  for (size_t b = 0; b < plan->batches.size(); ++b) {
    absl::StatusOr<v1::BatchCreateJobsResponse> created = client.BatchCreateJobs(plan->batches[b]);
    if (!created.ok()) {
      const int line = LineOfItem(created.status(), plan->line_numbers[b]);
      std::fprintf(
          stderr,
          "jobctl: batch %zu of %zu (lines %d to %d) created nothing%s; %d jobs of "
          "earlier batches were created\n",
          b + 1, plan->batches.size(), plan->line_numbers[b].front(), plan->line_numbers[b].back(),
          line > 0 ? absl::StrCat(": line ", line, " was refused").c_str() : "", all.jobs_size());
      result = ServerError(created.status());
      break;
    }
    for (v1::Job& job : *created->mutable_jobs()) *all.add_jobs() = std::move(job);
  }
  if (output == Output::kJson) {
    absl::StatusOr<std::string> json = FormatJson(all);
    if (!json.ok()) return ServerError(json.status());
    std::cout << *json << "\n";
  } else {
    std::cout << FormatJobTable(all.jobs(), absl::Now());
  }
  return result;
}

}  // namespace jobd::jobctl
