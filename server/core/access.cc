#include "server/core/access.h"

#include "absl/strings/str_cat.h"
#include "server/core/clip.h"

namespace jobd::core {

const char* PermissionName(Permission permission) {
  switch (permission) {
    case Permission::kRead:
      return "read";
    case Permission::kCreate:
      return "create";
    case Permission::kCancel:
      return "cancel";
    case Permission::kRetry:
      return "retry";
    case Permission::kWork:
      return "work";
    case Permission::kAdmin:
      return "admin";
    case Permission::kReadSetup:
      return "read_setup";
    case Permission::kManageSetup:
      return "manage_setup";
    case Permission::kControl:
      return "control";
  }
  return "unknown";
}

bool RoleAllows(Role role, Permission permission) {
  switch (role) {
    case Role::kAdmin:
      return true;
    case Role::kMember:
      return permission == Permission::kRead || permission == Permission::kCreate ||
             permission == Permission::kCancel || permission == Permission::kRetry ||
             permission == Permission::kReadSetup || permission == Permission::kManageSetup ||
             permission == Permission::kControl;
    case Role::kWorker:
      return permission == Permission::kRead || permission == Permission::kWork;
    case Role::kViewer:
      return permission == Permission::kRead || permission == Permission::kReadSetup;
  }
  return false;
}

Principal LocalAdmin(const std::string& name) {
  Principal admin;
  admin.name = name;
  admin.role = Role::kAdmin;
  return admin;
}

absl::Status CheckWorkspace(const Principal& caller, const std::string& workspace,
                            const char* field) {
  if (caller.CanUseWorkspace(workspace)) return absl::OkStatus();
  if (workspace.empty()) {
    return absl::PermissionDeniedError(absl::StrCat(field, ": must be \"", caller.workspace_id,
                                                    "\", the API key's workspace ",
                                                    "(only admin keys reach every workspace)"));
  }
  // Only the start of the value: it is the caller's input and goes back in a header.
  return absl::PermissionDeniedError(absl::StrCat(field, ": API key \"", caller.name,
                                                  "\" may not use workspace \"",
                                                  ClipForMessage(workspace, 64), "\""));
}

absl::Status JobNotFound(const std::string& id) {
  // The same text as the store's, for unknown ids.
  return absl::NotFoundError(absl::StrCat("job ", id, " not found"));
}

bool CanSeeJob(const Principal& caller, const Job& job) {
  return caller.CanUseWorkspace(job.workspace_id);
}

}  // namespace jobd::core
