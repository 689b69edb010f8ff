#include "client/jobctl/cli_groups.h"

#include <utility>

namespace jobd::jobctl {
namespace {

// A subcommand's one positional argument, if any (name empty: none).
struct Positional {
  const char* name = "";
  std::string* value = nullptr;
  const char* help = "";
};

// Adds subcommand `name` of `group`, which runs `command`, with its positional argument.
template <typename Command>
CLI::App* AddCommand(CLI::App* group, const char* name, const char* help, Command command,
                     Subcommands<Command>& commands, const Positional& positional) {
  CLI::App* cmd = group->add_subcommand(name, help);
  if (positional.value != nullptr) {
    cmd->add_option(positional.name, *positional.value, positional.help)->required();
  }
  commands.emplace_back(cmd, command);
  return cmd;
}

// For the groups whose subcommands but create and list name one object by its id.
template <typename Command>
CLI::App* AddByIdCommand(CLI::App* group, const char* name, const char* help, Command command,
                         Subcommands<Command>& commands, std::string& id, const char* id_help) {
  const bool by_id = command != Command::kCreate && command != Command::kList;
  return AddCommand(group, name, help, command, commands,
                    by_id ? Positional{"id", &id, id_help} : Positional{});
}

CLI::App* AddScheduleCommand(CLI::App* schedules, const char* name, const char* help,
                             ScheduleCommand command, ScheduleFlags& f,
                             Subcommands<ScheduleCommand>& commands) {
  return AddByIdCommand(schedules, name, help, command, commands, f.id,
                        "schedule id (from schedules list)");
}

// What `schedules create` and `schedules update` share: the name, the spec, the job and the
// policies.
void DefineScheduleFields(CLI::App* cmd, ScheduleFlags& f) {
  cmd->add_option("--name", f.name, "unique in the workspace; at most 128 of [A-Za-z0-9._-]");
  cmd->add_option("--cron", f.cron,
                  "run when this matches: 5 fields (minute hour day-of-month month "
                  "day-of-week), 6 with seconds first, or @daily, @hourly, ...; repeatable")
      ->allow_extra_args(false);
  // In command-line order, so that each --offset goes with the --every before it.
  cmd->add_option_function<std::string>(
         "--every", [&f](const std::string& v) { f.intervals.emplace_back("--every", v); },
         "run every DURATION, at Unix epoch + offset + k * DURATION; repeatable")
      ->trigger_on_parse();
  cmd->add_option_function<std::string>(
         "--offset", [&f](const std::string& v) { f.intervals.emplace_back("--offset", v); },
         "shifts the --every before it, e.g. --every 1h --offset 5m")
      ->trigger_on_parse();
  cmd->add_option("--time-zone", f.time_zone,
                  "IANA time zone the --cron expressions are read in (default UTC)");
  cmd->add_option("--start", f.start, "no run before this RFC 3339 time");
  cmd->add_option("--end", f.end, "no run after this RFC 3339 time");
  cmd->add_option("--jitter", f.jitter,
                  "each run waits a random delay below this, fixed per run (at most 24h)");
  cmd->add_option("--overlap", f.overlap,
                  "a run while the previous run's job is active: skip (default), buffer-one, "
                  "allow-all or cancel-other");
  cmd->add_option("--catchup-window", f.catchup_window,
                  "missed runs (jobd down, quota full) are made up while no older than this "
                  "(server default 1m)");
  cmd->add_option("--type", f.type, "each run's job type (may come from --template)");
  cmd->add_option("--template", f.template_name, "each run's job template (templates list)");
  cmd->add_option("--payload", f.payload, "each run's payload, a JSON object");
  cmd->add_option_function<int>(
      "--priority", [&f](const int& v) { f.priority = v; }, "each run's priority");
  cmd->add_option("--label", f.labels, "key=value on each run's job; repeatable")
      ->allow_extra_args(false);
}

constexpr const char* kScheduleFooter =
    R"(A schedule runs at every time a --cron expression matches (wall-clock time in --time-zone)
and at every Unix epoch + --offset + k * --every, within --start and --end. Each run creates
a job of --type or --template, labelled jobd/schedule and jobd/scheduled-time.
`update` replaces what its flags name and keeps the rest: --name; the whole spec (any of
--cron, --every, --offset, --time-zone, --start, --end, --jitter; give --cron or --every again);
the whole job (any of --type, --template, --payload, --priority, --label; give --type or
--template again); --overlap; --catchup-window.

Example: jobctl schedules create --name nightly --cron '0 2 * * *' --time-zone Europe/Berlin \
           --type report.build --overlap skip

)";

}  // namespace

Subcommands<ScheduleCommand> DefineSchedules(CLI::App& app, ScheduleFlags& f,
                                             const std::string& footer) {
  Subcommands<ScheduleCommand> commands;
  CLI::App* schedules = app.add_subcommand(
      "schedules",
      "recurring jobs: create, list, get, update, pause, resume, trigger, backfill, delete");
  schedules->require_subcommand(1);
  CLI::App* create = AddScheduleCommand(
      schedules, "create", "make a schedule: when (--cron, --every) and what (--type, --template)",
      ScheduleCommand::kCreate, f, commands);
  create->add_option("-w,--workspace", f.workspace, "workspace of the schedule and its jobs")
      ->envname("JOBD_WORKSPACE")
      ->capture_default_str();
  DefineScheduleFields(create, f);
  create->add_flag("--paused", f.paused, "make it paused: no runs until `schedules resume`");
  create->add_option("--note", f.note, "why it is paused (with --paused)");
  create->footer(kScheduleFooter + footer);
  CLI::App* list =
      AddScheduleCommand(schedules, "list", "a workspace's schedules by name, with their runs",
                         ScheduleCommand::kList, f, commands);
  list->add_option("-w,--workspace", f.workspace, "workspace to list")
      ->envname("JOBD_WORKSPACE")
      ->capture_default_str();
  AddScheduleCommand(schedules, "get", "show a schedule with its next runs", ScheduleCommand::kGet,
                     f, commands);
  CLI::App* update =
      AddScheduleCommand(schedules, "update", "change what the flags name (see below)",
                         ScheduleCommand::kUpdate, f, commands);
  DefineScheduleFields(update, f);
  update->footer(kScheduleFooter + footer);
  CLI::App* pause = AddScheduleCommand(schedules, "pause",
                                       "no runs until resumed (runs due meanwhile are not made up)",
                                       ScheduleCommand::kPause, f, commands);
  pause->add_option("--note", f.note, "why; shown with the schedule");
  AddScheduleCommand(schedules, "resume", "run again from the next nominal time",
                     ScheduleCommand::kResume, f, commands);
  AddScheduleCommand(schedules, "trigger",
                     "one run now, whatever the overlap policy; prints its job",
                     ScheduleCommand::kTrigger, f, commands);
  CLI::App* backfill = AddScheduleCommand(
      schedules, "backfill",
      "the runs of a past time range (each nominal time once, however often asked)",
      ScheduleCommand::kBackfill, f, commands);
  backfill->add_option("--start", f.start, "first nominal time, RFC 3339")->required();
  backfill->add_option("--end", f.end, "last nominal time, RFC 3339 (at most 1,000 runs)")
      ->required();
  AddScheduleCommand(schedules, "delete", "delete a schedule (its jobs stay)",
                     ScheduleCommand::kDelete, f, commands);
  return commands;
}

namespace {

CLI::App* AddTemplateCommand(CLI::App* templates, const char* name, const char* help,
                             TemplateCommand command, TemplateFlags& f,
                             Subcommands<TemplateCommand>& commands) {
  return AddByIdCommand(templates, name, help, command, commands, f.id,
                        "template id (from templates list)");
}

// What `templates create` and `templates update` share.
void DefineTemplateFields(CLI::App* cmd, TemplateFlags& f) {
  cmd->add_option("--name", f.name,
                  "what --template names; unique in its workspace (or among the shared)");
  cmd->add_option_function<std::string>(
      "--description", [&f](const std::string& v) { f.description = v; },
      "what it is for (at most 4 KiB)");
  cmd->add_option("--type", f.type, "the jobs' type");
  cmd->add_option("--payload", f.payload,
                  "default payload, a JSON object; a job's payload is merged over it");
  cmd->add_option_function<std::string>(
      "--schema", [&f](const std::string& v) { f.schema = v; },
      "JSON Schema (README \"Job templates\") every payload must pass: JSON, or @FILE");
  cmd->add_option_function<int>(
      "--priority", [&f](const int& v) { f.priority = v; }, "default priority");
  cmd->add_option_function<int>(
         "--max-attempts", [&f](const int& v) { f.max_attempts = v; }, "default total attempts")
      ->check(CLI::Range(1, 100));
  cmd->add_option("--timeout", f.timeout, "default longest attempt");
  cmd->add_option("--ttl", f.ttl, "default time a finished job is kept");
  cmd->add_option("--label", f.labels, "key=value; repeatable")->allow_extra_args(false);
}

}  // namespace

Subcommands<TemplateCommand> DefineTemplates(CLI::App& app, TemplateFlags& f,
                                             const std::string& footer) {
  Subcommands<TemplateCommand> commands;
  CLI::App* templates = app.add_subcommand(
      "templates",
      "job presets that create --template and schedules name: create, list, get, "
      "update, delete");
  templates->require_subcommand(1);
  CLI::App* create =
      AddTemplateCommand(templates, "create", "make a template of a workspace, or a shared one",
                         TemplateCommand::kCreate, f, commands);
  create->add_option("-w,--workspace", f.workspace, "the template's workspace");
  create->add_flag("--shared", f.shared, "a template every workspace sees (admin keys only)");
  DefineTemplateFields(create, f);
  CLI::App* list =
      AddTemplateCommand(templates, "list", "a workspace's templates and the shared ones, by name",
                         TemplateCommand::kList, f, commands);
  list->add_option("-w,--workspace", f.workspace,
                   "the workspace whose templates to list besides the shared ones (none: only "
                   "the shared ones)");
  AddTemplateCommand(templates, "get", "show a template", TemplateCommand::kGet, f, commands);
  CLI::App* update = AddTemplateCommand(templates, "update", "change what the flags name",
                                        TemplateCommand::kUpdate, f, commands);
  DefineTemplateFields(update, f);
  update->footer(std::string(R"(`update` replaces what its flags name and keeps the rest:
--name; --description; the whole defaults (any of --type, --payload, --priority,
--max-attempts, --timeout, --ttl, --label; give --type again); --schema ('' removes it).

)") + footer);
  AddTemplateCommand(templates, "delete", "delete a template", TemplateCommand::kDelete, f,
                     commands);
  return commands;
}

void DefineJobFilter(CLI::App* cmd, std::vector<std::string>& states, std::string& type,
                     std::vector<std::string>& labels) {
  cmd->add_option("--state", states, "only these states (queued, running, ...); repeatable")
      ->allow_extra_args(false)
      ->delimiter(',');
  cmd->add_option("--type", type, "only this type");
  cmd->add_option("--label", labels, "key=value that must match; repeatable")
      ->allow_extra_args(false);
}

// ---- queues --------------------------------------------------------------------------------

Subcommands<QueueCommand> DefineQueues(CLI::App& app, QueueFlags& f, const std::string& footer) {
  CLI::App* queues = app.add_subcommand(
      "queues", "a workspace's queues (one per job type): list, pause, resume, limits");
  queues->require_subcommand(1);
  Subcommands<QueueCommand> commands;
  auto add = [&](const char* name, const char* help, QueueCommand command) {
    const Positional type{"type", &f.type, "the queue's job type"};
    CLI::App* cmd = AddCommand(queues, name, help, command, commands,
                               command == QueueCommand::kList ? Positional{} : type);
    cmd->add_option("-w,--workspace", f.workspace, "the queues' workspace")
        ->envname("JOBD_WORKSPACE")
        ->capture_default_str();
    return cmd;
  };
  add("list", "every queue with jobs or settings, by type", QueueCommand::kList);
  add("pause",
      "workers take no more of its jobs until resumed (creates still succeed, running jobs go "
      "on)",
      QueueCommand::kPause);
  add("resume", "workers take its jobs again, at once", QueueCommand::kResume);
  CLI::App* limits =
      add("limits", "replace the queue's limits (admin keys only)", QueueCommand::kLimits);
  limits->add_option_function<int>(
      "--max-running", [&f](const int& v) { f.max_running = v; },
      "at most this many of its jobs RUNNING at once, across every worker (1..100000)");
  limits->add_option_function<double>(
      "--rate", [&f](const double& v) { f.rate = v; },
      "at most this many of its jobs started per second (above 0, at most 100000)");
  limits->add_option_function<int>(
      "--burst", [&f](const int& v) { f.burst = v; },
      "with --rate: starts allowed at once after a quiet spell (default: the rate, rounded up)");
  limits->footer(
      std::string(R"(`limits` replaces every limit: one whose flag is not given is removed,
so `jobctl queues limits TYPE` alone lifts them all.

)") + footer);
  return commands;
}

// ---- bulk ----------------------------------------------------------------------------------

Subcommands<BulkCommand> DefineBulk(CLI::App& app, BulkFlags& f, const std::string& footer) {
  CLI::App* bulk = app.add_subcommand(
      "bulk",
      "change every job that matches a filter (or the --id given): cancel, retry, pause, "
      "resume, fail, delete");
  bulk->require_subcommand(1);
  Subcommands<BulkCommand> commands;
  const struct {
    const char* name;
    BulkCommand command;
    const char* help;
  } operations[] = {
      {"cancel", BulkCommand::kCancel, "QUEUED, SCHEDULED, RUNNING or PAUSED -> CANCELLED"},
      {"retry", BulkCommand::kRetry, "FAILED or CANCELLED -> QUEUED, as `retry`"},
      {"pause", BulkCommand::kPause, "QUEUED, SCHEDULED or RUNNING -> PAUSED"},
      {"resume", BulkCommand::kResume, "PAUSED -> QUEUED (SCHEDULED while run_after is ahead)"},
      {"fail", BulkCommand::kFail,
       "QUEUED, SCHEDULED, RUNNING or PAUSED -> FAILED, no retry (admin keys only)"},
      {"delete", BulkCommand::kDelete,
       "SUCCEEDED, FAILED or CANCELLED: deleted with their history (admin keys only)"},
  };
  for (const auto& op : operations) {
    CLI::App* cmd = AddCommand(bulk, op.name, op.help, op.command, commands, Positional{});
    cmd->add_option("-w,--workspace", f.workspace, "the jobs' workspace")
        ->envname("JOBD_WORKSPACE")
        ->capture_default_str();
    DefineJobFilter(cmd, f.states, f.type, f.labels);
    cmd->add_option("--created-before", f.created_before,
                    "only jobs created before this RFC 3339 time");
    cmd->add_option("--created-after", f.created_after,
                    "only jobs created at or after this RFC 3339 time");
    cmd->add_option("--id", f.ids, "this job, instead of a filter; repeatable (at most 1,000)")
        ->allow_extra_args(false);
    cmd->add_flag("--dry-run", f.dry_run, "count the jobs it would change, change nothing");
    if (op.command == BulkCommand::kCancel || op.command == BulkCommand::kFail) {
      cmd->add_option("--reason", f.reason,
                      "stored as each job's error_message (default: who did it)");
    }
    cmd->footer(std::string(R"(The jobs are those of --workspace that match every filter flag given
(or the --id given; not both) and that the operation applies to. The server changes them in
chunks, each in a transaction of its own, each job as the single-job command would; jobs created
after the call began are left alone, and running it again changes only what has become eligible
since. Prints `would change N jobs` (--dry-run) or `changed N of M matching jobs in K chunks`
(fewer than M when some changed meanwhile).

Example: jobctl bulk cancel --workspace demo --state queued --type import.csv --dry-run

)") + footer);
  }
  return commands;
}

}  // namespace jobd::jobctl
