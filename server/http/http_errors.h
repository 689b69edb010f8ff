// How a call's status reaches an HTTP client: the standard mapping from gRPC codes to HTTP
// statuses, and the error body {"code": <gRPC code number>, "message": "...", "details": []}.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace jobd::http {

int HttpStatusOf(absl::StatusCode code);
std::string ErrorBody(const absl::Status& status);

}  // namespace jobd::http
