// Reads the job counts of every queue every `interval` and hands them to `sink` (the metrics),
// so that scrapes cost no query however often they come.
#pragma once

#include <functional>
#include <vector>

#include "db/model/queue_store.h"
#include "server/background/periodic.h"

namespace jobd::background {

class QueueCounts {
 public:
  using Sink = std::function<void(std::vector<QueueInfo>)>;
  QueueCounts(QueueStore& store, absl::Duration interval, Sink sink);
  void Start() { loop_.Start(); }
  void Stop() { loop_.Stop(); }
  // One read; false when it failed (logged; the last counts stay).
  bool RunOnce();

 private:
  QueueStore& store_;
  const Sink sink_;
  Periodic loop_;
};

}  // namespace jobd::background
