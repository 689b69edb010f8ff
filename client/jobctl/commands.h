// jobctl's subcommands as data: the flags of each (CLI11 fills them in jobctl.cc) and the pure
// functions that turn them into requests, client and worker options, watch options and
// displays. Nothing here calls jobd or prints, so that every rule can be unit-tested; each
// error is INVALID_ARGUMENT with a message that names the flag (jobctl exits kExitUsage).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/jobctl/watch.h"
#include "client/jobctl/work.h"
#include "client/jobd_client.h"
#include "client/resumable_watch.h"
#include "client/worker.h"
#include "jobd/v1/job_service.pb.h"

namespace jobd::jobctl {

// jobctl's exit codes (listed for users in jobctl.cc's kFooter). A watched job that ended
// FAILED or CANCELLED exits kExitJobNotSucceeded (client/jobctl/watch.h), which is 1 too.
constexpr int kExitOk = 0;
constexpr int kExitServer = 1;
constexpr int kExitUsage = 2;

enum class Output { kText, kJson };

struct GlobalFlags {
  std::string address = "127.0.0.1:50051";
  std::string api_key;
  std::string api_key_file;
  std::string tls_ca_file, tls_cert_file, tls_key_file;
  std::string output = "text";
  std::string timeout;  // empty: JobdClient's default
};

struct CreateFlags {  // create and run
  std::string workspace = "default";
  std::string type;           // required unless template_name is given
  std::string template_name;  // --template: a job template's name
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
  bool wait = false;      // `create --wait`, and always for `run`
  std::string from_file;  // `create --from-file`: JSON lines, "-" for stdin
  int batch_size = 1000;
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
  std::string view;  // full | basic; empty: basic for the table, full for --output json
};

struct JobFlags {  // get, cancel, retry, pause, resume, delete
  std::string id;
  std::string reason;
};

struct WatchFlags {
  std::string id;
  std::optional<int64_t> after_sequence;  // set when --after-sequence was given
  std::string reconnect_timeout = "60s";
};

struct EventsFlags {
  std::string id;
  int page_size = 0;  // 0: the server's default
};

// ---- the connection ------------------------------------------------------------------------

Output OutputFor(const GlobalFlags& flags);

// --api_key, else --api_key_file, else the run command's .jobd/admin.key (found from the
// working directory, then from jobctl's own binary; only for a jobd on this machine), else
// none. Reads files; INVALID_ARGUMENT naming --api_key_file when a key file is unusable.
absl::StatusOr<std::string> ResolveApiKey(const GlobalFlags& flags);

// Address, key, TLS files and --timeout (seconds or a duration).
absl::StatusOr<client::ClientOptions> BuildClientOptions(const GlobalFlags& flags,
                                                         std::string api_key);

// ---- requests ------------------------------------------------------------------------------

// Each optional proto field is set only when its flag was given, so that the server applies
// its defaults. --run-after as a delay counts from `now`.
absl::StatusOr<v1::CreateJobRequest> BuildCreateRequest(const CreateFlags& flags, absl::Time now);
absl::StatusOr<v1::ListJobsRequest> BuildListRequest(const ListFlags& flags);
v1::GetJobRequest BuildGetRequest(const JobFlags& flags);
v1::CancelJobRequest BuildCancelRequest(const JobFlags& flags);
v1::RetryJobRequest BuildRetryRequest(const JobFlags& flags);
// pause, resume, delete: the request of one job id.
template <typename Request>
Request JobIdRequest(const JobFlags& flags) {
  Request request;
  request.set_id(flags.id);
  return request;
}

using ListJobsCall =
    std::function<absl::StatusOr<v1::ListJobsResponse>(const v1::ListJobsRequest&)>;
// One page, or with `all` every page from request.page_token on, merged into one response.
// INTERNAL when the server hands back the token it was given (that would loop forever).
absl::StatusOr<v1::ListJobsResponse> ListJobPages(const ListJobsCall& call,
                                                  v1::ListJobsRequest request, bool all);

// ---- watching ------------------------------------------------------------------------------

// `watch`: fails at once when the first call cannot reach jobd, like every other command.
absl::StatusOr<client::WatchOptions> BuildWatchOptions(const WatchFlags& flags);
// `create --wait` and `run`: the job exists and goes on without us, so a server restart
// right after CreateJob is worth waiting out.
client::WatchOptions BuildWaitOptions(const std::string& job_id);

// `watch`: JSON lines, else a bar on a terminal, else lines.
WatchDisplay WatchCommandDisplay(Output output, bool terminal);
// `create --wait` / `run` show progress on stderr; with --output json nothing, since stdout
// is for the final job and scripts want stderr quiet too.
WatchDisplay WaitDisplay(Output output, bool stderr_terminal);
// `events`: history is never a bar, one line (or JSON object) per event even on a terminal.
WatchDisplay EventsDisplay(Output output);

// After a watch: kExitServer when it failed, else by the job's final state.
int ExitCodeForWatch(const client::WatchOutcome& outcome);

// ---- work ----------------------------------------------------------------------------------

struct WorkSetup {
  client::WorkerOptions worker;
  CommandSpec command;
};

// The Worker's options (--lease, --grace, --poll-wait parsed) and the program to run per job,
// killed --grace after SIGTERM.
absl::StatusOr<WorkSetup> BuildWorkSetup(const WorkFlags& flags,
                                         const client::ClientOptions& client_options);

}  // namespace jobd::jobctl
