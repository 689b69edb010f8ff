// API keys as the store speaks of them: who a key stands for, in which workspace, with which
// role. Domain types only; no proto, no SQL. The secret itself is never here, only its hash.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace jobd {

enum class Role { kAdmin = 1, kMember, kWorker, kViewer };

// Lower-case names as stored and shown ("member").
const char* RoleName(Role role);
std::optional<Role> RoleFromName(const std::string& name);

struct ApiKey {
  std::string id;    // UUID
  std::string name;  // the principal, recorded as requested_by
  Role role = Role::kViewer;
  std::string workspace_id;  // empty for admin keys: every workspace
  std::string key_hash;      // SHA-256 of the whole key, 32 raw bytes
  std::string key_prefix;    // the key's first characters, to recognise it
  std::string created_by;
  absl::Time create_time;
  std::optional<absl::Time> expire_time;
  std::optional<absl::Time> revoke_time;
  int64_t change_seq = 0;  // order of inserts and revocations (see 0003_api_keys.sql)
};

class ApiKeyStore {
 public:
  virtual ~ApiKeyStore() = default;
  // Stores a new key (change_seq is assigned); ALREADY_EXISTS if the hash exists.
  virtual absl::StatusOr<ApiKey> InsertApiKey(const ApiKey& key) = 0;
  // Revokes a key at `when`; a key already revoked is returned unchanged. NOT_FOUND if none.
  virtual absl::StatusOr<ApiKey> RevokeApiKey(const std::string& id, absl::Time when) = 0;
  // Newest first, ids below `before_id` (empty: from the newest); `workspace_id` empty: all.
  virtual absl::StatusOr<std::vector<ApiKey>> ListApiKeys(const std::string& before_id,
                                                          const std::string& workspace_id,
                                                          int32_t limit) = 0;
  // Keys inserted or revoked after change `after`, oldest change first.
  virtual absl::StatusOr<std::vector<ApiKey>> ApiKeyChanges(int64_t after, int32_t limit) = 0;

  // The installation's page-token keys, the signing one first (the others are in the grace
  // period of a rotation).
  virtual absl::StatusOr<std::vector<std::string>> PageTokenKeys() = 0;
  // A new signing key; the keys in use keep verifying for `grace`.
  virtual absl::Status RotatePageTokenKey(absl::Duration grace) = 0;
};

}  // namespace jobd
