// jobctl: the command-line client of jobd, on the client library's public headers. This file
// is the CLI11 wiring only (with cli_groups.cc for schedules, templates, queues and bulk): it
// defines the flags into the structs of client/jobctl/commands.h and hands the parsed
// subcommand to its Run function (client/jobctl/actions.h), which builds the request, calls jobd
// through JobdClient and prints. Exit codes are listed in kFooter.
#include <signal.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "absl/status/statusor.h"
#include "client/jobctl/actions.h"
#include "client/jobctl/batch_create.h"
#include "client/jobctl/cli_groups.h"
#include "client/jobctl/commands.h"
#include "client/jobctl/keys.h"
#include "client/jobd_client.h"

namespace jobd::jobctl {
namespace {

constexpr const char* kFooter =
    R"(Durations: 30s, 5m, 2h, 1h30m. Times: RFC 3339, e.g. 2024-05-01T10:00:00Z.
The global --timeout (each call's deadline; watch streams have none) may go before or after
the subcommand, except after `create`, `run` and `templates create|update`, where --timeout is
the job's attempt timeout.

Exit codes:
  0  success; for `create --wait`, `run` and `watch`: the job SUCCEEDED
  1  the server or the connection failed the call; stderr has `jobctl: CODE: message`;
     for `create --wait`, `run` and `watch` also: the job ended FAILED or CANCELLED
  2  usage error: unknown flag, missing argument, bad duration, time, state, label, --payload,
     --overlap or queue limit; for `bulk`: neither a filter nor --id, or both; for `work`: the
     command is not found)";

// --after-sequence as CLI11 sees it: a value and whether it was given.
struct WatchCli {
  WatchFlags flags;
  int64_t after_sequence = 0;
  CLI::Option* after_sequence_option = nullptr;
};

struct Commands {
  CLI::App* create;
  CLI::App* run;
  CLI::App* work;
  CLI::App* get;
  CLI::App* list;
  CLI::App* cancel;
  CLI::App* retry;
  CLI::App* pause;
  CLI::App* resume;
  CLI::App* delete_;
  CLI::App* watch;
  CLI::App* events;
  CLI::App* keys;
  CLI::App* keys_create;
  CLI::App* keys_list;
  CLI::App* keys_revoke;
  CLI::App* whoami;
  Subcommands<ScheduleCommand> schedules;
  Subcommands<TemplateCommand> templates;
  Subcommands<QueueCommand> queues;
  Subcommands<BulkCommand> bulk;
};

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
  // Required, except with --template or `create --from-file` (checked before the call).
  cmd->add_option("--type", f.type, "kind of work, e.g. import.csv (may come from --template)");
  cmd->add_option("--template", f.template_name,
                  "a job template's name (templates list): its defaults fill what the flags "
                  "leave unset, and the payload is merged over its payload");
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
                  "SIGTERM to SIGKILL when a job is cancelled or paused or its lease lost; on "
                  "stop, how long running jobs may finish before they are handed back")
      ->capture_default_str();
  cmd->add_option("--poll-wait", f.poll_wait, "how long one acquire call waits for a job")
      ->capture_default_str();
  cmd->add_option("--worker-id", f.worker_id, "name of this worker (default hostname-pid)");
  cmd->add_option("command", f.command, "the program and its arguments, after --")->required();
  cmd->footer(std::string(R"(COMMAND gets the job's payload as JSON on stdin, and JOBD_JOB_ID,
JOBD_ATTEMPT and JOBD_JOB_TYPE in its environment. A stdout line `progress 42 some text`
reports progress; other stdout lines become INFO messages, stderr lines WARNING messages.
A stdout line `checkpoint {"page": 3}` saves where the job has got to (a JSON object on one
line, at most 256 KiB): if the attempt fails, the next one gets the last checkpoint saved as
JSON in JOBD_CHECKPOINT (unset when there is none; over 128 KiB it comes in a file named by
JOBD_CHECKPOINT_FILE instead). A checkpoint line that is not a JSON object is ignored, with a
warning on stderr and in the job's messages.
Exit 0 completes the job (a last stdout line that is a JSON object is its result); any other
exit fails the attempt with the exit code and the last stderr lines. When the job is cancelled
or paused or its lease is lost, COMMAND's process group gets SIGTERM, then SIGKILL after
--grace, and the attempt is not reported (`jobctl resume` queues a paused job again).
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
  DefineJobFilter(cmd, f.states, f.type, f.labels);
  cmd->add_option("--page-size", f.page_size, "jobs per page (server default 20)")
      ->check(CLI::Range(1, 500));
  cmd->add_option("--page-token", f.page_token, "continue from a previous page");
  cmd->add_flag("--all", f.all, "follow next_page_token to the last page");
  cmd->add_option("--view", f.view,
                  "full (with payload and result) or basic; default basic for the table, full "
                  "with --output json");
  return cmd;
}

CLI::App* DefineJobCommand(CLI::App& app, const char* name, const char* help, JobFlags& f) {
  CLI::App* cmd = app.add_subcommand(name, help);
  cmd->add_option("id", f.id, "job id")->required();
  return cmd;
}

CLI::App* DefineWatch(CLI::App& app, WatchCli& w) {
  CLI::App* cmd =
      app.add_subcommand("watch", "follow a job until it ends; exit 0 only if it SUCCEEDED");
  WatchFlags& f = w.flags;
  cmd->add_option("id", f.id, "job id")->required();
  w.after_sequence_option =
      cmd->add_option("--after-sequence", w.after_sequence,
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

int Main(int argc, char** argv) {
  CLI::App app(
      "jobctl: create, inspect, list, cancel, retry, pause, resume, delete, watch and work jobd "
      "jobs, also in bulk; manage queues, schedules, job templates and API keys",
      "jobctl");
  app.footer(kFooter);  // before the subcommands, which inherit it
  app.require_subcommand(1);
  // Global flags may also follow the subcommand (except --timeout on create and run).
  app.fallthrough();

  GlobalFlags global;
  CreateFlags create;
  WorkFlags work;
  ListFlags list;
  JobFlags job;
  WatchCli watch;
  EventsFlags events;
  KeysFlags keys;
  ScheduleFlags schedules;
  TemplateFlags templates;
  QueueFlags queues;
  BulkFlags bulk;
  DefineGlobal(app, global);
  Commands commands;
  commands.create = DefineCreate(app, "create", "create a job", create);
  commands.create->add_flag("--wait", create.wait,
                            "follow the job until it ends (progress on stderr, as `watch` shows "
                            "it; none with --output json), then print it; exit 0 only if it "
                            "SUCCEEDED");
  commands.create->add_option(
      "--from-file", create.from_file,
      "create one job per line of this file (- for stdin), each line a CreateJobRequest as "
      "JSON; the other flags are defaults; sent with BatchCreateJobs, each batch all or nothing");
  commands.create->add_option("--batch-size", create.batch_size, "jobs per BatchCreateJobs call")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  commands.run = DefineCreate(app, "run", "create a job and wait for it: create --wait", create);
  commands.work = DefineWork(app, work);
  commands.get = DefineJobCommand(app, "get", "show a job", job);
  commands.list = DefineList(app, list);
  commands.cancel = DefineJobCommand(app, "cancel", "cancel a job", job);
  commands.cancel->add_option("--reason", job.reason, "stored as the job's error_message");
  commands.retry = DefineJobCommand(app, "retry", "queue a failed or cancelled job again", job);
  commands.pause = DefineJobCommand(
      app, "pause",
      "hold a queued, scheduled or running job until `resume` (a running one is stopped; its "
      "attempt is not used up)",
      job);
  commands.resume = DefineJobCommand(
      app, "resume", "queue a paused job again, with its attempt and last checkpoint", job);
  commands.delete_ = DefineJobCommand(app, "delete", "delete a finished job and its history", job);
  commands.watch = DefineWatch(app, watch);
  commands.events = DefineEvents(app, events);
  DefineKeys(app, keys, commands);
  commands.schedules = DefineSchedules(app, schedules, kFooter);
  commands.templates = DefineTemplates(app, templates, kFooter);
  commands.queues = DefineQueues(app, queues, kFooter);
  commands.bulk = DefineBulk(app, bulk, kFooter);
  commands.whoami = app.add_subcommand("whoami", "the API key in use: name, role, workspace");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help exits 0; every real parse error is a usage error.
    return app.exit(e) == 0 ? kExitOk : kExitUsage;
  }

  if (watch.after_sequence_option->count() > 0) watch.flags.after_sequence = watch.after_sequence;

  // Before the first gRPC object, so that no thread of gRPC's can take these signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  if (commands.work->parsed()) stop_signals = BlockStopSignals();

  absl::StatusOr<std::string> api_key = ResolveApiKey(global);
  if (!api_key.ok()) return UsageError(api_key.status());
  absl::StatusOr<client::ClientOptions> options = BuildClientOptions(global, *api_key);
  if (!options.ok()) return UsageError(options.status());
  // One channel for the unary calls, the watch streams and the worker; it reconnects quickly,
  // so that a watch resumes soon after jobd is back.
  absl::StatusOr<std::unique_ptr<client::JobdClient>> connected =
      client::JobdClient::Connect(*options);
  if (!connected.ok()) return UsageError(connected.status());
  client::JobdClient& client = **connected;
  const Output output = OutputFor(global);

  if (commands.work->parsed()) return RunWork(client, work, stop_signals);
  if (commands.run->parsed()) create.wait = true;
  if (commands.create->parsed() && !create.from_file.empty()) {
    return RunCreateFromFile(client, create, output);
  }
  if (commands.create->parsed() || commands.run->parsed()) {
    if (create.type.empty() && create.template_name.empty()) {
      return UsageError(absl::InvalidArgumentError("--type is required (or --template)"));
    }
    return RunCreate(client, create, output);
  }
  if (commands.watch->parsed()) return RunWatch(client, watch.flags, output);
  if (commands.events->parsed()) return RunEvents(client, events, output);
  if (commands.keys_create->parsed()) return RunKeysCreate(client, keys, output);
  if (commands.keys_list->parsed()) return RunKeysList(client, keys, output);
  if (commands.keys_revoke->parsed()) return RunKeysRevoke(client, keys, output);
  if (commands.whoami->parsed()) return RunWhoAmI(client, output);
  for (const auto& [cmd, command] : commands.schedules) {
    if (cmd->parsed()) return RunSchedules(client, command, schedules, output);
  }
  for (const auto& [cmd, command] : commands.templates) {
    if (cmd->parsed()) return RunTemplates(client, command, templates, output);
  }
  for (const auto& [cmd, command] : commands.queues) {
    if (cmd->parsed()) return RunQueues(client, command, queues, output);
  }
  for (const auto& [cmd, command] : commands.bulk) {
    if (cmd->parsed()) return RunBulk(client, command, bulk, output);
  }
  if (commands.get->parsed()) return RunGet(client, job, output);
  if (commands.list->parsed()) return RunList(client, list, output);
  if (commands.cancel->parsed()) return RunCancel(client, job, output);
  if (commands.pause->parsed()) return RunPause(client, job, output);
  if (commands.resume->parsed()) return RunResume(client, job, output);
  if (commands.delete_->parsed()) return RunDelete(client, job, output);
  return RunRetry(client, job, output);
}

}  // namespace
}  // namespace jobd::jobctl

int main(int argc, char** argv) { return jobd::jobctl::Main(argc, argv); }
