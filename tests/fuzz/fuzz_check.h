// Invariant checks for the fuzz targets: print what broke, then abort (libFuzzer saves the
// input as a crash artifact).
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"

namespace jobd::fuzz {

[[noreturn]] inline void Fail(const char* what, const char* file, int line,
                              const std::string& detail) {
  std::fprintf(stderr, "\n*** invariant violated at %s:%d: %s\n", file, line, what);
  if (!detail.empty()) std::fprintf(stderr, "*** %s\n", detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// A short, printable rendering of a value for the failure message.
inline std::string Show(const std::string& s) {
  return "\"" + absl::CEscape(s.size() > 200 ? s.substr(0, 200) + "..." : s) + "\"";
}

// INVALID_ARGUMENT naming the field first: "<field>: why" (README "Bad input").
inline bool IsFieldError(const absl::Status& s) {
  if (s.code() != absl::StatusCode::kInvalidArgument) return false;
  const std::string m(s.message());
  return !m.empty() && m[0] >= 'a' && m[0] <= 'z' && absl::StrContains(m, ": ");
}

}  // namespace jobd::fuzz

#define FUZZ_CHECK(cond) ((cond) ? (void)0 : ::jobd::fuzz::Fail(#cond, __FILE__, __LINE__, ""))
#define FUZZ_CHECK_MSG(cond, detail) \
  ((cond) ? (void)0 : ::jobd::fuzz::Fail(#cond, __FILE__, __LINE__, (detail)))
