#include "server/background/key_sync.h"

#include "absl/time/clock.h"
#include "server/core/log.h"

namespace jobd::background {
namespace {
constexpr int32_t kPage = 1000;
}  // namespace

KeySync::KeySync(ApiKeyStore& store, core::KeyRegistry& registry, absl::Duration interval)
    : store_(store), registry_(registry), loop_(interval, [this] { RunOnce().IgnoreError(); }) {}

absl::Status KeySync::RunOnce() {
  for (;;) {
    absl::StatusOr<std::vector<ApiKey>> changes =
        store_.ApiKeyChanges(registry_.last_change(), kPage);
    if (!changes.ok()) {
      if (!failing_) {
        core::Log(core::LogLevel::kWarning, "reading API key changes failed; retrying",
                  {{"error", std::string(changes.status().message())}});
      }
      failing_ = true;
      return changes.status();
    }
    if (failing_) core::Log(core::LogLevel::kInfo, "reading API key changes works again");
    failing_ = false;
    registry_.Apply(*changes, /*from_feed=*/true);
    if (changes->size() < static_cast<size_t>(kPage) || loop_.stopping()) {
      registry_.ExpireDue(absl::Now());  // streams of keys that just expired end too
      return absl::OkStatus();
    }
  }
}

}  // namespace jobd::background
