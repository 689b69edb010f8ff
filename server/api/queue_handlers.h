// jobd.v1.QueueService's calls, for every transport; each runs on the executor.
#pragma once

#include "jobd/v1/queue_service.pb.h"
#include "server/api/unary_call.h"
#include "server/core/executor.h"
#include "server/core/queue_manager.h"

namespace jobd::api {

class QueueHandlers {
 public:
  QueueHandlers(core::QueueManager& queues, core::Executor& executor, Clock& clock)
      : queues_(queues), executor_(executor), clock_(clock) {}

#define JOBD_QUEUE_CALL(Method)                                                                  \
  void Method(UnaryCall call, const core::Principal& caller, const v1::Method##Request* request, \
              v1::Method##Response* response);
  JOBD_QUEUE_CALL(ListQueues)
  JOBD_QUEUE_CALL(PauseQueue)
  JOBD_QUEUE_CALL(ResumeQueue)
  JOBD_QUEUE_CALL(SetQueueLimits)
#undef JOBD_QUEUE_CALL

 private:
  core::QueueManager& queues_;
  core::Executor& executor_;
  Clock& clock_;
};

}  // namespace jobd::api
