// jobctl's flag parsing: durations, run-after times, states, labels and the payload.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/jobctl/args.h"
#include "proto/common/local_address.h"
#include "tests/support/test_clock.h"

namespace jobd::jobctl {
namespace {

using test::kNow;

TEST(ParseDuration, AcceptsGoStyleDurations) {
  EXPECT_EQ(*ParseDuration("--timeout", "30s"), absl::Seconds(30));
  EXPECT_EQ(*ParseDuration("--timeout", "5m"), absl::Minutes(5));
  EXPECT_EQ(*ParseDuration("--timeout", "2h"), absl::Hours(2));
  EXPECT_EQ(*ParseDuration("--timeout", "1h30m"), absl::Minutes(90));
  EXPECT_EQ(*ParseDuration("--timeout", "1.5s"), absl::Milliseconds(1500));
}

TEST(ParseDuration, RejectsGarbageNamingTheFlag) {
  const absl::StatusOr<absl::Duration> d = ParseDuration("--timeout", "soon");
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(d.status().message(),
            "--timeout: 'soon' is not a duration (use e.g. 30s, 5m, 2h or 1h30m)");
  // A bare number is not a duration here (only "0" is, and it is not positive).
  EXPECT_EQ(ParseDuration("--timeout", "30").status().message(),
            "--timeout: '30' is not a duration (use e.g. 30s, 5m, 2h or 1h30m)");
  EXPECT_EQ(ParseDuration("--ttl", "inf").status().message(),
            "--ttl: 'inf' is not a duration (use e.g. 30s, 5m, 2h or 1h30m)");
}

TEST(ParseDuration, RejectsZeroAndNegative) {
  for (const char* text : {"0", "0s", "-5m", "-inf"}) {
    const absl::StatusOr<absl::Duration> d = ParseDuration("--ttl", text);
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(d.status().message(), "--ttl: must be positive") << text;
  }
}

TEST(ParseSecondsOrDuration, AcceptsSecondsOrDuration) {
  EXPECT_EQ(*ParseSecondsOrDuration("--wait", "45"), absl::Seconds(45));
  EXPECT_EQ(*ParseSecondsOrDuration("--wait", "2.5"), absl::Milliseconds(2500));
  EXPECT_EQ(*ParseSecondsOrDuration("--wait", "45s"), absl::Seconds(45));
  EXPECT_EQ(*ParseSecondsOrDuration("--wait", "2m"), absl::Minutes(2));
}

TEST(ParseSecondsOrDuration, RejectsNonPositiveAndHugeNumbers) {
  for (const char* text : {"0", "-1", "nan", "inf", "1e10"}) {
    const absl::StatusOr<absl::Duration> d = ParseSecondsOrDuration("--wait", text);
    ASSERT_FALSE(d.ok()) << text;
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(d.status().message(), "--wait: must be a positive number of seconds") << text;
  }
  EXPECT_EQ(ParseSecondsOrDuration("--wait", "-3s").status().message(), "--wait: must be positive");
  EXPECT_EQ(ParseSecondsOrDuration("--wait", "later").status().message(),
            "--wait: 'later' is not a duration (use e.g. 30s, 5m, 2h or 1h30m)");
}

TEST(ParseTimeOrDelay, AcceptsRfc3339) {
  EXPECT_EQ(*ParseTimeOrDelay("--run-after", "2024-05-01T10:00:00Z", kNow),
            absl::FromCivil(absl::CivilSecond(2024, 5, 1, 10, 0, 0), absl::UTCTimeZone()));
  EXPECT_EQ(*ParseTimeOrDelay("--run-after", "2024-05-01T12:00:00+02:00", kNow),
            absl::FromCivil(absl::CivilSecond(2024, 5, 1, 10, 0, 0), absl::UTCTimeZone()));
  EXPECT_EQ(*ParseTimeOrDelay("--run-after", "2024-05-01T10:00:00.25Z", kNow),
            absl::FromCivil(absl::CivilSecond(2024, 5, 1, 10, 0, 0), absl::UTCTimeZone()) +
                absl::Milliseconds(250));
}

TEST(ParseTimeOrDelay, DurationCountsFromNowAndMayBeZeroOrNegative) {
  EXPECT_EQ(*ParseTimeOrDelay("--run-after", "5m", kNow), kNow + absl::Minutes(5));
  EXPECT_EQ(*ParseTimeOrDelay("--run-after", "1h30m", kNow), kNow + absl::Minutes(90));
  EXPECT_EQ(*ParseTimeOrDelay("--run-after", "0", kNow), kNow);
  EXPECT_EQ(*ParseTimeOrDelay("--run-after", "-1m", kNow), kNow - absl::Minutes(1));
}

TEST(ParseTimeOrDelay, RejectsNeitherTimeNorDuration) {
  const std::string expected =
      "--run-after: 'tomorrow' is neither an RFC 3339 time (2024-05-01T10:00:00Z) nor a "
      "duration from now (use e.g. 30s, 5m, 2h or 1h30m)";
  const absl::StatusOr<absl::Time> t = ParseTimeOrDelay("--run-after", "tomorrow", kNow);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(t.status().message(), expected);
  for (const char* text : {"inf", "-inf", "2024-05-01", "2024-05-01 10:00:00"}) {
    const absl::StatusOr<absl::Time> bad = ParseTimeOrDelay("--run-after", text, kNow);
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_TRUE(absl::StartsWith(bad.status().message(), "--run-after: '")) << text;
  }
}

TEST(ParseTimeOrDelay, RejectsTimesATimestampCannotHold) {
  for (const char* text : {"infinite-future", "infinite-past"}) {
    const absl::StatusOr<absl::Time> bad = ParseTimeOrDelay("--run-after", text, kNow);
    ASSERT_FALSE(bad.ok()) << text;
    EXPECT_EQ(bad.status().message(),
              absl::StrCat("--run-after: '", text, "' is outside years 1 to 9999"));
  }
  EXPECT_TRUE(ParseTimeOrDelay("--run-after", "9999-12-31T23:59:59Z", kNow).ok());
}

TEST(ParseRfc3339, OnlyATimeNotADelay) {
  EXPECT_EQ(*ParseRfc3339("--start", "2024-05-01T12:00:00+02:00"),
            absl::FromCivil(absl::CivilSecond(2024, 5, 1, 10, 0, 0), absl::UTCTimeZone()));
  for (const char* text : {"5m", "0", "tomorrow", "2024-05-01", ""}) {
    const absl::StatusOr<absl::Time> t = ParseRfc3339("--start", text);
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(
        t.status().message(),
        absl::StrCat("--start: '", text, "' is not an RFC 3339 time (e.g. 2024-05-01T10:00:00Z)"));
  }
  EXPECT_EQ(ParseRfc3339("--end", "10000-01-01T00:00:00Z").status().message(),
            "--end: '10000-01-01T00:00:00Z' is outside years 1 to 9999");
}

TEST(ParseNonNegativeDuration, ZeroIsAllowedNegativeIsNot) {
  EXPECT_EQ(*ParseNonNegativeDuration("--offset", "0s"), absl::ZeroDuration());
  EXPECT_EQ(*ParseNonNegativeDuration("--offset", "0"), absl::ZeroDuration());
  EXPECT_EQ(*ParseNonNegativeDuration("--offset", "1m30s"), absl::Seconds(90));
  EXPECT_EQ(ParseNonNegativeDuration("--offset", "-1s").status().message(),
            "--offset: must not be negative");
  EXPECT_EQ(ParseNonNegativeDuration("--jitter", "inf").status().message(),
            "--jitter: 'inf' is not a duration (use e.g. 30s, 5m, 2h or 1h30m)");
  EXPECT_EQ(ParseNonNegativeDuration("--jitter", "5").status().message(),
            "--jitter: '5' is not a duration (use e.g. 30s, 5m, 2h or 1h30m)");
}

TEST(ParseState, AcceptsShortLongAndAnyCase) {
  EXPECT_EQ(*ParseState("queued"), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(*ParseState("QUEUED"), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(*ParseState("Running"), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(*ParseState("JOB_STATE_SCHEDULED"), v1::JOB_STATE_SCHEDULED);
  EXPECT_EQ(*ParseState("job_state_succeeded"), v1::JOB_STATE_SUCCEEDED);
  EXPECT_EQ(*ParseState("failed"), v1::JOB_STATE_FAILED);
  EXPECT_EQ(*ParseState("cancelled"), v1::JOB_STATE_CANCELLED);
  EXPECT_EQ(*ParseState("paused"), v1::JOB_STATE_PAUSED);
}

TEST(ParseState, RejectsUnknownAndUnspecified) {
  for (const char* text : {"done", "unspecified", "JOB_STATE_UNSPECIFIED", "", "canceled"}) {
    const absl::StatusOr<v1::JobState> s = ParseState(text);
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_EQ(s.status().message(),
              absl::StrCat("--state: unknown state '", text,
                           "' (use scheduled, queued, running, paused, succeeded, failed or "
                           "cancelled)"))
        << text;
  }
}

TEST(ParseLabels, SplitsAtFirstEquals) {
  google::protobuf::Map<std::string, std::string> labels;
  ASSERT_TRUE(ParseLabels("--label", {"team=data", "expr=a=b", "empty=", "team=ml"}, &labels).ok());
  EXPECT_EQ(labels.size(), 3u);
  EXPECT_EQ(labels.at("team"), "ml");  // the last one wins
  EXPECT_EQ(labels.at("expr"), "a=b");
  EXPECT_EQ(labels.at("empty"), "");
}

TEST(ParseLabels, RejectsMissingEqualsOrEmptyKey) {
  google::protobuf::Map<std::string, std::string> labels;
  absl::Status s = ParseLabels("--label", {"team"}, &labels);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "--label: 'team' is not key=value");
  s = ParseLabels("--label", {"=data"}, &labels);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "--label: '=data' is not key=value");
  EXPECT_TRUE(labels.empty());
}

TEST(ParsePayload, AcceptsAnObject) {
  google::protobuf::Struct payload;
  ASSERT_TRUE(ParsePayload("--payload",
                           R"({"rows": 10, "name": "x", "tags": ["a"], "deep": {"ok": true}})",
                           &payload)
                  .ok());
  EXPECT_EQ(payload.fields().at("rows").number_value(), 10);
  EXPECT_EQ(payload.fields().at("name").string_value(), "x");
  EXPECT_EQ(payload.fields().at("tags").list_value().values(0).string_value(), "a");
  EXPECT_TRUE(payload.fields().at("deep").struct_value().fields().at("ok").bool_value());

  google::protobuf::Struct empty;
  ASSERT_TRUE(ParsePayload("--payload", "{}", &empty).ok());
  EXPECT_EQ(empty.fields_size(), 0);
}

TEST(ParsePayload, RejectsNonObjects) {
  for (const char* json : {"[1, 2]", "42", "\"text\"", "null", "true"}) {
    google::protobuf::Struct payload;
    const absl::Status s = ParsePayload("--payload", json, &payload);
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_EQ(s.message(), R"(--payload: must be a JSON object, e.g. '{"rows": 10}')") << json;
  }
}

TEST(ParsePayload, RejectsBadJsonSayingWhere) {
  google::protobuf::Struct payload;
  absl::Status s = ParsePayload("--payload", R"({"rows": })", &payload);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(),
            "--payload: not valid JSON: [json.exception.parse_error.101] parse error at line 1, "
            "column 10: syntax error while parsing value - unexpected '}'; expected '[', '{', or "
            "a literal");
  s = ParsePayload("--payload", "", &payload);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.message(), "--payload: not valid JSON: ")) << s.message();
  // A number no double holds is an error, not a crash (a worker's result line goes here too).
  s = ParsePayload("result", R"({"a": 1e400})", &payload);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(s.message(), "result: not valid JSON: ")) << s.message();
}

TEST(ProtoConversion, DurationRoundTrips) {
  google::protobuf::Duration d;
  ToProto(absl::Milliseconds(1500), &d);
  EXPECT_EQ(d.seconds(), 1);
  EXPECT_EQ(d.nanos(), 500000000);
  EXPECT_EQ(FromProto(d), absl::Milliseconds(1500));

  // Proto Durations keep seconds and nanos of the same sign.
  ToProto(-absl::Milliseconds(1500), &d);
  EXPECT_EQ(d.seconds(), -1);
  EXPECT_EQ(d.nanos(), -500000000);
  EXPECT_EQ(FromProto(d), -absl::Milliseconds(1500));
}

TEST(ProtoConversion, TimestampRoundTripsWithNonNegativeNanos) {
  google::protobuf::Timestamp ts;
  const absl::Time t = absl::FromUnixSeconds(1714557600) + absl::Milliseconds(250);
  ToProto(t, &ts);
  EXPECT_EQ(ts.seconds(), 1714557600);
  EXPECT_EQ(ts.nanos(), 250000000);
  EXPECT_EQ(FromProto(ts), t);

  // Before the epoch: seconds round toward the past, nanos stay in 0..999999999.
  const absl::Time before = absl::UnixEpoch() - absl::Milliseconds(1500);
  ToProto(before, &ts);
  EXPECT_EQ(ts.seconds(), -2);
  EXPECT_EQ(ts.nanos(), 500000000);
  EXPECT_EQ(FromProto(ts), before);
}

// A fresh directory under the temporary directory, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "jobctl_args_test.XXXXXX").string();
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code error;
    if (!path_.empty()) std::filesystem::remove_all(path_, error);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

TEST(FindApiKeyFile, FindsItInTheStartDirectory) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const std::filesystem::path key = tmp.path() / ".jobd" / "admin.key";
  WriteFile(key, "jobd_secret\n");
  EXPECT_EQ(FindApiKeyFile(tmp.path().string()), key.string());
}

TEST(FindApiKeyFile, FindsItInAParentDirectory) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const std::filesystem::path key = tmp.path() / ".jobd" / "admin.key";
  WriteFile(key, "jobd_secret\n");
  const std::filesystem::path deep = tmp.path() / "a" / "b" / "c";
  std::filesystem::create_directories(deep);
  EXPECT_EQ(FindApiKeyFile(deep.string()), key.string());
  EXPECT_EQ(FindApiKeyFile((tmp.path() / "a").string()), key.string());
}

TEST(FindApiKeyFile, TheNearestOneWins) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  WriteFile(tmp.path() / ".jobd" / "admin.key", "outer\n");
  const std::filesystem::path inner = tmp.path() / "a" / ".jobd" / "admin.key";
  WriteFile(inner, "inner\n");
  std::filesystem::create_directories(tmp.path() / "a" / "b");
  EXPECT_EQ(FindApiKeyFile((tmp.path() / "a" / "b").string()), inner.string());
}

TEST(FindApiKeyFile, EmptyWhenThereIsNone) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  // Assumes no .jobd/admin.key in the temporary directory or above it.
  ASSERT_EQ(FindApiKeyFile(tmp.path().parent_path().string()), "");
  const std::filesystem::path deep = tmp.path() / "a" / "b";
  std::filesystem::create_directories(deep);
  EXPECT_EQ(FindApiKeyFile(deep.string()), "");
  // A .jobd directory without admin.key is not a key file.
  std::filesystem::create_directories(tmp.path() / "a" / ".jobd");
  EXPECT_EQ(FindApiKeyFile(deep.string()), "");
}

TEST(ReadApiKeyFile, TrimsWhitespaceAndNewline) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const std::filesystem::path key = tmp.path() / "admin.key";
  WriteFile(key, "  jobd_AbCdEfGhIjKl \t\r\n");
  const absl::StatusOr<std::string> read = ReadApiKeyFile("--api_key_file", key.string());
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, "jobd_AbCdEfGhIjKl");

  WriteFile(key, "jobd_NoNewline");
  EXPECT_EQ(*ReadApiKeyFile("--api_key_file", key.string()), "jobd_NoNewline");
}

TEST(ReadApiKeyFile, MissingFileIsAnErrorNamingTheFlag) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const std::string missing = (tmp.path() / "nope.key").string();
  const absl::StatusOr<std::string> read = ReadApiKeyFile("--api_key_file", missing);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(absl::StartsWith(read.status().message(), "--api_key_file")) << read.status();
  EXPECT_TRUE(absl::StrContains(read.status().message(), missing)) << read.status();
}

TEST(ReadApiKeyFile, EmptyFileIsAnErrorNamingTheFlag) {
  TempDir tmp;
  ASSERT_FALSE(tmp.path().empty());
  const std::filesystem::path key = tmp.path() / "admin.key";
  for (const char* text : {"", "\n", "   \t \n"}) {
    WriteFile(key, text);
    const absl::StatusOr<std::string> read = ReadApiKeyFile("--api_key_file", key.string());
    ASSERT_FALSE(read.ok()) << "'" << text << "'";
    EXPECT_EQ(read.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StartsWith(read.status().message(), "--api_key_file")) << read.status();
  }
}

TEST(IsLocalAddress, OnlyThisMachine) {
  for (const char* local :
       {"127.0.0.1:50051", "localhost:50051", "[::1]:50051", "::1", "dns:///localhost:6000",
        "ipv4:127.0.0.2:1", "unix:/tmp/jobd.sock", "LOCALHOST:1"}) {
    EXPECT_TRUE(IsLocalAddress(local)) << local;
  }
  for (const char* remote :
       {"jobs.example.com:50051", "10.0.0.5:50051", "[2001:db8::1]:50051",
        "dns:///jobs.example.com:443", "localhost.example.com:1", "127.0.0.1.evil.example:50051",
        "127.evil.example:1", "dns:///127.0.0.1.evil.example:443", "[::2]:1", "127.0.0.1x:1"}) {
    EXPECT_FALSE(IsLocalAddress(remote)) << remote;
  }
}

}  // namespace
}  // namespace jobd::jobctl
