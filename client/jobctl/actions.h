// jobctl's subcommands at run time: each builds its request (client/jobctl/commands.h), calls
// jobd through the client library, prints the response as text or JSON
// (client/jobctl/output.h) or the followed events (client/jobctl/watch.h), and returns the
// process's exit code. Errors go to stderr as `jobctl: CODE: message` (server) or
// `jobctl: message` (usage).
#pragma once

#include <signal.h>

#include <iostream>

#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "client/jobctl/commands.h"
#include "client/jobctl/keys.h"
#include "client/jobd_client.h"

namespace jobd::jobctl {

// Print the error and return kExitUsage / kExitServer.
int UsageError(const absl::Status& status);
int ServerError(const absl::Status& status);
// The message as indented JSON on stdout (FormatJson); kExitOk.
int PrintJson(const google::protobuf::Message& message);
// A call's answer: its error (kExitServer), or the response as JSON with --output json, else
// `text(response)` on stdout (kExitOk).
template <typename Response, typename Text>
int PrintResponse(const absl::StatusOr<Response>& response, Output output, const Text& text) {
  if (!response.ok()) return ServerError(response.status());
  if (output == Output::kJson) return PrintJson(*response);
  std::cout << text(*response);
  return kExitOk;
}

// `create`, and `run` (flags.wait): with wait, follows the job until it ends, then prints it
// as `get` would and exits by its final state.
int RunCreate(client::JobdClient& client, const CreateFlags& flags, Output output);
int RunGet(client::JobdClient& client, const JobFlags& flags, Output output);
int RunList(client::JobdClient& client, ListFlags flags, Output output);
int RunCancel(client::JobdClient& client, const JobFlags& flags, Output output);
int RunRetry(client::JobdClient& client, const JobFlags& flags, Output output);
int RunPause(client::JobdClient& client, const JobFlags& flags, Output output);
int RunResume(client::JobdClient& client, const JobFlags& flags, Output output);
// Prints `job ID deleted` (with --output json, the empty response).
int RunDelete(client::JobdClient& client, const JobFlags& flags, Output output);
int RunWatch(client::JobdClient& client, const WatchFlags& flags, Output output);
int RunEvents(client::JobdClient& client, const EventsFlags& flags, Output output);

int RunKeysCreate(client::JobdClient& client, const KeysFlags& flags, Output output);
int RunKeysList(client::JobdClient& client, const KeysFlags& flags, Output output);
int RunKeysRevoke(client::JobdClient& client, const KeysFlags& flags, Output output);
// The key jobctl calls with: name, role, workspace and permissions.
int RunWhoAmI(client::JobdClient& client, Output output);

// Blocks SIGINT and SIGTERM in this thread and in every thread started after it (gRPC's and
// the worker's), so that RunWork receives them with sigwait instead of dying. Call it before
// the first gRPC object exists.
sigset_t BlockStopSignals();

// `work`: runs the Worker on the client's channel until one of `stop_signals`, then stops it
// gracefully; a second signal quits at once.
int RunWork(client::JobdClient& client, const WorkFlags& flags, const sigset_t& stop_signals);

}  // namespace jobd::jobctl
