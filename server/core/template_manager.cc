#include "server/core/template_manager.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "server/core/ids.h"
#include "server/core/job_presets.h"
#include "server/core/payload_schema.h"
#include "server/core/validation.h"

namespace jobd::core {
namespace {

absl::Status TemplateNotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("template ", id, " not found"));
}

}  // namespace

TemplateManager::TemplateManager(ScheduleStore& store, Clock& clock, Limits limits,
                                 PageTokenCodec page_tokens)
    : store_(store), clock_(clock), limits_(limits), page_tokens_(std::move(page_tokens)) {}

absl::Status TemplateManager::Check(const JobTemplate& t) const {
  if (absl::Status s = ValidateName("name", t.name); !s.ok()) return s;
  if (absl::Status s = ValidateText("description", t.description, limits_); !s.ok()) return s;
  CreateJobCommand defaults = CommandFromPreset(t.defaults);
  if (!defaults.template_name.empty()) {
    return absl::InvalidArgumentError("defaults.template: must be empty");
  }
  // The checks of a create, on a stand-in workspace (a shared template has none).
  defaults.workspace_id = t.workspace_id.empty() ? "shared" : t.workspace_id;
  if (absl::Status s = ValidateCreate(defaults, clock_.Now(), limits_); !s.ok()) {
    return ForItem(s, "defaults");
  }
  // Kept as jsonb (the template's body).
  if (absl::Status s = ValidateStoredJson("defaults.payload", t.defaults.payload_json); !s.ok()) {
    return s;
  }
  if (absl::Status s = ValidateStoredJson("payload_schema", t.payload_schema_json); !s.ok()) {
    return s;
  }
  if (!t.payload_schema_json.empty()) {
    absl::StatusOr<PayloadSchema> schema =
        PayloadSchema::Parse(t.payload_schema_json, "payload_schema");
    if (!schema.ok()) return schema.status();
  }
  return absl::OkStatus();
}

absl::Status TemplateManager::MayChange(const Principal& caller, const JobTemplate& t) {
  if (t.workspace_id.empty() && caller.role != Role::kAdmin) {
    return absl::PermissionDeniedError(
        "workspace_id: only admin keys make, change or delete shared templates");
  }
  return t.workspace_id.empty() ? absl::OkStatus() : CheckWorkspace(caller, t.workspace_id);
}

absl::StatusOr<JobTemplate> TemplateManager::Create(const Principal& caller, JobTemplate t) {
  if (absl::Status s = MayChange(caller, t); !s.ok()) return s;
  if (!t.workspace_id.empty()) {
    if (absl::Status s = ValidateWorkspaceId(t.workspace_id, limits_); !s.ok()) return s;
  }
  if (absl::Status s = Check(t); !s.ok()) return s;
  t.id = NewJobId(clock_.Now());
  return store_.InsertTemplate(t);
}

absl::StatusOr<JobTemplate> TemplateManager::Visible(const Principal& caller,
                                                     const std::string& id) {
  if (absl::Status s = ValidateId("id", id, "template"); !s.ok()) return s;
  absl::StatusOr<JobTemplate> t = store_.GetTemplate(id);
  if (!t.ok()) return t.status();
  if (!t->workspace_id.empty() && !caller.CanUseWorkspace(t->workspace_id)) {
    return TemplateNotFound(id);
  }
  return t;
}

absl::StatusOr<JobTemplate> TemplateManager::Get(const Principal& caller, const std::string& id) {
  return Visible(caller, id);
}

absl::StatusOr<TemplatePage> TemplateManager::List(const Principal& caller,
                                                   const std::string& workspace_id,
                                                   int32_t page_size,
                                                   const std::string& page_token) {
  if (!workspace_id.empty()) {
    if (absl::Status s = CheckWorkspace(caller, workspace_id); !s.ok()) return s;
    if (absl::Status s = ValidateWorkspaceId(workspace_id, limits_); !s.ok()) return s;
  }
  if (page_size < 0 || page_size > limits_.max_page_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("page_size: must be between 0 and ", limits_.max_page_size));
  }
  const int32_t limit = page_size == 0 ? limits_.default_page_size : page_size;
  const std::string query = absl::StrCat("templates;ws=", workspace_id);
  std::string after;
  if (!page_token.empty()) {
    absl::StatusOr<std::string> decoded = page_tokens_.Decode(page_token, query);
    if (!decoded.ok()) return decoded.status();
    after = *decoded;
  }
  absl::StatusOr<std::vector<JobTemplate>> rows =
      store_.ListTemplates(workspace_id, after, limit + 1);
  if (!rows.ok()) return rows.status();
  TemplatePage page;
  page.templates = std::move(*rows);
  if (page.templates.size() > static_cast<size_t>(limit)) {
    page.templates.resize(limit);
    const JobTemplate& last = page.templates.back();
    page.next_page_token =
        page_tokens_.Encode(absl::StrCat(last.name, "\n", last.workspace_id), query);
  }
  return page;
}

absl::StatusOr<JobTemplate> TemplateManager::Update(const Principal& caller,
                                                    const JobTemplate& wanted,
                                                    const std::vector<std::string>& mask) {
  absl::StatusOr<JobTemplate> current = Visible(caller, wanted.id);
  if (!current.ok()) return current.status();
  if (absl::Status s = MayChange(caller, *current); !s.ok()) return s;
  if (mask.empty()) return absl::InvalidArgumentError("update_mask: names no field");
  for (const std::string& path : mask) {
    if (path != "name" && path != "description" && path != "defaults" && path != "payload_schema") {
      return absl::InvalidArgumentError(absl::StrCat(
          "update_mask: \"", path, "\" is not one of name, description, defaults, payload_schema"));
    }
  }
  auto has = [&](const char* path) { return std::count(mask.begin(), mask.end(), path) > 0; };
  return store_.UpdateTemplate(wanted.id, [&](JobTemplate& t, absl::Time) -> absl::Status {
    if (has("name")) t.name = wanted.name;
    if (has("description")) t.description = wanted.description;
    if (has("defaults")) t.defaults = wanted.defaults;
    if (has("payload_schema")) t.payload_schema_json = wanted.payload_schema_json;
    return Check(t);
  });
}

absl::Status TemplateManager::Delete(const Principal& caller, const std::string& id) {
  absl::StatusOr<JobTemplate> current = Visible(caller, id);
  if (!current.ok()) return current.status();
  if (absl::Status s = MayChange(caller, *current); !s.ok()) return s;
  return store_.DeleteTemplate(id);
}

absl::Status TemplateManager::Apply(CreateJobCommand& command) {
  if (command.template_name.empty()) return absl::OkStatus();
  if (absl::Status s = ValidateName("template", command.template_name); !s.ok()) return s;
  absl::StatusOr<JobTemplate> t = store_.FindTemplate(command.workspace_id, command.template_name);
  if (absl::IsNotFound(t.status())) {
    return absl::NotFoundError(absl::StrCat("template: \"", command.template_name,
                                            "\" is neither in workspace \"", command.workspace_id,
                                            "\" nor shared"));
  }
  if (!t.ok()) return t.status();
  return ApplyTemplate(*t, command);
}

}  // namespace jobd::core
