// Group commit for CreateJob: concurrent creates are gathered into one transaction.
// A committer takes everything queued the moment it is free, so a lone caller waits for no
// timer; under load, creates that arrive during a commit ride the next one together.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "db/job_store.h"

namespace jobd::core {

struct CreateBatcherOptions {
  int committers = 2;         // transactions in flight at once
  size_t max_batch = 128;     // jobs per transaction
  size_t max_queued = 20000;  // beyond this, RESOURCE_EXHAUSTED
  int max_tries = 3;          // for a batch aborted by a serialization failure or deadlock
};

class CreateBatcher {
 public:
  using Done = std::function<void(absl::StatusOr<CreatedJob>)>;

  CreateBatcher(JobStore& store, CreateBatcherOptions options);
  ~CreateBatcher();  // commits what is queued, then joins
  CreateBatcher(const CreateBatcher&) = delete;
  CreateBatcher& operator=(const CreateBatcher&) = delete;

  // `done` runs exactly once, on a committer thread (or inline when refused).
  void Submit(Job job, Done done);
  void Stop();

 private:
  struct Pending {
    Job job;
    Done done;
  };
  void Loop();
  void Commit(std::vector<Pending>& batch);

  JobStore& store_;
  const CreateBatcherOptions options_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::vector<std::thread> committers_;
};

}  // namespace jobd::core
