#include "server/core/create_batcher.h"

#include "absl/strings/str_cat.h"

namespace jobd::core {

CreateBatcher::CreateBatcher(JobStore& store, CreateBatcherOptions options)
    : store_(store), options_(options) {
  for (int i = 0; i < options_.committers; ++i) committers_.emplace_back([this] { Loop(); });
}

CreateBatcher::~CreateBatcher() { Stop(); }

void CreateBatcher::Submit(Job job, Done done) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!stopping_ && queue_.size() < options_.max_queued) {
      queue_.push_back(Pending{std::move(job), std::move(done)});
      wake_.notify_one();
      return;
    }
  }
  done(stopping_ ? absl::UnavailableError("jobd is shutting down")
                 : absl::ResourceExhaustedError(absl::StrCat(
                       "more than ", options_.max_queued, " creates are waiting; retry later")));
}

void CreateBatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : committers_) {
    if (t.joinable()) t.join();
  }
  committers_.clear();
}

void CreateBatcher::Loop() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      while (!queue_.empty() && batch.size() < options_.max_batch) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      // Leave the rest to another committer at once rather than after this commit.
      if (!queue_.empty()) wake_.notify_one();
    }
    Commit(batch);
    batch.clear();
  }
}

void CreateBatcher::Commit(std::vector<Pending>& batch) {
  std::vector<Job> jobs;
  jobs.reserve(batch.size());
  for (const Pending& p : batch) jobs.push_back(p.job);
  absl::StatusOr<std::vector<CreatedJob>> created = store_.CreateJobs(jobs);
  for (int tries = 1; !created.ok() && absl::IsAborted(created.status()) &&
                      tries < options_.max_tries;
       ++tries) {
    created = store_.CreateJobs(jobs);
  }
  for (size_t i = 0; i < batch.size(); ++i) {
    if (created.ok()) {
      batch[i].done(std::move((*created)[i]));
    } else {
      batch[i].done(created.status());
    }
  }
}

}  // namespace jobd::core
