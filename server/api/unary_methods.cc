#include "server/api/unary_methods.h"

#include <cstdlib>

#include "jobd/v1/admin_service.pb.h"
#include "jobd/v1/job_service.pb.h"
#include "jobd/v1/worker_service.pb.h"

namespace jobd::api {
namespace {

using google::protobuf::Message;

template <typename Handlers, typename Request, typename Response>
UnaryMethod Bind(const google::protobuf::ServiceDescriptor* service, const char* name,
                 Handlers* handlers,
                 void (Handlers::*handle)(UnaryCall, const core::Principal&, const Request*,
                                          Response*)) {
  const google::protobuf::MethodDescriptor* method = service->FindMethodByName(name);
  // A misspelt name or a handler of the wrong types is a programming error: fail at start.
  if (method == nullptr || method->input_type() != Request::descriptor() ||
      method->output_type() != Response::descriptor()) {
    std::abort();
  }
  return UnaryMethod{method, [handlers, handle](UnaryCall call, const core::Principal& caller,
                                                const Message* request, Message* response) {
                       (handlers->*handle)(call, caller, static_cast<const Request*>(request),
                                           static_cast<Response*>(response));
                     }};
}

std::unique_ptr<Message> NewOf(const google::protobuf::Descriptor* type) {
  return std::unique_ptr<Message>(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(type)->New());
}

}  // namespace

std::unique_ptr<Message> UnaryMethod::NewRequest() const { return NewOf(descriptor->input_type()); }
std::unique_ptr<Message> UnaryMethod::NewResponse() const {
  return NewOf(descriptor->output_type());
}

UnaryMethods::UnaryMethods(JobHandlers& jobs, WorkerHandlers& workers, AdminHandlers& admin,
                           ScheduleHandlers& schedules, TemplateHandlers& templates,
                           QueueHandlers& queues) {
  const auto* job_service =
      v1::CreateJobRequest::descriptor()->file()->FindServiceByName("JobService");
  const auto* worker_service =
      v1::AcquireJobsRequest::descriptor()->file()->FindServiceByName("WorkerService");
  const auto* admin_service =
      v1::CreateApiKeyRequest::descriptor()->file()->FindServiceByName("AdminService");
  const auto* schedule_service =
      v1::CreateScheduleRequest::descriptor()->file()->FindServiceByName("ScheduleService");
  const auto* template_service =
      v1::CreateJobTemplateRequest::descriptor()->file()->FindServiceByName("TemplateService");
  const auto* queue_service =
      v1::ListQueuesRequest::descriptor()->file()->FindServiceByName("QueueService");
  methods_ = {
      Bind(job_service, "CreateJob", &jobs, &JobHandlers::CreateJob),
      Bind(job_service, "BatchCreateJobs", &jobs, &JobHandlers::BatchCreateJobs),
      Bind(job_service, "GetJob", &jobs, &JobHandlers::GetJob),
      Bind(job_service, "ListJobs", &jobs, &JobHandlers::ListJobs),
      Bind(job_service, "CancelJob", &jobs, &JobHandlers::CancelJob),
      Bind(job_service, "RetryJob", &jobs, &JobHandlers::RetryJob),
      Bind(job_service, "ListJobEvents", &jobs, &JobHandlers::ListJobEvents),
      Bind(job_service, "GetJobStats", &jobs, &JobHandlers::GetJobStats),
      Bind(job_service, "PauseJob", &jobs, &JobHandlers::PauseJob),
      Bind(job_service, "ResumeJob", &jobs, &JobHandlers::ResumeJob),
      Bind(job_service, "DeleteJob", &jobs, &JobHandlers::DeleteJob),
      Bind(job_service, "BulkCancelJobs", &jobs, &JobHandlers::BulkCancelJobs),
      Bind(job_service, "BulkRetryJobs", &jobs, &JobHandlers::BulkRetryJobs),
      Bind(job_service, "BulkPauseJobs", &jobs, &JobHandlers::BulkPauseJobs),
      Bind(job_service, "BulkResumeJobs", &jobs, &JobHandlers::BulkResumeJobs),
      Bind(job_service, "BulkDeleteJobs", &jobs, &JobHandlers::BulkDeleteJobs),
      Bind(job_service, "BulkFailJobs", &jobs, &JobHandlers::BulkFailJobs),
      Bind(worker_service, "AcquireJobs", &workers, &WorkerHandlers::AcquireJobs),
      Bind(worker_service, "ReportProgress", &workers, &WorkerHandlers::ReportProgress),
      Bind(worker_service, "CompleteJob", &workers, &WorkerHandlers::CompleteJob),
      Bind(worker_service, "FailJob", &workers, &WorkerHandlers::FailJob),
      Bind(admin_service, "CreateApiKey", &admin, &AdminHandlers::CreateApiKey),
      Bind(admin_service, "ListApiKeys", &admin, &AdminHandlers::ListApiKeys),
      Bind(admin_service, "RevokeApiKey", &admin, &AdminHandlers::RevokeApiKey),
      Bind(admin_service, "WhoAmI", &admin, &AdminHandlers::WhoAmI),
      Bind(schedule_service, "CreateSchedule", &schedules, &ScheduleHandlers::CreateSchedule),
      Bind(schedule_service, "GetSchedule", &schedules, &ScheduleHandlers::GetSchedule),
      Bind(schedule_service, "ListSchedules", &schedules, &ScheduleHandlers::ListSchedules),
      Bind(schedule_service, "UpdateSchedule", &schedules, &ScheduleHandlers::UpdateSchedule),
      Bind(schedule_service, "DeleteSchedule", &schedules, &ScheduleHandlers::DeleteSchedule),
      Bind(schedule_service, "PauseSchedule", &schedules, &ScheduleHandlers::PauseSchedule),
      Bind(schedule_service, "ResumeSchedule", &schedules, &ScheduleHandlers::ResumeSchedule),
      Bind(schedule_service, "TriggerSchedule", &schedules, &ScheduleHandlers::TriggerSchedule),
      Bind(schedule_service, "BackfillSchedule", &schedules, &ScheduleHandlers::BackfillSchedule),
      Bind(template_service, "CreateJobTemplate", &templates, &TemplateHandlers::CreateJobTemplate),
      Bind(template_service, "GetJobTemplate", &templates, &TemplateHandlers::GetJobTemplate),
      Bind(template_service, "ListJobTemplates", &templates, &TemplateHandlers::ListJobTemplates),
      Bind(template_service, "UpdateJobTemplate", &templates, &TemplateHandlers::UpdateJobTemplate),
      Bind(template_service, "DeleteJobTemplate", &templates, &TemplateHandlers::DeleteJobTemplate),
      Bind(queue_service, "ListQueues", &queues, &QueueHandlers::ListQueues),
      Bind(queue_service, "PauseQueue", &queues, &QueueHandlers::PauseQueue),
      Bind(queue_service, "ResumeQueue", &queues, &QueueHandlers::ResumeQueue),
      Bind(queue_service, "SetQueueLimits", &queues, &QueueHandlers::SetQueueLimits),
  };
}

const UnaryMethod* UnaryMethods::Find(absl::string_view service, absl::string_view method) const {
  for (const UnaryMethod& m : methods_) {
    if (m.descriptor->service()->full_name() == service && m.descriptor->name() == method) {
      return &m;
    }
  }
  return nullptr;
}

}  // namespace jobd::api
