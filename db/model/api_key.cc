#include "db/model/api_key.h"

#include <array>

namespace jobd {
namespace {
constexpr std::array<const char*, 4> kRoleNames = {"admin", "member", "worker", "viewer"};
}  // namespace

const char* RoleName(Role role) { return kRoleNames[static_cast<int>(role) - 1]; }

std::optional<Role> RoleFromName(const std::string& name) {
  for (size_t i = 0; i < kRoleNames.size(); ++i) {
    if (name == kRoleNames[i]) return static_cast<Role>(i + 1);
  }
  return std::nullopt;
}

}  // namespace jobd
