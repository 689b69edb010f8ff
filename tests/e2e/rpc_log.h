// jobd's "rpc" log lines as evidence for a test. jobd writes one JSON line per finished call
// (server/api/unary.cc) before the answer goes out, with how long it held the call
// (latency_ms) and, once the call was admitted, its principal. A test reads them after the
// call to prove what it cannot see while the call runs: e.g. that a long poll was already
// parked in jobd before the test made the job it waits for.
#pragma once

#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/time/time.h"

namespace jobd::testing {

struct RpcLogLine {
  std::string line;        // the whole JSON line
  absl::Duration latency;  // from the call's start in jobd to its answer
};

// The last "rpc" line of `method` in the jobd log `log` that contains each of `needles`
// (e.g. "\"job_id\":\"<id>\"" or "\"principal\":\"poller\""); none when there is no such line.
inline std::optional<RpcLogLine> FindRpcLogLine(const std::string& log, const std::string& method,
                                                const std::vector<std::string>& needles = {}) {
  std::optional<RpcLogLine> found;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    if (!absl::StrContains(line, "\"msg\":\"rpc\"") ||
        !absl::StrContains(line, "\"method\":\"" + method + "\"")) {
      continue;
    }
    bool all = true;
    for (const std::string& needle : needles) all = all && absl::StrContains(line, needle);
    if (!all) continue;
    const std::string latency_key = "\"latency_ms\":";
    const size_t at = line.find(latency_key);
    if (at == std::string::npos) continue;
    const size_t begin = at + latency_key.size();
    const size_t end = line.find_first_of(",}", begin);
    double ms = 0;
    if (end == std::string::npos || !absl::SimpleAtod(line.substr(begin, end - begin), &ms)) {
      continue;
    }
    found = RpcLogLine{line, absl::Microseconds(static_cast<int64_t>(ms * 1000))};
  }
  return found;
}

}  // namespace jobd::testing
