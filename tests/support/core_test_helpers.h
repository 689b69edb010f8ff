// What the tests of the core managers build alike: callers as the core sees them after
// authentication, and group commit with one committer (writes in submission order).
#pragma once

#include <string>

#include "absl/strings/str_cat.h"
#include "db/model/api_key.h"
#include "server/core/access.h"
#include "server/core/group_commit.h"

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

inline core::GroupCommitOptions OneCommitter() {
  core::GroupCommitOptions options;
  options.committers = 1;
  return options;
}

}  // namespace jobd::fakes
