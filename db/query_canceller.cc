#include "db/query_canceller.h"

#include "absl/time/clock.h"

namespace jobd::db {

QueryCanceller::QueryCanceller() : thread_([this] { Loop(); }) {}

QueryCanceller::~QueryCanceller() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  changed_.notify_all();
  thread_.join();
}

uint64_t QueryCanceller::Watch(pqxx::connection& conn, absl::Time deadline) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t handle = next_handle_++;
  const bool earliest = watched_.empty() || deadline < watched_.begin()->first.first;
  watched_.emplace(std::make_pair(deadline, handle), &conn);
  deadlines_.emplace(handle, deadline);
  if (earliest) changed_.notify_all();
  return handle;
}

void QueryCanceller::Forget(uint64_t handle) {
  // Loop holds mu_ while it cancels, so once we have it no cancel is in flight.
  std::lock_guard<std::mutex> lock(mu_);
  auto it = deadlines_.find(handle);
  if (it == deadlines_.end()) return;  // already cancelled
  watched_.erase({it->second, handle});
  deadlines_.erase(it);
}

void QueryCanceller::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    if (watched_.empty()) {
      changed_.wait(lock);
      continue;
    }
    const auto first = watched_.begin();
    const absl::Time now = absl::Now();
    if (first->first.first > now) {
      changed_.wait_for(lock, absl::ToChronoNanoseconds(first->first.first - now));
      continue;
    }
    pqxx::connection* conn = first->second;
    deadlines_.erase(first->first.second);
    watched_.erase(first);
    try {
      conn->cancel_query();  // PQcancel: made to be called from another thread
    } catch (...) {
      // Nothing to cancel, or the connection broke: the query ends either way.
    }
  }
}

}  // namespace jobd::db
