// Job ids: UUIDv7 layout and ordering.
#include "server/core/ids.h"

#include <set>

#include <gtest/gtest.h>

namespace jobd::core {
namespace {

TEST(NewJobId, IsVersion7AndIncreasing) {
  const absl::Time now = absl::FromUnixMillis(1800000000123);
  std::string previous;
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) {  // many within one millisecond
    std::string id = NewJobId(now);
    ASSERT_TRUE(IsUuid(id)) << id;
    EXPECT_EQ(id[14], '7') << id;
    EXPECT_TRUE(id[19] == '8' || id[19] == '9' || id[19] == 'a' || id[19] == 'b') << id;
    EXPECT_GT(id, previous);
    previous = id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(NewJobId, EncodesMilliseconds) {
  // 1900000000000 ms = 0x01ba60d33800
  const std::string id = NewJobId(absl::FromUnixMillis(1900000000000));
  EXPECT_EQ(id.substr(0, 13), "01ba60d3-3800");
}

TEST(NewRandomUuid, IsVersion4) {
  std::string a = NewRandomUuid(), b = NewRandomUuid();
  EXPECT_TRUE(IsUuid(a));
  EXPECT_EQ(a[14], '4');
  EXPECT_NE(a, b);
}

TEST(IsUuid, RejectsMalformed) {
  EXPECT_FALSE(IsUuid(""));
  EXPECT_FALSE(IsUuid("01a201e7-5c53-7000-bf26-50a897f5041"));
  EXPECT_FALSE(IsUuid("01a201e7x5c53-7000-bf26-50a897f50418"));
  EXPECT_FALSE(IsUuid("01a201e7-5c53-7000-bf26-50a897f5041g"));
  EXPECT_TRUE(IsUuid("01A201E7-5C53-7000-BF26-50A897F50418"));
}

}  // namespace
}  // namespace jobd::core
