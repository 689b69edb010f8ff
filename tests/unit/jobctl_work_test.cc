// `jobctl work`: the `progress <percent> <message>` and `checkpoint <json>` lines of a
// program's stdout; the checkpoint a program starts from (JOBD_CHECKPOINT, or a file for a long
// one) and the ones it saves, through a Worker on a fake WorkerService.
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "client/jobctl/work.h"
#include "tests/unit/fake_worker_service.h"

namespace jobd::jobctl {
namespace {

using client::testing::Leased;
using client::testing::NumberStruct;
using client::testing::SameStruct;

struct Parsed {
  bool ok;
  float percent;
  std::string message;
};

Parsed Parse(absl::string_view line) {
  Parsed p{false, -1, "untouched"};
  p.ok = ParseProgressLine(line, &p.percent, &p.message);
  return p;
}

TEST(ParseProgressLine, PercentAndMessage) {
  Parsed p = Parse("progress 42 some text");
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.percent, 42.0f);
  EXPECT_EQ(p.message, "some text");

  p = Parse("progress 12.5 half of a quarter");
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.percent, 12.5f);
  EXPECT_EQ(p.message, "half of a quarter");
}

TEST(ParseProgressLine, MessageIsOptionalAndKeptVerbatim) {
  Parsed p = Parse("progress 42");
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.percent, 42.0f);
  EXPECT_EQ(p.message, "");

  p = Parse("progress 42 ");
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.message, "");

  // Only the one space after the number is a separator.
  p = Parse("progress 7  two  spaces ");
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.percent, 7.0f);
  EXPECT_EQ(p.message, " two  spaces ");
}

TEST(ParseProgressLine, ClampsToZeroHundred) {
  Parsed p = Parse("progress 150 over");
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.percent, 100.0f);
  EXPECT_EQ(p.message, "over");

  p = Parse("progress -5 under");
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.percent, 0.0f);
  EXPECT_EQ(p.message, "under");

  p = Parse("progress 100");
  EXPECT_TRUE(p.ok);
  EXPECT_EQ(p.percent, 100.0f);
}

TEST(ParseProgressLine, OtherLinesAreNotProgressAndLeaveOutputsAlone) {
  for (const char* line :
       {"", "progress", "progress ", "progress abc", "progress nan", "progress 42% done",
        "progress  42 two spaces before", "Progress 42", "PROGRESS 42", " progress 42",
        "progress\t42", "progressing 42", "hello progress 42", "{\"progress\": 42}"}) {
    const Parsed p = Parse(line);
    EXPECT_FALSE(p.ok) << "'" << line << "'";
    EXPECT_EQ(p.percent, -1) << "'" << line << "'";
    EXPECT_EQ(p.message, "untouched") << "'" << line << "'";
  }
}

// ---- checkpoint lines ----------------------------------------------------------------------

TEST(ParseCheckpointLine, AJsonObject) {
  absl::StatusOr<google::protobuf::Struct> checkpoint;
  ASSERT_TRUE(ParseCheckpointLine(R"(checkpoint {"page": 3})", &checkpoint));
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_TRUE(SameStruct(*checkpoint, NumberStruct("page", 3)));

  ASSERT_TRUE(ParseCheckpointLine("checkpoint {}", &checkpoint));
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_TRUE(SameStruct(*checkpoint, google::protobuf::Struct()));

  ASSERT_TRUE(ParseCheckpointLine(R"(checkpoint   { "done": ["a", "b"], "at": {"x": null} } )",
                                  &checkpoint));
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  EXPECT_EQ(checkpoint->fields().at("done").list_value().values_size(), 2);
  EXPECT_TRUE(checkpoint->fields().at("at").struct_value().fields().at("x").has_null_value());
}

TEST(ParseCheckpointLine, ACheckpointLineWithoutAJsonObjectIsAnError) {
  for (const char* line : {"checkpoint ", "checkpoint 3", "checkpoint [1, 2]",
                           "checkpoint \"page\"", "checkpoint null", "checkpoint {\"page\": 3",
                           "checkpoint {page: 3}", "checkpoint {\"page\": 3} {}"}) {
    absl::StatusOr<google::protobuf::Struct> checkpoint;
    ASSERT_TRUE(ParseCheckpointLine(line, &checkpoint)) << "'" << line << "'";
    EXPECT_EQ(checkpoint.status().code(), absl::StatusCode::kInvalidArgument) << "'" << line << "'";
    EXPECT_TRUE(absl::StartsWith(checkpoint.status().message(), "checkpoint: "))
        << checkpoint.status();
  }
}

TEST(ParseCheckpointLine, OtherLinesAreNotCheckpointsAndLeaveTheOutputAlone) {
  for (const char* line : {"", "checkpoint", "checkpoint\t{}", "Checkpoint {}", " checkpoint {}",
                           "checkpoints {}", "progress 42 checkpoint {}", "{\"checkpoint\": {}}"}) {
    absl::StatusOr<google::protobuf::Struct> checkpoint = NumberStruct("untouched", 1);
    EXPECT_FALSE(ParseCheckpointLine(line, &checkpoint)) << "'" << line << "'";
    ASSERT_TRUE(checkpoint.ok());
    EXPECT_TRUE(SameStruct(*checkpoint, NumberStruct("untouched", 1))) << "'" << line << "'";
  }
}

// ---- the checkpoint a program starts from -----------------------------------------------

// As jobctl work does (actions.cc): a program that exits without reading its stdin must not
// kill the test with SIGPIPE.
void IgnoreSigpipe() { signal(SIGPIPE, SIG_IGN); }

class StartingCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    IgnoreSigpipe();
    std::string dir = ::testing::TempDir() + "jobctl_work_test-XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    dir_ = dir;
  }
  void TearDown() override {
    for (const char* name : {"seen", "path"}) unlink((dir_ + "/" + name).c_str());
    rmdir(dir_.c_str());
  }

  // Runs `script` (sh -c, with $D this test's directory) for `leased`.
  absl::StatusOr<google::protobuf::Struct> Run(const v1::LeasedJob& leased,
                                               const std::string& script) {
    client::JobContext ctx(leased);
    CommandSpec spec;
    spec.argv = {"sh", "-c", script, "sh", dir_};
    return RunCommand(spec, ctx.job(), ctx);
  }

  std::string Read(const std::string& name) {
    std::ifstream in(dir_ + "/" + name);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }

  std::string dir_;
};

constexpr char kShowEnvironment[] = R"(D=$1
  printf '%s|%s' "${JOBD_CHECKPOINT-unset}" "${JOBD_CHECKPOINT_FILE-unset}" >"$D/seen")";

TEST_F(StartingCheckpoint, IsInTheEnvironmentAsCompactJson) {
  v1::LeasedJob leased = Leased("j1", /*attempt=*/2);
  // One key: a Struct's keys come in no particular order.
  google::protobuf::Struct checkpoint;
  google::protobuf::ListValue* at = (*checkpoint.mutable_fields())["at"].mutable_list_value();
  at->add_values()->set_string_value("a b");
  at->add_values()->set_number_value(3);
  *leased.mutable_job()->mutable_checkpoint() = checkpoint;
  absl::StatusOr<google::protobuf::Struct> result = Run(leased, kShowEnvironment);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Read("seen"), R"({"at":["a b",3]}|unset)");
}

TEST_F(StartingCheckpoint, IsUnsetWhenNoneWasSavedEvenIfJobctlHasOne) {
  ASSERT_EQ(setenv("JOBD_CHECKPOINT", R"({"stale": true})", 1), 0);
  ASSERT_EQ(setenv("JOBD_CHECKPOINT_FILE", "/nonexistent", 1), 0);
  absl::StatusOr<google::protobuf::Struct> result = Run(Leased("j1"), kShowEnvironment);
  unsetenv("JOBD_CHECKPOINT");
  unsetenv("JOBD_CHECKPOINT_FILE");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(Read("seen"), "unset|unset");
}

TEST_F(StartingCheckpoint, OneTooLongForTheEnvironmentComesInAFileRemovedAfterwards) {
  v1::LeasedJob leased = Leased("j1", /*attempt=*/2);
  google::protobuf::Struct checkpoint;
  (*checkpoint.mutable_fields())["blob"].set_string_value(std::string(200 * 1024, 'x'));
  *leased.mutable_job()->mutable_checkpoint() = checkpoint;
  // The file's text is the program's last line, so its result.
  absl::StatusOr<google::protobuf::Struct> result = Run(leased, R"(D=$1
    printf '%s' "${JOBD_CHECKPOINT-unset}" >"$D/seen"
    printf '%s' "$JOBD_CHECKPOINT_FILE" >"$D/path"
    cat "$JOBD_CHECKPOINT_FILE")");
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(SameStruct(*result, checkpoint));
  EXPECT_EQ(Read("seen"), "unset");
  const std::string path = Read("path");
  ASSERT_FALSE(path.empty());
  EXPECT_NE(access(path.c_str(), F_OK), 0) << path << " is still there";
}

// ---- checkpoints a program saves ------------------------------------------------------------

}  // namespace
}  // namespace jobd::jobctl
