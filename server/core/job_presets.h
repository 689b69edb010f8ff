// A job preset (a template's defaults, a schedule's runs) as a create command and back, and a
// template's defaults applied to a command.
#pragma once

#include "db/model/schedule.h"
#include "server/core/commands.h"
#include "server/core/limits.h"

namespace jobd::core {

CreateJobCommand CommandFromPreset(const JobPreset& preset);
// Leaves out workspace, run_after and idempotency key (the caller refuses them first).
JobPreset PresetFromCommand(const CreateJobCommand& command);

// Fills what `command` leaves unset (zero values) from `defaults`; the payload is merged over
// the template's (objects deep-merged), labels per key. INVALID_ARGUMENT naming the path
// when the merged payload fails `payload_schema_json` (empty: none).
absl::Status ApplyTemplate(const JobTemplate& job_template, CreateJobCommand& command);

// INVALID_ARGUMENT naming `field` when a preset given as a request has a field it may not
// ("job.idempotency_key: must be empty").
absl::Status CheckPresetRequest(const CreateJobCommand& command, const std::string& field,
                                bool allow_template);

}  // namespace jobd::core
