// Runs a function every `interval` on a thread of its own until stopped; the stop is prompt
// (it does not wait out the interval). The base of every background loop.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/time/time.h"

namespace jobd::background {

class Periodic {
 public:
  Periodic(absl::Duration interval, std::function<void()> tick)
      : interval_(interval), tick_(std::move(tick)) {}
  ~Periodic() { Stop(); }
  Periodic(const Periodic&) = delete;
  Periodic& operator=(const Periodic&) = delete;

  void Start() {
    thread_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(mu_);
      while (!wake_.wait_for(lock, absl::ToChronoMilliseconds(interval_),
                             [this] { return stopping_; })) {
        lock.unlock();
        tick_();
        lock.lock();
      }
    });
  }

  // True once Stop was called: long passes check it between batches.
  bool stopping() {
    std::lock_guard<std::mutex> lock(mu_);
    return stopping_;
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  const absl::Duration interval_;
  const std::function<void()> tick_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace jobd::background
