// Page tokens are signed with the installation's own random key (made by `jobd migrate`):
// another installation refuses them, and a rotation keeps old tokens good for its grace only.
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "tests/e2e/jobd_fixture.h"

namespace jobd::testing {
namespace {

class PageTokenTest : public JobdTest {
 protected:
  std::vector<std::string> JobdArgs() override { return {"--key_refresh_interval", "100ms"}; }

  // A token for the second page of workspace "pages" (two jobs, one per page).
  std::string SecondPageToken(v1::JobService::Stub& stub) {
    for (int i = 0; i < 2; ++i) {
      v1::CreateJobRequest create;
      create.set_workspace_id("pages");
      create.set_type("t");
      v1::CreateJobResponse created;
      EXPECT_TRUE(stub.CreateJob(Ctx().get(), create, &created).ok());
    }
    v1::ListJobsResponse page;
    EXPECT_TRUE(stub.ListJobs(Ctx().get(), List(""), &page).ok());
    EXPECT_EQ(page.jobs_size(), 1);
    return page.next_page_token();
  }

  static v1::ListJobsRequest List(const std::string& token) {
    v1::ListJobsRequest request;
    request.set_workspace_id("pages");
    request.set_page_size(1);
    request.set_page_token(token);
    return request;
  }

  grpc::Status ListWith(v1::JobService::Stub& stub, const std::string& token) {
    v1::ListJobsResponse page;
    return stub.ListJobs(Ctx().get(), List(token), &page);
  }

  int RotatePageTokenKey(const std::string& grace) {
    return RunJobd({"keys", "rotate-page-token-key", "--database_url", database_->url(), "--grace",
                    grace, "--log_level", "warning"});
  }
};

TEST_F(PageTokenTest, AnotherInstallationRefusesTheToken) {
  const std::string token = SecondPageToken(*jobs_);
  ASSERT_FALSE(token.empty());
  EXPECT_TRUE(ListWith(*jobs_, token).ok());
  // Same schema, same flags, another database: another key.
  std::unique_ptr<TestDatabase> other_db = MigratedTestDatabase();
  ASSERT_NE(other_db, nullptr);
  JobdProcess other(other_db->url(), JobdArgs());
  ASSERT_TRUE(other.running());
  auto other_jobs = v1::JobService::NewStub(other.channel());
  const grpc::Status refused = ListWith(*other_jobs, token);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_TRUE(absl::StartsWith(refused.error_message(), "page_token: ")) << refused.error_message();
  EXPECT_NE(Sql("SELECT secret FROM page_token_keys"), "");
}

TEST_F(PageTokenTest, ARotationKeepsOldTokensForItsGraceOnly) {
  const std::string before = SecondPageToken(*jobs_);
  ASSERT_EQ(RotatePageTokenKey("1h"), 0);
  ASSERT_EQ(Sql("SELECT count(*) FROM page_token_keys"), "2");
  // The new key signs once this jobd has read it; the old token still works meanwhile.
  std::string after;
  ASSERT_TRUE(WaitFor(
      [&] {
        v1::ListJobsResponse page;
        if (!jobs_->ListJobs(Ctx().get(), List(""), &page).ok()) return false;
        after = page.next_page_token();
        return after != before;
      },
      absl::Seconds(10)));
  EXPECT_TRUE(ListWith(*jobs_, before).ok());
  EXPECT_TRUE(ListWith(*jobs_, after).ok());
  // Without grace the keys in use retire at once: the older tokens are refused.
  ASSERT_EQ(RotatePageTokenKey("0s"), 0);
  EXPECT_TRUE(WaitFor([&] { return !ListWith(*jobs_, after).ok(); }, absl::Seconds(10)));
  const grpc::Status refused = ListWith(*jobs_, before);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  // Bad grace: a clear error, nothing changes.
  EXPECT_NE(RotatePageTokenKey("-1s"), 0);
  EXPECT_EQ(Sql("SELECT count(*) FROM page_token_keys"), "3");
}

}  // namespace
}  // namespace jobd::testing
