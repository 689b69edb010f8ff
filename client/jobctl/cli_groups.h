// The CLI11 wiring of jobctl's command groups whose subcommands share flags: `schedules`,
// `templates`, `queues` and `bulk` (the rest is in jobctl.cc), and the job filter flags `list`
// shares with `bulk`. Each Define* of a group adds it to the app, with the flags into `f`, and
// returns every subcommand with the command it runs; `footer` (durations, times, exit codes)
// ends their help.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "client/jobctl/bulk.h"
#include "client/jobctl/queues.h"
#include "client/jobctl/schedules.h"
#include "client/jobctl/templates.h"

namespace jobd::jobctl {

template <typename Command>
using Subcommands = std::vector<std::pair<CLI::App*, Command>>;

Subcommands<ScheduleCommand> DefineSchedules(CLI::App& app, ScheduleFlags& f,
                                             const std::string& footer);
Subcommands<TemplateCommand> DefineTemplates(CLI::App& app, TemplateFlags& f,
                                             const std::string& footer);
// --state (repeatable, or comma-separated), --type and --label (repeatable): which jobs `list`
// shows and which jobs a `bulk` command changes.
void DefineJobFilter(CLI::App* cmd, std::vector<std::string>& states, std::string& type,
                     std::vector<std::string>& labels);

Subcommands<QueueCommand> DefineQueues(CLI::App& app, QueueFlags& f, const std::string& footer);
Subcommands<BulkCommand> DefineBulk(CLI::App& app, BulkFlags& f, const std::string& footer);

}  // namespace jobd::jobctl
