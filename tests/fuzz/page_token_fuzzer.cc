// Fuzzes jobd::core::PageTokenCodec (server/core/page_token.cc).
//
// Input (FuzzedDataProvider): a query, another query, a last id, a position and a bit mask
// for one altered byte, then the rest as a token. Checked for every input:
//  - Decode(arbitrary token) never crashes; when it fails, it is INVALID_ARGUMENT starting
//    with "page_token: "; when it succeeds, the token carries exactly what Encode would have
//    made for that id and query (anything else would be a forged MAC);
//  - Decode(Encode(id, q), q) == id, and the token is web-safe base64 ([A-Za-z0-9_-]);
//  - that token is refused for any other query, by a codec with another key, truncated,
//    or extended; with one byte altered it is refused or (base64 slack) still means the
//    very same id.
#include <cstddef>
#include <cstdint>
#include <string>

#include <fuzzer/FuzzedDataProvider.h>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "server/core/page_token.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using jobd::core::PageTokenCodec;
using jobd::fuzz::Show;

const PageTokenCodec& Codec() {
  static const auto* codec = new PageTokenCodec("jobd-fuzz-page-token-key");
  return *codec;
}
const PageTokenCodec& OtherCodec() {
  static const auto* codec = new PageTokenCodec("jobd-fuzz-page-token-key2");
  return *codec;
}

void CheckRefused(const absl::StatusOr<std::string>& r, const std::string& token,
                  const char* what) {
  FUZZ_CHECK_MSG(!r.ok(), std::string(what) + ": accepted token " + Show(token) + " -> " +
                              Show(r.ok() ? *r : ""));
  FUZZ_CHECK_MSG(r.status().code() == absl::StatusCode::kInvalidArgument &&
                     absl::StartsWith(r.status().message(), "page_token: "),
                 std::string(what) + ": " + r.status().ToString());
}

// Accepted or refused properly; accepted only when it means exactly `id`.
void CheckRefusedOrSame(const absl::StatusOr<std::string>& r, const std::string& token,
                        const std::string& id, const std::string& query) {
  if (!r.ok()) {
    CheckRefused(r, token, "altered");
    return;
  }
  FUZZ_CHECK_MSG(*r == id,
                 "altered token " + Show(token) + " decoded to " + Show(*r) + ", not " + Show(id));
  std::string raw, raw_real;
  FUZZ_CHECK(absl::WebSafeBase64Unescape(token, &raw));
  FUZZ_CHECK(absl::WebSafeBase64Unescape(Codec().Encode(id, query), &raw_real));
  FUZZ_CHECK_MSG(raw == raw_real, "altered token " + Show(token) + " has other content");
}

bool IsWebSafeBase64(const std::string& s) {
  for (char c : s) {
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_')) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const std::string query = in.ConsumeRandomLengthString(300);
  const std::string other_query = in.ConsumeRandomLengthString(300);
  const std::string id = in.ConsumeRandomLengthString(100);
  const size_t position = in.ConsumeIntegral<uint16_t>();
  const uint8_t mask = in.ConsumeIntegral<uint8_t>();
  const std::string token = in.ConsumeRemainingBytesAsString();

  // 1. Whatever a client sends.
  {
    absl::StatusOr<std::string> r = Codec().Decode(token, query);
    if (r.ok()) {
      CheckRefusedOrSame(r, token, *r, query);
    } else {
      CheckRefused(r, token, "arbitrary");
    }
    CheckRefused(Codec().Decode(token, query + "\x01"), token, "arbitrary, other query");
  }

  // 2. What the server issues.
  const std::string issued = Codec().Encode(id, query);
  FUZZ_CHECK_MSG(IsWebSafeBase64(issued), Show(issued));
  absl::StatusOr<std::string> back = Codec().Decode(issued, query);
  FUZZ_CHECK_MSG(
      back.ok() && *back == id,
      "round trip of " + Show(id) + ": " + (back.ok() ? Show(*back) : back.status().ToString()));
  FUZZ_CHECK(Codec().Encode(id, query) == issued);  // deterministic
  if (other_query != query) {
    CheckRefused(Codec().Decode(issued, other_query), issued, "other query");
  }
  CheckRefused(OtherCodec().Decode(issued, query), issued, "other key");
  CheckRefused(Codec().Decode(issued.substr(0, position % issued.size()), query), issued,
               "truncated");  // a strict prefix (issued is never empty)
  CheckRefused(Codec().Decode(issued + token.substr(0, 8) + "AAAA", query), issued, "extended");

  // 3. One byte altered (a different byte: mask | 1 != 0).
  std::string altered = issued;
  altered[position % altered.size()] ^= static_cast<char>(mask | 1);
  CheckRefusedOrSame(Codec().Decode(altered, query), altered, id, query);

  // 4. Tokens issued by another server (other key) or for another query by this one are
  // refused however the client combines them.
  const std::string foreign = OtherCodec().Encode(id, query);
  CheckRefused(Codec().Decode(foreign, query), foreign, "foreign");
  return 0;
}
