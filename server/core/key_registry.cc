#include "server/core/key_registry.h"

#include <openssl/rand.h>
#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace jobd::core {
namespace {

constexpr absl::string_view kKeyPrefix = "jobd_";
constexpr size_t kShownChars = 12;

std::string Rfc3339Seconds(absl::Time time) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", time, absl::UTCTimeZone());
}

}  // namespace

std::string NewApiKeySecret() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) std::abort();  // no entropy: never issue a key
  return absl::StrCat(kKeyPrefix, absl::WebSafeBase64Escape(absl::string_view(
                                      reinterpret_cast<const char*>(bytes), sizeof bytes)));
}

std::string HashApiKey(absl::string_view secret) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), sizeof digest);
}

std::string ApiKeyPrefix(absl::string_view secret) {
  return std::string(secret.substr(0, kShownChars));
}

void KeyRegistry::Apply(const std::vector<ApiKey>& keys, bool from_feed) {
  std::vector<std::string> revoked;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    for (const ApiKey& key : keys) {
      auto [it, inserted] = by_hash_.try_emplace(key.key_hash, key);
      if (inserted) {
        hash_by_id_.emplace(key.id, key.key_hash);
        if (key.expire_time && !key.revoke_time) expiring_.emplace(*key.expire_time, key.id);
      }
      if (!inserted && it->second.change_seq <= key.change_seq) {
        if (key.revoke_time && !it->second.revoke_time) revoked.push_back(key.id);
        it->second = key;
      }
      if (from_feed && key.change_seq > last_change_) last_change_ = key.change_seq;
    }
  }
  if (revoked_) {
    for (const std::string& id : revoked) revoked_(id);
  }
}

int64_t KeyRegistry::last_change() const {
  std::unique_lock<std::shared_mutex> lock(mu_);
  return last_change_;
}

size_t KeyRegistry::size() const {
  std::unique_lock<std::shared_mutex> lock(mu_);
  return by_hash_.size();
}

namespace {

absl::Status CheckUsable(const ApiKey& key, absl::Time now) {
  if (key.revoke_time) {
    return absl::UnauthenticatedError(absl::StrCat(
        "the API key ", key.key_prefix, "… was revoked at ", Rfc3339Seconds(*key.revoke_time)));
  }
  if (key.expire_time && *key.expire_time <= now) {
    return absl::UnauthenticatedError(absl::StrCat("the API key ", key.key_prefix, "… expired at ",
                                                   Rfc3339Seconds(*key.expire_time)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Principal> KeyRegistry::Authenticate(absl::string_view secret,
                                                    absl::Time now) const {
  const std::string hash = HashApiKey(secret);
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto it = by_hash_.find(hash);
  if (it == by_hash_.end()) return absl::UnauthenticatedError("the API key is not valid");
  const ApiKey& key = it->second;
  if (absl::Status s = CheckUsable(key, now); !s.ok()) return s;
  Principal principal;
  principal.key_id = key.id;
  principal.name = key.name;
  principal.role = key.role;
  principal.workspace_id = key.workspace_id;
  return principal;
}

absl::Status KeyRegistry::CheckStillValid(const std::string& key_id, absl::Time now) const {
  std::shared_lock<std::shared_mutex> lock(mu_);
  auto id = hash_by_id_.find(key_id);
  if (id == hash_by_id_.end()) return absl::UnauthenticatedError("the API key is not valid");
  return CheckUsable(by_hash_.at(id->second), now);
}

void KeyRegistry::ExpireDue(absl::Time now) {
  std::vector<std::string> expired;
  {
    std::unique_lock<std::shared_mutex> lock(mu_);
    while (!expiring_.empty() && expiring_.begin()->first <= now) {
      expired.push_back(expiring_.begin()->second);
      expiring_.erase(expiring_.begin());
    }
  }
  if (revoked_) {
    for (const std::string& id : expired) revoked_(id);
  }
}

}  // namespace jobd::core
