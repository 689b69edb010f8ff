// Group commit: concurrent requests are gathered and written in one transaction.
// A committer takes everything queued the moment it is free, so a lone caller waits for no
// timer; under load, requests that arrive during a commit ride the next one together.
// Used for CreateJob and for the worker calls that change a job.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace jobd::core {

struct GroupCommitOptions {
  int committers = 2;         // transactions in flight at once
  size_t max_batch = 128;     // requests per transaction
  size_t max_queued = 20000;  // beyond this, RESOURCE_EXHAUSTED
  // Told the size of every batch written (metrics); none: nothing.
  std::function<void(size_t)> on_batch;
};

template <typename In, typename Out>
class GroupCommit {
 public:
  using Done = std::function<void(absl::StatusOr<Out>)>;
  // Writes a batch; returns one result per request, in order, or one error for all.
  using Commit =
      std::function<absl::StatusOr<std::vector<absl::StatusOr<Out>>>(const std::vector<In>&)>;
  // Requests with equal keys never share a batch (empty key: no constraint).
  using Key = std::function<std::string(const In&)>;

  GroupCommit(Commit commit, GroupCommitOptions options, Key key = nullptr)
      : commit_(std::move(commit)), options_(options), key_(std::move(key)) {
    for (int i = 0; i < options_.committers; ++i) committers_.emplace_back([this] { Loop(); });
  }
  ~GroupCommit() { Stop(); }
  GroupCommit(const GroupCommit&) = delete;
  GroupCommit& operator=(const GroupCommit&) = delete;

  // `done` runs exactly once, on a committer thread (or inline when refused).
  void Submit(In in, Done done) {
    bool stopping;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping = stopping_;
      if (!stopping && queue_.size() < options_.max_queued) {
        queue_.push_back(Pending{std::move(in), std::move(done)});
        wake_.notify_one();
        return;
      }
    }
    done(stopping ? absl::UnavailableError("jobd is shutting down")
                  : absl::ResourceExhaustedError(absl::StrCat("more than ", options_.max_queued,
                                                              " writes are waiting; retry later")));
  }

  // Commits what is queued, then joins the committers.
  void Stop() {
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

 private:
  struct Pending {
    In in;
    Done done;
  };

  void Loop() {
    std::vector<Pending> batch;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping and drained
        Take(batch);
        // Leave the rest to another committer at once rather than after this commit.
        if (!queue_.empty()) wake_.notify_one();
      }
      Run(batch);
      batch.clear();
    }
  }

  // Moves up to max_batch requests with distinct keys from the queue into `batch`.
  void Take(std::vector<Pending>& batch) {
    std::set<std::string> keys;
    for (auto it = queue_.begin(); it != queue_.end() && batch.size() < options_.max_batch;) {
      if (key_) {
        std::string key = key_(it->in);
        if (!key.empty() && !keys.insert(std::move(key)).second) {
          ++it;  // a request for the same key is in this batch: it goes in a later one
          continue;
        }
      }
      batch.push_back(std::move(*it));
      it = queue_.erase(it);
    }
  }

  void Run(std::vector<Pending>& batch) {
    std::vector<In> inputs;
    inputs.reserve(batch.size());
    for (const Pending& p : batch) inputs.push_back(p.in);
    absl::StatusOr<std::vector<absl::StatusOr<Out>>> results = commit_(inputs);
    if (options_.on_batch) options_.on_batch(batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      if (results.ok()) {
        batch[i].done(std::move((*results)[i]));
      } else {
        batch[i].done(results.status());
      }
    }
  }

  const Commit commit_;
  const GroupCommitOptions options_;
  const Key key_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Pending> queue_;
  bool stopping_ = false;
  std::vector<std::thread> committers_;
};

}  // namespace jobd::core
