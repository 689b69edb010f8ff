// Keeps the process's KeyRegistry equal to the api_keys table: reads the keys inserted or
// revoked since the last change it saw, every `interval` (one indexed query that usually
// returns nothing). A key revoked through any replica is refused here within one interval,
// and the streams of keys revoked or expired by then are ended (KeyRegistry's listener).
#pragma once

#include "absl/status/status.h"
#include "db/model/api_key.h"
#include "server/background/periodic.h"
#include "server/core/key_registry.h"

namespace jobd::background {

class KeySync {
 public:
  KeySync(ApiKeyStore& store, core::KeyRegistry& registry, absl::Duration interval);
  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }
  // Reads every change not seen yet; the first call loads all keys.
  absl::Status RunOnce();

 private:
  ApiKeyStore& store_;
  core::KeyRegistry& registry_;
  bool failing_ = false;  // log a failure streak once, and its end
  Periodic loop_;
};

}  // namespace jobd::background
