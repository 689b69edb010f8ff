// `jobctl schedules create|list|get|update|pause|resume|trigger|backfill|delete`: recurring
// jobs through jobd.v1.ScheduleService. The flags (CLI11 fills them in jobctl.cc), the requests
// built from them (pure; each error is INVALID_ARGUMENT naming the flag, and jobctl exits
// kExitUsage), the text displays, and RunSchedules, which calls jobd and prints.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <google/protobuf/repeated_ptr_field.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/jobctl/commands.h"
#include "client/jobd_client.h"
#include "jobd/v1/schedule_service.pb.h"

namespace jobd::jobctl {

// One struct for every subcommand; each reads the fields its flags fill.
struct ScheduleFlags {
  std::string id;                     // all but create and list
  std::string workspace = "default";  // create, list
  std::string name;
  // The spec.
  std::vector<std::string> cron;
  // --every and --offset as given, in command-line order ({"--every", "1h"}, {"--offset",
  // "5m"}): an --offset belongs to the --every before it.
  std::vector<std::pair<std::string, std::string>> intervals;
  std::string time_zone;
  std::string start, end;  // RFC 3339; for backfill, the range of nominal times
  std::string jitter;
  // What each run creates.
  std::string type;
  std::string template_name;
  std::string payload;
  std::optional<int> priority;
  std::vector<std::string> labels;
  // The policies.
  std::string overlap;  // skip, buffer-one, allow-all, cancel-other
  std::string catchup_window;
  bool paused = false;  // create
  std::string note;     // create --paused, pause
};

enum class ScheduleCommand {
  kCreate,
  kList,
  kGet,
  kUpdate,
  kDelete,
  kPause,
  kResume,
  kTrigger,
  kBackfill,
};

// skip, buffer-one, allow-all or cancel-other (any case; '_' for '-').
absl::StatusOr<v1::OverlapPolicy> ParseOverlap(absl::string_view text);

// Needs --name, --cron or --every, and --type or --template; --note only with --paused.
// Fields whose flags are not given stay unset, so that the server applies its defaults.
absl::StatusOr<v1::CreateScheduleRequest> BuildCreateSchedule(const ScheduleFlags& flags);

// Each group of flags given replaces one field, named in update_mask in this order: --name
// (name); --cron/--every/--offset/--time-zone/--start/--end/--jitter (the whole spec, so it
// needs --cron or --every); --type/--template/--payload/--priority/--label (the whole job, so
// it needs --type or --template); --overlap (overlap_policy); --catchup-window
// (catchup_window). No flag at all is an error.
absl::StatusOr<v1::UpdateScheduleRequest> BuildUpdateSchedule(const ScheduleFlags& flags);

// The first page of `list` (the largest the server allows).
v1::ListSchedulesRequest BuildListSchedules(const ScheduleFlags& flags);
v1::PauseScheduleRequest BuildPauseSchedule(const ScheduleFlags& flags);
// Needs --start and --end.
absl::StatusOr<v1::BackfillScheduleRequest> BuildBackfillSchedule(const ScheduleFlags& flags);

// get, resume, trigger, delete: the request of one schedule id.
template <typename Request>
Request ScheduleIdRequest(const ScheduleFlags& flags) {
  Request request;
  request.set_id(flags.id);
  return request;
}

// `0 9 * * 1-5 (Europe/Berlin); every 1h offset 5m`: the cron expressions (with the time zone
// they are read in, when set) and the intervals; "-" for an empty spec.
std::string FormatSpec(const v1::ScheduleSpec& spec);

// Columns ID, NAME, SPEC, NEXT RUN, LAST RUN, PAUSED, FIRED/SKIPPED (times in UTC); the header
// even when there are none.
std::string FormatScheduleTable(const google::protobuf::RepeatedPtrField<v1::Schedule>& schedules);

// One "key: value" line per field, as `jobctl get` shows a job.
std::string FormatSchedule(const v1::Schedule& schedule, absl::Time now);

// Builds the command's request, calls jobd and prints: a schedule (create, get, update, pause,
// resume), every page of the table (list), the job made (trigger), the jobs' table
// (backfill), or the response as JSON with --output json. Returns the exit code.
int RunSchedules(client::JobdClient& client, ScheduleCommand command, const ScheduleFlags& flags,
                 Output output);

}  // namespace jobd::jobctl
