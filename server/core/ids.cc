#include "server/core/ids.h"

#include <array>
#include <cstdint>
#include <mutex>
#include <random>

#include <openssl/rand.h>

namespace jobd::core {
namespace {

std::string Format(const std::array<uint8_t, 16>& bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xf]);
  }
  return out;
}

void RandomBytes(uint8_t* out, int n) {
  if (RAND_bytes(out, n) != 1) {
    // OpenSSL's generator failing is near impossible; fall back rather than abort.
    static thread_local std::mt19937_64 fallback{std::random_device{}()};
    for (int i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(fallback());
  }
}

}  // namespace

std::string NewJobId(absl::Time now) {
  // 48-bit ms timestamp, then a 12-bit counter (rand_a) that orders ids within a millisecond.
  static std::mutex mu;
  static uint64_t last_ms = 0;
  static uint32_t counter = 0;
  uint64_t ms = static_cast<uint64_t>(absl::ToUnixMillis(now));
  uint32_t seq;
  {
    std::lock_guard<std::mutex> lock(mu);
    if (ms <= last_ms) {
      ms = last_ms;
      if (++counter > 0xfff) {  // more than 4096 ids in one ms: borrow the next ms
        ++ms;
        counter = 0;
      }
    } else {
      counter = 0;
    }
    last_ms = ms;
    seq = counter;
  }
  std::array<uint8_t, 16> b;
  for (int i = 0; i < 6; ++i) b[i] = static_cast<uint8_t>(ms >> (40 - 8 * i));
  b[6] = static_cast<uint8_t>(0x70 | (seq >> 8));
  b[7] = static_cast<uint8_t>(seq & 0xff);
  RandomBytes(&b[8], 8);
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f));
  return Format(b);
}

std::string NewRandomUuid() {
  std::array<uint8_t, 16> b;
  RandomBytes(b.data(), 16);
  b[6] = static_cast<uint8_t>(0x40 | (b[6] & 0x0f));
  b[8] = static_cast<uint8_t>(0x80 | (b[8] & 0x3f));
  return Format(b);
}

bool IsUuid(const std::string& text) {
  if (text.size() != 36) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

}  // namespace jobd::core
