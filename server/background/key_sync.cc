#include "server/background/key_sync.h"

#include "server/core/log.h"

namespace jobd::background {
namespace {
constexpr int32_t kPage = 1000;
}  // namespace

KeySync::KeySync(ApiKeyStore& store, core::KeyRegistry& registry, Clock& clock,
                 absl::Duration interval, core::PageTokenKeyring* page_token_keys)
    : store_(store),
      registry_(registry),
      clock_(clock),
      page_token_keys_(page_token_keys),
      loop_(interval, [this] { RunOnce().IgnoreError(); }) {}

absl::Status KeySync::RunOnce() {
  absl::Status status = SyncApiKeys();
  if (status.ok() && page_token_keys_ != nullptr) {
    absl::StatusOr<std::vector<std::string>> keys = store_.PageTokenKeys();
    if (keys.ok() && keys->empty()) {
      keys = absl::FailedPreconditionError("no page-token key in the database: run jobd migrate");
    }
    if (keys.ok()) page_token_keys_->Set(std::move(*keys));
    status = keys.status();
  }
  if (!status.ok()) {
    if (!failing_) {
      core::Log(core::LogLevel::kWarning, "reading keys failed; retrying",
                {{"error", std::string(status.message())}});
    }
    failing_ = true;
    return status;
  }
  if (failing_) core::Log(core::LogLevel::kInfo, "reading keys works again");
  failing_ = false;
  return absl::OkStatus();
}

absl::Status KeySync::SyncApiKeys() {
  for (;;) {
    absl::StatusOr<std::vector<ApiKey>> changes =
        store_.ApiKeyChanges(registry_.last_change(), kPage);
    if (!changes.ok()) return changes.status();
    registry_.Apply(*changes, /*from_feed=*/true);
    if (changes->size() < static_cast<size_t>(kPage) || loop_.stopping()) {
      registry_.ExpireDue(clock_.Now());  // streams of keys that just expired end too
      return absl::OkStatus();
    }
  }
}

}  // namespace jobd::background
