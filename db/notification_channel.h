// The notifications jobd processes send each other (db/queries/notify_*.sql), each on a
// connection of its own and outside any job transaction: `jobd_ready` (which queues may have
// ready jobs) and `jobd_events` (job ids and sequence ranges of committed events).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "db/database_config.h"

namespace jobd::db {

// Sends on one connection, opened on first use and dropped when it fails. One thread.
class NotificationSender {
 public:
  explicit NotificationSender(DatabaseConfig config);
  ~NotificationSender();
  NotificationSender(const NotificationSender&) = delete;
  NotificationSender& operator=(const NotificationSender&) = delete;

  // Sends one `jobd_ready` per ready payload and one `jobd_events` per event payload.
  absl::Status Send(const std::vector<std::string>& ready_payloads,
                    const std::vector<std::string>& event_payloads);
  // The backend pid of the current connection (0 before the first), so that a listener of
  // the same process can ignore its own notifications.
  int backend_pid() const { return backend_pid_; }

 private:
  struct Connection;  // libpqxx's, kept out of this header
  const DatabaseConfig config_;
  std::unique_ptr<Connection> conn_;
  int backend_pid_ = 0;
};

// Listens on both channels on one connection. One thread.
class NotificationListener {
 public:
  // `backend_pid`: the sender's, for the handler to tell notifications apart.
  using Handler = std::function<void(const std::string& payload, int backend_pid)>;
  NotificationListener(DatabaseConfig config, Handler on_ready, Handler on_events);
  ~NotificationListener();
  NotificationListener(const NotificationListener&) = delete;
  NotificationListener& operator=(const NotificationListener&) = delete;

  // Connects and subscribes when not connected: true when it just did, so the caller can
  // catch up on what was sent while it was away. UNAVAILABLE when it cannot.
  absl::StatusOr<bool> Connect();
  // Delivers what arrives within `timeout` to the handlers. An error drops the connection;
  // the next Connect makes a new one.
  absl::Status Wait(absl::Duration timeout);
  void Disconnect();

 private:
  struct Subscription;  // the connection and its two receivers
  const DatabaseConfig config_;
  const Handler on_ready_, on_events_;
  std::unique_ptr<Subscription> subscription_;
};

}  // namespace jobd::db
