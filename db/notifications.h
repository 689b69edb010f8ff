// The notifications jobd processes send each other (see db/queries/notify_*.sql), each call
// one statement outside any job transaction.
#pragma once

#include <string>
#include <vector>

#include <pqxx/connection>

namespace jobd::db {

// "Jobs became ready": wakes waiting AcquireJobs calls of other processes.
void NotifyReady(pqxx::connection& conn);
// "These events were committed": payloads of job id and sequence ranges only.
void NotifyEvents(pqxx::connection& conn, const std::vector<std::string>& payloads);

inline constexpr char kReadyChannel[] = "jobd_ready";
inline constexpr char kEventsChannel[] = "jobd_events";

}  // namespace jobd::db
