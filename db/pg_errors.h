// The one place where libpqxx exceptions become absl::Status codes.
#pragma once

#include <exception>

#include "absl/status/status.h"

namespace jobd::db {

// Translates the exception being handled (call from a catch block) to a status:
// unique violation -> ALREADY_EXISTS, serialization failure/deadlock -> ABORTED,
// broken connection or server shutting down -> UNAVAILABLE, statement timeout/cancel ->
// DEADLINE_EXCEEDED, bad input text -> INVALID_ARGUMENT, anything else -> INTERNAL.
absl::Status TranslateException(const std::exception_ptr& error);

// True when the status means the connection it came from cannot be used again.
bool IsConnectionLost(const absl::Status& status);

}  // namespace jobd::db
