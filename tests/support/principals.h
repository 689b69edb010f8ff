// Callers as the core sees them after authentication, for tests of the managers.
#pragma once

#include <string>

#include "absl/strings/str_cat.h"
#include "db/model/api_key.h"
#include "server/core/access.h"

namespace jobd::fakes {

// The caller of an API key named `name` (key id "key-<name>").
inline core::Principal KeyPrincipal(const std::string& name, Role role,
                                    const std::string& workspace) {
  core::Principal p;
  p.key_id = absl::StrCat("key-", name);
  p.name = name;
  p.role = role;
  p.workspace_id = workspace;
  return p;
}

}  // namespace jobd::fakes
