// Faults under load: two jobd replicas on a private PostgreSQL, steady creates with
// idempotency keys, four workers (three threads here, one `jobctl work` process) and twenty
// WatchJobs streams, while PostgreSQL restarts twice, every connection to it is terminated,
// one jobd and the worker process are killed with SIGKILL. Afterwards no job is lost or made
// twice, each ends SUCCEEDED exactly once, and every stream kept the documented event order.
#include <atomic>
#include <fstream>
#include <thread>

#include "absl/strings/str_split.h"
#include "tests/chaos/chaos_support.h"

namespace jobd::testing::chaos {
namespace {

constexpr char kWorkspace[] = "chaos";
constexpr char kType[] = "chaos.noop";
constexpr char kProcessWorker[] = "jobctl-worker";
constexpr int kCreators = 2;
constexpr int kCreatesPerSecond = 50;  // all creators together
constexpr int kThreadWorkers = 3;
constexpr int kWatchers = 20;
constexpr absl::Duration kLoad = absl::Seconds(70);

class ChaosTest : public ::testing::Test {
 protected:
  void TearDown() override {
    StopThreads(creators_, stop_creates_);
    StopWatchers();
    StopThreads(workers_, stop_workers_);
    if (worker_pid_ > 0) {
      kill(worker_pid_, SIGKILL);
      waitpid(worker_pid_, nullptr, 0);
    }
    if (HasFailure()) {
      // Whole logs to files: the events of interest are rarely at the end.
      for (int i = 0; i < 2; ++i) {
        if (jobd_[i]) std::ofstream(Saved(absl::StrCat("jobd", i))) << jobd_[i]->log();
      }
      std::ofstream(Saved("jobd1-killed")) << killed_log_;
    }
    if (replicas_) replicas_->Clear();
    for (auto& jobd : jobd_) jobd.reset();
  }

  // Runs `call(slot)` until it succeeds, answers for good, or `budget` is spent, moving to
  // the other replica after each failure; every failure is counted under `rpc`.
  template <typename Call>
  grpc::Status Retrying(const std::string& rpc, int* slot, absl::Duration budget, int64_t* retries,
                        Call call) {
    const absl::Time end = absl::Now() + budget;
    for (int attempt = 1;; ++attempt) {
      grpc::Status status = call(*slot);
      if (status.ok()) return status;
      counts_.AddStatus(rpc, status);
      if (!Retryable(status.error_code()) || absl::Now() > end) return status;
      ++*retries;
      *slot ^= 1;
      absl::SleepFor(absl::Milliseconds(25 * std::min(attempt, 8)));
    }
  }

  std::string Saved(const std::string& name) {
    const std::string path = absl::StrCat("/tmp/", run_, "-", name, ".log");
    std::cerr << name << " log: " << path << "\n";
    return path;
  }

  void Problem(const std::string& what) {
    absl::MutexLock lock(&mu_);
    if (problems_.size() < 20) problems_.push_back(what);
    ++problem_count_;
  }

  // Steady creates, each with its own key, retried with the same request until OK; every
  // 16th is sent once more after its OK and must name the same job.
  void CreateLoop(int index) {
    const absl::Duration interval = absl::Seconds(1) * kCreators / kCreatesPerSecond;
    int slot = index % 2;
    absl::Time next = absl::Now();
    for (int n = 0; !stop_creates_; ++n) {
      absl::SleepFor(next - absl::Now());
      next = std::max(next + interval, absl::Now());
      v1::CreateJobRequest request;
      request.set_workspace_id(kWorkspace);
      request.set_type(kType);
      request.set_idempotency_key(absl::StrCat(run_, "-", index, "-", n));
      (*request.mutable_payload()->mutable_fields())["n"].set_number_value(n);
      v1::RetryPolicy* policy = request.mutable_retry_policy();
      policy->set_max_attempts(50);
      *policy->mutable_initial_backoff() = Millis(100);
      *policy->mutable_max_backoff() = Millis(1000);
      const absl::Time sent = absl::Now();
      v1::CreateJobResponse response;
      int64_t retries = 0;
      auto create = [&](int s) {
        return replicas_->Jobs(s)->CreateJob(Ctx(absl::Seconds(5)).get(), request, &response);
      };
      grpc::Status status = Retrying("create", &slot, absl::Seconds(60), &retries, create);
      create_retries_ += retries;
      if (!status.ok()) {
        Problem(absl::StrCat("create ", request.idempotency_key(), ": ", status.error_message()));
        continue;
      }
      const std::string id = response.job().id();
      {
        absl::MutexLock lock(&mu_);
        id_by_key_[request.idempotency_key()] = id;
        create_times_[id] = sent;
      }
      ++creates_ok_;
      if (n % 16 != 0) continue;
      status = Retrying("create", &slot, absl::Seconds(60), &retries, create);
      ++repeat_creates_;
      if (!status.ok() || response.job().id() != id) {
        Problem(absl::StrCat("repeated create ", request.idempotency_key(), " gave ",
                             response.job().id(), " after ", id, ": ", status.error_message()));
      }
    }
  }

  // A worker thread: leases a few jobs, reports progress once, completes each; a call that
  // fails for a transient reason is retried with the same lease token.
  void WorkerLoop(int index) {
    const std::string worker_id = absl::StrCat("w", index);
    int slot = index % 2;
    int64_t retries = 0;
    while (!stop_workers_) {
      v1::AcquireJobsRequest request;
      request.set_workspace_id(kWorkspace);
      request.add_types(kType);
      request.set_worker_id(worker_id);
      request.set_max_jobs(4);
      *request.mutable_wait() = Millis(1000);
      *request.mutable_lease_duration() = Millis(4000);
      v1::AcquireJobsResponse leased;
      grpc::Status status =
          replicas_->Workers(slot)->AcquireJobs(Ctx(absl::Seconds(6)).get(), request, &leased);
      if (!status.ok()) {
        counts_.AddStatus("acquire", status);
        slot ^= 1;
        absl::SleepFor(absl::Milliseconds(50));
        continue;
      }
      for (const v1::LeasedJob& lease : leased.jobs()) {
        v1::ReportProgressRequest progress;
        progress.set_job_id(lease.job().id());
        progress.set_lease_token(lease.lease_token());
        progress.set_progress_percent(50);
        progress.set_progress_message("half");
        v1::ReportProgressResponse renewed;
        status = Retrying("progress", &slot, absl::Seconds(30), &retries, [&](int s) {
          return replicas_->Workers(s)->ReportProgress(Ctx(absl::Seconds(5)).get(), progress,
                                                       &renewed);
        });
        if (!status.ok()) continue;  // the lease is gone: the job comes back after it expires
        v1::CompleteJobRequest complete;
        complete.set_job_id(lease.job().id());
        complete.set_lease_token(lease.lease_token());
        v1::CompleteJobResponse done;
        status = Retrying("complete", &slot, absl::Seconds(30), &retries, [&](int s) {
          return replicas_->Workers(s)->CompleteJob(Ctx(absl::Seconds(5)).get(), complete, &done);
        });
        if (!status.ok()) continue;
        absl::MutexLock lock(&mu_);
        completions_[{lease.job().id(), lease.job().attempt()}].push_back(worker_id);
        ++completes_ok_;
      }
    }
    worker_retries_ += retries;
  }

  // One watcher: a workspace-wide WatchJobs, reopened (on the other replica after a failed
  // try) whenever it ends; each stream is one Segment.
  void WatchLoop(int index) {
    Watcher& w = *watchers_[index];
    int failures = 0;
    for (;;) {
      const int slot = (index + failures) % 2;
      auto stub = replicas_->Jobs(slot);
      grpc::ClientContext context;
      {
        absl::MutexLock lock(&w.mu);
        if (w.stop) return;
        w.open = &context;
        w.segments.emplace_back().replica = slot;
      }
      v1::WatchJobsRequest request;
      request.set_workspace_id(kWorkspace);
      auto reader = stub->WatchJobs(&context, request);
      v1::WatchJobsResponse response;
      while (reader->Read(&response)) {
        const v1::JobEvent& e = response.event();
        absl::MutexLock lock(&w.mu);
        Segment& segment = w.segments.back();
        if (segment.events++ == 0) segment.live = absl::Now();
        segment.jobs[e.job_id()].push_back(
            {e.sequence(), e.kind(), e.job().state(), e.job().attempt()});
      }
      const grpc::Status status = reader->Finish();
      bool received = false;
      {
        absl::MutexLock lock(&w.mu);
        w.open = nullptr;
        if (w.stop) return;
        received = w.segments.back().events > 0;
        if (!received) w.segments.pop_back();
      }
      counts_.AddStatus("watch end", status);
      failures = received ? 0 : failures + 1;
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

  void StopWatchers() {
    for (auto& w : watchers_) {
      absl::MutexLock lock(&w->mu);
      if (!w->stop) w->final_open = w->open != nullptr;
      w->stop = true;
      if (w->open != nullptr) w->open->TryCancel();
    }
    for (auto& t : watcher_threads_) t.join();
    watcher_threads_.clear();
  }

  static void StopThreads(std::vector<std::thread>& threads, std::atomic<bool>& stop) {
    stop = true;
    for (auto& t : threads) t.join();
    threads.clear();
  }

  // Waits until creates and completions both move again after a fault.
  void Recovered(const std::string& what, absl::Time at) {
    const int64_t creates = creates_ok_, completes = completes_ok_;
    const bool ok =
        WaitFor([&] { return creates_ok_ >= creates + 20 && completes_ok_ >= completes + 20; },
                absl::Seconds(30));
    EXPECT_TRUE(ok) << "no recovery within 30 s after " << what << ": " << counts_.Format();
    absl::StrAppend(&faults_, faults_.empty() ? "" : "; ", what, " at ",
                    absl::FormatDuration(absl::Trunc(at - start_, absl::Milliseconds(100))),
                    " (creates and completions again after ",
                    absl::FormatDuration(absl::Trunc(absl::Now() - at, absl::Milliseconds(100))),
                    ")");
  }

  void RestartDatabase(const std::string& what) {
    const absl::Time at = absl::Now();
    ASSERT_TRUE(cluster_.Stop());
    absl::SleepFor(absl::Seconds(2));  // long enough for health, pools and streams to notice
    // Same directory, same port: the URL jobd holds must still work.
    ASSERT_EQ(cluster_.Start(), url_);
    Recovered(what, at);
  }

  std::vector<v1::Job> ListJobs(const std::vector<v1::JobState>& states) {
    std::vector<v1::Job> jobs;
    v1::ListJobsRequest request;
    request.set_workspace_id(kWorkspace);
    for (v1::JobState state : states) request.add_states(state);
    request.set_page_size(500);
    do {
      v1::ListJobsResponse page;
      int slot = 0;
      int64_t retries = 0;
      grpc::Status status = Retrying("list", &slot, absl::Seconds(30), &retries, [&](int s) {
        return replicas_->Jobs(s)->ListJobs(Ctx().get(), request, &page);
      });
      if (!status.ok()) {
        ADD_FAILURE() << "ListJobs: " << status.error_message();
        break;
      }
      jobs.insert(jobs.end(), page.jobs().begin(), page.jobs().end());
      request.set_page_token(page.next_page_token());
    } while (!request.page_token().empty());
    return jobs;
  }

  // Every job's history, from four threads.
  Histories FetchHistories(const std::vector<v1::Job>& jobs) {
    Histories histories;
    absl::Mutex mu;
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        int slot = t % 2;
        int64_t retries = 0;
        for (size_t i = t; i < jobs.size(); i += 4) {
          v1::ListJobEventsRequest request;
          request.set_id(jobs[i].id());
          request.set_page_size(500);
          v1::ListJobEventsResponse page;
          grpc::Status status = Retrying("events", &slot, absl::Seconds(30), &retries, [&](int s) {
            return replicas_->Jobs(s)->ListJobEvents(Ctx().get(), request, &page);
          });
          EXPECT_TRUE(status.ok() && page.next_page_token().empty()) << status.error_message();
          absl::MutexLock lock(&mu);
          histories[jobs[i].id()].assign(page.events().begin(), page.events().end());
        }
      });
    }
    for (auto& t : threads) t.join();
    return histories;
  }

  // Events the open streams still owe (0 once every watcher has caught up).
  int64_t Owed(const Histories& histories, bool open_only) {
    int64_t owed = 0;
    for (auto& w : watchers_) {
      absl::MutexLock lock(&w->mu);
      const bool open = open_only ? w->open != nullptr : w->final_open;
      if (!open || w->segments.empty() || w->segments.back().events == 0) {
        ++owed;
        continue;
      }
      owed += Missed("", w->segments.back(), histories, create_times_, nullptr);
    }
    return owed;
  }

  PrivateCluster cluster_;
  std::string url_;
  std::unique_ptr<JobdProcess> jobd_[2];
  std::string killed_log_;
  std::unique_ptr<Replicas> replicas_;
  pid_t worker_pid_ = -1;
  std::string run_ = RandomName("run");
  absl::Time start_;
  std::string faults_;
  Counts counts_;
  std::atomic<bool> stop_creates_{false}, stop_workers_{false};
  std::atomic<int64_t> creates_ok_{0}, create_retries_{0}, repeat_creates_{0};
  std::atomic<int64_t> completes_ok_{0}, worker_retries_{0};
  std::vector<std::thread> creators_, workers_, watcher_threads_;
  std::vector<std::unique_ptr<Watcher>> watchers_;

  absl::Mutex mu_;
  std::map<std::string, std::string> id_by_key_ ABSL_GUARDED_BY(mu_);
  CreateTimes create_times_;  // written under mu_, read once the creators stopped
  Completions completions_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> problems_ ABSL_GUARDED_BY(mu_);
  int64_t problem_count_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST_F(ChaosTest, FaultsUnderLoad) {
  const absl::Time wall = absl::Now();
  url_ = cluster_.Start();
  ASSERT_FALSE(url_.empty()) << "tests/pg_cluster.sh start failed";
  ASSERT_EQ(RunJobd({"migrate", "--database_url", url_, "--log_level", "warning"}), 0);
  for (auto& jobd : jobd_) {
    jobd = std::make_unique<JobdProcess>(url_);
    ASSERT_TRUE(jobd->running());
  }
  replicas_ = std::make_unique<Replicas>(jobd_[0]->admin_key());
  replicas_->Set(0, jobd_[0]->address());
  replicas_->Set(1, jobd_[1]->address());

  // The worker that gets SIGKILL is a process of its own: `jobctl work` on replica 0.
  const char* jobctl = std::getenv("JOBD_TEST_JOBCTL");
  const std::string worker_log = "/tmp/" + run_ + "-jobctl.log";
  std::vector<std::string> argv = {jobctl != nullptr ? jobctl : JOBCTL_BINARY, "--address",
                                   jobd_[0]->address(), "--api_key", jobd_[0]->admin_key()};
  for (absl::string_view arg : absl::StrSplit(
           "work --workspace chaos --type chaos.noop --worker-id jobctl-worker --concurrency 4 "
           "--lease 3s --poll-wait 1s -- sh -c",
           ' ')) {
    argv.emplace_back(arg);
  }
  argv.push_back("cat >/dev/null; sleep 2");  // long enough to die holding its leases
  worker_pid_ = Spawn(argv, worker_log);
  ASSERT_GT(worker_pid_, 0);
  for (int i = 0; i < kThreadWorkers; ++i) workers_.emplace_back([this, i] { WorkerLoop(i); });
  for (int i = 0; i < kWatchers; ++i) {
    watchers_.push_back(std::make_unique<Watcher>());
    watcher_threads_.emplace_back([this, i] { WatchLoop(i); });
  }
  for (int i = 0; i < kCreators; ++i) creators_.emplace_back([this, i] { CreateLoop(i); });
  ASSERT_TRUE(WaitFor([&] { return Owed({}, /*open_only=*/true) == 0; }, absl::Seconds(20)))
      << "not every watcher received its first event";
  start_ = absl::Now();

  absl::SleepFor(start_ + absl::Seconds(8) - absl::Now());
  RestartDatabase("PostgreSQL restart 1");
  ASSERT_FALSE(HasFatalFailure());
  absl::SleepFor(start_ + absl::Seconds(20) - absl::Now());
  absl::Time at = absl::Now();
  const int terminated = TerminateBackends(url_);
  EXPECT_GT(terminated, 0);
  Recovered(absl::StrCat("pg_terminate_backend of ", terminated, " connections"), at);

  absl::SleepFor(start_ + absl::Seconds(32) - absl::Now());
  at = absl::Now();
  kill(jobd_[1]->pid(), SIGKILL);
  killed_log_ = jobd_[1]->log();
  jobd_[1].reset();  // reaps it
  absl::SleepFor(absl::Seconds(1));
  jobd_[1] = std::make_unique<JobdProcess>(url_);
  ASSERT_TRUE(jobd_[1]->running());
  replicas_->Set(1, jobd_[1]->address());
  Recovered("SIGKILL of jobd replica 1 and restart", at);

  // The worker process dies holding leases: those jobs must come back and be done by others.
  absl::SleepFor(start_ + absl::Seconds(44) - absl::Now());
  std::vector<v1::Job> held;
  ASSERT_TRUE(WaitFor(
      [&] {
        held.clear();
        for (v1::Job& job : ListJobs({v1::JOB_STATE_RUNNING})) {
          if (job.worker_id() == kProcessWorker) held.push_back(job);
        }
        return !held.empty();
      },
      absl::Seconds(15)))
      << "the jobctl worker holds no job; its log is " << worker_log;
  at = absl::Now();
  kill(worker_pid_, SIGKILL);
  waitpid(worker_pid_, nullptr, 0);
  worker_pid_ = -1;
  Recovered(absl::StrCat("SIGKILL of the jobctl worker holding ", held.size(), " jobs"), at);

  absl::SleepFor(start_ + absl::Seconds(56) - absl::Now());
  RestartDatabase("PostgreSQL restart 2");
  ASSERT_FALSE(HasFatalFailure());
  absl::SleepFor(start_ + kLoad - absl::Now());
  StopThreads(creators_, stop_creates_);
  const int64_t created = creates_ok_;

  // Every job finishes; then every open stream must have delivered everything after it
  // went live.
  auto all_succeeded = [&] {
    v1::GetJobStatsRequest request;
    request.set_workspace_id(kWorkspace);
    v1::GetJobStatsResponse stats;
    if (!replicas_->Jobs(0)->GetJobStats(Ctx().get(), request, &stats).ok()) return false;
    int64_t succeeded = 0, others = 0;
    for (const auto& c : stats.state_counts()) {
      (c.state() == v1::JOB_STATE_SUCCEEDED ? succeeded : others) += c.count();
    }
    return succeeded >= created && others == 0;
  };
  EXPECT_TRUE(WaitFor(all_succeeded, absl::Seconds(60))) << "jobs still unfinished";
  const std::vector<v1::Job> jobs = ListJobs({});
  const Histories histories = FetchHistories(jobs);
  EXPECT_TRUE(WaitFor([&] { return Owed(histories, true) == 0; }, absl::Seconds(30)))
      << Owed(histories, true) << " events not delivered to the open streams";
  StopWatchers();
  StopThreads(workers_, stop_workers_);

  // Jobs: each acknowledged create exists, once per key, SUCCEEDED exactly once.
  std::map<std::string, std::string> id_by_key;
  Completions completions;
  {
    absl::MutexLock lock(&mu_);
    id_by_key = id_by_key_;
    completions = completions_;
  }
  JobFigures figures = CheckJobs(jobs, histories, id_by_key, completions, kProcessWorker);
  for (const std::string& p : figures.problems) Problem(p);
  std::map<std::string, const v1::Job*> by_id;
  for (const v1::Job& job : jobs) by_id[job.id()] = &job;
  // A held job was re-run, or (rarely) finished in the moment before the kill.
  int64_t rerun = 0;
  for (const v1::Job& h : held) {
    auto it = by_id.find(h.id());
    if (it != by_id.end() && it->second->attempt() > h.attempt()) {
      ++rerun;
    } else if (it == by_id.end() || it->second->worker_id() != kProcessWorker) {
      Problem(absl::StrCat(h.id(), " was held by the killed worker and never re-run"));
    }
  }

  // Streams: each kept the order, and the last one of each delivered all it owed.
  Verdict verdict;
  int64_t segments = 0, events_seen = 0, short_watchers = 0;
  for (int i = 0; i < kWatchers; ++i) {
    absl::MutexLock watcher_lock(&watchers_[i]->mu);
    const std::vector<Segment>& list = watchers_[i]->segments;
    for (size_t s = 0; s < list.size(); ++s) {
      const std::string who = absl::StrCat("watcher ", i, " stream ", s);
      CheckOrder(who, list[s], histories, &verdict);
      ++segments;
      events_seen += list[s].events;
    }
    if (watchers_[i]->final_open && !list.empty()) {
      const int64_t missed =
          Missed(absl::StrCat("watcher ", i), list.back(), histories, create_times_, &verdict);
      verdict.missed += missed;
      if (missed > 0) ++short_watchers;
    }
  }
  const int64_t lost = figures.lost;
  const int64_t duplicates = figures.duplicates + verdict.duplicates;
  const int64_t gaps = figures.gaps + verdict.gaps + verdict.missed;

  int64_t problem_count = 0;
  std::vector<std::string> problems;
  {
    absl::MutexLock lock(&mu_);
    problem_count = problem_count_;
    problems = problems_;
  }
  std::cerr << "chaos summary: jobs created " << created << " (" << repeat_creates_
            << " repeated with their key), creates retried " << create_retries_
            << "; faults: " << faults_ << "; worker retries " << worker_retries_
            << ", completions by threads " << completes_ok_
            << "; status counts: " << counts_.Format() << "; lease expiries "
            << figures.lease_expiries << ", jobs re-attempted " << figures.reattempted << " ("
            << rerun << " of " << held.size() << " held by the killed worker); watch streams "
            << segments << ", events " << events_seen << ", snapshots " << verdict.snapshots
            << ", owed by a last stream and never sent " << verdict.missed << " (" << short_watchers
            << " watchers), mismatched " << verdict.mismatches << "; jobs lost: " << lost
            << ", duplicates: " << duplicates << ", gaps: " << gaps << "; problems "
            << problem_count << "; wall "
            << absl::FormatDuration(absl::Trunc(absl::Now() - wall, absl::Seconds(1))) << "\n";
  for (const std::string& p : problems) std::cerr << "  problem: " << p << "\n";
  for (const std::string& e : verdict.examples) std::cerr << "  stream: " << e << "\n";
  EXPECT_GT(created, 1000);
  EXPECT_EQ(lost, 0);
  EXPECT_EQ(duplicates, 0);
  EXPECT_EQ(gaps, 0);
  EXPECT_EQ(verdict.mismatches, 0);
  EXPECT_EQ(problem_count, 0);
}

}  // namespace
}  // namespace jobd::testing::chaos
