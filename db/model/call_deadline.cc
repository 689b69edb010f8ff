#include "db/model/call_deadline.h"

namespace jobd {
namespace {
thread_local absl::Time call_deadline = absl::InfiniteFuture();
}  // namespace

ScopedCallDeadline::ScopedCallDeadline(absl::Time deadline) : previous_(call_deadline) {
  call_deadline = deadline;
}

ScopedCallDeadline::~ScopedCallDeadline() { call_deadline = previous_; }

absl::Time CurrentCallDeadline() { return call_deadline; }

}  // namespace jobd
