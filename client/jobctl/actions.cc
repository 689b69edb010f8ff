#include "client/jobctl/actions.h"

#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "client/jobctl/output.h"
#include "client/jobctl/watch.h"
#include "client/jobctl/work.h"
#include "client/paging.h"
#include "client/worker.h"

namespace jobd::jobctl {
namespace {

using client::JobdClient;

// For the RPCs whose response is `{ Job job = 1; }`.
template <typename Response>
int PrintJobResponse(const absl::StatusOr<Response>& response, Output output) {
  return PrintResponse(response, output,
                       [](const Response& r) { return FormatJob(r.job(), absl::Now()); });
}

// Shows the job's events on `printer` until the job ends or the watch gives up.
client::WatchOutcome Watch(JobdClient& client, const client::WatchOptions& options,
                           WatchPrinter& printer) {
  client::WatchHooks hooks;
  hooks.on_event = [&printer](const v1::JobEvent& event) { printer.Event(event); };
  hooks.on_warning = [&printer](const std::string& text) { printer.Warning(text); };
  client::WatchOutcome outcome = client.WatchJobResumable(options, hooks);
  printer.Finish();
  return outcome;
}

bool IsTty(FILE* file) { return isatty(fileno(file)); }

}  // namespace

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

int RunCreate(JobdClient& client, const CreateFlags& flags, Output output) {
  absl::StatusOr<v1::CreateJobRequest> request = BuildCreateRequest(flags, absl::Now());
  if (!request.ok()) return UsageError(request.status());
  absl::StatusOr<v1::CreateJobResponse> created = client.CreateJob(*request);
  if (!flags.wait || !created.ok()) return PrintJobResponse(created, output);

  WatchPrinter printer(WaitDisplay(output, IsTty(stderr)), stderr);
  const client::WatchOutcome outcome =
      Watch(client, BuildWaitOptions(created->job().id()), printer);
  if (!outcome.status.ok()) return ServerError(outcome.status);

  // Events leave the payload out: print the whole job, as `get` would.
  v1::GetJobRequest get;
  get.set_id(created->job().id());
  const int printed = PrintJobResponse(client.GetJob(get), output);
  if (printed != kExitOk) return printed;
  return ExitCodeForWatch(outcome);
}

int RunGet(JobdClient& client, const JobFlags& flags, Output output) {
  return PrintJobResponse(client.GetJob(BuildGetRequest(flags)), output);
}

int RunCancel(JobdClient& client, const JobFlags& flags, Output output) {
  return PrintJobResponse(client.CancelJob(BuildCancelRequest(flags)), output);
}

int RunRetry(JobdClient& client, const JobFlags& flags, Output output) {
  return PrintJobResponse(client.RetryJob(BuildRetryRequest(flags)), output);
}

int RunPause(JobdClient& client, const JobFlags& flags, Output output) {
  return PrintJobResponse(client.PauseJob(JobIdRequest<v1::PauseJobRequest>(flags)), output);
}

int RunResume(JobdClient& client, const JobFlags& flags, Output output) {
  return PrintJobResponse(client.ResumeJob(JobIdRequest<v1::ResumeJobRequest>(flags)), output);
}

int RunDelete(JobdClient& client, const JobFlags& flags, Output output) {
  return PrintResponse(client.DeleteJob(JobIdRequest<v1::DeleteJobRequest>(flags)), output,
                       [&flags](const v1::DeleteJobResponse&) {
                         return absl::StrCat("job ", flags.id, " deleted\n");
                       });
}

int RunList(JobdClient& client, ListFlags flags, Output output) {
  // The table shows no payloads or results: it does not fetch them unless asked.
  if (flags.view.empty()) flags.view = output == Output::kJson ? "full" : "basic";
  absl::StatusOr<v1::ListJobsRequest> request = BuildListRequest(flags);
  if (!request.ok()) return UsageError(request.status());
  absl::StatusOr<v1::ListJobsResponse> response = ListJobPages(
      [&client](const v1::ListJobsRequest& r) { return client.ListJobs(r); }, *request, flags.all);
  if (!response.ok()) return ServerError(response.status());
  if (output == Output::kJson) return PrintJson(*response);
  std::cout << FormatJobTable(response->jobs(), absl::Now());
  if (!response->next_page_token().empty()) {
    std::cerr << "next page: --page-token " << response->next_page_token() << "\n";
  }
  return kExitOk;
}

int RunWatch(JobdClient& client, const WatchFlags& flags, Output output) {
  absl::StatusOr<client::WatchOptions> options = BuildWatchOptions(flags);
  if (!options.ok()) return UsageError(options.status());
  WatchPrinter printer(WatchCommandDisplay(output, IsTty(stdout)), stdout);
  const client::WatchOutcome outcome = Watch(client, *options, printer);
  if (!outcome.status.ok()) return ServerError(outcome.status);
  return ExitCodeForWatch(outcome);
}

int RunEvents(JobdClient& client, const EventsFlags& flags, Output output) {
  WatchPrinter printer(EventsDisplay(output), stdout);
  absl::Status status = client.ListAllJobEvents(
      flags.id, flags.page_size, [&printer](const v1::JobEvent& event) { printer.Event(event); });
  if (!status.ok()) return ServerError(status);
  return kExitOk;
}

int RunKeysCreate(JobdClient& client, const KeysFlags& flags, Output output) {
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

int RunKeysList(JobdClient& client, const KeysFlags& flags, Output output) {
  bool first = true;
  const absl::Status status = client::ForEachPage(
      BuildListApiKeys(flags),
      [&client](const v1::ListApiKeysRequest& r) { return client.ListApiKeys(r); },
      [&](const v1::ListApiKeysResponse& page) -> absl::Status {
        if (output == Output::kJson) {
          for (const v1::ApiKey& key : page.api_keys()) {
            absl::StatusOr<std::string> line = FormatJsonLine(key);
            if (!line.ok()) return line.status();
            std::cout << *line << "\n";
          }
        } else {
          std::cout << FormatApiKeys(page.api_keys(), first);
        }
        first = false;
        return absl::OkStatus();
      });
  return status.ok() ? kExitOk : ServerError(status);
}

int RunKeysRevoke(JobdClient& client, const KeysFlags& flags, Output output) {
  absl::StatusOr<v1::RevokeApiKeyResponse> revoked = client.RevokeApiKey(BuildRevokeApiKey(flags));
  if (!revoked.ok()) return ServerError(revoked.status());
  if (output == Output::kJson) return PrintJson(*revoked);
  google::protobuf::RepeatedPtrField<v1::ApiKey> one;
  *one.Add() = revoked->api_key();
  std::cout << FormatApiKeys(one, /*header=*/true);
  return kExitOk;
}

int RunWhoAmI(JobdClient& client, Output output) {
  absl::StatusOr<v1::WhoAmIResponse> me = client.WhoAmI(v1::WhoAmIRequest());
  if (!me.ok()) return ServerError(me.status());
  if (output == Output::kJson) return PrintJson(*me);
  std::cout << "key:         " << me->key_id() << "\n"
            << "name:        " << me->name() << "\n"
            << "role:        "
            << absl::AsciiStrToLower(
                   absl::StripPrefix(v1::ApiKeyRole_Name(me->role()), "API_KEY_ROLE_"))
            << "\n"
            << "workspace:   "
            << (me->workspace_id().empty() ? "(every workspace)" : me->workspace_id()) << "\n"
            << "permissions: " << absl::StrJoin(me->permissions(), ", ") << "\n";
  return kExitOk;
}

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

int RunWork(JobdClient& client, const WorkFlags& flags, const sigset_t& stop_signals) {
  absl::StatusOr<WorkSetup> setup = BuildWorkSetup(flags, client.options());
  if (!setup.ok()) return UsageError(setup.status());
  const CommandSpec& spec = setup->command;
  if (absl::Status s = CheckCommand(spec.argv[0]); !s.ok()) return UsageError(s);

  client::Worker worker(client.channel(), setup->worker);
  auto log = [](const v1::Job& job, const std::string& what) {
    std::fprintf(stderr, "jobctl work: job %s (%s, attempt %d): %s\n", job.id().c_str(),
                 job.type().c_str(), job.attempt(), what.c_str());
  };
  for (const std::string& type : flags.types) {
    worker.Handle(type, [&spec, log](const v1::Job& job, client::JobContext& ctx) {
      log(job, "started");
      absl::StatusOr<google::protobuf::Struct> result = RunCommand(spec, job, ctx);
      // A paused job is not over: ResumeJob queues it again.
      log(job, result.ok() ? "succeeded"
                           : absl::StrCat(ctx.Paused() ? "paused: " : "failed: ",
                                          result.status().message()));
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
               absl::FormatDuration(setup->worker.grace_period).c_str());
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

}  // namespace jobd::jobctl
