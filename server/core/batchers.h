// The two group commits of jobd: new jobs (CreateJob) and changes to jobs (worker calls).
#pragma once

#include <string>

#include "db/model/job_store.h"
#include "server/core/group_commit.h"

namespace jobd::core {

// Calls `write` again, up to `max_tries` calls in all, while it fails ABORTED (a deadlock or a
// serialization failure): such a write wrote nothing, so another try is safe.
template <typename Write>
auto RetryAborted(int max_tries, Write write) -> decltype(write()) {
  auto written = write();
  for (int tries = 1; !written.ok() && absl::IsAborted(written.status()) && tries < max_tries;
       ++tries) {
    written = write();
  }
  return written;
}

using CreateBatcher = GroupCommit<Job, CreatedJob>;
// JobStore::CreateJobs, retried (up to `max_tries`) when aborted by a deadlock or a
// serialization failure: the batch wrote nothing, so trying again is safe.
CreateBatcher::Commit CommitCreates(JobStore& store, int max_tries = 3);

using ChangeBatcher = GroupCommit<JobStore::JobChange, Job>;
// JobStore::UpdateJobs; a job appears at most once per batch (see ChangeKey).
ChangeBatcher::Commit CommitChanges(JobStore& store);
std::string ChangeKey(const JobStore::JobChange& change);

}  // namespace jobd::core
