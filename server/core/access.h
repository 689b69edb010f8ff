// Who is calling and what they may do: the authorization decisions of shared/API.md "Access".
// The api layer authenticates the key and checks the call's permission against the role;
// the use cases check workspaces, because only they know which workspace a job id is in.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "db/model/api_key.h"
#include "db/model/job.h"

namespace jobd::core {

// What a call needs, one per RPC (see server/core/access_rules.cc).
// kReadSetup / kManageSetup: schedules and templates (workers have neither).
enum class Permission {
  kRead,
  kCreate,
  kCancel,
  kRetry,
  kWork,
  kAdmin,
  kReadSetup,
  kManageSetup,
  kControl  // pause, resume, delete, bulk-change jobs; pause and resume queues
};

const char* PermissionName(Permission permission);

// admin: everything; member: read, create, cancel, retry, read and manage setup, control;
// worker: work and read; viewer: read and read setup.
bool RoleAllows(Role role, Permission permission);

struct Principal {
  std::string key_id;
  std::string name;  // recorded as requested_by / cancelled by
  Role role = Role::kViewer;
  std::string workspace_id;  // empty for admins: every workspace

  bool CanUseWorkspace(const std::string& workspace) const {
    return role == Role::kAdmin || workspace == workspace_id;
  }
};

// A principal that may do everything: for jobd's own tools (`jobd keys`) and tests.
Principal LocalAdmin(const std::string& name);

// PERMISSION_DENIED naming `field` when the caller may not list, watch or write `workspace`.
absl::Status CheckWorkspace(const Principal& caller, const std::string& workspace,
                            const char* field = "workspace_id");

// A job the caller may not see is reported exactly as an unknown id, so ids leak nothing.
absl::Status JobNotFound(const std::string& id);
bool CanSeeJob(const Principal& caller, const Job& job);

}  // namespace jobd::core
