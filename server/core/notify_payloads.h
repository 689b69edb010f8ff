// NOTIFY payloads are capped at 8,000 bytes: the hints jobd processes send each other
// (event ranges, ready queues) are joined into as few payloads as fit, entries separated by
// "," and each payload wrapped in `open` ... `close`.
#pragma once

#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace jobd::core {

// Each payload is at most `max_bytes` long unless one entry alone is longer.
inline std::vector<std::string> JoinIntoPayloads(const std::vector<std::string>& entries,
                                                 size_t max_bytes, absl::string_view open = "",
                                                 absl::string_view close = "") {
  std::vector<std::string> payloads;
  std::string current;
  for (const std::string& entry : entries) {
    if (!current.empty() && current.size() + 1 + entry.size() + close.size() > max_bytes) {
      payloads.push_back(current.append(close.data(), close.size()));
      current.clear();
    }
    if (current.empty()) {
      current.assign(open.data(), open.size());
    } else {
      current += ',';
    }
    current += entry;
  }
  if (!current.empty()) payloads.push_back(current.append(close.data(), close.size()));
  return payloads;
}

}  // namespace jobd::core
