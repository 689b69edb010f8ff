// Cancels queries still running at their call's deadline (see db/model/call_deadline.h): one thread
// per pool that sleeps until the earliest registered deadline. PQcancel opens a connection
// of its own, so it runs without the lock; a cancel that finds the backend between two
// statements is lost, so the watch is re-armed every kRecancel until the work is forgotten.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <thread>

#include <pqxx/connection>

#include "absl/time/time.h"

namespace jobd::db {

class QueryCanceller {
 public:
  QueryCanceller();
  ~QueryCanceller();
  QueryCanceller(const QueryCanceller&) = delete;
  QueryCanceller& operator=(const QueryCanceller&) = delete;

  // Watches `conn` until Forget(handle); at `deadline` its running query is cancelled.
  uint64_t Watch(pqxx::connection& conn, absl::Time deadline);
  // After this returns no cancel for `handle` is being or will be sent.
  void Forget(uint64_t handle);

 private:
  void Loop();

  std::mutex mu_;
  std::condition_variable changed_;
  // By deadline, then handle; the handle also finds the entry.
  std::map<std::pair<absl::Time, uint64_t>, pqxx::connection*> watched_;
  std::map<uint64_t, absl::Time> deadlines_;
  uint64_t next_handle_ = 1;
  uint64_t cancelling_ = 0;  // handle whose cancel is being sent (without mu_), 0: none
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace jobd::db
