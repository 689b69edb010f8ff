// `jobctl work`: the `progress <percent> <message>` lines of a program's stdout.
#include <gtest/gtest.h>

#include "client/jobctl/work.h"

namespace jobd::jobctl {
namespace {

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

}  // namespace
}  // namespace jobd::jobctl
