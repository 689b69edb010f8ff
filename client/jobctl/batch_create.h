// `jobctl create --from-file FILE`: one job per line of JSON (a CreateJobRequest in the HTTP
// API's JSON), sent with BatchCreateJobs in requests of up to --batch-size jobs.
#pragma once

#include <istream>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/jobctl/commands.h"
#include "client/jobd_client.h"
#include "jobd/v1/job_service.pb.h"

namespace jobd::jobctl {

struct BatchCreatePlan {
  std::vector<v1::BatchCreateJobsRequest> batches;
  std::vector<std::vector<int>> line_numbers;  // per batch, the file line of each request
};

// Blank lines are skipped. The create flags are defaults that a line's own fields override
// (labels add up); --payload, --idempotency-key and --wait are refused (each line has its own).
// INVALID_ARGUMENT naming the line for a line that is not a CreateJobRequest, before anything
// is sent.
absl::StatusOr<BatchCreatePlan> BuildBatchCreateRequests(const CreateFlags& flags,
                                                         std::istream& lines, absl::Time now);

// Sends the batches in order and prints every job created (a table, or {"jobs": [...]} with
// --output json). A refused batch stops there: the error names the file line, and says how
// many jobs of earlier batches were created (each batch is all or nothing).
int RunCreateFromFile(client::JobdClient& client, const CreateFlags& flags, Output output);

}  // namespace jobd::jobctl
