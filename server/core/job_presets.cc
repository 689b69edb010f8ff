#include "server/core/job_presets.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "server/core/payload_schema.h"

namespace jobd::core {

CreateJobCommand CommandFromPreset(const JobPreset& p) {
  CreateJobCommand c;
  c.template_name = p.template_name;
  c.type = p.type;
  c.payload_json = p.payload_json;
  c.priority = p.priority;
  c.retry_policy.max_attempts = p.max_attempts;
  c.retry_policy.initial_backoff = p.initial_backoff;
  c.retry_policy.max_backoff = p.max_backoff;
  c.retry_policy.multiplier = p.backoff_multiplier;
  c.timeout = p.timeout;
  c.ttl = p.ttl;
  c.labels = p.labels;
  return c;
}

JobPreset PresetFromCommand(const CreateJobCommand& c) {
  JobPreset p;
  p.template_name = c.template_name;
  p.type = c.type;
  p.payload_json = c.payload_json;
  p.priority = c.priority;
  p.max_attempts = c.retry_policy.max_attempts;
  p.initial_backoff = c.retry_policy.initial_backoff;
  p.max_backoff = c.retry_policy.max_backoff;
  p.backoff_multiplier = c.retry_policy.multiplier;
  p.timeout = c.timeout;
  p.ttl = c.ttl;
  p.labels = c.labels;
  return p;
}

absl::Status ApplyTemplate(const JobTemplate& t, CreateJobCommand& c) {
  const JobPreset& d = t.defaults;
  if (c.type.empty()) c.type = d.type;
  nlohmann::json payload =
      MergePayloads(nlohmann::json::parse(d.payload_json), nlohmann::json::parse(c.payload_json));
  if (!t.payload_schema_json.empty()) {
    absl::StatusOr<PayloadSchema> schema =
        PayloadSchema::Parse(t.payload_schema_json, "payload_schema");
    if (!schema.ok()) return schema.status();
    if (absl::Status s = schema->Validate(payload); !s.ok()) return s;
  }
  c.payload_json = payload.dump();
  if (c.priority == 0) c.priority = d.priority;
  RetryPolicyInput& r = c.retry_policy;
  if (r.max_attempts == 0) r.max_attempts = d.max_attempts;
  if (!r.initial_backoff) r.initial_backoff = d.initial_backoff;
  if (!r.max_backoff) r.max_backoff = d.max_backoff;
  if (r.multiplier == 0) r.multiplier = d.backoff_multiplier;
  if (!c.timeout) c.timeout = d.timeout;
  if (!c.ttl) c.ttl = d.ttl;
  for (const auto& [key, value] : d.labels) c.labels.emplace(key, value);  // the request's win
  c.template_name.clear();
  return absl::OkStatus();
}

absl::Status CheckPresetRequest(const CreateJobCommand& c, const std::string& field,
                                bool allow_template) {
  auto must_be_empty = [&](const char* name) {
    return absl::InvalidArgumentError(absl::StrCat(field, ".", name, ": must be empty"));
  };
  if (!c.workspace_id.empty()) return must_be_empty("workspace_id");
  if (!c.idempotency_key.empty()) return must_be_empty("idempotency_key");
  if (c.run_after) return must_be_empty("run_after");
  if (!allow_template && !c.template_name.empty()) return must_be_empty("template");
  return absl::OkStatus();
}

}  // namespace jobd::core
