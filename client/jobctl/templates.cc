#include "client/jobctl/templates.h"

#include <fstream>
#include <iostream>
#include <sstream>
#include <tuple>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "client/jobctl/actions.h"
#include "client/jobctl/args.h"
#include "client/jobctl/output.h"
#include "client/paging.h"

namespace jobd::jobctl {
namespace {

// The defaults flags given, in the order the error messages name them.
std::vector<const char*> DefaultsFlagsGiven(const TemplateFlags& f) {
  std::vector<const char*> given;
  if (!f.type.empty()) given.push_back("--type");
  if (!f.payload.empty()) given.push_back("--payload");
  if (f.priority) given.push_back("--priority");
  if (f.max_attempts) given.push_back("--max-attempts");
  if (!f.timeout.empty()) given.push_back("--timeout");
  if (!f.ttl.empty()) given.push_back("--ttl");
  if (!f.labels.empty()) given.push_back("--label");
  return given;
}

// What a job made from the template starts from: no workspace, run_after or key.
absl::StatusOr<v1::CreateJobRequest> BuildDefaults(const TemplateFlags& f) {
  v1::CreateJobRequest defaults;
  defaults.set_type(f.type);
  if (f.priority) defaults.set_priority(*f.priority);
  if (f.max_attempts) defaults.mutable_retry_policy()->set_max_attempts(*f.max_attempts);
  if (!f.payload.empty()) {
    absl::Status s = ParsePayload("--payload", f.payload, defaults.mutable_payload());
    if (!s.ok()) return s;
  }
  if (absl::Status s = ParseLabels("--label", f.labels, defaults.mutable_labels()); !s.ok()) {
    return s;
  }
  using Field = google::protobuf::Duration* (*)(v1::CreateJobRequest&);
  const std::tuple<const char*, const std::string&, Field> durations[] = {
      {"--timeout", f.timeout, [](v1::CreateJobRequest& r) { return r.mutable_timeout(); }},
      {"--ttl", f.ttl, [](v1::CreateJobRequest& r) { return r.mutable_ttl(); }},
  };
  for (const auto& [flag, value, field] : durations) {
    if (value.empty()) continue;
    absl::StatusOr<absl::Duration> d = ParseDuration(flag, value);
    if (!d.ok()) return d.status();
    ToProto(*d, field(defaults));
  }
  return defaults;
}

// --schema: inline JSON or @FILE into the template's payload_schema; an empty text leaves it
// unset (on update: removes it).
absl::Status ParseSchema(const std::string& text, v1::JobTemplate& t) {
  if (text.empty()) return absl::OkStatus();
  std::string json = text;
  if (text[0] == '@') {
    const std::string path = text.substr(1);
    std::ifstream in(path);
    if (!in) return absl::InvalidArgumentError(absl::StrCat("--schema: cannot read ", path));
    std::ostringstream content;
    content << in.rdbuf();
    json = content.str();
  }
  return ParsePayload("--schema", json, t.mutable_payload_schema());
}

// The first line, at most 60 bytes (not cutting a UTF-8 character); "..." marks a cut.
std::string DescriptionSummary(const std::string& text) {
  constexpr size_t kMax = 60;
  const size_t newline = text.find('\n');
  std::string line = text.substr(0, newline);
  bool cut = newline != std::string::npos;
  if (line.size() > kMax) {
    size_t end = kMax - 3;
    while (end > 0 && (static_cast<unsigned char>(line[end]) & 0xC0) == 0x80) --end;
    line.resize(end);
    cut = true;
  }
  if (cut) line += "...";
  return OrUnset(line);
}

}  // namespace

absl::StatusOr<v1::CreateJobTemplateRequest> BuildCreateTemplate(const TemplateFlags& flags) {
  if (flags.shared && !flags.workspace.empty()) {
    return absl::InvalidArgumentError("--shared: not with --workspace");
  }
  if (!flags.shared && flags.workspace.empty()) {
    return absl::InvalidArgumentError("--workspace is required (or --shared)");
  }
  if (flags.name.empty()) return absl::InvalidArgumentError("--name is required");
  if (flags.type.empty()) return absl::InvalidArgumentError("--type is required");
  v1::CreateJobTemplateRequest request;
  v1::JobTemplate& t = *request.mutable_job_template();
  t.set_workspace_id(flags.workspace);
  t.set_name(flags.name);
  t.set_description(flags.description.value_or(""));
  absl::StatusOr<v1::CreateJobRequest> defaults = BuildDefaults(flags);
  if (!defaults.ok()) return defaults.status();
  *t.mutable_defaults() = std::move(*defaults);
  if (flags.schema) {
    if (absl::Status s = ParseSchema(*flags.schema, t); !s.ok()) {
      return s;
    }
  }
  return request;
}

absl::StatusOr<v1::UpdateJobTemplateRequest> BuildUpdateTemplate(const TemplateFlags& flags) {
  v1::UpdateJobTemplateRequest request;
  v1::JobTemplate& t = *request.mutable_job_template();
  google::protobuf::FieldMask& mask = *request.mutable_update_mask();
  t.set_id(flags.id);
  if (!flags.name.empty()) {
    t.set_name(flags.name);
    mask.add_paths("name");
  }
  if (flags.description) {
    t.set_description(*flags.description);
    mask.add_paths("description");
  }
  if (const std::vector<const char*> given = DefaultsFlagsGiven(flags); !given.empty()) {
    if (flags.type.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(given.front(), ": replaces the whole defaults, so --type is required too"));
    }
    absl::StatusOr<v1::CreateJobRequest> defaults = BuildDefaults(flags);
    if (!defaults.ok()) return defaults.status();
    *t.mutable_defaults() = std::move(*defaults);
    mask.add_paths("defaults");
  }
  if (flags.schema) {
    if (absl::Status s = ParseSchema(*flags.schema, t); !s.ok()) {
      return s;
    }
    mask.add_paths("payload_schema");
  }
  if (mask.paths().empty()) {
    return absl::InvalidArgumentError(
        "nothing to update: give --name, --description, --type, --payload, --priority, "
        "--max-attempts, --timeout, --ttl, --label or --schema");
  }
  return request;
}

v1::ListJobTemplatesRequest BuildListTemplates(const TemplateFlags& flags) {
  v1::ListJobTemplatesRequest request;
  request.set_workspace_id(flags.workspace);
  request.set_page_size(500);
  return request;
}

std::string FormatTemplateTable(
    const google::protobuf::RepeatedPtrField<v1::JobTemplate>& templates) {
  std::vector<Row> rows = {{"ID", "WORKSPACE", "NAME", "TYPE", "DESCRIPTION"}};
  for (const v1::JobTemplate& t : templates) {
    rows.push_back({t.id(), t.workspace_id().empty() ? "shared" : t.workspace_id(), t.name(),
                    OrUnset(t.defaults().type()), DescriptionSummary(t.description())});
  }
  return FormatTable(rows);
}

std::string FormatTemplate(const v1::JobTemplate& t, absl::Time now) {
  auto time = [&](bool has, const google::protobuf::Timestamp& ts) {
    return has ? FormatTime(ts, now) : "-";
  };
  auto duration = [](bool has, const google::protobuf::Duration& d) {
    return has ? absl::FormatDuration(FromProto(d)) : "-";
  };
  const v1::CreateJobRequest& d = t.defaults();
  const int max_attempts = d.retry_policy().max_attempts();
  const std::vector<std::pair<const char*, std::string>> fields = {
      {"id", OrUnset(t.id())},
      {"name", OrUnset(t.name())},
      {"workspace", t.workspace_id().empty() ? "shared" : t.workspace_id()},
      {"description", OrUnset(t.description())},
      {"type", OrUnset(d.type())},
      {"priority", absl::StrCat(d.priority())},
      {"payload", d.has_payload() ? FormatStruct(d.payload()) : "-"},
      {"max_attempts", max_attempts > 0 ? absl::StrCat(max_attempts) : "-"},
      {"timeout", duration(d.has_timeout(), d.timeout())},
      {"ttl", duration(d.has_ttl(), d.ttl())},
      {"labels", FormatLabels(d.labels())},
      {"payload_schema", t.has_payload_schema() ? FormatStruct(t.payload_schema()) : "-"},
      {"created", time(t.has_create_time(), t.create_time())},
      {"updated", time(t.has_update_time(), t.update_time())},
  };
  std::vector<Row> rows;
  for (const auto& [key, value] : fields) rows.push_back({absl::StrCat(key, ":"), value});
  return FormatTable(rows);
}

// ---- at run time ---------------------------------------------------------------------------

namespace {

// For the responses that are `{ JobTemplate job_template = 1; }`.
template <typename Response>
int PrintTemplate(const absl::StatusOr<Response>& response, Output output) {
  return PrintResponse(response, output, [](const Response& r) {
    return FormatTemplate(r.job_template(), absl::Now());
  });
}

// Every page, as one response.
int ListAll(client::JobdClient& client, const TemplateFlags& flags, Output output) {
  v1::ListJobTemplatesResponse all;
  const absl::Status status = client::ForEachPage(
      BuildListTemplates(flags),
      [&client](const v1::ListJobTemplatesRequest& r) { return client.ListJobTemplates(r); },
      [&all](const v1::ListJobTemplatesResponse& page) {
        all.mutable_job_templates()->MergeFrom(page.job_templates());
        return absl::OkStatus();
      });
  if (!status.ok()) return ServerError(status);
  if (output == Output::kJson) return PrintJson(all);
  std::cout << FormatTemplateTable(all.job_templates());
  return kExitOk;
}

}  // namespace

int RunTemplates(client::JobdClient& client, TemplateCommand command, const TemplateFlags& flags,
                 Output output) {
  switch (command) {
    case TemplateCommand::kCreate: {
      absl::StatusOr<v1::CreateJobTemplateRequest> request = BuildCreateTemplate(flags);
      if (!request.ok()) return UsageError(request.status());
      return PrintTemplate(client.CreateJobTemplate(*request), output);
    }
    case TemplateCommand::kUpdate: {
      absl::StatusOr<v1::UpdateJobTemplateRequest> request = BuildUpdateTemplate(flags);
      if (!request.ok()) return UsageError(request.status());
      return PrintTemplate(client.UpdateJobTemplate(*request), output);
    }
    case TemplateCommand::kList:
      return ListAll(client, flags, output);
    case TemplateCommand::kGet: {
      v1::GetJobTemplateRequest request;
      request.set_id(flags.id);
      return PrintTemplate(client.GetJobTemplate(request), output);
    }
    case TemplateCommand::kDelete: {
      v1::DeleteJobTemplateRequest request;
      request.set_id(flags.id);
      absl::StatusOr<v1::DeleteJobTemplateResponse> deleted = client.DeleteJobTemplate(request);
      if (!deleted.ok()) return ServerError(deleted.status());
      if (output == Output::kJson) return PrintJson(*deleted);
      std::cout << "template " << flags.id << " deleted\n";
      return kExitOk;
    }
  }
  return kExitUsage;
}

}  // namespace jobd::jobctl
