#include "server/core/validation.h"

#include <cmath>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "server/core/clip.h"
#include "server/core/ids.h"

namespace jobd::core {
namespace {

constexpr char kReservedPrefix[] = "jobd/";

absl::Status Invalid(const std::string& field, const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", why));
}

bool AllOf(const std::string& text, bool (*allowed)(char)) {
  for (char c : text) {
    if (!allowed(c)) return false;
  }
  return true;
}

bool IsWorkspaceChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}
bool IsTypeChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}
bool IsLabelKeyChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-' || c == '/';
}
bool HasNul(const std::string& text) { return text.find('\0') != std::string::npos; }

absl::Status ValidateDuration(const std::string& field, const std::optional<absl::Duration>& d,
                              absl::Duration max) {
  if (!d) return absl::OkStatus();
  if (*d <= absl::ZeroDuration()) return Invalid(field, "must be positive");
  if (*d > max) return Invalid(field, absl::StrCat("must be at most ", absl::FormatDuration(max)));
  return absl::OkStatus();
}

}  // namespace

absl::Status ValidateWorkspaceId(const std::string& workspace_id, const Limits& limits) {
  if (workspace_id.empty()) return Invalid("workspace_id", "is required");
  if (workspace_id.size() > limits.max_workspace_id_length) {
    return Invalid("workspace_id",
                   absl::StrCat("must be at most ", limits.max_workspace_id_length, " characters"));
  }
  if (!AllOf(workspace_id, IsWorkspaceChar)) {
    return Invalid("workspace_id", "may contain only A-Z, a-z, 0-9, '_' and '-'");
  }
  return absl::OkStatus();
}

absl::Status ValidateType(const std::string& field, const std::string& type, const Limits& limits) {
  if (type.empty()) return Invalid(field, "is required");
  if (type.size() > limits.max_type_length) {
    return Invalid(field, absl::StrCat("must be at most ", limits.max_type_length, " characters"));
  }
  if (!AllOf(type, IsTypeChar))
    return Invalid(field, "may contain only a-z, 0-9, '.', '_' and '-'");
  return absl::OkStatus();
}

absl::Status ValidateJobId(const std::string& field, const std::string& id) {
  return ValidateId(field, id, "job");
}

absl::Status ValidateId(const std::string& field, const std::string& id, const char* what) {
  if (id.empty()) return Invalid(field, "is required");
  if (!IsUuid(id)) return Invalid(field, absl::StrCat("must be a ", what, " id (a UUID)"));
  return absl::OkStatus();
}

absl::Status ValidateName(const std::string& field, const std::string& name) {
  constexpr size_t kMaxName = 128;
  if (name.empty()) return Invalid(field, "is required");
  if (name.size() > kMaxName || !AllOf(name, [](char c) {
        return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' ||
               c == '-';
      })) {
    return Invalid(field, absl::StrCat("must be 1 to ", kMaxName, " characters of [A-Za-z0-9._-]"));
  }
  return absl::OkStatus();
}

absl::Status ValidateLabels(const std::string& field,
                            const std::map<std::string, std::string>& labels,
                            const Limits& limits) {
  if (labels.size() > limits.max_labels) {
    return Invalid(field, absl::StrCat("at most ", limits.max_labels, " labels are allowed"));
  }
  for (const auto& [key, value] : labels) {
    if (key.empty() || key.size() > limits.max_label_key_length || !AllOf(key, IsLabelKeyChar)) {
      return Invalid(field, absl::StrCat("key '", ClipForMessage(key, 64), "' must be 1 to ",
                                         limits.max_label_key_length,
                                         " characters of A-Z, a-z, 0-9, '.', '_', '-', '/'"));
    }
    if (value.size() > limits.max_label_value_length || HasNul(value)) {
      return Invalid(absl::StrCat(field, "[", key, "]"),
                     absl::StrCat("value must be at most ", limits.max_label_value_length,
                                  " bytes without NUL characters"));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateText(const std::string& field, const std::string& text, const Limits& limits) {
  if (text.size() > limits.max_text_bytes) {
    return Invalid(field, absl::StrCat("must be at most ", limits.max_text_bytes, " bytes"));
  }
  // PostgreSQL text cannot hold NUL.
  if (HasNul(text)) return Invalid(field, "must not contain NUL characters");
  return absl::OkStatus();
}

absl::Status ValidateCreate(const CreateJobCommand& c, absl::Time now, const Limits& limits,
                            CreateOrigin origin) {
  if (auto s = ValidateWorkspaceId(c.workspace_id, limits); !s.ok()) return s;
  if (auto s = ValidateType("type", c.type, limits); !s.ok()) return s;
  if (c.payload_json.size() > limits.max_payload_bytes) {
    return Invalid("payload", absl::StrCat("must be at most ", limits.max_payload_bytes,
                                           " bytes encoded as JSON, got ", c.payload_json.size()));
  }
  const RetryPolicyInput& r = c.retry_policy;
  if (r.max_attempts < 0 || r.max_attempts > limits.max_attempts) {
    return Invalid("retry_policy.max_attempts",
                   absl::StrCat("must be between 1 and ", limits.max_attempts));
  }
  if (auto s =
          ValidateDuration("retry_policy.initial_backoff", r.initial_backoff, limits.max_backoff);
      !s.ok()) {
    return s;
  }
  if (auto s = ValidateDuration("retry_policy.max_backoff", r.max_backoff, limits.max_backoff);
      !s.ok()) {
    return s;
  }
  if (r.initial_backoff && r.max_backoff && *r.initial_backoff > *r.max_backoff) {
    return Invalid("retry_policy.max_backoff", "must not be less than initial_backoff");
  }
  if (r.multiplier != 0 && (!std::isfinite(r.multiplier) || r.multiplier < 1.0 ||
                            r.multiplier > limits.max_backoff_multiplier)) {
    return Invalid("retry_policy.multiplier",
                   absl::StrCat("must be between 1.0 and ", limits.max_backoff_multiplier));
  }
  if (auto s = ValidateDuration("timeout", c.timeout, limits.max_timeout); !s.ok()) return s;
  if (auto s = ValidateDuration("ttl", c.ttl, limits.max_ttl); !s.ok()) return s;
  if (c.run_after && *c.run_after > now + limits.max_run_after_delay) {
    return Invalid("run_after", absl::StrCat("must be at most ",
                                             absl::FormatDuration(limits.max_run_after_delay),
                                             " in the future"));
  }
  if (auto s = ValidateLabels("labels", c.labels, limits); !s.ok()) return s;
  if (c.idempotency_key.size() > limits.max_idempotency_key_length || HasNul(c.idempotency_key)) {
    return Invalid("idempotency_key",
                   absl::StrCat("must be at most ", limits.max_idempotency_key_length,
                                " bytes without NUL characters"));
  }
  if (origin == CreateOrigin::kCaller) {
    for (const auto& [key, value] : c.labels) {
      if (absl::StartsWith(key, kReservedPrefix)) {
        return Invalid("labels", absl::StrCat("\"", ClipForMessage(key, 128),
                                              "\": keys starting with jobd/ are set by jobd"));
      }
    }
    if (absl::StartsWith(c.idempotency_key, kReservedPrefix)) {
      return Invalid("idempotency_key", "must not start with jobd/ (jobd's schedules use those)");
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateList(const ListJobsCommand& c, const Limits& limits) {
  if (auto s = ValidateWorkspaceId(c.workspace_id, limits); !s.ok()) return s;
  if (!c.type.empty()) {
    if (auto s = ValidateType("type", c.type, limits); !s.ok()) return s;
  }
  if (auto s = ValidateLabels("labels", c.labels, limits); !s.ok()) return s;
  if (c.page_size < 0 || c.page_size > limits.max_page_size) {
    return Invalid("page_size", absl::StrCat("must be between 0 and ", limits.max_page_size));
  }
  return absl::OkStatus();
}

namespace {

bool HoldsNul(const nlohmann::json& value) {
  if (value.is_string()) return value.get_ref<const std::string&>().find('\0') != std::string::npos;
  if (value.is_object()) {
    for (const auto& [key, item] : value.items()) {
      if (key.find('\0') != std::string::npos || HoldsNul(item)) return true;
    }
  }
  if (value.is_array()) {
    for (const nlohmann::json& item : value) {
      if (HoldsNul(item)) return true;
    }
  }
  return false;
}

}  // namespace

absl::Status ValidateStoredJson(const std::string& field, const std::string& json) {
  // Cheap first look: JSON text holds a NUL only as the escape \u0000.
  if (json.find("\\u0000") == std::string::npos) return absl::OkStatus();
  const nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || HoldsNul(parsed)) {
    return Invalid(field, "must not contain the character U+0000 (a jsonb column cannot hold it)");
  }
  return absl::OkStatus();
}

absl::Status ForItem(const absl::Status& status, const std::string& item) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(item, ".", status.message()));
}

}  // namespace jobd::core
