// Every API key this process knows, by the hash of its secret, so a call is authenticated from
// memory: no database round trip, and no database load from floods of bad keys. Filled at
// start and kept current by background::KeySync (a few rows per interval at most), and at once
// by this process's own creations and revocations.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "db/model/api_key.h"
#include "server/core/access.h"

namespace jobd::core {

// A new random key: "jobd_" and 43 base64url characters (256 bits).
std::string NewApiKeySecret();
// SHA-256 of the whole key, 32 raw bytes: what is stored and looked up.
std::string HashApiKey(absl::string_view secret);
// The characters shown in lists to recognise a key ("jobd_AbCdEfG").
std::string ApiKeyPrefix(absl::string_view secret);

class KeyRegistry {
 public:
  // Adds or updates keys; an older version of a key (lower change_seq) never replaces a newer.
  // `from_feed`: the keys are the table's changes in order, so the feed position advances.
  void Apply(const std::vector<ApiKey>& keys, bool from_feed);
  // The last change read from the table's feed.
  int64_t last_change() const;
  size_t size() const;

  // Calls the revocation listener for each key whose expiry has passed by `now` since the
  // last call (KeySync calls it every interval), so streams of expired keys end too.
  void ExpireDue(absl::Time now);

  // Called (outside the lock) with the id of each key that Apply finds newly revoked, or
  // ExpireDue expired.
  void SetRevocationListener(std::function<void(const std::string& key_id)> listener) {
    revoked_ = std::move(listener);
  }

  // UNAUTHENTICATED for an unknown, revoked or expired key.
  absl::StatusOr<Principal> Authenticate(absl::string_view secret, absl::Time now) const;
  // The same for a key already authenticated (by id): for work that outlives its check,
  // such as a long-polling AcquireJobs.
  absl::Status CheckStillValid(const std::string& key_id, absl::Time now) const;

 private:
  mutable std::shared_mutex mu_;  // std, not absl: visible to ThreadSanitizer
  std::unordered_map<std::string, ApiKey> by_hash_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<std::string, std::string> hash_by_id_ ABSL_GUARDED_BY(mu_);
  // Keys with an expiry not yet reported to the listener, soonest first.
  std::set<std::pair<absl::Time, std::string>> expiring_ ABSL_GUARDED_BY(mu_);
  int64_t last_change_ ABSL_GUARDED_BY(mu_) = 0;
  std::function<void(const std::string&)> revoked_;
};

}  // namespace jobd::core
