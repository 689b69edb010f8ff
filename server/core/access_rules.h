// Which permission each RPC needs: one row per method of JobService, WorkerService and
// AdminService. A method without a row is refused (tests/unit/access_rules_test.cc checks
// that every method of the protos has one).
#pragma once

#include <optional>
#include <vector>

#include "absl/strings/string_view.h"
#include "server/core/access.h"

namespace jobd::core {

struct MethodRule {
  const char* service;  // full proto name, e.g. "jobd.v1.JobService"
  const char* method;   // e.g. "CreateJob"
  Permission permission;
};

const std::vector<MethodRule>& MethodRules();
std::optional<Permission> PermissionFor(absl::string_view method);

}  // namespace jobd::core
