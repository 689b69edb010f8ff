#include "client/jobctl/commands.h"

#include <filesystem>
#include <system_error>
#include <tuple>
#include <utility>

#include "client/jobctl/args.h"
#include "client/paging.h"
#include "proto/common/local_address.h"

namespace jobd::jobctl {

// ---- the connection ------------------------------------------------------------------------

Output OutputFor(const GlobalFlags& flags) {
  return flags.output == "json" ? Output::kJson : Output::kText;
}

absl::StatusOr<std::string> ResolveApiKey(const GlobalFlags& flags) {
  if (!flags.api_key.empty()) return flags.api_key;
  if (!flags.api_key_file.empty()) return ReadApiKeyFile("--api_key_file", flags.api_key_file);
  // The found key is an admin key: it must never go to another machine.
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

absl::StatusOr<client::ClientOptions> BuildClientOptions(const GlobalFlags& flags,
                                                         std::string api_key) {
  client::ClientOptions options;
  options.address = flags.address;
  options.api_key = std::move(api_key);
  options.tls_ca_file = flags.tls_ca_file;
  options.tls_cert_file = flags.tls_cert_file;
  options.tls_key_file = flags.tls_key_file;
  if (!flags.timeout.empty()) {
    absl::StatusOr<absl::Duration> timeout = ParseSecondsOrDuration("--timeout", flags.timeout);
    if (!timeout.ok()) return timeout.status();
    options.timeout = *timeout;
  }
  return options;
}

// ---- requests ------------------------------------------------------------------------------

absl::StatusOr<v1::CreateJobRequest> BuildCreateRequest(const CreateFlags& flags, absl::Time now) {
  v1::CreateJobRequest request;
  request.set_workspace_id(flags.workspace);
  request.set_type(flags.type);
  request.set_template_(flags.template_name);
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
    absl::StatusOr<absl::Time> at = ParseTimeOrDelay("--run-after", flags.run_after, now);
    if (!at.ok()) return at.status();
    ToProto(*at, request.mutable_run_after());
  }
  return request;
}

absl::StatusOr<v1::ListJobsRequest> BuildListRequest(const ListFlags& flags) {
  v1::ListJobsRequest request;
  request.set_workspace_id(flags.workspace);
  request.set_type(flags.type);
  request.set_page_size(flags.page_size);
  request.set_page_token(flags.page_token);
  if (flags.view == "basic") {
    request.set_view(v1::JOB_VIEW_BASIC);
  } else if (flags.view == "full") {
    request.set_view(v1::JOB_VIEW_FULL);
  } else if (!flags.view.empty()) {
    return absl::InvalidArgumentError("--view: use full or basic");
  }
  if (absl::Status s = ParseStates(flags.states, request.mutable_states()); !s.ok()) return s;
  if (absl::Status s = ParseLabels("--label", flags.labels, request.mutable_labels()); !s.ok()) {
    return s;
  }
  return request;
}

v1::GetJobRequest BuildGetRequest(const JobFlags& flags) {
  v1::GetJobRequest request;
  request.set_id(flags.id);
  return request;
}

v1::CancelJobRequest BuildCancelRequest(const JobFlags& flags) {
  v1::CancelJobRequest request;
  request.set_id(flags.id);
  request.set_reason(flags.reason);
  return request;
}

v1::RetryJobRequest BuildRetryRequest(const JobFlags& flags) {
  v1::RetryJobRequest request;
  request.set_id(flags.id);
  return request;
}

absl::StatusOr<v1::ListJobsResponse> ListJobPages(const ListJobsCall& call,
                                                  v1::ListJobsRequest request, bool all) {
  if (!all) return call(request);
  v1::ListJobsResponse merged;
  absl::Status status =
      client::ForEachPage(std::move(request), call, [&merged](const v1::ListJobsResponse& page) {
        merged.mutable_jobs()->MergeFrom(page.jobs());
        return absl::OkStatus();
      });
  if (!status.ok()) return status;
  return merged;
}

// ---- watching ------------------------------------------------------------------------------

absl::StatusOr<client::WatchOptions> BuildWatchOptions(const WatchFlags& flags) {
  client::WatchOptions options;
  options.job_id = flags.id;
  options.after_sequence = flags.after_sequence;
  absl::StatusOr<absl::Duration> reconnect =
      ParseDuration("--reconnect-timeout", flags.reconnect_timeout);
  if (!reconnect.ok()) return reconnect.status();
  options.reconnect_timeout = *reconnect;
  return options;
}

client::WatchOptions BuildWaitOptions(const std::string& job_id) {
  client::WatchOptions options;
  options.job_id = job_id;
  options.reconnect_before_first_event = true;
  return options;
}

WatchDisplay WatchCommandDisplay(Output output, bool terminal) {
  if (output == Output::kJson) return WatchDisplay::kJson;
  return terminal ? WatchDisplay::kBar : WatchDisplay::kLines;
}

WatchDisplay WaitDisplay(Output output, bool stderr_terminal) {
  if (output == Output::kJson) return WatchDisplay::kNone;
  return stderr_terminal ? WatchDisplay::kBar : WatchDisplay::kLines;
}

WatchDisplay EventsDisplay(Output output) {
  return output == Output::kJson ? WatchDisplay::kJson : WatchDisplay::kLines;
}

int ExitCodeForWatch(const client::WatchOutcome& outcome) {
  if (!outcome.status.ok()) return kExitServer;
  return ExitCodeForFinalState(outcome.final_state);
}

// ---- work ----------------------------------------------------------------------------------

absl::StatusOr<WorkSetup> BuildWorkSetup(const WorkFlags& flags,
                                         const client::ClientOptions& client_options) {
  WorkSetup setup;
  client::WorkerOptions& options = setup.worker;
  options.client = client_options;
  options.workspace_id = flags.workspace;
  options.worker_id = flags.worker_id;
  options.concurrency = flags.concurrency;
  struct {
    const char* flag;
    const std::string& text;
    absl::Duration* out;
  } durations[] = {{"--lease", flags.lease, &options.lease_duration},
                   {"--grace", flags.grace, &options.grace_period},
                   {"--poll-wait", flags.poll_wait, &options.poll_wait}};
  for (const auto& d : durations) {
    absl::StatusOr<absl::Duration> parsed = ParseDuration(d.flag, d.text);
    if (!parsed.ok()) return parsed.status();
    *d.out = *parsed;
  }
  setup.command.argv = flags.command;
  setup.command.kill_grace = options.grace_period;
  return setup;
}

}  // namespace jobd::jobctl
