#include "server/core/page_token.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace jobd::core {
namespace {

constexpr char kVersion = 1;
constexpr size_t kQueryHashBytes = 8;
constexpr size_t kMacBytes = 16;

std::string Mac(const std::string& body, const std::string& key) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &length);
  return std::string(reinterpret_cast<const char*>(mac), kMacBytes);
}

std::string QueryHash(const std::string& query) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(query.data()), query.size(), digest);
  return std::string(reinterpret_cast<const char*>(digest), kQueryHashBytes);
}

absl::Status Invalid(const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("page_token: ", why));
}

}  // namespace

void PageTokenKeyring::Set(std::vector<std::string> keys) {
  if (keys.empty()) return;
  auto shared = std::make_shared<const std::vector<std::string>>(std::move(keys));
  std::lock_guard<std::mutex> lock(mu_);
  if (keys_ != nullptr && *keys_ == *shared) return;  // the usual refresh: nothing changed
  keys_ = std::move(shared);
}

std::shared_ptr<const std::vector<std::string>> PageTokenKeyring::Get() const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_;
}

std::string PageTokenCodec::Encode(const std::string& last_id, const std::string& query) const {
  std::string body;
  body.push_back(kVersion);
  body += QueryHash(query);
  body += last_id;
  return absl::WebSafeBase64Escape(body + Mac(body, keys_->Get()->front()));
}

absl::StatusOr<std::string> PageTokenCodec::Decode(const std::string& token,
                                                   const std::string& query) const {
  std::string raw;
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() < 1 + kQueryHashBytes + kMacBytes) {
    return Invalid("is not a token this server issued");
  }
  const std::string body = raw.substr(0, raw.size() - kMacBytes);
  const std::string mac = raw.substr(raw.size() - kMacBytes);
  bool signed_here = false;
  // Held for the loop: a key refresh may replace the ring's set meanwhile.
  const std::shared_ptr<const std::vector<std::string>> keys = keys_->Get();
  for (const std::string& key : *keys) {
    if (CRYPTO_memcmp(mac.data(), Mac(body, key).data(), kMacBytes) == 0) {
      signed_here = true;
      break;
    }
  }
  if (!signed_here || body[0] != kVersion) {
    return Invalid("is not a token this server issued (altered or expired)");
  }
  if (body.compare(1, kQueryHashBytes, QueryHash(query)) != 0) {
    return Invalid("was issued for a query with other filters");
  }
  return body.substr(1 + kQueryHashBytes);
}

}  // namespace jobd::core
