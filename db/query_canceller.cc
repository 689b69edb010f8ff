#include "db/query_canceller.h"

#include "absl/time/clock.h"

namespace jobd::db {
namespace {
constexpr absl::Duration kRecancel = absl::Milliseconds(50);
}  // namespace

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
  std::unique_lock<std::mutex> lock(mu_);
  // A cancel being sent for this work must be done before the connection is reused.
  changed_.wait(lock, [&] { return cancelling_ != handle; });
  auto it = deadlines_.find(handle);
  if (it == deadlines_.end()) return;
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
    const uint64_t handle = first->first.second;
    // Re-armed: a cancel that arrives between two statements of the work is ignored by the
    // server, and the next statement must not run unbounded.
    watched_.erase(first);
    const absl::Time again = now + kRecancel;
    watched_.emplace(std::make_pair(again, handle), conn);
    deadlines_[handle] = again;
    cancelling_ = handle;
    lock.unlock();
    try {
      conn->cancel_query();  // PQcancel: made to be called from another thread
    } catch (...) {
      // Nothing to cancel, or the connection broke: the query ends either way.
    }
    lock.lock();
    cancelling_ = 0;
    changed_.notify_all();
  }
}

}  // namespace jobd::db
