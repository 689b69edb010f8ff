// Request validation: INVALID_ARGUMENT naming the field, before anything is written.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/core/commands.h"
#include "server/core/limits.h"

namespace jobd::core {

absl::Status ValidateWorkspaceId(const std::string& workspace_id, const Limits& limits);
absl::Status ValidateType(const std::string& field, const std::string& type, const Limits& limits);
absl::Status ValidateJobId(const std::string& field, const std::string& id);
// `what` names the kind of id in the message ("schedule").
absl::Status ValidateId(const std::string& field, const std::string& id, const char* what);
// Names of schedules and templates: 1 to 128 characters of [A-Za-z0-9._-].
absl::Status ValidateName(const std::string& field, const std::string& name);
absl::Status ValidateLabels(const std::string& field,
                            const std::map<std::string, std::string>& labels, const Limits& limits);
absl::Status ValidateText(const std::string& field, const std::string& text, const Limits& limits);

// INVALID_ARGUMENT naming `field` when the JSON text holds U+0000 in a string or key, which a
// jsonb column cannot store (it would fail the whole statement, other callers' changes too).
absl::Status ValidateStoredJson(const std::string& field, const std::string& json);

// `status` with its message put under `item` ("requests[3]" + "type: …" = "requests[3].type:
// …"): the field of one item of a batch. OK stays OK.
absl::Status ForItem(const absl::Status& status, const std::string& item);

// Who a create comes from: a caller may not use the labels and idempotency keys starting with
// "jobd/", which jobd's own schedules set.
enum class CreateOrigin { kCaller, kSchedule };
absl::Status ValidateCreate(const CreateJobCommand& command, absl::Time now, const Limits& limits,
                            CreateOrigin origin = CreateOrigin::kCaller);
absl::Status ValidateList(const ListJobsCommand& command, const Limits& limits);

}  // namespace jobd::core
