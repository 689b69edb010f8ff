// The AdminService use cases and `jobd keys`: create, list and revoke API keys. A key's secret
// is returned once, at creation; only its hash is stored.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "db/model/api_key.h"
#include "server/core/access.h"
#include "server/core/job_manager.h"
#include "server/core/key_registry.h"
#include "server/core/limits.h"
#include "server/core/page_token.h"

namespace jobd::core {

struct CreateApiKeyCommand {
  std::string name;
  std::optional<Role> role;  // unset: INVALID_ARGUMENT
  std::string workspace_id;  // empty for admin keys
  std::optional<absl::Time> expire_time;
};

struct CreatedApiKey {
  ApiKey key;
  std::string secret;  // shown once
};

struct ApiKeyPage {
  std::vector<ApiKey> keys;
  std::string next_page_token;
};

class ApiKeyManager {
 public:
  // `registry` (may be null) learns this process's creations and revocations at once.
  ApiKeyManager(ApiKeyStore& store, KeyRegistry* registry, Clock& clock, Limits limits,
                PageTokenCodec page_tokens);

  absl::StatusOr<CreatedApiKey> CreateApiKey(const Principal& caller,
                                             const CreateApiKeyCommand& command);
  // Newest first; `workspace_id` empty: every workspace.
  absl::StatusOr<ApiKeyPage> ListApiKeys(const Principal& caller, const std::string& workspace_id,
                                         int32_t page_size, const std::string& page_token);
  // Idempotent: revoking a revoked key returns it unchanged.
  absl::StatusOr<ApiKey> RevokeApiKey(const Principal& caller, const std::string& id);

 private:
  ApiKeyStore& store_;
  KeyRegistry* const registry_;
  Clock& clock_;
  const Limits limits_;
  const PageTokenCodec page_tokens_;
};

}  // namespace jobd::core
