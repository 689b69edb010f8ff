// WatchJob and WatchJobs as server-sent events: each adapts a core watch (the same one the
// gRPC streams use, server/core/job_watch.h) to an Exchange. An event goes out as
//   id: <sequence>            (job streams only: a reconnect resumes after it)
//   event: <kind>             (snapshot, created, state_changed, progress, message)
//   data: <JobEvent as JSON>
// An error after the stream started goes out as `event: error` with the API's error body;
// before that, as an ordinary error response. Nothing here blocks.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "server/core/job_watch.h"
#include "server/core/workspace_watch.h"
#include "server/http/http_message.h"

namespace jobd::http {

// Answers a refusal or the stream's end before it started.
using ErrorResponder = std::function<HttpResponse(const absl::Status& status)>;

void StartJobEvents(core::WatchDeps deps, core::Principal caller, const std::string& job_id,
                    std::optional<int64_t> after_sequence, std::shared_ptr<Exchange> exchange,
                    HttpResponse head, ErrorResponder errors);

void StartWorkspaceEvents(core::WatchDeps deps, core::Principal caller,
                          core::WorkspaceWatchFilter filter, std::shared_ptr<Exchange> exchange,
                          HttpResponse head, ErrorResponder errors);

}  // namespace jobd::http
