// `jobctl keys create|list|revoke`: API keys through jobd.v1.AdminService (admin keys only).
#pragma once

#include <string>

#include <google/protobuf/repeated_ptr_field.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "jobd/v1/admin_service.pb.h"

namespace jobd::jobctl {

struct KeysFlags {
  std::string name;
  std::string role;       // admin, member, worker, viewer
  std::string workspace;  // create: the key's; list: only this workspace's keys
  std::string expire_in;  // create: a duration; empty: never
  std::string id;         // revoke
};

// The request of `keys create`; INVALID_ARGUMENT naming the flag for a bad role or duration.
absl::StatusOr<v1::CreateApiKeyRequest> BuildCreateApiKey(const KeysFlags& flags, absl::Time now);

// The first page of `keys list` (the largest the server allows: few calls for many keys).
v1::ListApiKeysRequest BuildListApiKeys(const KeysFlags& flags);

v1::RevokeApiKeyRequest BuildRevokeApiKey(const KeysFlags& flags);

// One line per key, under a header: id, name, role, workspace, prefix, created, expires,
// revoked ("-" when unset).
std::string FormatApiKeys(const google::protobuf::RepeatedPtrField<v1::ApiKey>& keys, bool header);

}  // namespace jobd::jobctl
