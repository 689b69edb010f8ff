#include "server/http/routes.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace jobd::http {

const std::vector<Route>& ApiRoutes() {
  static const auto* routes = new std::vector<Route>{
      {"POST",
       "/v1/workspaces/{workspace_id}/jobs",
       "jobd.v1.JobService",
       "CreateJob",
       RouteKind::kUnary,
       {},
       true,
       "Create a job"},
      {"POST",
       "/v1/workspaces/{workspace_id}/jobs:batchCreate",
       "jobd.v1.JobService",
       "BatchCreateJobs",
       RouteKind::kUnary,
       {},
       true,
       "Create up to 1,000 jobs, all or nothing"},
      {"GET",
       "/v1/workspaces/{workspace_id}/jobs",
       "jobd.v1.JobService",
       "ListJobs",
       RouteKind::kUnary,
       {{"state", "states"},
        {"type", "type"},
        {"label", "labels"},
        {"page_size", "page_size"},
        {"page_token", "page_token"},
        {"view", "view"}},
       false,
       "List jobs, newest first"},
      {"GET",
       "/v1/workspaces/{workspace_id}/jobs:watch",
       "jobd.v1.JobService",
       "WatchJobs",
       RouteKind::kWatchJobs,
       {{"state", "states"}, {"type", "types"}},
       false,
       "Follow a workspace's jobs (server-sent events)"},
      {"GET",
       "/v1/workspaces/{workspace_id}/stats",
       "jobd.v1.JobService",
       "GetJobStats",
       RouteKind::kUnary,
       {},
       false,
       "Counts per state and type"},
      {"POST",
       "/v1/workspaces/{workspace_id}/jobs:acquire",
       "jobd.v1.WorkerService",
       "AcquireJobs",
       RouteKind::kUnary,
       {},
       true,
       "Lease jobs to run"},
      {"GET",
       "/v1/jobs/{id}",
       "jobd.v1.JobService",
       "GetJob",
       RouteKind::kUnary,
       {},
       false,
       "Get a job"},
      {"POST",
       "/v1/jobs/{id}:cancel",
       "jobd.v1.JobService",
       "CancelJob",
       RouteKind::kUnary,
       {},
       true,
       "Cancel a job"},
      {"POST",
       "/v1/jobs/{id}:retry",
       "jobd.v1.JobService",
       "RetryJob",
       RouteKind::kUnary,
       {},
       true,
       "Retry a failed or cancelled job"},
      {"GET",
       "/v1/jobs/{id}/events",
       "jobd.v1.JobService",
       "ListJobEvents",
       RouteKind::kUnary,
       {{"page_size", "page_size"}, {"page_token", "page_token"}},
       false,
       "A job's event history, oldest first"},
      {"GET",
       "/v1/jobs/{id}:watch",
       "jobd.v1.JobService",
       "WatchJob",
       RouteKind::kWatchJob,
       {{"after_sequence", "after_sequence"}},
       false,
       "Follow a job (server-sent events; resume with Last-Event-ID)"},
      {"POST",
       "/v1/jobs/{job_id}:report",
       "jobd.v1.WorkerService",
       "ReportProgress",
       RouteKind::kUnary,
       {},
       true,
       "Report a leased job's progress"},
      {"POST",
       "/v1/jobs/{job_id}:complete",
       "jobd.v1.WorkerService",
       "CompleteJob",
       RouteKind::kUnary,
       {},
       true,
       "Complete a leased job"},
      {"POST",
       "/v1/jobs/{job_id}:fail",
       "jobd.v1.WorkerService",
       "FailJob",
       RouteKind::kUnary,
       {},
       true,
       "Fail a leased job's attempt"},
      {"GET",
       "/v1/keys",
       "jobd.v1.AdminService",
       "ListApiKeys",
       RouteKind::kUnary,
       {{"workspace_id", "workspace_id"}, {"page_size", "page_size"}, {"page_token", "page_token"}},
       false,
       "List API keys"},
      {"POST",
       "/v1/keys",
       "jobd.v1.AdminService",
       "CreateApiKey",
       RouteKind::kUnary,
       {},
       true,
       "Create an API key (its secret is shown once)"},
      {"POST",
       "/v1/keys/{id}:revoke",
       "jobd.v1.AdminService",
       "RevokeApiKey",
       RouteKind::kUnary,
       {},
       true,
       "Revoke an API key"},
      {"GET",
       "/v1/whoami",
       "jobd.v1.AdminService",
       "WhoAmI",
       RouteKind::kUnary,
       {},
       false,
       "The calling key: name, role, workspace, permissions (every role)"},
      {"GET",
       "/v1/workspaces/{workspace_id}/schedules",
       "jobd.v1.ScheduleService",
       "ListSchedules",
       RouteKind::kUnary,
       {{"page_size", "page_size"}, {"page_token", "page_token"}},
       false,
       "List a workspace's schedules"},
      {"POST",
       "/v1/workspaces/{schedule.workspace_id}/schedules",
       "jobd.v1.ScheduleService",
       "CreateSchedule",
       RouteKind::kUnary,
       {},
       true,
       "Create a schedule"},
      {"GET",
       "/v1/schedules/{id}",
       "jobd.v1.ScheduleService",
       "GetSchedule",
       RouteKind::kUnary,
       {},
       false,
       "Get a schedule, with its next run times"},
      {"POST",
       "/v1/schedules/{schedule.id}:update",
       "jobd.v1.ScheduleService",
       "UpdateSchedule",
       RouteKind::kUnary,
       {},
       true,
       "Change the fields of a schedule named by update_mask"},
      {"POST",
       "/v1/schedules/{id}:delete",
       "jobd.v1.ScheduleService",
       "DeleteSchedule",
       RouteKind::kUnary,
       {},
       true,
       "Delete a schedule"},
      {"POST",
       "/v1/schedules/{id}:pause",
       "jobd.v1.ScheduleService",
       "PauseSchedule",
       RouteKind::kUnary,
       {},
       true,
       "Pause a schedule, with a note"},
      {"POST",
       "/v1/schedules/{id}:resume",
       "jobd.v1.ScheduleService",
       "ResumeSchedule",
       RouteKind::kUnary,
       {},
       true,
       "Resume a paused schedule"},
      {"POST",
       "/v1/schedules/{id}:trigger",
       "jobd.v1.ScheduleService",
       "TriggerSchedule",
       RouteKind::kUnary,
       {},
       true,
       "Run a schedule once now"},
      {"POST",
       "/v1/schedules/{id}:backfill",
       "jobd.v1.ScheduleService",
       "BackfillSchedule",
       RouteKind::kUnary,
       {},
       true,
       "Make the runs a time range would have made"},
      {"POST",
       "/v1/jobs/{id}:pause",
       "jobd.v1.JobService",
       "PauseJob",
       RouteKind::kUnary,
       {},
       true,
       "Pause a job (a running one stops at its next report)"},
      {"POST",
       "/v1/jobs/{id}:resume",
       "jobd.v1.JobService",
       "ResumeJob",
       RouteKind::kUnary,
       {},
       true,
       "Resume a paused job"},
      {"POST",
       "/v1/jobs/{id}:delete",
       "jobd.v1.JobService",
       "DeleteJob",
       RouteKind::kUnary,
       {},
       true,
       "Delete a finished job and its history"},
      {"POST",
       "/v1/workspaces/{workspace_id}/jobs:bulkCancel",
       "jobd.v1.JobService",
       "BulkCancelJobs",
       RouteKind::kUnary,
       {},
       true,
       "Cancel every matching active job"},
      {"POST",
       "/v1/workspaces/{workspace_id}/jobs:bulkRetry",
       "jobd.v1.JobService",
       "BulkRetryJobs",
       RouteKind::kUnary,
       {},
       true,
       "Retry every matching failed or cancelled job"},
      {"POST",
       "/v1/workspaces/{workspace_id}/jobs:bulkPause",
       "jobd.v1.JobService",
       "BulkPauseJobs",
       RouteKind::kUnary,
       {},
       true,
       "Pause every matching job"},
      {"POST",
       "/v1/workspaces/{workspace_id}/jobs:bulkResume",
       "jobd.v1.JobService",
       "BulkResumeJobs",
       RouteKind::kUnary,
       {},
       true,
       "Resume every matching paused job"},
      {"POST",
       "/v1/workspaces/{workspace_id}/jobs:bulkDelete",
       "jobd.v1.JobService",
       "BulkDeleteJobs",
       RouteKind::kUnary,
       {},
       true,
       "Delete every matching finished job (admins)"},
      {"POST",
       "/v1/workspaces/{workspace_id}/jobs:bulkFail",
       "jobd.v1.JobService",
       "BulkFailJobs",
       RouteKind::kUnary,
       {},
       true,
       "Fail every matching active job, no retry (admins)"},
      {"GET",
       "/v1/workspaces/{workspace_id}/queues",
       "jobd.v1.QueueService",
       "ListQueues",
       RouteKind::kUnary,
       {},
       false,
       "List a workspace's queues with their counts and settings"},
      {"POST",
       "/v1/workspaces/{workspace_id}/queues/{type}:pause",
       "jobd.v1.QueueService",
       "PauseQueue",
       RouteKind::kUnary,
       {},
       true,
       "Pause a queue: workers take none of its jobs"},
      {"POST",
       "/v1/workspaces/{workspace_id}/queues/{type}:resume",
       "jobd.v1.QueueService",
       "ResumeQueue",
       RouteKind::kUnary,
       {},
       true,
       "Resume a queue"},
      {"POST",
       "/v1/workspaces/{workspace_id}/queues/{type}:setLimits",
       "jobd.v1.QueueService",
       "SetQueueLimits",
       RouteKind::kUnary,
       {},
       true,
       "Set a queue's concurrency and rate limits (admins)"},
      {"GET",
       "/v1/templates",
       "jobd.v1.TemplateService",
       "ListJobTemplates",
       RouteKind::kUnary,
       {{"workspace_id", "workspace_id"}, {"page_size", "page_size"}, {"page_token", "page_token"}},
       false,
       "List a workspace's job templates and the shared ones"},
      {"POST",
       "/v1/templates",
       "jobd.v1.TemplateService",
       "CreateJobTemplate",
       RouteKind::kUnary,
       {},
       true,
       "Create a job template"},
      {"GET",
       "/v1/templates/{id}",
       "jobd.v1.TemplateService",
       "GetJobTemplate",
       RouteKind::kUnary,
       {},
       false,
       "Get a job template"},
      {"POST",
       "/v1/templates/{job_template.id}:update",
       "jobd.v1.TemplateService",
       "UpdateJobTemplate",
       RouteKind::kUnary,
       {},
       true,
       "Change the fields of a job template named by update_mask"},
      {"POST",
       "/v1/templates/{id}:delete",
       "jobd.v1.TemplateService",
       "DeleteJobTemplate",
       RouteKind::kUnary,
       {},
       true,
       "Delete a job template"},
  };
  return *routes;
}

absl::StatusOr<std::string> PercentDecode(absl::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c != '%') {
      out.push_back(c);
    } else {
      auto hex = [](char h) -> int {
        if (h >= '0' && h <= '9') return h - '0';
        if (h >= 'a' && h <= 'f') return h - 'a' + 10;
        if (h >= 'A' && h <= 'F') return h - 'A' + 10;
        return -1;
      };
      if (i + 2 >= text.size()) {
        return absl::InvalidArgumentError("a % escape is cut short");
      }
      const int high = hex(text[i + 1]), low = hex(text[i + 2]);
      if (high < 0 || low < 0) return absl::InvalidArgumentError("a % escape is not hexadecimal");
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(
    absl::string_view query) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (absl::string_view part : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(part, absl::MaxSplits('=', 1));
    absl::StatusOr<std::string> name = PercentDecode(kv.first, true);
    absl::StatusOr<std::string> value = PercentDecode(kv.second, true);
    if (!name.ok() || !value.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("query: bad escape in \"", part, "\""));
    }
    pairs.emplace_back(std::move(*name), std::move(*value));
  }
  return pairs;
}

namespace {

// One path segment against one template segment; appends a bound variable.
bool MatchSegment(absl::string_view pattern, absl::string_view segment,
                  std::vector<std::pair<std::string, std::string>>* fields) {
  if (pattern.empty() || pattern.front() != '{') return pattern == segment;
  const size_t close = pattern.find('}');
  const absl::string_view field = pattern.substr(1, close - 1);
  const absl::string_view verb = pattern.substr(close + 1);  // "" or ":cancel"
  if (!verb.empty()) {
    if (!absl::EndsWith(segment, verb)) return false;
    segment.remove_suffix(verb.size());
  }
  // A plain variable never takes a ':' (that would be an unknown verb); nor may it be empty.
  if (segment.empty() || absl::StrContains(segment, ':')) return false;
  absl::StatusOr<std::string> value = PercentDecode(segment, false);
  if (!value.ok()) return false;
  fields->emplace_back(std::string(field), std::move(*value));
  return true;
}

// Each route's template split into segments, once (ApiRoutes never changes).
const std::vector<std::vector<absl::string_view>>& RouteSegments() {
  static const auto* segments = [] {
    auto* all = new std::vector<std::vector<absl::string_view>>();
    for (const Route& route : ApiRoutes()) all->push_back(absl::StrSplit(route.path, '/'));
    return all;
  }();
  return *segments;
}

bool MatchPath(const std::vector<absl::string_view>& want,
               const std::vector<absl::string_view>& got,
               std::vector<std::pair<std::string, std::string>>* fields) {
  if (want.size() != got.size()) return false;
  fields->clear();
  for (size_t i = 0; i < want.size(); ++i) {
    if (!MatchSegment(want[i], got[i], fields)) return false;
  }
  return true;
}

}  // namespace

RouteMatch MatchRoute(absl::string_view method, absl::string_view path) {
  RouteMatch match;
  std::vector<std::pair<std::string, std::string>> fields;
  const std::vector<absl::string_view> got = absl::StrSplit(path, '/');
  const std::vector<Route>& routes = ApiRoutes();
  for (size_t r = 0; r < routes.size(); ++r) {
    const Route& route = routes[r];
    if (!MatchPath(RouteSegments()[r], got, &fields)) continue;
    if (route.method == method) {
      match.route = &route;
      match.path_fields = std::move(fields);
      match.allowed_methods.clear();
      return match;
    }
    if (!absl::StrContains(match.allowed_methods, route.method)) {
      absl::StrAppend(&match.allowed_methods, match.allowed_methods.empty() ? "" : ", ",
                      route.method);
    }
  }
  return match;
}

}  // namespace jobd::http
