// Opaque keyset page tokens: the last id of a page, bound to the query that made it and
// authenticated with a keyed MAC, so an altered token or one reused with other filters is
// refused.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace jobd::core {

// The keys of an installation (db: page_token_keys, or one given by flag): the first signs,
// every one verifies, so tokens signed before a rotation stay good for its grace period.
// Replaced as a whole when the table changes; readers keep the set they took.
class PageTokenKeyring {
 public:
  explicit PageTokenKeyring(std::vector<std::string> keys) { Set(std::move(keys)); }
  void Set(std::vector<std::string> keys);  // an empty set is ignored
  std::shared_ptr<const std::vector<std::string>> Get() const;

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const std::vector<std::string>> keys_;
};

class PageTokenCodec {
 public:
  // Replicas that serve the same clients must share the keys.
  explicit PageTokenCodec(std::shared_ptr<PageTokenKeyring> keys) : keys_(std::move(keys)) {}
  explicit PageTokenCodec(std::string key)
      : keys_(std::make_shared<PageTokenKeyring>(std::vector<std::string>{std::move(key)})) {}

  // `query` is a canonical description of the filters (see ListQueryFingerprint).
  std::string Encode(const std::string& last_id, const std::string& query) const;
  // The last id; INVALID_ARGUMENT naming page_token when altered or made for another query.
  absl::StatusOr<std::string> Decode(const std::string& token, const std::string& query) const;

 private:
  const std::shared_ptr<PageTokenKeyring> keys_;
};

}  // namespace jobd::core
