#include "db/notification_channel.h"

#include <pqxx/nontransaction>
#include <pqxx/notification>

#include "db/connection_pool.h"
#include "db/pg_array.h"
#include "db/pg_errors.h"

namespace jobd::db {
namespace {
constexpr char kReadyChannel[] = "jobd_ready";
constexpr char kEventsChannel[] = "jobd_events";
}  // namespace

struct NotificationSender::Connection {
  std::unique_ptr<pqxx::connection> conn;
};

NotificationSender::NotificationSender(DatabaseConfig config) : config_(std::move(config)) {}
NotificationSender::~NotificationSender() = default;

absl::Status NotificationSender::Send(const std::vector<std::string>& ready_payloads,
                                      const std::vector<std::string>& event_payloads) {
  if (!conn_) {
    auto conn = OpenConnection(config_);
    if (!conn.ok()) return conn.status();
    backend_pid_ = (*conn)->backendpid();
    conn_ = std::make_unique<Connection>(Connection{std::move(*conn)});
  }
  try {
    for (const auto& [statement, payloads] : {std::pair("notify_ready", &ready_payloads),
                                              std::pair("notify_events", &event_payloads)}) {
      if (payloads->empty()) continue;
      ArrayLiteral array;
      for (const std::string& payload : *payloads) array.Add(payload);
      pqxx::nontransaction(*conn_->conn).exec_prepared(statement, array.Close());
    }
    return absl::OkStatus();
  } catch (...) {
    conn_.reset();
    return TranslateException(std::current_exception());
  }
}

// Receivers go before their connection.
struct NotificationListener::Subscription {
  class Receiver : public pqxx::notification_receiver {
   public:
    Receiver(pqxx::connection_base& conn, const char* channel, const Handler& handler)
        : pqxx::notification_receiver(conn, channel), handler_(handler) {}
    void operator()(const std::string& payload, int backend_pid) override {
      handler_(payload, backend_pid);
    }

   private:
    const Handler& handler_;
  };

  std::unique_ptr<pqxx::connection> conn;
  std::unique_ptr<Receiver> ready, events;
  ~Subscription() {
    events.reset();
    ready.reset();
  }
};

NotificationListener::NotificationListener(DatabaseConfig config, Handler on_ready,
                                           Handler on_events)
    : config_(std::move(config)),
      on_ready_(std::move(on_ready)),
      on_events_(std::move(on_events)) {}

NotificationListener::~NotificationListener() { Disconnect(); }

absl::StatusOr<bool> NotificationListener::Connect() {
  if (subscription_) return false;
  auto conn = OpenConnection(config_);
  if (!conn.ok()) return conn.status();
  try {
    auto subscription = std::make_unique<Subscription>();
    subscription->conn = std::move(*conn);
    subscription->ready =
        std::make_unique<Subscription::Receiver>(*subscription->conn, kReadyChannel, on_ready_);
    subscription->events =
        std::make_unique<Subscription::Receiver>(*subscription->conn, kEventsChannel, on_events_);
    subscription_ = std::move(subscription);
    return true;
  } catch (...) {
    return TranslateException(std::current_exception());
  }
}

absl::Status NotificationListener::Wait(absl::Duration timeout) {
  if (!subscription_) return absl::UnavailableError("not connected");
  try {
    const int64_t micros = absl::ToInt64Microseconds(timeout);
    subscription_->conn->await_notification(micros / 1000000, micros % 1000000);
    return absl::OkStatus();
  } catch (...) {
    Disconnect();
    return TranslateException(std::current_exception());
  }
}

void NotificationListener::Disconnect() { subscription_.reset(); }

}  // namespace jobd::db
