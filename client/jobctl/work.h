// `jobctl work`: runs one job as a child process, so that any program can be a jobd worker.
// The protocol between jobctl and the program:
// - stdin: the job's payload as JSON, then end of file;
// - environment: JOBD_JOB_ID, JOBD_ATTEMPT (1 for the first run), JOBD_JOB_TYPE, and
//   JOBD_CHECKPOINT: the checkpoint an earlier attempt saved, as compact JSON; unset when none
//   was. One longer than Linux allows an environment variable (128 KiB) comes in a file
//   instead, named by JOBD_CHECKPOINT_FILE (removed once the program exited);
// - stdout: a line `progress 42 some text` reports progress (42 %, message "some text");
//   a line `checkpoint {"page": 3}` saves a checkpoint (a JSON object, on one line) for the
//   attempts that follow should this one fail; it is sent within half a second, and before the
//   attempt fails. One that is not a JSON object is ignored, with a line on jobctl's stderr and
//   a WARNING message of the job. Every other line is an INFO message of the job;
// - stderr: every line is a WARNING message of the job;
// - exit 0 completes the job; if the last non-empty stdout line is a JSON object, it is the
//   result. Any other end fails the attempt (retryable), with the exit code or signal and the
//   last lines of stderr as the error message.
// - When the job is cancelled or paused or its lease is lost, the program's process group gets
//   SIGTERM, then SIGKILL after the grace period; the attempt is not reported (a paused job
//   waits for ResumeJob, whose attempt gets the last checkpoint saved). The program runs in a
//   process group of its own, so a Ctrl-C meant for jobctl does not reach it (jobctl stops
//   gracefully instead).
#pragma once

#include <string>
#include <vector>

#include <google/protobuf/struct.pb.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "client/worker.h"
#include "jobd/v1/job.pb.h"

namespace jobd::jobctl {

struct CommandSpec {
  std::vector<std::string> argv;  // argv[0] is looked up in PATH
  // Between SIGTERM and SIGKILL once the job is cancelled or paused or its lease is lost.
  absl::Duration kill_grace = absl::Seconds(10);
};

// Runs `spec` for `job` as described above; the Worker handler of `jobctl work`.
absl::StatusOr<google::protobuf::Struct> RunCommand(const CommandSpec& spec, const v1::Job& job,
                                                    client::JobContext& ctx);

// `progress 42 some text` -> 42, "some text". False for any other line (and for a percent
// that is not a number); the percent is clamped to 0..100.
bool ParseProgressLine(absl::string_view line, float* percent, std::string* message);

// `checkpoint {"page": 3}` -> true, with the object, or INVALID_ARGUMENT when the rest of the
// line is not a JSON object. False for any other line (`checkpoint` then one space must start
// it), leaving `checkpoint` alone.
bool ParseCheckpointLine(absl::string_view line,
                         absl::StatusOr<google::protobuf::Struct>* checkpoint);

// Sends `sig` to the process group of every program RunCommand is running, e.g. SIGKILL when
// jobctl must quit at once (leases then expire and the jobs are retried elsewhere).
void SignalAllCommands(int sig);

// INVALID_ARGUMENT unless `command` is an executable file, or found as one in PATH.
absl::Status CheckCommand(const std::string& command);

}  // namespace jobd::jobctl
