// Opaque keyset page tokens: the last id of a page, bound to the query that made it and
// authenticated with a keyed MAC, so an altered token or one reused with other filters is
// refused.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace jobd::core {

class PageTokenCodec {
 public:
  // Replicas that serve the same clients must share the key.
  explicit PageTokenCodec(std::string key) : key_(std::move(key)) {}

  // `query` is a canonical description of the filters (see ListQueryFingerprint).
  std::string Encode(const std::string& last_id, const std::string& query) const;
  // The last id; INVALID_ARGUMENT naming page_token when altered or made for another query.
  absl::StatusOr<std::string> Decode(const std::string& token, const std::string& query) const;

 private:
  std::string Mac(const std::string& body) const;
  const std::string key_;
};

}  // namespace jobd::core
