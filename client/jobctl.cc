// jobctl: the command-line client of jobd. Parses flags with CLI11, builds the JobService
// request (client/jobctl_args.h), calls it through JobdClient and prints the response as text
// or JSON (client/jobctl_output.h). `jobctl work` runs a program per job on the Worker
// (client/worker.h, client/jobctl_work.h). `watch`, `events` and the waiting of `run` /
// `create --wait` follow WatchJob and ListJobEvents (client/jobctl_watch.h). Exit codes are
// listed in kFooter.
#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <limits>
#include <string>
#include <tuple>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "client/jobctl_args.h"
#include "client/jobctl_keys.h"
#include "client/jobctl_output.h"
#include "client/jobctl_watch.h"
#include "proto/common/local_address.h"
#include "client/jobctl_work.h"
#include "client/jobd_client.h"
#include "client/worker.h"

namespace jobd::jobctl {
namespace {

using client::JobdClient;

constexpr int kExitOk = 0;
constexpr int kExitServer = 1;
constexpr int kExitUsage = 2;
// The job ended FAILED or CANCELLED (`create --wait`, `run`, `watch`): kExitJobNotSucceeded
// in client/jobctl_watch.h.

constexpr const char* kFooter = R"(Durations: 30s, 5m, 2h, 1h30m. Times: RFC 3339, e.g. 2024-05-01T10:00:00Z.
The global --timeout (each call's deadline; watch streams have none) may go before or after
the subcommand, except after `create` and `run`, where --timeout is the job's attempt timeout.

Exit codes:
  0  success; for `create --wait`, `run` and `watch`: the job SUCCEEDED
  1  the server or the connection failed the call; stderr has `jobctl: CODE: message`;
     for `create --wait`, `run` and `watch` also: the job ended FAILED or CANCELLED
  2  usage error: unknown flag, missing argument, bad duration, time, state, label or --payload;
     for `work`: the command is not found)";

enum class Output { kText, kJson };

struct GlobalFlags {
  std::string address = "127.0.0.1:50051";
  std::string api_key;
  std::string api_key_file;
  std::string tls_ca_file, tls_cert_file, tls_key_file;
  std::string output = "text";
  std::string timeout;  // empty: JobdClient's default
};

struct CreateFlags {
  std::string workspace = "default";
  std::string type;
  std::string payload;
  int priority = 0;
  std::vector<std::string> labels;
  std::string ttl;
  std::string timeout;
  std::string run_after;
  std::string idempotency_key;
  int max_attempts = 0;  // 0: the server's default
  std::string initial_backoff;
  std::string max_backoff;
  bool wait = false;  // `create --wait`, and always for `run`
};

struct WorkFlags {
  std::string workspace = "default";
  std::vector<std::string> types;
  int concurrency = 1;
  std::string lease = "30s";
  std::string grace = "10s";
  std::string poll_wait = "30s";
  std::string worker_id;
  std::vector<std::string> command;
};

struct ListFlags {
  std::string workspace = "default";
  std::vector<std::string> states;
  std::string type;
  std::vector<std::string> labels;
  int page_size = 0;  // 0: the server's default
  std::string page_token;
  bool all = false;
};

struct JobFlags {  // get, cancel, retry
  std::string id;
  std::string reason;
};

struct WatchFlags {
  std::string id;
  int64_t after_sequence = 0;
  CLI::Option* after_sequence_option = nullptr;  // whether --after-sequence was given
  std::string reconnect_timeout = "60s";
};

struct EventsFlags {
  std::string id;
  int page_size = 0;  // 0: the server's default
};

struct Commands {
  CLI::App* create;
  CLI::App* run;
  CLI::App* work;
  CLI::App* get;
  CLI::App* list;
  CLI::App* cancel;
  CLI::App* retry;
  CLI::App* watch;
  CLI::App* events;
  CLI::App* keys;
  CLI::App* keys_create;
  CLI::App* keys_list;
  CLI::App* keys_revoke;
};

int UsageError(const absl::Status& status) {
  std::fprintf(stderr, "jobctl: %s\n", std::string(status.message()).c_str());
  return kExitUsage;
}

int ServerError(const absl::Status& status) {
  std::fprintf(stderr, "jobctl: %s: %s\n", absl::StatusCodeToString(status.code()).c_str(),
               std::string(status.message()).c_str());
  return kExitServer;
}

int PrintJson(const google::protobuf::Message& message) {
  absl::StatusOr<std::string> json = FormatJson(message);
  if (!json.ok()) return ServerError(json.status());
  std::cout << *json << "\n";
  return kExitOk;
}

// For the RPCs whose response is `{ Job job = 1; }`.
template <typename Response>
int PrintJobResponse(const absl::StatusOr<Response>& response, Output output) {
  if (!response.ok()) return ServerError(response.status());
  if (output == Output::kJson) return PrintJson(*response);
  std::cout << FormatJob(response->job(), absl::Now());
  return kExitOk;
}

absl::StatusOr<v1::CreateJobRequest> BuildCreate(const CreateFlags& flags) {
  v1::CreateJobRequest request;
  request.set_workspace_id(flags.workspace);
  request.set_type(flags.type);
  request.set_priority(flags.priority);
  request.set_idempotency_key(flags.idempotency_key);
  if (flags.max_attempts > 0) request.mutable_retry_policy()->set_max_attempts(flags.max_attempts);
  if (!flags.payload.empty()) {
    absl::Status s = ParsePayload("--payload", flags.payload, request.mutable_payload());
    if (!s.ok()) return s;
  }
  if (absl::Status s = ParseLabels("--label", flags.labels, request.mutable_labels()); !s.ok()) {
    return s;
  }
  // Each proto field is created only when its flag was given: an unset field is a default.
  using Field = google::protobuf::Duration* (*)(v1::CreateJobRequest&);
  const std::tuple<const char*, const std::string&, Field> durations[] = {
      {"--ttl", flags.ttl, [](v1::CreateJobRequest& r) { return r.mutable_ttl(); }},
      {"--timeout", flags.timeout, [](v1::CreateJobRequest& r) { return r.mutable_timeout(); }},
      {"--initial-backoff", flags.initial_backoff,
       [](v1::CreateJobRequest& r) { return r.mutable_retry_policy()->mutable_initial_backoff(); }},
      {"--max-backoff", flags.max_backoff,
       [](v1::CreateJobRequest& r) { return r.mutable_retry_policy()->mutable_max_backoff(); }},
  };
  for (const auto& [flag, value, field] : durations) {
    if (value.empty()) continue;
    absl::StatusOr<absl::Duration> d = ParseDuration(flag, value);
    if (!d.ok()) return d.status();
    ToProto(*d, field(request));
  }
  if (!flags.run_after.empty()) {
    absl::StatusOr<absl::Time> at = ParseTimeOrDelay("--run-after", flags.run_after, absl::Now());
    if (!at.ok()) return at.status();
    ToProto(*at, request.mutable_run_after());
  }
  return request;
}

absl::StatusOr<v1::ListJobsRequest> BuildList(const ListFlags& flags) {
  v1::ListJobsRequest request;
  request.set_workspace_id(flags.workspace);
  request.set_type(flags.type);
  request.set_page_size(flags.page_size);
  request.set_page_token(flags.page_token);
  for (const std::string& name : flags.states) {
    absl::StatusOr<v1::JobState> state = ParseState(name);
    if (!state.ok()) return state.status();
    request.add_states(*state);
  }
  if (absl::Status s = ParseLabels("--label", flags.labels, request.mutable_labels()); !s.ok()) {
    return s;
  }
  return request;
}

// One page, or with `all` every page from request.page_token on, merged into one response.
absl::StatusOr<v1::ListJobsResponse> ListJobs(JobdClient& client, v1::ListJobsRequest request,
                                              bool all) {
  v1::ListJobsResponse merged;
  for (;;) {
    absl::StatusOr<v1::ListJobsResponse> page = client.ListJobs(request);
    if (!page.ok() || !all) return page;
    merged.mutable_jobs()->MergeFrom(page->jobs());
    if (page->next_page_token().empty()) return merged;
    // A token that does not move would loop forever.
    if (page->next_page_token() == request.page_token()) {
      return absl::InternalError("the server returned the same page token twice");
    }
    request.set_page_token(page->next_page_token());
  }
}

int RunList(JobdClient& client, const ListFlags& flags, Output output) {
  absl::StatusOr<v1::ListJobsRequest> request = BuildList(flags);
  if (!request.ok()) return UsageError(request.status());
  absl::StatusOr<v1::ListJobsResponse> response = ListJobs(client, *request, flags.all);
  if (!response.ok()) return ServerError(response.status());
  if (output == Output::kJson) return PrintJson(*response);
  std::cout << FormatJobTable(response->jobs(), absl::Now());
  if (!response->next_page_token().empty()) {
    std::cerr << "next page: --page-token " << response->next_page_token() << "\n";
  }
  return kExitOk;
}

// Shows the job's events on `printer` until the job ends or the watch gives up.
WatchOutcome Watch(JobdClient& client, std::shared_ptr<grpc::ChannelInterface> channel,
                   const WatchOptions& options, WatchPrinter& printer) {
  WatchHooks hooks;
  hooks.on_event = [&printer](const v1::JobEvent& event) { printer.Event(event); };
  hooks.on_warning = [&printer](const std::string& text) { printer.Warning(text); };
  WatchOutcome outcome = WatchJobEvents(
      GrpcStreamOpener(std::move(channel), client.options().api_key), options, hooks);
  printer.Finish();
  return outcome;
}

int RunCreate(JobdClient& client, std::shared_ptr<grpc::ChannelInterface> channel,
              const CreateFlags& flags, Output output) {
  absl::StatusOr<v1::CreateJobRequest> request = BuildCreate(flags);
  if (!request.ok()) return UsageError(request.status());
  absl::StatusOr<v1::CreateJobResponse> created = client.CreateJob(*request);
  if (!flags.wait || !created.ok()) return PrintJobResponse(created, output);

  WatchOptions watch;
  watch.job_id = created->job().id();
  // The job exists and goes on without us: a server restart right now is worth waiting out.
  watch.reconnect_before_first_event = true;
  // stdout is for the final job, as without --wait; with --output json stderr stays quiet
  // too, for scripts.
  WatchPrinter printer(
      output == Output::kJson ? WatchDisplay::kNone : DisplayFor(stderr, /*json=*/false), stderr);
  const WatchOutcome outcome = Watch(client, std::move(channel), watch, printer);
  if (!outcome.status.ok()) return ServerError(outcome.status);

  // Events leave the payload out: print the whole job, as `get` would.
  v1::GetJobRequest get;
  get.set_id(created->job().id());
  const int printed = PrintJobResponse(client.GetJob(get), output);
  if (printed != kExitOk) return printed;
  return ExitCodeForFinalState(outcome.final_state);
}

int RunWatch(JobdClient& client, std::shared_ptr<grpc::ChannelInterface> channel,
             const WatchFlags& flags, Output output) {
  WatchOptions options;
  options.job_id = flags.id;
  if (flags.after_sequence_option->count() > 0) options.after_sequence = flags.after_sequence;
  absl::StatusOr<absl::Duration> reconnect =
      ParseDuration("--reconnect-timeout", flags.reconnect_timeout);
  if (!reconnect.ok()) return UsageError(reconnect.status());
  options.reconnect_timeout = *reconnect;

  WatchPrinter printer(DisplayFor(stdout, output == Output::kJson), stdout);
  const WatchOutcome outcome = Watch(client, std::move(channel), options, printer);
  if (!outcome.status.ok()) return ServerError(outcome.status);
  return ExitCodeForFinalState(outcome.final_state);
}

int RunEvents(JobdClient& client, std::shared_ptr<grpc::ChannelInterface> channel,
              const EventsFlags& flags, Output output) {
  // History is never a bar: one line (or JSON object) per event, even on a terminal.
  WatchPrinter printer(output == Output::kJson ? WatchDisplay::kJson : WatchDisplay::kLines,
                       stdout);
  absl::Status status = ListAllJobEvents(
      std::move(channel), client.options().api_key, client.options().timeout, flags.id,
      flags.page_size, [&printer](const v1::JobEvent& event) { printer.Event(event); });
  if (!status.ok()) return ServerError(status);
  return kExitOk;
}

// Blocks SIGINT and SIGTERM in this thread and in every thread started after it (gRPC's and
// the worker's), so that RunWork receives them with sigwait instead of dying.
sigset_t BlockStopSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  // A program that exits without reading its stdin must not kill jobctl with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  return set;
}

int RunWork(std::shared_ptr<grpc::Channel> channel, const client::ClientOptions& client_options,
            const WorkFlags& flags, const sigset_t& stop_signals) {
  client::WorkerOptions options;
  options.client = client_options;
  options.workspace_id = flags.workspace;
  options.worker_id = flags.worker_id;
  options.concurrency = flags.concurrency;
  CommandSpec spec;
  spec.argv = flags.command;
  struct {
    const char* flag;
    const std::string& text;
    absl::Duration* out;
  } durations[] = {{"--lease", flags.lease, &options.lease_duration},
                   {"--grace", flags.grace, &options.grace_period},
                   {"--poll-wait", flags.poll_wait, &options.poll_wait}};
  for (const auto& d : durations) {
    absl::StatusOr<absl::Duration> parsed = ParseDuration(d.flag, d.text);
    if (!parsed.ok()) return UsageError(parsed.status());
    *d.out = *parsed;
  }
  spec.kill_grace = options.grace_period;
  if (absl::Status s = CheckCommand(spec.argv[0]); !s.ok()) return UsageError(s);

  client::Worker worker(std::move(channel), options);
  auto log = [](const v1::Job& job, const std::string& what) {
    std::fprintf(stderr, "jobctl work: job %s (%s, attempt %d): %s\n", job.id().c_str(),
                 job.type().c_str(), job.attempt(), what.c_str());
  };
  for (const std::string& type : flags.types) {
    worker.Handle(type, [&spec, log](const v1::Job& job, client::JobContext& ctx) {
      log(job, "started");
      absl::StatusOr<google::protobuf::Struct> result = RunCommand(spec, job, ctx);
      log(job, result.ok() ? "succeeded" : absl::StrCat("failed: ", result.status().message()));
      return result;
    });
  }
  if (absl::Status s = worker.Start(); !s.ok()) return UsageError(s);
  std::fprintf(stderr, "jobctl work: worker %s works %s in workspace %s with concurrency %d\n",
               worker.worker_id().c_str(), absl::StrJoin(flags.types, ", ").c_str(),
               flags.workspace.c_str(), flags.concurrency);

  int sig = 0;
  sigwait(&stop_signals, &sig);
  std::fprintf(stderr, "jobctl work: %s: stopping (grace %s; signal again to quit at once)\n",
               sig == SIGINT ? "SIGINT" : "SIGTERM",
               absl::FormatDuration(options.grace_period).c_str());
  // A second signal quits at once and takes the programs along; their leases expire and the
  // server retries the jobs.
  std::thread([stop_signals] {
    int again = 0;
    sigwait(&stop_signals, &again);
    SignalAllCommands(SIGKILL);
    std::fprintf(stderr, "jobctl work: quit at once\n");
    std::_Exit(128 + again);
  }).detach();
  worker.Stop();
  std::fprintf(stderr, "jobctl work: stopped\n");
  return kExitOk;  // the detached thread dies with the process
}

int RunGet(JobdClient& client, const JobFlags& flags, Output output) {
  v1::GetJobRequest request;
  request.set_id(flags.id);
  return PrintJobResponse(client.GetJob(request), output);
}

int RunCancel(JobdClient& client, const JobFlags& flags, Output output) {
  v1::CancelJobRequest request;
  request.set_id(flags.id);
  request.set_reason(flags.reason);
  return PrintJobResponse(client.CancelJob(request), output);
}

int RunRetry(JobdClient& client, const JobFlags& flags, Output output) {
  v1::RetryJobRequest request;
  request.set_id(flags.id);
  return PrintJobResponse(client.RetryJob(request), output);
}

// --api_key, else --api_key_file, else the run command's .jobd/admin.key (found from the
// working directory, then from jobctl's own binary; only for a jobd on this machine), else
// none.
absl::StatusOr<std::string> ResolveApiKey(const GlobalFlags& flags) {
  if (!flags.api_key.empty()) return flags.api_key;
  if (!flags.api_key_file.empty()) return ReadApiKeyFile("--api_key_file", flags.api_key_file);
  if (!IsLocalAddress(flags.address)) return std::string();
  std::error_code error;
  std::string found = FindApiKeyFile(std::filesystem::current_path(error).string());
  if (found.empty()) {
    const std::filesystem::path self = std::filesystem::canonical("/proc/self/exe", error);
    if (!error) found = FindApiKeyFile(self.parent_path().string());
  }
  if (found.empty()) return std::string();
  return ReadApiKeyFile("--api_key_file", found);
}

void DefineGlobal(CLI::App& app, GlobalFlags& flags) {
  app.add_option("--address", flags.address, "jobd's host:port")
      ->envname("JOBD_ADDRESS")
      ->capture_default_str();
  app.add_option("--api_key,--api-key", flags.api_key,
                 "API key, sent as `authorization: Bearer <key>`. Default: --api_key_file, "
                 "else (for a jobd on this machine) .jobd/admin.key in this directory, a parent, "
                 "or above jobctl's binary (made by the run command)")
      ->envname("JOBD_API_KEY");
  app.add_option("--api_key_file,--api-key-file", flags.api_key_file,
                 "file whose first line is the API key")
      ->envname("JOBD_API_KEY_FILE");
  app.add_option("--tls_ca_file,--tls-ca-file", flags.tls_ca_file,
                 "connect with TLS, trusting this CA bundle (PEM)")
      ->envname("JOBD_TLS_CA_FILE");
  app.add_option("--tls_cert_file,--tls-cert-file", flags.tls_cert_file,
                 "mutual TLS: this client's certificate chain (PEM)")
      ->envname("JOBD_TLS_CERT_FILE");
  app.add_option("--tls_key_file,--tls-key-file", flags.tls_key_file,
                 "mutual TLS: the private key of --tls_cert_file (PEM)")
      ->envname("JOBD_TLS_KEY_FILE");
  app.add_option("-o,--output", flags.output, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--timeout", flags.timeout,
                 "deadline of each call, in seconds or as a duration (default 30s); not of "
                 "watch streams");
}

CLI::App* DefineCreate(CLI::App& app, const char* name, const char* help, CreateFlags& f) {
  CLI::App* cmd = app.add_subcommand(name, help);
  cmd->add_option("--type", f.type, "kind of work, e.g. import.csv")->required();
  cmd->add_option("-w,--workspace", f.workspace, "workspace (tenant) of the job")
      ->envname("JOBD_WORKSPACE")
      ->capture_default_str();
  cmd->add_option("--payload", f.payload, R"(input, a JSON object, e.g. '{"rows": 10}')");
  cmd->add_option("--priority", f.priority, "higher runs first")->capture_default_str();
  cmd->add_option("--label", f.labels, "key=value; repeatable")->allow_extra_args(false);
  cmd->add_option("--ttl", f.ttl, "how long the finished job is kept (server default 24h)");
  cmd->add_option("--timeout", f.timeout, "longest one attempt may run");
  cmd->add_option("--run-after", f.run_after, "not before this time, or this long from now");
  cmd->add_option("--idempotency-key", f.idempotency_key,
                  "repeating the same request with this key returns the first job");
  cmd->add_option("--max-attempts", f.max_attempts, "total attempts (server default 3)")
      ->check(CLI::Range(1, 100));
  cmd->add_option("--initial-backoff", f.initial_backoff,
                  "wait before the second attempt (server default 1s)");
  cmd->add_option("--max-backoff", f.max_backoff,
                  "longest wait between attempts (server default 5m)");
  return cmd;
}

CLI::App* DefineWork(CLI::App& app, WorkFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "work", "run COMMAND for each job of the given types, until SIGINT or SIGTERM");
  cmd->add_option("--type", f.types, "job type to take; repeatable")
      ->required()
      ->allow_extra_args(false);
  cmd->add_option("-w,--workspace", f.workspace, "workspace to take jobs from")
      ->envname("JOBD_WORKSPACE")
      ->capture_default_str();
  cmd->add_option("--concurrency", f.concurrency, "jobs run at once")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  cmd->add_option("--lease", f.lease, "lease per job; renewed every third of it")
      ->capture_default_str();
  cmd->add_option("--grace", f.grace,
                  "SIGTERM to SIGKILL when a job is cancelled or its lease lost; on stop, how "
                  "long running jobs may finish before they are handed back")
      ->capture_default_str();
  cmd->add_option("--poll-wait", f.poll_wait, "how long one acquire call waits for a job")
      ->capture_default_str();
  cmd->add_option("--worker-id", f.worker_id, "name of this worker (default hostname-pid)");
  cmd->add_option("command", f.command, "the program and its arguments, after --")->required();
  cmd->footer(std::string(R"(COMMAND gets the job's payload as JSON on stdin, and JOBD_JOB_ID,
JOBD_ATTEMPT and JOBD_JOB_TYPE in its environment. A stdout line `progress 42 some text`
reports progress; other stdout lines become INFO messages, stderr lines WARNING messages.
Exit 0 completes the job (a last stdout line that is a JSON object is its result); any other
exit fails the attempt with the exit code and the last stderr lines. When the job is cancelled
or its lease is lost, COMMAND's process group gets SIGTERM, then SIGKILL after --grace.
On SIGINT/SIGTERM jobctl stops taking jobs, lets running ones finish for --grace, then hands
the rest back (FailJob "worker stopped", retryable) and stops their programs the same way.
A second signal quits at once: the programs get SIGKILL and their jobs are retried once their
leases expire.

Example: jobctl work --type thumbnail -- ./make-thumbnail.sh --size 128

)") + kFooter);
  return cmd;
}

CLI::App* DefineList(CLI::App& app, ListFlags& f) {
  CLI::App* cmd = app.add_subcommand("list", "list jobs, newest first");
  cmd->add_option("-w,--workspace", f.workspace, "workspace to list")
      ->envname("JOBD_WORKSPACE")
      ->capture_default_str();
  cmd->add_option("--state", f.states, "only these states (queued, running, ...); repeatable")
      ->allow_extra_args(false)
      ->delimiter(',');
  cmd->add_option("--type", f.type, "only this type");
  cmd->add_option("--label", f.labels, "key=value that must match; repeatable")
      ->allow_extra_args(false);
  cmd->add_option("--page-size", f.page_size, "jobs per page (server default 20)")
      ->check(CLI::Range(1, 500));
  cmd->add_option("--page-token", f.page_token, "continue from a previous page");
  cmd->add_flag("--all", f.all, "follow next_page_token to the last page");
  return cmd;
}

CLI::App* DefineJobCommand(CLI::App& app, const char* name, const char* help, JobFlags& f) {
  CLI::App* cmd = app.add_subcommand(name, help);
  cmd->add_option("id", f.id, "job id")->required();
  return cmd;
}

CLI::App* DefineWatch(CLI::App& app, WatchFlags& f) {
  CLI::App* cmd =
      app.add_subcommand("watch", "follow a job until it ends; exit 0 only if it SUCCEEDED");
  cmd->add_option("id", f.id, "job id")->required();
  f.after_sequence_option =
      cmd->add_option("--after-sequence", f.after_sequence,
                      "start after this event (#N) instead of with the job as it is now")
          ->check(CLI::Range(int64_t{0}, std::numeric_limits<int64_t>::max()));
  cmd->add_option("--reconnect-timeout", f.reconnect_timeout,
                  "give up when reconnecting fails for this long")
      ->capture_default_str();
  cmd->footer(std::string(R"(On a terminal: a progress bar redrawn in place, messages above it.
Otherwise one line per event: `#5 RUNNING 40% "copying" elapsed 12s eta 30s`,
`#6 WARNING "text"`.
With --output json: one JobEvent as JSON per line. When the connection drops (e.g. jobd
restarts) jobctl reconnects and resumes after the last event it showed: nothing is shown
twice and nothing is missed.

)") + kFooter);
  return cmd;
}

CLI::App* DefineEvents(CLI::App& app, EventsFlags& f) {
  CLI::App* cmd = app.add_subcommand(
      "events", "print a job's retained history, oldest first, one line per event");
  cmd->add_option("id", f.id, "job id")->required();
  cmd->add_option("--page-size", f.page_size, "events per call (server default 100)")
      ->check(CLI::Range(1, 500));
  return cmd;
}

void DefineKeys(CLI::App& app, KeysFlags& f, Commands& commands) {
  CLI::App* keys = app.add_subcommand(
      "keys", "API keys through AdminService (needs an admin key): create, list, revoke");
  keys->require_subcommand(1);
  commands.keys = keys;
  CLI::App* create = keys->add_subcommand(
      "create", "make a key; its secret is printed once, on stdout (details on stderr)");
  create->add_option("--name", f.name, "the principal, recorded as requested_by")->required();
  create->add_option("--role", f.role, "admin, member, worker or viewer")->required();
  create->add_option("-w,--workspace", f.workspace, "the key's workspace (none for admin)");
  create->add_option("--expire-in,--expire_in", f.expire_in, "e.g. 720h; default: never");
  commands.keys_create = create;
  commands.keys_list = keys->add_subcommand("list", "every key, newest first");
  commands.keys_list->add_option("-w,--workspace", f.workspace, "only this workspace's keys");
  commands.keys_revoke =
      keys->add_subcommand("revoke", "revoke a key on every replica (and end its streams)");
  commands.keys_revoke->add_option("id", f.id, "key id (from keys list)")->required();
}

int RunKeys(JobdClient& client, const Commands& commands, const KeysFlags& flags,
            Output output) {
  if (commands.keys_create->parsed()) {
    absl::StatusOr<v1::CreateApiKeyRequest> request = BuildCreateApiKey(flags, absl::Now());
    if (!request.ok()) return UsageError(request.status());
    absl::StatusOr<v1::CreateApiKeyResponse> created = client.CreateApiKey(*request);
    if (!created.ok()) return ServerError(created.status());
    if (output == Output::kJson) return PrintJson(*created);
    std::cout << created->secret() << "\n";
    google::protobuf::RepeatedPtrField<v1::ApiKey> one;
    *one.Add() = created->api_key();
    std::cerr << FormatApiKeys(one, /*header=*/true)
              << "jobctl: the key above is shown only once; send it as "
                 "\"authorization: Bearer <key>\"\n";
    return kExitOk;
  }
  if (commands.keys_list->parsed()) {
    v1::ListApiKeysRequest request;
    request.set_workspace_id(flags.workspace);
    request.set_page_size(500);
    bool first = true;
    do {
      absl::StatusOr<v1::ListApiKeysResponse> page = client.ListApiKeys(request);
      if (!page.ok()) return ServerError(page.status());
      if (output == Output::kJson) {
        for (const v1::ApiKey& key : page->api_keys()) {
          absl::StatusOr<std::string> line = FormatJsonLine(key);
          if (!line.ok()) return ServerError(line.status());
          std::cout << *line << "\n";
        }
      } else {
        std::cout << FormatApiKeys(page->api_keys(), first);
      }
      first = false;
      request.set_page_token(page->next_page_token());
    } while (!request.page_token().empty());
    return kExitOk;
  }
  v1::RevokeApiKeyRequest request;
  request.set_id(flags.id);
  absl::StatusOr<v1::RevokeApiKeyResponse> revoked = client.RevokeApiKey(request);
  if (!revoked.ok()) return ServerError(revoked.status());
  if (output == Output::kJson) return PrintJson(*revoked);
  google::protobuf::RepeatedPtrField<v1::ApiKey> one;
  *one.Add() = revoked->api_key();
  std::cout << FormatApiKeys(one, /*header=*/true);
  return kExitOk;
}

int Main(int argc, char** argv) {
  CLI::App app("jobctl: create, inspect, list, cancel, retry, watch and work jobd jobs; manage "
               "API keys", "jobctl");
  app.footer(kFooter);  // before the subcommands, which inherit it
  app.require_subcommand(1);
  // Global flags may also follow the subcommand (except --timeout on create and run).
  app.fallthrough();

  GlobalFlags global;
  CreateFlags create;
  WorkFlags work;
  ListFlags list;
  JobFlags job;
  WatchFlags watch;
  EventsFlags events;
  KeysFlags keys;
  DefineGlobal(app, global);
  Commands commands;
  commands.create = DefineCreate(app, "create", "create a job", create);
  commands.create->add_flag("--wait", create.wait,
                            "follow the job until it ends (progress on stderr, as `watch` shows "
                            "it; none with --output json), then print it; exit 0 only if it "
                            "SUCCEEDED");
  commands.run = DefineCreate(app, "run", "create a job and wait for it: create --wait", create);
  commands.work = DefineWork(app, work);
  commands.get = DefineJobCommand(app, "get", "show a job", job);
  commands.list = DefineList(app, list);
  commands.cancel = DefineJobCommand(app, "cancel", "cancel a job", job);
  commands.cancel->add_option("--reason", job.reason, "stored as the job's error_message");
  commands.retry = DefineJobCommand(app, "retry", "queue a failed or cancelled job again", job);
  commands.watch = DefineWatch(app, watch);
  commands.events = DefineEvents(app, events);
  DefineKeys(app, keys, commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; every real parse error is a usage error.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  // Before the first gRPC object, so that no thread of gRPC's can take these signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  if (commands.work->parsed()) stop_signals = BlockStopSignals();

  client::ClientOptions options;
  options.address = global.address;
  absl::StatusOr<std::string> api_key = ResolveApiKey(global);
  if (!api_key.ok()) return UsageError(api_key.status());
  options.api_key = *api_key;
  options.tls_ca_file = global.tls_ca_file;
  options.tls_cert_file = global.tls_cert_file;
  options.tls_key_file = global.tls_key_file;
  if (!global.timeout.empty()) {
    absl::StatusOr<absl::Duration> timeout = ParseSecondsOrDuration("--timeout", global.timeout);
    if (!timeout.ok()) return UsageError(timeout.status());
    options.timeout = *timeout;
  }
  // One channel for the unary calls and the watch streams.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> made = MakeJobctlChannel(options);
  if (!made.ok()) return UsageError(made.status());
  std::shared_ptr<grpc::Channel> channel = *made;
  auto client = std::make_unique<JobdClient>(channel, options);
  const Output output = global.output == "json" ? Output::kJson : Output::kText;

  if (commands.work->parsed()) return RunWork(channel, options, work, stop_signals);
  if (commands.run->parsed()) create.wait = true;
  if (commands.create->parsed() || commands.run->parsed()) {
    return RunCreate(*client, channel, create, output);
  }
  if (commands.watch->parsed()) return RunWatch(*client, channel, watch, output);
  if (commands.events->parsed()) return RunEvents(*client, channel, events, output);
  if (commands.keys->parsed()) return RunKeys(*client, commands, keys, output);
  if (commands.get->parsed()) return RunGet(*client, job, output);
  if (commands.list->parsed()) return RunList(*client, list, output);
  if (commands.cancel->parsed()) return RunCancel(*client, job, output);
  return RunRetry(*client, job, output);
}

}  // namespace
}  // namespace jobd::jobctl

int main(int argc, char** argv) { return jobd::jobctl::Main(argc, argv); }
