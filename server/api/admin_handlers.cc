#include "server/api/admin_handlers.h"

#include "server/api/convert.h"

namespace jobd::api {
namespace {

v1::ApiKeyRole RoleToProto(Role role) {
  switch (role) {
    case Role::kAdmin:
      return v1::API_KEY_ROLE_ADMIN;
    case Role::kMember:
      return v1::API_KEY_ROLE_MEMBER;
    case Role::kWorker:
      return v1::API_KEY_ROLE_WORKER;
    case Role::kViewer:
      return v1::API_KEY_ROLE_VIEWER;
  }
  return v1::API_KEY_ROLE_UNSPECIFIED;
}

std::optional<Role> FromProto(v1::ApiKeyRole role) {
  switch (role) {
    case v1::API_KEY_ROLE_ADMIN:
      return Role::kAdmin;
    case v1::API_KEY_ROLE_MEMBER:
      return Role::kMember;
    case v1::API_KEY_ROLE_WORKER:
      return Role::kWorker;
    case v1::API_KEY_ROLE_VIEWER:
      return Role::kViewer;
    default:
      return std::nullopt;
  }
}

}  // namespace

void ToProto(const ApiKey& key, v1::ApiKey* out) {
  out->set_id(key.id);
  out->set_name(key.name);
  out->set_role(RoleToProto(key.role));
  out->set_workspace_id(key.workspace_id);
  out->set_key_prefix(key.key_prefix);
  out->set_created_by(key.created_by);
  SetTime(key.create_time, out->mutable_create_time());
  if (key.expire_time) SetTime(*key.expire_time, out->mutable_expire_time());
  if (key.revoke_time) SetTime(*key.revoke_time, out->mutable_revoke_time());
}

void AdminHandlers::CreateApiKey(UnaryCall call, const core::Principal& caller,
                                 const v1::CreateApiKeyRequest* request,
                                 v1::CreateApiKeyResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    core::CreateApiKeyCommand command;
    command.name = request->name();
    command.role = FromProto(request->role());
    command.workspace_id = request->workspace_id();
    if (request->has_expire_time()) {
      absl::StatusOr<absl::Time> expire = ReadTime(request->expire_time(), "expire_time");
      if (!expire.ok()) return expire.status();
      command.expire_time = *expire;
    }
    absl::StatusOr<core::CreatedApiKey> created = keys_.CreateApiKey(caller, command);
    if (!created.ok()) return created.status();
    ToProto(created->key, response->mutable_api_key());
    response->set_secret(created->secret);
    return absl::OkStatus();
  });
}

void AdminHandlers::ListApiKeys(UnaryCall call, const core::Principal& caller,
                                const v1::ListApiKeysRequest* request,
                                v1::ListApiKeysResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    absl::StatusOr<core::ApiKeyPage> page = keys_.ListApiKeys(
        caller, request->workspace_id(), request->page_size(), request->page_token());
    if (!page.ok()) return page.status();
    for (const ApiKey& key : page->keys) ToProto(key, response->add_api_keys());
    response->set_next_page_token(page->next_page_token);
    return absl::OkStatus();
  });
}

void AdminHandlers::RevokeApiKey(UnaryCall call, const core::Principal& caller,
                                 const v1::RevokeApiKeyRequest* request,
                                 v1::RevokeApiKeyResponse* response) {
  RunBlocking(executor_, call, caller, [=](const core::Principal& caller, std::string*) {
    absl::StatusOr<ApiKey> key = keys_.RevokeApiKey(caller, request->id());
    if (!key.ok()) return key.status();
    ToProto(*key, response->mutable_api_key());
    return absl::OkStatus();
  });
}

void AdminHandlers::WhoAmI(UnaryCall call, const core::Principal& caller,
                           const v1::WhoAmIRequest* request, v1::WhoAmIResponse* response) {
  response->set_key_id(caller.key_id);
  response->set_name(caller.name);
  response->set_role(RoleToProto(caller.role));
  response->set_workspace_id(caller.workspace_id);
  for (core::Permission permission :
       {core::Permission::kRead, core::Permission::kCreate, core::Permission::kCancel,
        core::Permission::kRetry, core::Permission::kWork, core::Permission::kAdmin,
        core::Permission::kReadSetup, core::Permission::kManageSetup, core::Permission::kControl}) {
    if (core::RoleAllows(caller.role, permission)) {
      response->add_permissions(core::PermissionName(permission));
    }
  }
  call.Finish(absl::OkStatus(), "");
}

}  // namespace jobd::api
