// The TemplateService use cases: job presets a workspace (or every workspace) shares.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "db/model/clock.h"
#include "db/model/schedule_store.h"
#include "server/core/access.h"
#include "server/core/commands.h"
#include "server/core/limits.h"
#include "server/core/page_token.h"

namespace jobd::core {

struct TemplatePage {
  std::vector<JobTemplate> templates;
  std::string next_page_token;
};

class TemplateManager {
 public:
  TemplateManager(ScheduleStore& store, Clock& clock, Limits limits, PageTokenCodec page_tokens);

  // A template with no workspace is shared: only admins make, change or delete those.
  absl::StatusOr<JobTemplate> Create(const Principal& caller, JobTemplate job_template);
  absl::StatusOr<JobTemplate> Get(const Principal& caller, const std::string& id);
  absl::StatusOr<TemplatePage> List(const Principal& caller, const std::string& workspace_id,
                                    int32_t page_size, const std::string& page_token);
  // Replaces the fields named in `mask` (name, description, defaults, payload_schema).
  absl::StatusOr<JobTemplate> Update(const Principal& caller, const JobTemplate& job_template,
                                     const std::vector<std::string>& mask);
  absl::Status Delete(const Principal& caller, const std::string& id);

  // Fills `command` from the template it names (the workspace's, else a shared one) and
  // checks its payload against the template's schema; a command naming none is unchanged.
  // Blocks on the store.
  absl::Status Apply(CreateJobCommand& command);

 private:
  absl::Status Check(const JobTemplate& job_template) const;
  // NOT_FOUND unless the caller may see it; PERMISSION_DENIED when it may not change it.
  absl::StatusOr<JobTemplate> Visible(const Principal& caller, const std::string& id);
  static absl::Status MayChange(const Principal& caller, const JobTemplate& job_template);

  ScheduleStore& store_;
  Clock& clock_;
  const Limits limits_;
  const PageTokenCodec page_tokens_;
};

}  // namespace jobd::core
