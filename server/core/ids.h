// Job ids: UUIDv7 (RFC 9562), time-ordered so that newest-first is id-descending.
#pragma once

#include <string>

#include "absl/time/time.h"

namespace jobd::core {

// A new UUIDv7 for `now`. Ids made by one process are strictly increasing, also within one
// millisecond (a counter fills the bits after the timestamp).
std::string NewJobId(absl::Time now);

// A random (version 4) UUID, for lease tokens.
std::string NewRandomUuid();

// True for the canonical lower- or upper-case 8-4-4-4-12 hex form.
bool IsUuid(const std::string& text);

}  // namespace jobd::core
