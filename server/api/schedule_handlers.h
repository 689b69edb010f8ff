// jobd.v1.ScheduleService's and jobd.v1.TemplateService's calls, for every transport; each
// runs on the executor.
#pragma once

#include "jobd/v1/schedule_service.pb.h"
#include "jobd/v1/template_service.pb.h"
#include "server/api/unary_call.h"
#include "server/core/executor.h"
#include "server/core/schedule_manager.h"
#include "server/core/template_manager.h"

namespace jobd::api {

class ScheduleHandlers {
 public:
  ScheduleHandlers(core::ScheduleManager& schedules, core::Executor& executor, Clock& clock)
      : schedules_(schedules), executor_(executor), clock_(clock) {}

#define JOBD_SCHEDULE_CALL(Method)                                                               \
  void Method(UnaryCall call, const core::Principal& caller, const v1::Method##Request* request, \
              v1::Method##Response* response);
  JOBD_SCHEDULE_CALL(CreateSchedule)
  JOBD_SCHEDULE_CALL(GetSchedule)
  JOBD_SCHEDULE_CALL(ListSchedules)
  JOBD_SCHEDULE_CALL(UpdateSchedule)
  JOBD_SCHEDULE_CALL(DeleteSchedule)
  JOBD_SCHEDULE_CALL(PauseSchedule)
  JOBD_SCHEDULE_CALL(ResumeSchedule)
  JOBD_SCHEDULE_CALL(TriggerSchedule)
  JOBD_SCHEDULE_CALL(BackfillSchedule)

 private:
  void Out(const Schedule& schedule, v1::Schedule* out) const;

  core::ScheduleManager& schedules_;
  core::Executor& executor_;
  Clock& clock_;
};

class TemplateHandlers {
 public:
  TemplateHandlers(core::TemplateManager& templates, core::Executor& executor)
      : templates_(templates), executor_(executor) {}

  JOBD_SCHEDULE_CALL(CreateJobTemplate)
  JOBD_SCHEDULE_CALL(GetJobTemplate)
  JOBD_SCHEDULE_CALL(ListJobTemplates)
  JOBD_SCHEDULE_CALL(UpdateJobTemplate)
  JOBD_SCHEDULE_CALL(DeleteJobTemplate)
#undef JOBD_SCHEDULE_CALL

 private:
  core::TemplateManager& templates_;
  core::Executor& executor_;
};

}  // namespace jobd::api
