// Keeps the process's KeyRegistry equal to the api_keys table: reads the keys inserted or
// revoked since the last change it saw, every `interval` (one indexed query that usually
// returns nothing). A key revoked through any replica is refused here within one interval,
// and the streams of keys revoked or expired by then are ended (KeyRegistry's listener).
// With a keyring, the page-token keys are read each time too (a rotation reaches every
// replica within one interval).
#pragma once

#include "absl/status/status.h"
#include "db/model/api_key.h"
#include "db/model/clock.h"
#include "server/background/periodic.h"
#include "server/core/key_registry.h"
#include "server/core/page_token.h"

namespace jobd::background {

class KeySync {
 public:
  // `clock` decides expiry (jobd's: the database's time).
  KeySync(ApiKeyStore& store, core::KeyRegistry& registry, Clock& clock, absl::Duration interval,
          core::PageTokenKeyring* page_token_keys = nullptr);
  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }
  // Reads every change not seen yet; the first call loads all keys.
  absl::Status RunOnce();

 private:
  absl::Status SyncApiKeys();

  ApiKeyStore& store_;
  core::KeyRegistry& registry_;
  Clock& clock_;
  core::PageTokenKeyring* const page_token_keys_;
  bool failing_ = false;  // log a failure streak once, and its end
  Periodic loop_;
};

}  // namespace jobd::background
