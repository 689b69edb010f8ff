#include "server/api/schedule_handlers.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/api/convert.h"
#include "server/api/schedule_convert.h"

namespace jobd::api {
namespace {

constexpr int kNextRunTimes = 5;

// Errors of a nested message name its field under the message ("schedule.name: …").
absl::Status Under(const char* message, const absl::Status& status) {
  if (status.ok() || !absl::IsInvalidArgument(status)) return status;
  return absl::InvalidArgumentError(absl::StrCat(message, ".", status.message()));
}

}  // namespace

void ScheduleHandlers::Out(const Schedule& s, v1::Schedule* out) const {
  ToProto(s, schedules_.NextRunTimes(s, kNextRunTimes), out);
}

void ScheduleHandlers::CreateSchedule(UnaryCall call, const core::Principal& caller,
                                      const v1::CreateScheduleRequest* request,
                                      v1::CreateScheduleResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    absl::StatusOr<Schedule> wanted = FromProto(request->schedule());
    if (!wanted.ok()) return Under("schedule", wanted.status());
    absl::StatusOr<Schedule> s = schedules_.Create(caller, std::move(*wanted));
    if (!s.ok()) return Under("schedule", s.status());
    Out(*s, response->mutable_schedule());
    return absl::OkStatus();
  });
}

void ScheduleHandlers::GetSchedule(UnaryCall call, const core::Principal& caller,
                                   const v1::GetScheduleRequest* request,
                                   v1::GetScheduleResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    absl::StatusOr<Schedule> s = schedules_.Get(caller, request->id());
    if (!s.ok()) return s.status();
    Out(*s, response->mutable_schedule());
    return absl::OkStatus();
  });
}

void ScheduleHandlers::ListSchedules(UnaryCall call, const core::Principal& caller,
                                     const v1::ListSchedulesRequest* request,
                                     v1::ListSchedulesResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    absl::StatusOr<core::SchedulePage> page = schedules_.List(
        caller, request->workspace_id(), request->page_size(), request->page_token());
    if (!page.ok()) return page.status();
    for (const Schedule& s : page->schedules) Out(s, response->add_schedules());
    response->set_next_page_token(page->next_page_token);
    return absl::OkStatus();
  });
}

void ScheduleHandlers::UpdateSchedule(UnaryCall call, const core::Principal& caller,
                                      const v1::UpdateScheduleRequest* request,
                                      v1::UpdateScheduleResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    absl::StatusOr<Schedule> wanted = FromProto(request->schedule());
    if (!wanted.ok()) return Under("schedule", wanted.status());
    absl::StatusOr<Schedule> s =
        schedules_.Update(caller, *wanted, MaskPaths(request->update_mask()));
    if (!s.ok()) {
      return absl::StartsWith(s.status().message(), "update_mask") ? s.status()
                                                                   : Under("schedule", s.status());
    }
    Out(*s, response->mutable_schedule());
    return absl::OkStatus();
  });
}

void ScheduleHandlers::DeleteSchedule(UnaryCall call, const core::Principal& caller,
                                      const v1::DeleteScheduleRequest* request,
                                      v1::DeleteScheduleResponse*) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    return schedules_.Delete(caller, request->id());
  });
}

void ScheduleHandlers::PauseSchedule(UnaryCall call, const core::Principal& caller,
                                     const v1::PauseScheduleRequest* request,
                                     v1::PauseScheduleResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    absl::StatusOr<Schedule> s = schedules_.Pause(caller, request->id(), request->note());
    if (!s.ok()) return s.status();
    Out(*s, response->mutable_schedule());
    return absl::OkStatus();
  });
}

void ScheduleHandlers::ResumeSchedule(UnaryCall call, const core::Principal& caller,
                                      const v1::ResumeScheduleRequest* request,
                                      v1::ResumeScheduleResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    absl::StatusOr<Schedule> s = schedules_.Resume(caller, request->id());
    if (!s.ok()) return s.status();
    Out(*s, response->mutable_schedule());
    return absl::OkStatus();
  });
}

void ScheduleHandlers::TriggerSchedule(UnaryCall call, const core::Principal& caller,
                                       const v1::TriggerScheduleRequest* request,
                                       v1::TriggerScheduleResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string* job_id) {
    absl::StatusOr<Job> job = schedules_.Trigger(caller, request->id());
    if (!job.ok()) return job.status();
    *job_id = job->id;
    ToProto(*job, clock_.Now(), /*include_payload=*/true, response->mutable_job());
    return absl::OkStatus();
  });
}

void ScheduleHandlers::BackfillSchedule(UnaryCall call, const core::Principal& caller,
                                        const v1::BackfillScheduleRequest* request,
                                        v1::BackfillScheduleResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    if (!request->has_start_time() || !request->has_end_time()) {
      return absl::InvalidArgumentError(request->has_start_time() ? "end_time: is required"
                                                                  : "start_time: is required");
    }
    absl::StatusOr<absl::Time> start = ReadTime(request->start_time(), "start_time");
    if (!start.ok()) return start.status();
    absl::StatusOr<absl::Time> end = ReadTime(request->end_time(), "end_time");
    if (!end.ok()) return end.status();
    absl::StatusOr<std::vector<Job>> jobs =
        schedules_.Backfill(caller, request->id(), *start, *end);
    if (!jobs.ok()) return jobs.status();
    const absl::Time now = clock_.Now();
    for (const Job& job : *jobs) ToProto(job, now, /*include_payload=*/true, response->add_jobs());
    return absl::OkStatus();
  });
}

void TemplateHandlers::CreateJobTemplate(UnaryCall call, const core::Principal& caller,
                                         const v1::CreateJobTemplateRequest* request,
                                         v1::CreateJobTemplateResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    absl::StatusOr<JobTemplate> wanted = FromProto(request->job_template());
    if (!wanted.ok()) return Under("job_template", wanted.status());
    absl::StatusOr<JobTemplate> t = templates_.Create(caller, std::move(*wanted));
    if (!t.ok()) return Under("job_template", t.status());
    ToProto(*t, response->mutable_job_template());
    return absl::OkStatus();
  });
}

void TemplateHandlers::GetJobTemplate(UnaryCall call, const core::Principal& caller,
                                      const v1::GetJobTemplateRequest* request,
                                      v1::GetJobTemplateResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    absl::StatusOr<JobTemplate> t = templates_.Get(caller, request->id());
    if (!t.ok()) return t.status();
    ToProto(*t, response->mutable_job_template());
    return absl::OkStatus();
  });
}

void TemplateHandlers::ListJobTemplates(UnaryCall call, const core::Principal& caller,
                                        const v1::ListJobTemplatesRequest* request,
                                        v1::ListJobTemplatesResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    absl::StatusOr<core::TemplatePage> page = templates_.List(
        caller, request->workspace_id(), request->page_size(), request->page_token());
    if (!page.ok()) return page.status();
    for (const JobTemplate& t : page->templates) ToProto(t, response->add_job_templates());
    response->set_next_page_token(page->next_page_token);
    return absl::OkStatus();
  });
}

void TemplateHandlers::UpdateJobTemplate(UnaryCall call, const core::Principal& caller,
                                         const v1::UpdateJobTemplateRequest* request,
                                         v1::UpdateJobTemplateResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    absl::StatusOr<JobTemplate> wanted = FromProto(request->job_template());
    if (!wanted.ok()) return Under("job_template", wanted.status());
    absl::StatusOr<JobTemplate> t =
        templates_.Update(caller, *wanted, MaskPaths(request->update_mask()));
    if (!t.ok()) {
      return absl::StartsWith(t.status().message(), "update_mask")
                 ? t.status()
                 : Under("job_template", t.status());
    }
    ToProto(*t, response->mutable_job_template());
    return absl::OkStatus();
  });
}

void TemplateHandlers::DeleteJobTemplate(UnaryCall call, const core::Principal& caller,
                                         const v1::DeleteJobTemplateRequest* request,
                                         v1::DeleteJobTemplateResponse*) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    return templates_.Delete(caller, request->id());
  });
}

}  // namespace jobd::api
