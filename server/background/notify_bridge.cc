#include "server/background/notify_bridge.h"

#include <algorithm>

#include <pqxx/notification>

#include "db/notifications.h"
#include "server/core/log.h"

namespace jobd::background {
namespace {

class Receiver : public pqxx::notification_receiver {
 public:
  using Handler = std::function<void(const std::string& payload, int backend_pid)>;
  Receiver(pqxx::connection_base& conn, const char* channel, Handler handler)
      : pqxx::notification_receiver(conn, channel), handler_(std::move(handler)) {}
  void operator()(const std::string& payload, int backend_pid) override {
    handler_(payload, backend_pid);
  }

 private:
  Handler handler_;
};

}  // namespace

NotifyBridge::NotifyBridge(db::DatabaseConfig config, core::ReadyWaiters& waiters,
                           core::EventBus& bus, core::EventFetcher& fetcher,
                           absl::Duration min_gap, absl::Duration backstop)
    : config_(std::move(config)),
      waiters_(waiters),
      bus_(bus),
      fetcher_(fetcher),
      min_gap_(min_gap),
      backstop_(backstop) {}

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

void NotifyBridge::MarkReady() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (ready_dirty_) return;
    ready_dirty_ = true;
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
  std::unique_ptr<pqxx::connection> conn;
  for (;;) {
    bool ready;
    std::vector<EventRange> events;
    {
      std::unique_lock<std::mutex> lock(mu_);
      sender_wake_.wait(lock, [this] { return stopping_ || ready_dirty_ || !events_.empty(); });
      if (stopping_) return;
      ready = ready_dirty_;
      ready_dirty_ = false;
      events.reserve(events_.size());
      for (auto& [id, range] : events_) events.push_back(std::move(range));
      events_.clear();
    }
    try {
      if (!conn) {
        auto opened = db::OpenConnection(config_);
        if (!opened.ok()) throw std::runtime_error(std::string(opened.status().message()));
        conn = std::move(*opened);
        sender_pid_ = conn->backendpid();
      }
      if (ready) db::NotifyReady(*conn);
      if (!events.empty()) db::NotifyEvents(*conn, core::FormatEventHints(events));
    } catch (const std::exception& e) {
      conn.reset();
      core::Log(core::LogLevel::kDebug, "notification not sent", {{"error", e.what()}});
      // Try again after the gap: other processes' workspace watchers have no backstop.
      MarkEvents(events);
      if (ready) MarkReady();
    }
    // Coalesce: at most one round of notifications per gap, however much happened.
    std::unique_lock<std::mutex> lock(mu_);
    sender_wake_.wait_for(lock, absl::ToChronoMicroseconds(min_gap_),
                          [this] { return stopping_; });
  }
}

void NotifyBridge::ListenLoop() {
  absl::Time last_backstop = absl::Now();
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<Receiver> ready_receiver, events_receiver;
  bool connected_before = false;
  while (!Stopping()) {
    try {
      if (!conn) {
        auto opened = db::OpenConnection(config_);
        if (!opened.ok()) throw std::runtime_error(std::string(opened.status().message()));
        conn = std::move(*opened);
        ready_receiver = std::make_unique<Receiver>(
            *conn, db::kReadyChannel, [this](const std::string&, int pid) {
              if (pid != sender_pid_.load()) waiters_.NotifyAll();
            });
        events_receiver = std::make_unique<Receiver>(
            *conn, db::kEventsChannel, [this](const std::string& payload, int pid) {
              if (pid != sender_pid_.load()) fetcher_.Hint(core::ParseEventHints(payload));
            });
        if (connected_before) {
          // Notifications sent while we were away are lost: catch up on watched jobs now;
          // workspace watchers cannot know what they missed and are told so.
          bus_.FeedInterrupted();
          fetcher_.CheckNow();
          waiters_.NotifyAll();
        }
        connected_before = true;
      }
      conn->await_notification(0, 100000);  // wakes every 100 ms to check for stop
    } catch (const std::exception& e) {
      events_receiver.reset();
      ready_receiver.reset();
      conn.reset();
      core::Log(core::LogLevel::kDebug, "listener reconnecting", {{"error", e.what()}});
      std::unique_lock<std::mutex> lock(mu_);
      listener_wake_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; });
    }
    if (absl::Now() - last_backstop >= backstop_) {
      last_backstop = absl::Now();
      waiters_.NotifyAll();
    }
  }
  events_receiver.reset();
  ready_receiver.reset();
}

}  // namespace jobd::background
