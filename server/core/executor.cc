#include "server/core/executor.h"

#include "db/model/call_deadline.h"

namespace jobd::core {

Executor::Executor(int threads, size_t max_queued) : max_queued_(max_queued) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this] { Loop(); });
}

Executor::~Executor() { Stop(); }

bool Executor::Post(std::function<void()> task) {
  return Post(std::move(task), absl::InfiniteFuture());
}

bool Executor::Post(std::function<void()> task, absl::Time call_deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || queue_.size() >= max_queued_) return false;
    queue_.push_back(Task{std::move(task), call_deadline});
  }
  wake_.notify_one();
  return true;
}

void Executor::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void Executor::Loop() {
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping and drained
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    ScopedCallDeadline scoped(task.call_deadline);
    task.run();
  }
}

}  // namespace jobd::core
