#include "server/core/access_rules.h"

namespace jobd::core {

const std::vector<MethodRule>& MethodRules() {
  static const auto* rules = new std::vector<MethodRule>{
      {"jobd.v1.JobService", "CreateJob", Permission::kCreate},
      {"jobd.v1.JobService", "BatchCreateJobs", Permission::kCreate},
      {"jobd.v1.JobService", "GetJob", Permission::kRead},
      {"jobd.v1.JobService", "ListJobs", Permission::kRead},
      {"jobd.v1.JobService", "CancelJob", Permission::kCancel},
      {"jobd.v1.JobService", "RetryJob", Permission::kRetry},
      {"jobd.v1.JobService", "WatchJob", Permission::kRead},
      {"jobd.v1.JobService", "WatchJobs", Permission::kRead},
      {"jobd.v1.JobService", "ListJobEvents", Permission::kRead},
      {"jobd.v1.JobService", "GetJobStats", Permission::kRead},
      {"jobd.v1.JobService", "PauseJob", Permission::kControl},
      {"jobd.v1.JobService", "ResumeJob", Permission::kControl},
      {"jobd.v1.JobService", "DeleteJob", Permission::kControl},
      {"jobd.v1.JobService", "BulkCancelJobs", Permission::kControl},
      {"jobd.v1.JobService", "BulkRetryJobs", Permission::kControl},
      {"jobd.v1.JobService", "BulkPauseJobs", Permission::kControl},
      {"jobd.v1.JobService", "BulkResumeJobs", Permission::kControl},
      {"jobd.v1.JobService", "BulkDeleteJobs", Permission::kAdmin},
      {"jobd.v1.JobService", "BulkFailJobs", Permission::kAdmin},
      {"jobd.v1.WorkerService", "AcquireJobs", Permission::kWork},
      {"jobd.v1.WorkerService", "ReportProgress", Permission::kWork},
      {"jobd.v1.WorkerService", "CompleteJob", Permission::kWork},
      {"jobd.v1.WorkerService", "FailJob", Permission::kWork},
      {"jobd.v1.AdminService", "CreateApiKey", Permission::kAdmin},
      {"jobd.v1.AdminService", "ListApiKeys", Permission::kAdmin},
      {"jobd.v1.AdminService", "RevokeApiKey", Permission::kAdmin},
      {"jobd.v1.AdminService", "WhoAmI", Permission::kRead},
      {"jobd.v1.ScheduleService", "CreateSchedule", Permission::kManageSetup},
      {"jobd.v1.ScheduleService", "GetSchedule", Permission::kReadSetup},
      {"jobd.v1.ScheduleService", "ListSchedules", Permission::kReadSetup},
      {"jobd.v1.ScheduleService", "UpdateSchedule", Permission::kManageSetup},
      {"jobd.v1.ScheduleService", "DeleteSchedule", Permission::kManageSetup},
      {"jobd.v1.ScheduleService", "PauseSchedule", Permission::kManageSetup},
      {"jobd.v1.ScheduleService", "ResumeSchedule", Permission::kManageSetup},
      {"jobd.v1.ScheduleService", "TriggerSchedule", Permission::kManageSetup},
      {"jobd.v1.ScheduleService", "BackfillSchedule", Permission::kManageSetup},
      {"jobd.v1.TemplateService", "CreateJobTemplate", Permission::kManageSetup},
      {"jobd.v1.TemplateService", "GetJobTemplate", Permission::kReadSetup},
      {"jobd.v1.TemplateService", "ListJobTemplates", Permission::kReadSetup},
      {"jobd.v1.TemplateService", "UpdateJobTemplate", Permission::kManageSetup},
      {"jobd.v1.TemplateService", "DeleteJobTemplate", Permission::kManageSetup},
      {"jobd.v1.QueueService", "ListQueues", Permission::kRead},
      {"jobd.v1.QueueService", "PauseQueue", Permission::kControl},
      {"jobd.v1.QueueService", "ResumeQueue", Permission::kControl},
      {"jobd.v1.QueueService", "SetQueueLimits", Permission::kAdmin},
  };
  return *rules;
}

std::optional<Permission> PermissionFor(absl::string_view method) {
  for (const MethodRule& rule : MethodRules()) {
    if (method == rule.method) return rule.permission;
  }
  return std::nullopt;
}

}  // namespace jobd::core
