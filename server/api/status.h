// The one mapping from absl::Status (core and db) to grpc::Status.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace jobd::api {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace jobd::api
