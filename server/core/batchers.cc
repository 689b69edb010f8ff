#include "server/core/batchers.h"

#include "absl/strings/ascii.h"

namespace jobd::core {

CreateBatcher::Commit CommitCreates(JobStore& store, int max_tries) {
  return
      [&store, max_tries](
          const std::vector<Job>& jobs) -> absl::StatusOr<std::vector<absl::StatusOr<CreatedJob>>> {
        absl::StatusOr<std::vector<CreatedJob>> created =
            RetryAborted(max_tries, [&] { return store.CreateJobs(jobs); });
        if (!created.ok()) return created.status();
        std::vector<absl::StatusOr<CreatedJob>> out;
        out.reserve(created->size());
        for (CreatedJob& job : *created) {
          if (job.refused.ok()) {
            out.emplace_back(std::move(job));
          } else {
            out.emplace_back(job.refused);
          }
        }
        return out;
      };
}

ChangeBatcher::Commit CommitChanges(JobStore& store) {
  return [&store](const std::vector<JobStore::JobChange>& changes) {
    return store.UpdateJobs(changes);
  };
}

// Ids are UUIDs in either case: the same job written as "AB…" and "ab…" must share a key, or
// both land in one batch and one of them is refused (ABORTED), also for callers of other
// workspaces, which must only ever see NOT_FOUND.
std::string ChangeKey(const JobStore::JobChange& change) {
  return absl::AsciiStrToLower(change.id);
}

}  // namespace jobd::core
