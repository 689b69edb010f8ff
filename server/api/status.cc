#include "server/api/status.h"

#include <string>

#include "server/core/clip.h"

namespace jobd::api {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  // absl::StatusCode and grpc::StatusCode share their numbering (both follow google.rpc.Code).
  // The message travels in a trailer, and clients refuse metadata above 8 KiB (failing the
  // connection's other calls too): a message that echoes input is cut well below that.
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()),
                      core::ClipForMessage(status.message(), 1024));
}

}  // namespace jobd::api
