// Every unary RPC of jobd.v1 by its proto descriptor, bound to its handler: how a transport
// that works on messages in general (the HTTP gateway) reaches the same handler as gRPC.
// tests/unit/unary_methods_test.cc checks that every unary method of the protos is here.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "absl/strings/string_view.h"
#include "server/api/admin_handlers.h"
#include "server/api/job_handlers.h"
#include "server/api/queue_handlers.h"
#include "server/api/schedule_handlers.h"
#include "server/api/worker_handlers.h"

namespace jobd::api {

struct UnaryMethod {
  const google::protobuf::MethodDescriptor* descriptor;
  // Runs an admitted call; the messages must be of the method's types and live until the
  // call is finished.
  std::function<void(UnaryCall call, const core::Principal& caller,
                     const google::protobuf::Message* request, google::protobuf::Message* response)>
      handle;

  const char* name() const { return descriptor->name().c_str(); }
  std::unique_ptr<google::protobuf::Message> NewRequest() const;
  std::unique_ptr<google::protobuf::Message> NewResponse() const;
};

class UnaryMethods {
 public:
  UnaryMethods(JobHandlers& jobs, WorkerHandlers& workers, AdminHandlers& admin,
               ScheduleHandlers& schedules, TemplateHandlers& templates, QueueHandlers& queues);
  // By full name, "jobd.v1.JobService/GetJob"; null when there is none.
  const UnaryMethod* Find(absl::string_view service, absl::string_view method) const;
  const std::vector<UnaryMethod>& all() const { return methods_; }

 private:
  std::vector<UnaryMethod> methods_;
};

}  // namespace jobd::api
