// Connection strings: defaults fill in, the URL's own settings win, rewriting replaces.
#include "db/conninfo.h"

#include <gtest/gtest.h>

namespace jobd::db {
namespace {

TEST(Conninfo, DefaultsFillInAndTheUrlWins) {
  auto out = WithConnectionDefaults(
      "postgresql://postgres@127.0.0.1:5433/jobs?host=/tmp/s&connect_timeout=9");
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_NE(out->find("connect_timeout='9'"), std::string::npos) << *out;
  EXPECT_NE(out->find("tcp_user_timeout='10000'"), std::string::npos) << *out;
  EXPECT_NE(out->find("keepalives_idle='5'"), std::string::npos) << *out;
  EXPECT_NE(out->find("dbname='jobs'"), std::string::npos) << *out;
  EXPECT_NE(out->find("host='/tmp/s'"), std::string::npos) << *out;
  EXPECT_NE(out->find("port='5433'"), std::string::npos) << *out;
}

TEST(Conninfo, EmptyUrlKeepsLibpqDefaultsAndRewritingReplaces) {
  auto empty = WithConnectionDefaults("");
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->find("dbname"), std::string::npos) << *empty;
  auto renamed = WithSettings("dbname=a user='o\\'x'", {{"dbname", "b"}}, false);
  ASSERT_TRUE(renamed.ok()) << renamed.status();
  EXPECT_EQ(*renamed, "dbname='b' user='o\\'x'");
  EXPECT_EQ(WithSettings("postgresql://[bad", {}, true).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace jobd::db
