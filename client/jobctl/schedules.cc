#include "client/jobctl/schedules.h"

#include <iostream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "client/jobctl/actions.h"
#include "client/jobctl/args.h"
#include "client/jobctl/output.h"
#include "client/paging.h"

namespace jobd::jobctl {
namespace {

constexpr absl::string_view kOverlapPrefix = "OVERLAP_POLICY_";

// The spec flags given, in the order the error messages name them.
std::vector<const char*> SpecFlagsGiven(const ScheduleFlags& f) {
  std::vector<const char*> given;
  if (!f.cron.empty()) given.push_back("--cron");
  if (!f.intervals.empty()) given.push_back(f.intervals.front().first.c_str());
  if (!f.time_zone.empty()) given.push_back("--time-zone");
  if (!f.start.empty()) given.push_back("--start");
  if (!f.end.empty()) given.push_back("--end");
  if (!f.jitter.empty()) given.push_back("--jitter");
  return given;
}

std::vector<const char*> JobFlagsGiven(const ScheduleFlags& f) {
  std::vector<const char*> given;
  if (!f.type.empty()) given.push_back("--type");
  if (!f.template_name.empty()) given.push_back("--template");
  if (!f.payload.empty()) given.push_back("--payload");
  if (f.priority) given.push_back("--priority");
  if (!f.labels.empty()) given.push_back("--label");
  return given;
}

absl::StatusOr<v1::ScheduleSpec> BuildSpec(const ScheduleFlags& f) {
  v1::ScheduleSpec spec;
  for (const std::string& cron : f.cron) spec.add_cron(cron);
  v1::ScheduleInterval* last = nullptr;
  for (const auto& [flag, value] : f.intervals) {
    if (flag == "--every") {
      absl::StatusOr<absl::Duration> every = ParseDuration("--every", value);
      if (!every.ok()) return every.status();
      last = spec.add_intervals();
      ToProto(*every, last->mutable_every());
      continue;
    }
    if (last == nullptr) return absl::InvalidArgumentError("--offset: must follow an --every");
    if (last->has_offset()) return absl::InvalidArgumentError("--offset: one per --every");
    absl::StatusOr<absl::Duration> offset = ParseNonNegativeDuration("--offset", value);
    if (!offset.ok()) return offset.status();
    ToProto(*offset, last->mutable_offset());
  }
  spec.set_time_zone(f.time_zone);
  if (!f.start.empty()) {
    if (absl::Status s = ParseRfc3339("--start", f.start, spec.mutable_start_time()); !s.ok()) {
      return s;
    }
  }
  if (!f.end.empty()) {
    if (absl::Status s = ParseRfc3339("--end", f.end, spec.mutable_end_time()); !s.ok()) return s;
  }
  if (!f.jitter.empty()) {
    absl::StatusOr<absl::Duration> jitter = ParseNonNegativeDuration("--jitter", f.jitter);
    if (!jitter.ok()) return jitter.status();
    ToProto(*jitter, spec.mutable_jitter());
  }
  return spec;
}

// What each run creates: a CreateJobRequest without workspace (the schedule's).
absl::StatusOr<v1::CreateJobRequest> BuildJob(const ScheduleFlags& f) {
  v1::CreateJobRequest job;
  job.set_type(f.type);
  job.set_template_(f.template_name);
  if (f.priority) job.set_priority(*f.priority);
  if (!f.payload.empty()) {
    if (absl::Status s = ParsePayload("--payload", f.payload, job.mutable_payload()); !s.ok()) {
      return s;
    }
  }
  if (absl::Status s = ParseLabels("--label", f.labels, job.mutable_labels()); !s.ok()) return s;
  return job;
}

// --overlap and --catchup-window, when given.
absl::Status SetPolicies(const ScheduleFlags& f, v1::Schedule& s) {
  if (!f.overlap.empty()) {
    absl::StatusOr<v1::OverlapPolicy> overlap = ParseOverlap(f.overlap);
    if (!overlap.ok()) return overlap.status();
    s.set_overlap_policy(*overlap);
  }
  if (!f.catchup_window.empty()) {
    absl::StatusOr<absl::Duration> window =
        ParseNonNegativeDuration("--catchup-window", f.catchup_window);
    if (!window.ok()) return window.status();
    ToProto(*window, s.mutable_catchup_window());
  }
  return absl::OkStatus();
}

std::string OverlapName(v1::OverlapPolicy policy) {
  if (policy == v1::OVERLAP_POLICY_UNSPECIFIED) policy = v1::OVERLAP_POLICY_SKIP;
  return absl::StrReplaceAll(
      absl::AsciiStrToLower(absl::StripPrefix(v1::OverlapPolicy_Name(policy), kOverlapPrefix)),
      {{"_", "-"}});
}

std::string UtcTime(const google::protobuf::Timestamp& ts, bool set) {
  if (!set) return "-";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", FromProto(ts), absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<v1::OverlapPolicy> ParseOverlap(absl::string_view text) {
  const std::string name =
      absl::StrCat(kOverlapPrefix, absl::StrReplaceAll(absl::AsciiStrToUpper(text), {{"-", "_"}}));
  v1::OverlapPolicy policy = v1::OVERLAP_POLICY_UNSPECIFIED;
  if (!v1::OverlapPolicy_Parse(name, &policy) || policy == v1::OVERLAP_POLICY_UNSPECIFIED) {
    return absl::InvalidArgumentError(
        absl::StrCat("--overlap: unknown policy '", text,
                     "' (use skip, buffer-one, allow-all or cancel-other)"));
  }
  return policy;
}

absl::StatusOr<v1::CreateScheduleRequest> BuildCreateSchedule(const ScheduleFlags& flags) {
  if (flags.name.empty()) return absl::InvalidArgumentError("--name is required");
  // (An --offset without --every is refused by BuildSpec, which names it.)
  if (flags.cron.empty() && flags.intervals.empty()) {
    return absl::InvalidArgumentError("--cron or --every is required");
  }
  if (!flags.note.empty() && !flags.paused) {
    return absl::InvalidArgumentError("--note: only with --paused");
  }
  v1::CreateScheduleRequest request;
  v1::Schedule& s = *request.mutable_schedule();
  s.set_workspace_id(flags.workspace);
  s.set_name(flags.name);
  absl::StatusOr<v1::ScheduleSpec> spec = BuildSpec(flags);
  if (!spec.ok()) return spec.status();
  *s.mutable_spec() = std::move(*spec);
  if (flags.type.empty() && flags.template_name.empty()) {
    return absl::InvalidArgumentError("--type is required (or --template)");
  }
  absl::StatusOr<v1::CreateJobRequest> job = BuildJob(flags);
  if (!job.ok()) return job.status();
  *s.mutable_job() = std::move(*job);
  if (absl::Status st = SetPolicies(flags, s); !st.ok()) return st;
  s.set_paused(flags.paused);
  s.set_pause_note(flags.note);
  return request;
}

absl::StatusOr<v1::UpdateScheduleRequest> BuildUpdateSchedule(const ScheduleFlags& flags) {
  v1::UpdateScheduleRequest request;
  v1::Schedule& s = *request.mutable_schedule();
  google::protobuf::FieldMask& mask = *request.mutable_update_mask();
  s.set_id(flags.id);
  if (!flags.name.empty()) {
    s.set_name(flags.name);
    mask.add_paths("name");
  }
  if (const std::vector<const char*> given = SpecFlagsGiven(flags); !given.empty()) {
    absl::StatusOr<v1::ScheduleSpec> spec = BuildSpec(flags);
    if (!spec.ok()) return spec.status();
    if (spec->cron().empty() && spec->intervals().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          given.front(), ": replaces the whole spec, so --cron or --every is required too"));
    }
    *s.mutable_spec() = std::move(*spec);
    mask.add_paths("spec");
  }
  if (const std::vector<const char*> given = JobFlagsGiven(flags); !given.empty()) {
    if (flags.type.empty() && flags.template_name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          given.front(), ": replaces the whole job, so --type (or --template) is required too"));
    }
    absl::StatusOr<v1::CreateJobRequest> job = BuildJob(flags);
    if (!job.ok()) return job.status();
    *s.mutable_job() = std::move(*job);
    mask.add_paths("job");
  }
  if (absl::Status st = SetPolicies(flags, s); !st.ok()) return st;
  if (!flags.overlap.empty()) mask.add_paths("overlap_policy");
  if (!flags.catchup_window.empty()) mask.add_paths("catchup_window");
  if (mask.paths().empty()) {
    return absl::InvalidArgumentError(
        "nothing to update: give --name, --cron, --every, --time-zone, --start, --end, --jitter, "
        "--type, --template, --payload, --priority, --label, --overlap or --catchup-window");
  }
  return request;
}

v1::ListSchedulesRequest BuildListSchedules(const ScheduleFlags& flags) {
  v1::ListSchedulesRequest request;
  request.set_workspace_id(flags.workspace);
  request.set_page_size(500);
  return request;
}

v1::PauseScheduleRequest BuildPauseSchedule(const ScheduleFlags& flags) {
  v1::PauseScheduleRequest request;
  request.set_id(flags.id);
  request.set_note(flags.note);
  return request;
}

absl::StatusOr<v1::BackfillScheduleRequest> BuildBackfillSchedule(const ScheduleFlags& flags) {
  if (flags.start.empty()) return absl::InvalidArgumentError("--start is required");
  if (flags.end.empty()) return absl::InvalidArgumentError("--end is required");
  v1::BackfillScheduleRequest request;
  request.set_id(flags.id);
  if (absl::Status s = ParseRfc3339("--start", flags.start, request.mutable_start_time());
      !s.ok()) {
    return s;
  }
  if (absl::Status s = ParseRfc3339("--end", flags.end, request.mutable_end_time()); !s.ok()) {
    return s;
  }
  return request;
}

std::string FormatSpec(const v1::ScheduleSpec& spec) {
  std::vector<std::string> parts;
  if (!spec.cron().empty()) {
    parts.push_back(absl::StrJoin(spec.cron(), "; "));
    if (!spec.time_zone().empty()) absl::StrAppend(&parts.back(), " (", spec.time_zone(), ")");
  }
  for (const v1::ScheduleInterval& interval : spec.intervals()) {
    std::string part = absl::StrCat("every ", absl::FormatDuration(FromProto(interval.every())));
    if (FromProto(interval.offset()) != absl::ZeroDuration()) {
      absl::StrAppend(&part, " offset ", absl::FormatDuration(FromProto(interval.offset())));
    }
    parts.push_back(std::move(part));
  }
  return parts.empty() ? "-" : absl::StrJoin(parts, "; ");
}

std::string FormatScheduleTable(const google::protobuf::RepeatedPtrField<v1::Schedule>& schedules) {
  std::vector<Row> rows = {
      {"ID", "NAME", "SPEC", "NEXT RUN", "LAST RUN", "PAUSED", "FIRED/SKIPPED"}};
  for (const v1::Schedule& s : schedules) {
    rows.push_back(
        {s.id(), s.name(), FormatSpec(s.spec()),
         UtcTime(s.next_run_times().empty() ? google::protobuf::Timestamp() : s.next_run_times(0),
                 !s.next_run_times().empty()),
         UtcTime(s.last_run_time(), s.has_last_run_time()), s.paused() ? "yes" : "no",
         absl::StrCat(s.runs_fired(), "/", s.runs_skipped())});
  }
  return FormatTable(rows);
}

std::string FormatSchedule(const v1::Schedule& s, absl::Time now) {
  auto time = [&](bool has, const google::protobuf::Timestamp& ts) {
    return has ? FormatTime(ts, now) : "-";
  };
  auto duration = [](bool has, const google::protobuf::Duration& d) {
    return has ? absl::FormatDuration(FromProto(d)) : "-";
  };
  std::vector<std::string> next;
  for (const google::protobuf::Timestamp& t : s.next_run_times()) next.push_back(UtcTime(t, true));
  const v1::ScheduleSpec& spec = s.spec();
  const v1::CreateJobRequest& job = s.job();
  const std::vector<std::pair<const char*, std::string>> fields = {
      {"id", OrUnset(s.id())},
      {"name", OrUnset(s.name())},
      {"workspace", OrUnset(s.workspace_id())},
      {"spec", FormatSpec(spec)},
      {"time_zone", spec.time_zone().empty() ? "UTC" : spec.time_zone()},
      {"start", time(spec.has_start_time(), spec.start_time())},
      {"end", time(spec.has_end_time(), spec.end_time())},
      {"jitter", duration(spec.has_jitter(), spec.jitter())},
      {"job_type", OrUnset(job.type())},
      {"job_template", OrUnset(job.template_())},
      {"job_priority", absl::StrCat(job.priority())},
      {"job_payload", job.has_payload() ? FormatStruct(job.payload()) : "-"},
      {"job_labels", FormatLabels(job.labels())},
      {"overlap", OverlapName(s.overlap_policy())},
      {"catchup_window", duration(s.has_catchup_window(), s.catchup_window())},
      {"paused", s.paused() ? (s.pause_note().empty() ? "yes" : "yes: " + s.pause_note()) : "no"},
      {"next_runs", next.empty() ? "-" : absl::StrJoin(next, ", ")},
      {"last_run", time(s.has_last_run_time(), s.last_run_time())},
      {"last_job", OrUnset(s.last_job_id())},
      {"runs", absl::StrCat(s.runs_fired(), " fired, ", s.runs_skipped(), " skipped")},
      {"last_skip_reason", OrUnset(s.last_skip_reason())},
      {"buffered_run", time(s.has_buffered_run_time(), s.buffered_run_time())},
      {"created_by", OrUnset(s.created_by())},
      {"created", time(s.has_create_time(), s.create_time())},
      {"updated", time(s.has_update_time(), s.update_time())},
  };
  std::vector<Row> rows;
  for (const auto& [key, value] : fields) rows.push_back({absl::StrCat(key, ":"), value});
  return FormatTable(rows);
}

// ---- at run time ---------------------------------------------------------------------------

namespace {

// For the responses that are `{ Schedule schedule = 1; }`.
template <typename Response>
int PrintSchedule(const absl::StatusOr<Response>& response, Output output) {
  return PrintResponse(response, output,
                       [](const Response& r) { return FormatSchedule(r.schedule(), absl::Now()); });
}

// Every page, as one response.
int ListAll(client::JobdClient& client, const ScheduleFlags& flags, Output output) {
  v1::ListSchedulesResponse all;
  const absl::Status status = client::ForEachPage(
      BuildListSchedules(flags),
      [&client](const v1::ListSchedulesRequest& r) { return client.ListSchedules(r); },
      [&all](const v1::ListSchedulesResponse& page) {
        all.mutable_schedules()->MergeFrom(page.schedules());
        return absl::OkStatus();
      });
  if (!status.ok()) return ServerError(status);
  if (output == Output::kJson) return PrintJson(all);
  std::cout << FormatScheduleTable(all.schedules());
  return kExitOk;
}

}  // namespace

int RunSchedules(client::JobdClient& client, ScheduleCommand command, const ScheduleFlags& flags,
                 Output output) {
  switch (command) {
    case ScheduleCommand::kCreate: {
      absl::StatusOr<v1::CreateScheduleRequest> request = BuildCreateSchedule(flags);
      if (!request.ok()) return UsageError(request.status());
      return PrintSchedule(client.CreateSchedule(*request), output);
    }
    case ScheduleCommand::kUpdate: {
      absl::StatusOr<v1::UpdateScheduleRequest> request = BuildUpdateSchedule(flags);
      if (!request.ok()) return UsageError(request.status());
      return PrintSchedule(client.UpdateSchedule(*request), output);
    }
    case ScheduleCommand::kList:
      return ListAll(client, flags, output);
    case ScheduleCommand::kGet:
      return PrintSchedule(client.GetSchedule(ScheduleIdRequest<v1::GetScheduleRequest>(flags)),
                           output);
    case ScheduleCommand::kPause:
      return PrintSchedule(client.PauseSchedule(BuildPauseSchedule(flags)), output);
    case ScheduleCommand::kResume:
      return PrintSchedule(
          client.ResumeSchedule(ScheduleIdRequest<v1::ResumeScheduleRequest>(flags)), output);
    case ScheduleCommand::kTrigger: {
      absl::StatusOr<v1::TriggerScheduleResponse> triggered =
          client.TriggerSchedule(ScheduleIdRequest<v1::TriggerScheduleRequest>(flags));
      if (!triggered.ok()) return ServerError(triggered.status());
      if (output == Output::kJson) return PrintJson(*triggered);
      std::cout << FormatJob(triggered->job(), absl::Now());
      return kExitOk;
    }
    case ScheduleCommand::kBackfill: {
      absl::StatusOr<v1::BackfillScheduleRequest> request = BuildBackfillSchedule(flags);
      if (!request.ok()) return UsageError(request.status());
      absl::StatusOr<v1::BackfillScheduleResponse> made = client.BackfillSchedule(*request);
      if (!made.ok()) return ServerError(made.status());
      if (output == Output::kJson) return PrintJson(*made);
      std::cout << FormatJobTable(made->jobs(), absl::Now());
      return kExitOk;
    }
    case ScheduleCommand::kDelete: {
      absl::StatusOr<v1::DeleteScheduleResponse> deleted =
          client.DeleteSchedule(ScheduleIdRequest<v1::DeleteScheduleRequest>(flags));
      if (!deleted.ok()) return ServerError(deleted.status());
      if (output == Output::kJson) return PrintJson(*deleted);
      std::cout << "schedule " << flags.id << " deleted\n";
      return kExitOk;
    }
  }
  return kExitUsage;
}

}  // namespace jobd::jobctl
