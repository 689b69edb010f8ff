// Clipping caller input that is echoed in error messages: at most `max_bytes`, never
// splitting a UTF-8 character, with "…" when something was cut.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace jobd::core {

inline std::string ClipForMessage(absl::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t end = max_bytes;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return std::string(text.substr(0, end)) + "…";
}

}  // namespace jobd::core
