#include "server/background/notify_bridge.h"

#include <algorithm>

#include "db/notification_channel.h"
#include "server/core/log.h"

namespace jobd::background {
NotifyBridge::NotifyBridge(db::DatabaseConfig config, core::ReadyWaiters& waiters,
                           core::EventBus& bus, core::EventFetcher& fetcher, absl::Duration min_gap)
    : config_(std::move(config)),
      waiters_(waiters),
      bus_(bus),
      fetcher_(fetcher),
      min_gap_(min_gap) {}

NotifyBridge::~NotifyBridge() { Stop(); }

void NotifyBridge::Start() {
  sender_ = std::thread([this] { SendLoop(); });
  listener_ = std::thread([this] { ListenLoop(); });
}

void NotifyBridge::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  sender_wake_.notify_all();
  listener_wake_.notify_all();
  if (sender_.joinable()) sender_.join();
  if (listener_.joinable()) listener_.join();
}

bool NotifyBridge::Stopping() {
  std::lock_guard<std::mutex> lock(mu_);
  return stopping_;
}

void NotifyBridge::MarkReady(const std::string& workspace_id, const std::string& type) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    // insert, not emplace: no node is allocated when the queue is already pending.
    if (!ready_.insert({workspace_id, type}).second) return;
    if (ready_.size() > 1) return;  // the sender was woken for the first
  }
  sender_wake_.notify_one();
}

void NotifyBridge::MarkEvents(const std::vector<EventRange>& ranges) {
  if (ranges.empty()) return;
  bool was_empty;
  {
    std::lock_guard<std::mutex> lock(mu_);
    was_empty = events_.empty();
    for (const EventRange& range : ranges) {
      auto [it, inserted] = events_.emplace(range.job_id, range);
      if (!inserted) {
        it->second.after_sequence = std::min(it->second.after_sequence, range.after_sequence);
        it->second.last_sequence = std::max(it->second.last_sequence, range.last_sequence);
      }
    }
  }
  if (was_empty) sender_wake_.notify_one();
}

void NotifyBridge::SendLoop() {
  db::NotificationSender sender(config_);
  for (;;) {
    std::set<std::pair<std::string, std::string>> ready;
    std::vector<EventRange> events;
    {
      std::unique_lock<std::mutex> lock(mu_);
      sender_wake_.wait(lock, [this] { return stopping_ || !ready_.empty() || !events_.empty(); });
      if (stopping_) return;
      ready.swap(ready_);
      events.reserve(events_.size());
      for (auto& [id, range] : events_) events.push_back(std::move(range));
      events_.clear();
    }
    const absl::Status sent =
        sender.Send(ready.empty() ? std::vector<std::string>() : core::FormatReadyHints(ready),
                    events.empty() ? std::vector<std::string>() : core::FormatEventHints(events));
    sender_pid_ = sender.backend_pid();
    if (!sent.ok()) {
      core::Log(core::LogLevel::kDebug, "notification not sent",
                {{"error", std::string(sent.message())}});
      // Try again after the gap: other processes' workspace watchers have no backstop.
      MarkEvents(events);
      for (const auto& [workspace_id, type] : ready) MarkReady(workspace_id, type);
    }
    // Coalesce: at most one round of notifications per gap, however much happened.
    std::unique_lock<std::mutex> lock(mu_);
    sender_wake_.wait_for(lock, absl::ToChronoMicroseconds(min_gap_), [this] { return stopping_; });
  }
}

void NotifyBridge::ListenLoop() {
  db::NotificationListener listener(
      config_,
      [this](const std::string& payload, int pid) {
        if (pid == sender_pid_.load()) return;
        // Only the waiters of the queues named; an unnamed hint (an older jobd) wakes all.
        const auto keys = core::ParseReadyHints(payload);
        if (!keys) return waiters_.NotifyAll();
        for (const auto& [workspace_id, type] : *keys) waiters_.Notify(workspace_id, type);
      },
      [this](const std::string& payload, int pid) {
        if (pid != sender_pid_.load()) fetcher_.Hint(core::ParseEventHints(payload));
      });
  bool connected_before = false;
  while (!Stopping()) {
    absl::StatusOr<bool> connected = listener.Connect();
    absl::Status status = connected.status();
    if (connected.ok()) {
      if (*connected && connected_before) {
        // Notifications sent while we were away are lost: catch up on watched jobs now;
        // workspace watchers cannot know what they missed and are told so.
        bus_.FeedInterrupted();
        fetcher_.CheckNow();
        waiters_.NotifyAll();
      }
      connected_before = true;
      status = listener.Wait(absl::Milliseconds(100));  // wakes to check for stop
    }
    if (!status.ok()) {
      core::Log(core::LogLevel::kDebug, "listener reconnecting",
                {{"error", std::string(status.message())}});
      std::unique_lock<std::mutex> lock(mu_);
      listener_wake_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; });
    }
  }
}

}  // namespace jobd::background
