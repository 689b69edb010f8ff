#include "server/core/schedule_manager.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/core/ids.h"
#include "server/core/job_presets.h"
#include "server/core/schedule_spec.h"
#include "server/core/validation.h"

namespace jobd::core {
namespace {

constexpr int kMaxBackfillRuns = 1000;
// Runs skipped one by one in a pass before the rest of a long outage is jumped over.
constexpr int kMaxSkipsCounted = 100000;
// Runs made by one schedule in one pass; the next pass goes on.
constexpr int kMaxRunsPerPass = 100;
// While a run waits for the previous job (BUFFER_ONE) or for quota, it is looked at again
// this often.
constexpr absl::Duration kRecheck = absl::Seconds(1);
// How late the loop may handle a run before the catch-up window applies to it (a pass, a
// replica's sleep).
constexpr absl::Duration kFiringSlack = absl::Seconds(1);

absl::Status ScheduleNotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("schedule ", id, " not found"));
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E*SZ", t, absl::UTCTimeZone());
}

// Sets next_run_time to the first run strictly after `after`, and next_fire_time to when it
// is due (with its jitter).
void PlanNext(Schedule& s, const CompiledSpec& spec, absl::Time after) {
  s.next_run_time = spec.NextAfter(after);
  s.next_fire_time.reset();
  if (s.next_run_time) {
    s.next_fire_time = *s.next_run_time + spec.JitterFor(s.id, *s.next_run_time);
  }
}

// The principal a schedule's runs are made as: its workspace, named after it.
Principal RunAs(const Schedule& s) {
  Principal p;
  p.name = absl::StrCat("schedule:", s.name);
  p.role = Role::kMember;
  p.workspace_id = s.workspace_id;
  return p;
}

bool IsActive(JobState state) { return !IsTerminal(state); }

// Errors a retry cannot cure (unlike an unavailable database).
bool IsPermanent(const absl::Status& s) {
  return absl::IsInvalidArgument(s) || absl::IsNotFound(s) || absl::IsFailedPrecondition(s) ||
         absl::IsAlreadyExists(s) || absl::IsPermissionDenied(s);
}

}  // namespace

ScheduleManager::ScheduleManager(ScheduleStore& store, JobManager& jobs, TemplateManager& templates,
                                 Clock& clock, Limits limits, PageTokenCodec page_tokens)
    : store_(store),
      jobs_(jobs),
      templates_(templates),
      clock_(clock),
      limits_(limits),
      page_tokens_(std::move(page_tokens)) {}

absl::Status ScheduleManager::Check(Schedule& s, absl::Time now) {
  if (absl::Status st = ValidateName("name", s.name); !st.ok()) return st;
  absl::StatusOr<CompiledSpec> spec = CompiledSpec::Compile(s.spec);
  if (!spec.ok()) return spec.status();
  if (s.catchup_window < absl::ZeroDuration() || s.catchup_window > absl::Hours(24 * 365)) {
    return absl::InvalidArgumentError("catchup_window: must be between 0s and 365 days");
  }
  // Kept as jsonb (the schedule's job).
  if (absl::Status st = ValidateStoredJson("job.payload", s.job.payload_json); !st.ok()) {
    return st;
  }
  CreateJobCommand job = CommandFromPreset(s.job);
  for (const auto& [key, value] : job.labels) {
    if (absl::StartsWith(key, "jobd/")) {
      return absl::InvalidArgumentError(
          absl::StrCat("job.labels: \"", key, "\": keys starting with jobd/ are set by jobd"));
    }
  }
  // The checks of a create, with the template applied as a run would.
  job.workspace_id = s.workspace_id;
  if (job.template_name.empty() && job.type.empty()) {
    return absl::InvalidArgumentError("job.type: is required (or job.template)");
  }
  absl::Status st = job.template_name.empty() ? absl::OkStatus() : templates_.Apply(job);
  // As a run sends it: with the two labels jobd adds (they count towards the limit).
  job.labels[kScheduleLabel] = s.id.empty() ? std::string(36, '0') : s.id;
  job.labels[kScheduledTimeLabel] = Rfc3339(now);
  if (st.ok()) st = ValidateCreate(job, now, limits_, CreateOrigin::kSchedule);
  return ForItem(st, "job");
}

absl::StatusOr<Schedule> ScheduleManager::Create(const Principal& caller, Schedule s) {
  if (absl::Status st = CheckWorkspace(caller, s.workspace_id); !st.ok()) return st;
  if (absl::Status st = ValidateWorkspaceId(s.workspace_id, limits_); !st.ok()) return st;
  const absl::Time now = clock_.Now();
  if (absl::Status st = Check(s, now); !st.ok()) return st;
  s.id = NewJobId(now);
  s.created_by = caller.name;
  s.runs_fired = s.runs_skipped = 0;
  s.last_run_time.reset();
  s.buffered_run_time.reset();
  s.last_job_id.clear();
  s.last_skip_reason.clear();
  if (!s.paused) s.pause_note.clear();
  PlanNext(s, *CompiledSpec::Compile(s.spec), now);
  absl::StatusOr<Schedule> made = store_.InsertSchedule(s);
  if (made.ok()) changed_();
  return made;
}

absl::StatusOr<Schedule> ScheduleManager::Visible(const Principal& caller, const std::string& id) {
  if (absl::Status st = ValidateId("id", id, "schedule"); !st.ok()) return st;
  absl::StatusOr<Schedule> s = store_.GetSchedule(id);
  if (s.ok() && !caller.CanUseWorkspace(s->workspace_id)) return ScheduleNotFound(id);
  return s;
}

absl::StatusOr<Schedule> ScheduleManager::Get(const Principal& caller, const std::string& id) {
  return Visible(caller, id);
}

absl::StatusOr<SchedulePage> ScheduleManager::List(const Principal& caller,
                                                   const std::string& workspace_id,
                                                   int32_t page_size,
                                                   const std::string& page_token) {
  if (absl::Status st = CheckWorkspace(caller, workspace_id); !st.ok()) return st;
  if (absl::Status st = ValidateWorkspaceId(workspace_id, limits_); !st.ok()) return st;
  if (page_size < 0 || page_size > limits_.max_page_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be between 0 and ", limits_.max_page_size));
  }
  const int32_t limit = page_size == 0 ? limits_.default_page_size : page_size;
  const std::string query = absl::StrCat("schedules;ws=", workspace_id);
  std::string after;
  if (!page_token.empty()) {
    absl::StatusOr<std::string> decoded = page_tokens_.Decode(page_token, query);
    if (!decoded.ok()) return decoded.status();
    after = *decoded;
  }
  absl::StatusOr<std::vector<Schedule>> rows = store_.ListSchedules(workspace_id, after, limit + 1);
  if (!rows.ok()) return rows.status();
  SchedulePage page;
  page.schedules = std::move(*rows);
  if (page.schedules.size() > static_cast<size_t>(limit)) {
    page.schedules.resize(limit);
    page.next_page_token = page_tokens_.Encode(page.schedules.back().name, query);
  }
  return page;
}

absl::StatusOr<Schedule> ScheduleManager::Update(const Principal& caller, const Schedule& wanted,
                                                 const std::vector<std::string>& mask) {
  absl::StatusOr<Schedule> current = Visible(caller, wanted.id);
  if (!current.ok()) return current.status();
  if (mask.empty()) return absl::InvalidArgumentError("update_mask: names no field");
  for (const std::string& path : mask) {
    if (path != "name" && path != "spec" && path != "job" && path != "overlap_policy" &&
        path != "catchup_window") {
      return absl::InvalidArgumentError(
          absl::StrCat("update_mask: \"", path,
                       "\" is not one of name, spec, job, overlap_policy, catchup_window"));
    }
  }
  auto has = [&](const char* path) { return std::count(mask.begin(), mask.end(), path) > 0; };
  auto apply_mask = [&](Schedule& s) {
    if (has("name")) s.name = wanted.name;
    if (has("spec")) s.spec = wanted.spec;
    if (has("job")) s.job = wanted.job;
    if (has("overlap_policy")) s.overlap_policy = wanted.overlap_policy;
    if (has("catchup_window")) s.catchup_window = wanted.catchup_window;
  };
  // Checked before the row is locked: the check reads templates (another connection).
  Schedule candidate = *current;
  apply_mask(candidate);
  if (absl::Status st = Check(candidate, clock_.Now()); !st.ok()) return st;
  absl::StatusOr<Schedule> updated =
      store_.UpdateSchedule(wanted.id, [&](Schedule& s, absl::Time now) -> absl::Status {
        apply_mask(s);
        if (has("spec")) PlanNext(s, *CompiledSpec::Compile(s.spec), now);
        return absl::OkStatus();
      });
  if (updated.ok()) changed_();
  return updated;
}

absl::Status ScheduleManager::Delete(const Principal& caller, const std::string& id) {
  absl::StatusOr<Schedule> current = Visible(caller, id);
  if (!current.ok()) return current.status();
  return store_.DeleteSchedule(id);
}

absl::StatusOr<Schedule> ScheduleManager::Pause(const Principal& caller, const std::string& id,
                                                const std::string& note) {
  if (absl::Status st = ValidateText("note", note, limits_); !st.ok()) return st;
  absl::StatusOr<Schedule> current = Visible(caller, id);
  if (!current.ok()) return current.status();
  return store_.UpdateSchedule(id, [&](Schedule& s, absl::Time) {
    s.paused = true;
    s.pause_note = note;
    return absl::OkStatus();
  });
}

absl::StatusOr<Schedule> ScheduleManager::Resume(const Principal& caller, const std::string& id) {
  absl::StatusOr<Schedule> current = Visible(caller, id);
  if (!current.ok()) return current.status();
  absl::StatusOr<Schedule> resumed =
      store_.UpdateSchedule(id, [&](Schedule& s, absl::Time now) -> absl::Status {
        if (!s.paused) return absl::OkStatus();
        s.paused = false;
        s.pause_note.clear();
        s.buffered_run_time.reset();
        absl::StatusOr<CompiledSpec> spec = CompiledSpec::Compile(s.spec);
        if (!spec.ok()) return spec.status();
        PlanNext(s, *spec, now);
        return absl::OkStatus();
      });
  if (resumed.ok()) changed_();
  return resumed;
}

CreateJobCommand ScheduleManager::RunCommand(const Schedule& s, absl::Time nominal,
                                             const std::string& key) const {
  CreateJobCommand c = CommandFromPreset(s.job);
  c.workspace_id = s.workspace_id;
  c.labels[kScheduleLabel] = s.id;
  c.labels[kScheduledTimeLabel] = Rfc3339(nominal);
  c.idempotency_key = key;
  return c;
}

absl::StatusOr<Job> ScheduleManager::Trigger(const Principal& caller, const std::string& id) {
  absl::StatusOr<Schedule> s = Visible(caller, id);
  if (!s.ok()) return s.status();
  // At the precision times are stored with, so the label and last_run_time agree.
  const absl::Time now = absl::FromUnixMicros(absl::ToUnixMicros(clock_.Now()));
  absl::StatusOr<std::vector<Job>> jobs = jobs_.CreateScheduledJobs(
      RunAs(*s), caller,
      {RunCommand(*s, now, absl::StrCat("jobd/schedule/", s->id, "/trigger/", Rfc3339(now)))});
  if (!jobs.ok()) return jobs.status();
  const Job job = jobs->front();
  absl::StatusOr<Schedule> updated = store_.UpdateSchedule(id, [&](Schedule& row, absl::Time) {
    ++row.runs_fired;
    // The latest run is the one the overlap policy looks at.
    if (!row.last_run_time || *row.last_run_time < now) {
      row.last_run_time = now;
      row.last_job_id = job.id;
    }
    return absl::OkStatus();
  });
  if (!updated.ok()) return updated.status();
  return job;
}

absl::StatusOr<std::vector<Job>> ScheduleManager::Backfill(const Principal& caller,
                                                           const std::string& id, absl::Time start,
                                                           absl::Time end) {
  if (end < start) return absl::InvalidArgumentError("end_time: must not be before start_time");
  // Runs to come are the schedule's own: a backfill made now would stand in for them.
  if (end > clock_.Now()) return absl::InvalidArgumentError("end_time: must not be in the future");
  absl::StatusOr<Schedule> s = Visible(caller, id);
  if (!s.ok()) return s.status();
  absl::StatusOr<CompiledSpec> spec = CompiledSpec::Compile(s->spec);
  if (!spec.ok()) return spec.status();
  std::vector<CreateJobCommand> runs;
  for (std::optional<absl::Time> t = spec->NextAfter(start - absl::Nanoseconds(1)); t && *t <= end;
       t = spec->NextAfter(*t)) {
    if (runs.size() == kMaxBackfillRuns) {
      return absl::InvalidArgumentError(absl::StrCat("end_time: the range holds more than ",
                                                     kMaxBackfillRuns, " runs; backfill in parts"));
    }
    runs.push_back(RunCommand(*s, *t, absl::StrCat("jobd/schedule/", s->id, "/", Rfc3339(*t))));
  }
  if (runs.empty()) return std::vector<Job>{};
  return jobs_.CreateScheduledJobs(RunAs(*s), caller, std::move(runs));
}

std::vector<absl::Time> ScheduleManager::NextRunTimes(const Schedule& s, int n) const {
  if (s.paused || !s.next_run_time || n <= 0) return {};
  absl::StatusOr<CompiledSpec> spec = CompiledSpec::Compile(s.spec);
  if (!spec.ok()) return {};
  std::vector<absl::Time> out = {*s.next_run_time};
  for (absl::Time t : spec->Next(*s.next_run_time, n - 1)) out.push_back(t);
  return out;
}

absl::Duration ScheduleManager::TimeToNextFire(absl::Duration cap) {
  absl::StatusOr<std::optional<absl::Duration>> wait = store_.TimeToNextFire();
  if (!wait.ok() || !wait->has_value()) return cap;
  return std::min(cap, **wait);
}

absl::StatusOr<int> ScheduleManager::FireDue(int limit) {
  absl::StatusOr<DueSchedules> due = store_.SchedulesDueNow(limit);
  if (!due.ok()) return due.status();
  int made = 0;
  absl::Status first_error;
  for (const Schedule& s : due->schedules) {
    absl::StatusOr<int> n = FireOne(s, due->now);
    if (n.ok()) {
      made += *n;
    } else if (first_error.ok()) {
      first_error = n.status();
    }
  }
  if (!first_error.ok() && made == 0) return first_error;
  return made;
}

absl::StatusOr<int> ScheduleManager::FireOne(const Schedule& read, absl::Time now) {
  absl::StatusOr<CompiledSpec> spec = CompiledSpec::Compile(read.spec);
  if (!spec.ok()) {
    // This replica cannot read the spec (another jobd's, or a time zone missing here): put
    // the schedule off a minute, for a replica that can, without touching its runs.
    store_
        .UpdateSchedule(read.id,
                        [&](Schedule& row, absl::Time db_now) -> absl::Status {
                          if (row.version != read.version) return absl::AbortedError("moved on");
                          row.next_fire_time = db_now + absl::Minutes(1);
                          row.last_skip_reason =
                              absl::StrCat("not readable by a replica: ", spec.status().message());
                          return absl::OkStatus();
                        })
        .IgnoreError();
    return spec.status();
  }
  auto due = [&](absl::Time nominal) { return nominal + spec->JitterFor(read.id, nominal); };
  Schedule next = read;  // what the schedule becomes; written with each run, and at the end
  int64_t version = read.version;
  int made = 0;
  bool previous_active = false;
  if (!read.last_job_id.empty()) {
    absl::StatusOr<Job> previous = jobs_.GetJob(RunAs(read), read.last_job_id);
    if (previous.ok()) {
      previous_active = IsActive(previous->state);
    } else if (!absl::IsNotFound(previous.status())) {
      return previous.status();
    }
  }
  bool refused = false;  // by the workspace's quota: try again shortly
  auto skip = [&](const std::string& reason) {
    ++next.runs_skipped;
    next.last_skip_reason = reason;
  };
  // Makes the run at `nominal`, with the schedule as `after` once it is made; the schedule
  // must not have moved since this pass read it (ABORTED otherwise).
  auto run = [&](absl::Time nominal, Schedule after) -> absl::Status {
    ++after.runs_fired;
    after.last_run_time = nominal;
    absl::StatusOr<JobStore::ScheduledRun> made_run = jobs_.CreateScheduledRun(
        RunAs(read),
        RunCommand(read, nominal, absl::StrCat("jobd/schedule/", read.id, "/", Rfc3339(nominal))),
        after, version);
    if (absl::IsResourceExhausted(made_run.status())) {
      refused = true;
      next.last_skip_reason = std::string(made_run.status().message());
      return absl::OkStatus();
    }
    if (IsPermanent(made_run.status())) {
      // The run can never be made as it stands (its template is gone, its payload no longer
      // passes the schema): skipped, with why, and the schedule moves on.
      skip(std::string(made_run.status().message()));
      return absl::OkStatus();
    }
    if (!made_run.ok()) return made_run.status();
    ++made;
    next = std::move(after);
    next.last_job_id = made_run->created.job.id;
    version = made_run->version;
    previous_active = IsActive(made_run->created.job.state);
    return absl::OkStatus();
  };
  if (next.buffered_run_time && !previous_active) {
    Schedule after = next;
    after.buffered_run_time.reset();
    if (absl::Status st = run(*next.buffered_run_time, after); !st.ok()) {
      return absl::IsAborted(st) ? absl::StatusOr<int>(made) : st;
    }
  }
  // A run is missed when it is due earlier than the catch-up window (and the loop's own
  // slack) before now.
  const absl::Time oldest_kept = now - read.catchup_window - kFiringSlack;
  int skipped_in_outage = 0;
  while (!refused && next.next_run_time && due(*next.next_run_time) <= now &&
         made < kMaxRunsPerPass) {
    const absl::Time nominal = *next.next_run_time;
    if (due(nominal) < oldest_kept) {
      skip("missed: older than the catch-up window");
      if (++skipped_in_outage == kMaxSkipsCounted) {
        PlanNext(next, *spec, oldest_kept - absl::Nanoseconds(1));
      } else {
        PlanNext(next, *spec, nominal);
      }
      continue;
    }
    if (previous_active) {
      switch (read.overlap_policy) {
        case OverlapPolicy::kSkip:
          skip("the previous job was still active");
          PlanNext(next, *spec, nominal);
          continue;
        case OverlapPolicy::kBufferOne:
          if (next.buffered_run_time) {
            skip("the previous job was still active and a run was already waiting");
          } else {
            next.buffered_run_time = nominal;
          }
          PlanNext(next, *spec, nominal);
          continue;
        case OverlapPolicy::kCancelOther: {
          // A stale pass cancels at most a job older than the run it makes.
          absl::StatusOr<Job> cancelled =
              jobs_.CancelJob(RunAs(read), next.last_job_id,
                              absl::StrCat("replaced by the run of ", Rfc3339(nominal),
                                           " (schedule ", read.name, ")"));
          // A job that finished meanwhile cannot be cancelled; the run goes ahead.
          if (!cancelled.ok() && !absl::IsFailedPrecondition(cancelled.status()) &&
              !absl::IsNotFound(cancelled.status())) {
            return cancelled.status();
          }
          break;
        }
        case OverlapPolicy::kAllowAll:
          break;
      }
    }
    Schedule after = next;
    PlanNext(after, *spec, nominal);
    if (absl::Status st = run(nominal, after); !st.ok()) {
      return absl::IsAborted(st) ? absl::StatusOr<int>(made) : st;
    }
    if (!refused && next.next_run_time == nominal) PlanNext(next, *spec, nominal);  // skipped
  }
  if (next.next_run_time) next.next_fire_time = due(*next.next_run_time);
  if (refused || next.buffered_run_time) {
    // Come back soon: the quota may free up, the previous job may end.
    const absl::Time recheck = now + kRecheck;
    if (!next.next_fire_time || *next.next_fire_time > recheck) next.next_fire_time = recheck;
  }
  // The skips, the next run and when to look again; written only if no other replica moved
  // the schedule on meanwhile.
  absl::StatusOr<Schedule> written =
      store_.UpdateSchedule(read.id, [&](Schedule& row, absl::Time) -> absl::Status {
        if (row.version != version || row.paused) {
          return absl::AbortedError("moved on by another replica");
        }
        row.next_run_time = next.next_run_time;
        row.next_fire_time = next.next_fire_time;
        row.buffered_run_time = next.buffered_run_time;
        row.runs_skipped = next.runs_skipped;
        row.last_skip_reason = next.last_skip_reason;
        return absl::OkStatus();
      });
  if (absl::IsAborted(written.status()) || absl::IsNotFound(written.status())) return made;
  if (!written.ok()) return written.status();
  return made;
}

}  // namespace jobd::core
