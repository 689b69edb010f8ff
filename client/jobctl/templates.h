// `jobctl templates create|list|get|update|delete`: job presets through
// jobd.v1.TemplateService, which `jobctl create --template` and schedules name. The flags (CLI11
// fills them in jobctl.cc), the requests built from them (pure; each error is INVALID_ARGUMENT
// naming the flag, and jobctl exits kExitUsage), the text displays, and RunTemplates, which
// calls jobd and prints.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <google/protobuf/repeated_ptr_field.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/jobctl/commands.h"
#include "client/jobd_client.h"
#include "jobd/v1/template_service.pb.h"

namespace jobd::jobctl {

// One struct for every subcommand; each reads the fields its flags fill.
struct TemplateFlags {
  std::string id;         // get, update, delete
  std::string workspace;  // create: the template's; list: its templates besides the shared ones
  bool shared = false;    // create: a template of every workspace (admin keys only)
  std::string name;
  std::optional<std::string> description;  // update --description '' clears it
  // The job's defaults.
  std::string type;
  std::string payload;
  std::optional<int> priority;
  std::optional<int> max_attempts;
  std::string timeout;
  std::string ttl;
  std::vector<std::string> labels;
  // A JSON object, or @FILE holding one; update --schema '' removes the schema.
  std::optional<std::string> schema;
};

enum class TemplateCommand { kCreate, kList, kGet, kUpdate, kDelete };

// Needs --name, --type and exactly one of --workspace and --shared. Fields whose flags are not
// given stay unset, so that the server applies its defaults. Reads the --schema @FILE.
absl::StatusOr<v1::CreateJobTemplateRequest> BuildCreateTemplate(const TemplateFlags& flags);

// Each group of flags given replaces one field, named in update_mask in this order: --name
// (name); --description (description); --type/--payload/--priority/--max-attempts/--timeout/
// --ttl/--label (the whole defaults, so it needs --type); --schema (payload_schema). No flag at
// all is an error.
absl::StatusOr<v1::UpdateJobTemplateRequest> BuildUpdateTemplate(const TemplateFlags& flags);

// The first page of `list` (the largest the server allows).
v1::ListJobTemplatesRequest BuildListTemplates(const TemplateFlags& flags);

// Columns ID, WORKSPACE ("shared" for a shared template), NAME, TYPE, DESCRIPTION (its first
// line, at most 60 characters); the header even when there are none.
std::string FormatTemplateTable(
    const google::protobuf::RepeatedPtrField<v1::JobTemplate>& templates);

// One "key: value" line per field, as `jobctl get` shows a job.
std::string FormatTemplate(const v1::JobTemplate& job_template, absl::Time now);

// Builds the command's request, calls jobd and prints: a template (create, get, update), every
// page of the table (list), or the response as JSON with --output json. Returns the exit code.
int RunTemplates(client::JobdClient& client, TemplateCommand command, const TemplateFlags& flags,
                 Output output);

}  // namespace jobd::jobctl
