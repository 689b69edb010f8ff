#include "server/background/notify_bridge.h"

#include <pqxx/nontransaction>
#include <pqxx/notification>

#include "db/pg_errors.h"
#include "server/core/log.h"

namespace jobd::background {
namespace {

constexpr char kChannel[] = "jobd_ready";

class Receiver : public pqxx::notification_receiver {
 public:
  Receiver(pqxx::connection_base& conn, std::function<void(int)> on_notify)
      : pqxx::notification_receiver(conn, kChannel), on_notify_(std::move(on_notify)) {}
  void operator()(const std::string&, int backend_pid) override { on_notify_(backend_pid); }

 private:
  std::function<void(int)> on_notify_;
};

}  // namespace

NotifyBridge::NotifyBridge(db::DatabaseConfig config, core::ReadyWaiters& waiters,
                           absl::Duration min_gap, absl::Duration backstop)
    : config_(std::move(config)), waiters_(waiters), min_gap_(min_gap), backstop_(backstop) {}

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
    if (dirty_) return;
    dirty_ = true;
  }
  sender_wake_.notify_one();
}

void NotifyBridge::SendLoop() {
  std::unique_ptr<pqxx::connection> conn;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      sender_wake_.wait(lock, [this] { return stopping_ || dirty_; });
      if (stopping_) return;
      dirty_ = false;
    }
    try {
      if (!conn) {
        auto opened = db::OpenConnection(config_);
        if (!opened.ok()) throw std::runtime_error(std::string(opened.status().message()));
        conn = std::move(*opened);
        sender_pid_ = conn->backendpid();
      }
      pqxx::nontransaction(*conn).exec_prepared("notify_ready");
    } catch (const std::exception& e) {
      conn.reset();  // the backstop covers what this missed
      core::Log(core::LogLevel::kDebug, "ready notification not sent", {{"error", e.what()}});
    }
    // Coalesce: at most one notification per gap, however many jobs became ready.
    std::unique_lock<std::mutex> lock(mu_);
    sender_wake_.wait_for(lock, absl::ToChronoMicroseconds(min_gap_),
                          [this] { return stopping_; });
  }
}

void NotifyBridge::ListenLoop() {
  absl::Time last_backstop = absl::Now();
  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<Receiver> receiver;
  while (!Stopping()) {
    try {
      if (!conn) {
        auto opened = db::OpenConnection(config_);
        if (!opened.ok()) throw std::runtime_error(std::string(opened.status().message()));
        conn = std::move(*opened);
        receiver = std::make_unique<Receiver>(*conn, [this](int pid) {
          if (pid != sender_pid_.load()) waiters_.NotifyAll();
        });
      }
      conn->await_notification(0, 100000);  // wakes every 100 ms to check for stop
    } catch (const std::exception& e) {
      receiver.reset();
      conn.reset();
      core::Log(core::LogLevel::kDebug, "ready listener reconnecting", {{"error", e.what()}});
      std::unique_lock<std::mutex> lock(mu_);
      listener_wake_.wait_for(lock, std::chrono::milliseconds(500), [this] { return stopping_; });
    }
    if (absl::Now() - last_backstop >= backstop_) {
      last_backstop = absl::Now();
      waiters_.NotifyAll();
    }
  }
  receiver.reset();
}

}  // namespace jobd::background
