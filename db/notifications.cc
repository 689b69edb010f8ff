#include "db/notifications.h"

#include <pqxx/nontransaction>

#include "db/pg_array.h"

namespace jobd::db {

void NotifyReady(pqxx::connection& conn) {
  pqxx::nontransaction(conn).exec_prepared("notify_ready");
}

void NotifyEvents(pqxx::connection& conn, const std::vector<std::string>& payloads) {
  ArrayLiteral array;
  for (const std::string& payload : payloads) array.Add(payload);
  pqxx::nontransaction(conn).exec_prepared("notify_events", array.Close());
}

}  // namespace jobd::db
