// The deadline of the call a thread is working for, so that database work stops when the
// caller stops waiting: ConnectionPool::Run refuses to start after it, and cancels a query
// still running at it (PQcancel from a watchdog thread; PostgreSQL then answers 57014, which
// becomes DEADLINE_EXCEEDED). No round trip is added to a call that finishes in time.
#pragma once

#include "absl/time/time.h"

namespace jobd {

// Sets the thread's call deadline for its lifetime (they nest; the innermost wins).
class ScopedCallDeadline {
 public:
  explicit ScopedCallDeadline(absl::Time deadline);
  ~ScopedCallDeadline();
  ScopedCallDeadline(const ScopedCallDeadline&) = delete;
  ScopedCallDeadline& operator=(const ScopedCallDeadline&) = delete;

 private:
  const absl::Time previous_;
};

// InfiniteFuture when the thread works for no call with a deadline.
absl::Time CurrentCallDeadline();

}  // namespace jobd
