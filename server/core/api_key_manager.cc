#include "server/core/api_key_manager.h"

#include "absl/strings/str_cat.h"
#include "server/core/ids.h"
#include "server/core/validation.h"

namespace jobd::core {
namespace {

constexpr size_t kMaxKeyNameBytes = 128;

absl::Status Invalid(const std::string& field, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

absl::Status ValidateKeyName(const std::string& name) {
  if (name.empty()) return Invalid("name", "must be set (it is recorded as requested_by)");
  if (name.size() > kMaxKeyNameBytes) {
    return Invalid("name", absl::StrCat("must be at most ", kMaxKeyNameBytes, " bytes"));
  }
  for (unsigned char c : name) {
    if (c < 0x20 || c == 0x7f) return Invalid("name", "must not contain control characters");
  }
  return absl::OkStatus();
}

absl::Status ValidateCreateKey(const CreateApiKeyCommand& command, absl::Time now,
                               const Limits& limits) {
  if (absl::Status s = ValidateKeyName(command.name); !s.ok()) return s;
  if (!command.role) return Invalid("role", "must be one of admin, member, worker, viewer");
  if (*command.role == Role::kAdmin) {
    if (!command.workspace_id.empty()) {
      return Invalid("workspace_id", "must be empty for admin keys, which reach every workspace");
    }
  } else if (absl::Status s = ValidateWorkspaceId(command.workspace_id, limits); !s.ok()) {
    return s;
  }
  if (command.expire_time && *command.expire_time <= now) {
    return Invalid("expire_time", "must be in the future");
  }
  return absl::OkStatus();
}

}  // namespace

ApiKeyManager::ApiKeyManager(ApiKeyStore& store, KeyRegistry* registry, Clock& clock, Limits limits,
                             PageTokenCodec page_tokens)
    : store_(store),
      registry_(registry),
      clock_(clock),
      limits_(limits),
      page_tokens_(std::move(page_tokens)) {}

absl::StatusOr<CreatedApiKey> ApiKeyManager::CreateApiKey(const Principal& caller,
                                                          const CreateApiKeyCommand& command) {
  const absl::Time now = clock_.Now();
  if (absl::Status s = ValidateCreateKey(command, now, limits_); !s.ok()) return s;
  CreatedApiKey created;
  created.secret = NewApiKeySecret();
  ApiKey key;
  key.id = NewJobId(now);
  key.name = command.name;
  key.role = *command.role;
  key.workspace_id = command.workspace_id;
  key.key_hash = HashApiKey(created.secret);
  key.key_prefix = ApiKeyPrefix(created.secret);
  key.created_by = caller.name;
  key.create_time = now;
  key.expire_time = command.expire_time;
  absl::StatusOr<ApiKey> stored = store_.InsertApiKey(key);
  if (!stored.ok()) return stored.status();
  if (registry_ != nullptr) registry_->Apply({*stored}, /*from_feed=*/false);
  created.key = std::move(*stored);
  return created;
}

absl::StatusOr<ApiKeyPage> ApiKeyManager::ListApiKeys(const Principal&,
                                                      const std::string& workspace_id,
                                                      int32_t page_size,
                                                      const std::string& page_token) {
  if (!workspace_id.empty()) {
    if (absl::Status s = ValidateWorkspaceId(workspace_id, limits_); !s.ok()) return s;
  }
  if (page_size < 0 || page_size > limits_.max_page_size) {
    return Invalid("page_size", absl::StrCat("must be between 0 and ", limits_.max_page_size));
  }
  const int32_t limit = page_size > 0 ? page_size : limits_.default_page_size;
  const std::string query = absl::StrCat("keys:", workspace_id);
  std::string before;
  if (!page_token.empty()) {
    absl::StatusOr<std::string> decoded = page_tokens_.Decode(page_token, query);
    if (!decoded.ok()) return decoded.status();
    if (!IsUuid(*decoded)) return Invalid("page_token", "is malformed");
    before = *decoded;
  }
  absl::StatusOr<std::vector<ApiKey>> keys = store_.ListApiKeys(before, workspace_id, limit + 1);
  if (!keys.ok()) return keys.status();
  ApiKeyPage page;
  page.keys = std::move(*keys);
  if (page.keys.size() > static_cast<size_t>(limit)) {
    page.keys.resize(limit);
    page.next_page_token = page_tokens_.Encode(page.keys.back().id, query);
  }
  return page;
}

absl::StatusOr<ApiKey> ApiKeyManager::RevokeApiKey(const Principal&, const std::string& id) {
  if (id.empty()) return Invalid("id", "is required");
  if (!IsUuid(id)) return Invalid("id", "must be an API key id (a UUID)");
  absl::StatusOr<ApiKey> key = store_.RevokeApiKey(id, clock_.Now());
  if (key.ok() && registry_ != nullptr) registry_->Apply({*key}, /*from_feed=*/false);
  return key;
}

}  // namespace jobd::core
