// jobctl's subcommands as data: the requests, client, watch and worker options built from
// flags, the displays each subcommand chooses, paging and the exit codes.
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "client/jobctl/args.h"
#include "client/jobctl/commands.h"
#include "client/jobctl/keys.h"
#include "tests/support/test_clock.h"

namespace jobd::jobctl {
namespace {

using ::testing::ElementsAre;

using test::kNow;

// INVALID_ARGUMENT whose message starts with the flag's name.
void ExpectFlagError(const absl::Status& status, const std::string& flag) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_TRUE(absl::StartsWith(status.message(), flag + ": ")) << status;
}

// ---- the connection ------------------------------------------------------------------------

TEST(OutputFor, JsonOrText) {
  GlobalFlags flags;
  EXPECT_EQ(OutputFor(flags), Output::kText);
  flags.output = "json";
  EXPECT_EQ(OutputFor(flags), Output::kJson);
}

TEST(BuildClientOptions, CopiesTheConnectionAndParsesTheTimeout) {
  GlobalFlags flags;
  flags.address = "jobd.example:443";
  flags.tls_ca_file = "ca.pem";
  flags.tls_cert_file = "me.pem";
  flags.tls_key_file = "me.key";
  absl::StatusOr<client::ClientOptions> options = BuildClientOptions(flags, "jobd_secret");
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->address, "jobd.example:443");
  EXPECT_EQ(options->api_key, "jobd_secret");
  EXPECT_EQ(options->tls_ca_file, "ca.pem");
  EXPECT_EQ(options->tls_cert_file, "me.pem");
  EXPECT_EQ(options->tls_key_file, "me.key");
  EXPECT_EQ(options->timeout, client::ClientOptions().timeout);  // the library's default

  flags.timeout = "45";
  EXPECT_EQ(BuildClientOptions(flags, "")->timeout, absl::Seconds(45));
  flags.timeout = "2m";
  EXPECT_EQ(BuildClientOptions(flags, "")->timeout, absl::Minutes(2));
  flags.timeout = "soon";
  ExpectFlagError(BuildClientOptions(flags, "").status(), "--timeout");
}

TEST(ResolveApiKey, FlagThenFileAndNoFoundKeyForARemoteJobd) {
  GlobalFlags flags;
  flags.api_key = "jobd_given";
  flags.api_key_file = "/nonexistent";
  EXPECT_EQ(*ResolveApiKey(flags), "jobd_given");

  flags.api_key.clear();
  ExpectFlagError(ResolveApiKey(flags).status(), "--api_key_file");

  const std::string path = testing::TempDir() + "/jobctl_commands_test.key";
  std::ofstream(path) << "  jobd_from_file  \nsecond line\n";
  flags.api_key_file = path;
  EXPECT_EQ(*ResolveApiKey(flags), "jobd_from_file");
  std::remove(path.c_str());

  // Without a flag, a found admin key goes only to a jobd on this machine.
  flags.api_key_file.clear();
  flags.address = "jobd.example:50051";
  EXPECT_EQ(*ResolveApiKey(flags), "");
}

// ---- requests ------------------------------------------------------------------------------

TEST(BuildCreateRequest, EveryFlag) {
  CreateFlags flags;
  flags.workspace = "demo";
  flags.type = "import.csv";
  flags.payload = R"({"rows": 10})";
  flags.priority = 5;
  flags.labels = {"env=prod", "team=data"};
  flags.ttl = "48h";
  flags.timeout = "5m";
  flags.run_after = "30s";
  flags.idempotency_key = "once";
  flags.max_attempts = 4;
  flags.initial_backoff = "2s";
  flags.max_backoff = "1m";
  absl::StatusOr<v1::CreateJobRequest> request = BuildCreateRequest(flags, kNow);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->workspace_id(), "demo");
  EXPECT_EQ(request->type(), "import.csv");
  EXPECT_EQ(request->payload().fields().at("rows").number_value(), 10);
  EXPECT_EQ(request->priority(), 5);
  EXPECT_EQ(request->labels().at("env"), "prod");
  EXPECT_EQ(request->labels().at("team"), "data");
  EXPECT_EQ(FromProto(request->ttl()), absl::Hours(48));
  EXPECT_EQ(FromProto(request->timeout()), absl::Minutes(5));
  EXPECT_EQ(FromProto(request->run_after()), kNow + absl::Seconds(30));
  EXPECT_EQ(request->idempotency_key(), "once");
  EXPECT_EQ(request->retry_policy().max_attempts(), 4);
  EXPECT_EQ(FromProto(request->retry_policy().initial_backoff()), absl::Seconds(2));
  EXPECT_EQ(FromProto(request->retry_policy().max_backoff()), absl::Minutes(1));
}

TEST(BuildCreateRequest, TemplateNamesAJobTemplate) {
  CreateFlags flags;
  flags.template_name = "reports";
  absl::StatusOr<v1::CreateJobRequest> request = BuildCreateRequest(flags, kNow);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->template_(), "reports");
  EXPECT_EQ(request->type(), "");  // the template's
  flags.type = "report.pdf";
  EXPECT_EQ(BuildCreateRequest(flags, kNow)->type(), "report.pdf");
}

TEST(BuildCreateRequest, UnsetFlagsLeaveTheServerDefaults) {
  CreateFlags flags;
  flags.type = "t";
  absl::StatusOr<v1::CreateJobRequest> request = BuildCreateRequest(flags, kNow);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->workspace_id(), "default");
  EXPECT_EQ(request->template_(), "");
  EXPECT_FALSE(request->has_payload());
  EXPECT_FALSE(request->has_ttl());
  EXPECT_FALSE(request->has_timeout());
  EXPECT_FALSE(request->has_run_after());
  EXPECT_FALSE(request->has_retry_policy());
  EXPECT_TRUE(request->labels().empty());
}

TEST(BuildCreateRequest, RunAfterTakesAnRfc3339Time) {
  CreateFlags flags;
  flags.run_after = "2027-02-01T10:00:00Z";
  absl::StatusOr<v1::CreateJobRequest> request = BuildCreateRequest(flags, kNow);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(FromProto(request->run_after()), absl::FromUnixSeconds(1801476000));
}

TEST(BuildCreateRequest, EachBadValueNamesItsFlag) {
  const std::vector<std::pair<std::string, void (*)(CreateFlags&)>> cases = {
      {"--payload", [](CreateFlags& f) { f.payload = "[1]"; }},
      {"--label", [](CreateFlags& f) { f.labels = {"novalue"}; }},
      {"--ttl", [](CreateFlags& f) { f.ttl = "soon"; }},
      {"--timeout", [](CreateFlags& f) { f.timeout = "0s"; }},
      {"--initial-backoff", [](CreateFlags& f) { f.initial_backoff = "x"; }},
      {"--max-backoff", [](CreateFlags& f) { f.max_backoff = "-1m"; }},
      {"--run-after", [](CreateFlags& f) { f.run_after = "tomorrow"; }},
  };
  for (const auto& [flag, spoil] : cases) {
    CreateFlags flags;
    flags.type = "t";
    spoil(flags);
    ExpectFlagError(BuildCreateRequest(flags, kNow).status(), flag);
  }
}

TEST(BuildListRequest, FiltersAndPaging) {
  ListFlags flags;
  flags.workspace = "demo";
  flags.states = {"queued", "RUNNING", "JOB_STATE_FAILED"};
  flags.type = "import.csv";
  flags.labels = {"env=prod"};
  flags.page_size = 50;
  flags.page_token = "tok";
  absl::StatusOr<v1::ListJobsRequest> request = BuildListRequest(flags);
  ASSERT_TRUE(request.ok()) << request.status();
  EXPECT_EQ(request->workspace_id(), "demo");
  EXPECT_THAT(request->states(),
              ElementsAre(v1::JOB_STATE_QUEUED, v1::JOB_STATE_RUNNING, v1::JOB_STATE_FAILED));
  EXPECT_EQ(request->type(), "import.csv");
  EXPECT_EQ(request->labels().at("env"), "prod");
  EXPECT_EQ(request->page_size(), 50);
  EXPECT_EQ(request->page_token(), "tok");
  EXPECT_EQ(request->view(), v1::JOB_VIEW_UNSPECIFIED);
  flags.view = "basic";
  EXPECT_EQ(BuildListRequest(flags)->view(), v1::JOB_VIEW_BASIC);
  flags.view = "full";
  EXPECT_EQ(BuildListRequest(flags)->view(), v1::JOB_VIEW_FULL);
  flags.view = "payloads";
  ExpectFlagError(BuildListRequest(flags).status(), "--view");
  flags.view.clear();

  flags.states = {"paused"};
  EXPECT_THAT(BuildListRequest(flags)->states(), ElementsAre(v1::JOB_STATE_PAUSED));
  flags.states = {"sleeping"};
  ExpectFlagError(BuildListRequest(flags).status(), "--state");
  flags.states.clear();
  flags.labels = {"=x"};
  ExpectFlagError(BuildListRequest(flags).status(), "--label");
}

TEST(BuildJobRequests, IdAndReason) {
  JobFlags flags;
  flags.id = "j1";
  flags.reason = "not needed";
  EXPECT_EQ(BuildGetRequest(flags).id(), "j1");
  EXPECT_EQ(BuildCancelRequest(flags).id(), "j1");
  EXPECT_EQ(BuildCancelRequest(flags).reason(), "not needed");
  EXPECT_EQ(BuildRetryRequest(flags).id(), "j1");
  EXPECT_EQ(JobIdRequest<v1::PauseJobRequest>(flags).id(), "j1");
  EXPECT_EQ(JobIdRequest<v1::ResumeJobRequest>(flags).id(), "j1");
  EXPECT_EQ(JobIdRequest<v1::DeleteJobRequest>(flags).id(), "j1");
}

TEST(BuildKeysRequests, ListAsksForBigPagesAndRevokeTakesTheId) {
  KeysFlags flags;
  flags.workspace = "demo";
  flags.id = "k1";
  EXPECT_EQ(BuildListApiKeys(flags).workspace_id(), "demo");
  EXPECT_EQ(BuildListApiKeys(flags).page_size(), 500);
  EXPECT_EQ(BuildRevokeApiKey(flags).id(), "k1");
}

// Answers ListJobs from a list of pages, recording the tokens asked for.
struct FakePages {
  explicit FakePages(std::vector<v1::ListJobsResponse> p) : pages(std::move(p)) {}
  std::vector<v1::ListJobsResponse> pages;
  std::vector<std::string> tokens;
  absl::StatusOr<v1::ListJobsResponse> operator()(const v1::ListJobsRequest& request) {
    tokens.push_back(request.page_token());
    const size_t i = tokens.size() - 1;
    if (i >= pages.size()) return absl::UnavailableError("no more pages");
    return pages[i];
  }
};

v1::ListJobsResponse Page(std::vector<std::string> ids, std::string next) {
  v1::ListJobsResponse page;
  for (const std::string& id : ids) page.add_jobs()->set_id(id);
  page.set_next_page_token(next);
  return page;
}

std::vector<std::string> Ids(const v1::ListJobsResponse& response) {
  std::vector<std::string> ids;
  for (const v1::Job& job : response.jobs()) ids.push_back(job.id());
  return ids;
}

TEST(ListJobPages, OnePageUnlessAll) {
  FakePages fake({Page({"a", "b"}, "t2"), Page({"c"}, "")});
  absl::StatusOr<v1::ListJobsResponse> one = ListJobPages(std::ref(fake), {}, /*all=*/false);
  ASSERT_TRUE(one.ok());
  EXPECT_THAT(Ids(*one), ElementsAre("a", "b"));
  EXPECT_EQ(one->next_page_token(), "t2");  // shown as "next page: --page-token t2"
  EXPECT_THAT(fake.tokens, ElementsAre(""));
}

TEST(ListJobPages, AllFollowsTheTokensAndMerges) {
  FakePages fake({Page({"a", "b"}, "t2"), Page({"c"}, "t3"), Page({}, "")});
  v1::ListJobsRequest request;
  absl::StatusOr<v1::ListJobsResponse> all = ListJobPages(std::ref(fake), request, /*all=*/true);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_THAT(Ids(*all), ElementsAre("a", "b", "c"));
  EXPECT_EQ(all->next_page_token(), "");
  EXPECT_THAT(fake.tokens, ElementsAre("", "t2", "t3"));
}

TEST(ListJobPages, AStuckTokenOrAFailedPageEndsIt) {
  FakePages stuck({Page({"a"}, "t2"), Page({"b"}, "t2")});
  EXPECT_EQ(ListJobPages(std::ref(stuck), {}, true).status(),
            absl::InternalError("the server returned the same page token twice"));
  FakePages failing({Page({"a"}, "t2")});
  EXPECT_EQ(ListJobPages(std::ref(failing), {}, true).status(),
            absl::UnavailableError("no more pages"));
}

// ---- watching ------------------------------------------------------------------------------

TEST(BuildWatchOptions, AfterSequenceAndReconnectTimeout) {
  WatchFlags flags;
  flags.id = "j1";
  absl::StatusOr<client::WatchOptions> options = BuildWatchOptions(flags);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->job_id, "j1");
  EXPECT_EQ(options->after_sequence, std::nullopt);  // a SNAPSHOT first
  EXPECT_EQ(options->reconnect_timeout, absl::Seconds(60));
  EXPECT_FALSE(options->reconnect_before_first_event);  // a down server says so at once

  flags.after_sequence = 0;
  flags.reconnect_timeout = "5m";
  options = BuildWatchOptions(flags);
  ASSERT_TRUE(options.ok()) << options.status();
  EXPECT_EQ(options->after_sequence, 0);
  EXPECT_EQ(options->reconnect_timeout, absl::Minutes(5));

  flags.reconnect_timeout = "never";
  ExpectFlagError(BuildWatchOptions(flags).status(), "--reconnect-timeout");
}

TEST(BuildWaitOptions, WaitsOutARestartBeforeTheFirstEvent) {
  const client::WatchOptions options = BuildWaitOptions("j1");
  EXPECT_EQ(options.job_id, "j1");
  EXPECT_EQ(options.after_sequence, std::nullopt);
  EXPECT_TRUE(options.reconnect_before_first_event);
}

TEST(Displays, EachSubcommandChoosesItsOwn) {
  EXPECT_EQ(WatchCommandDisplay(Output::kText, /*terminal=*/true), WatchDisplay::kBar);
  EXPECT_EQ(WatchCommandDisplay(Output::kText, false), WatchDisplay::kLines);
  EXPECT_EQ(WatchCommandDisplay(Output::kJson, true), WatchDisplay::kJson);
  EXPECT_EQ(WatchCommandDisplay(Output::kJson, false), WatchDisplay::kJson);

  EXPECT_EQ(WaitDisplay(Output::kText, /*stderr_terminal=*/true), WatchDisplay::kBar);
  EXPECT_EQ(WaitDisplay(Output::kText, false), WatchDisplay::kLines);
  EXPECT_EQ(WaitDisplay(Output::kJson, true), WatchDisplay::kNone);
  EXPECT_EQ(WaitDisplay(Output::kJson, false), WatchDisplay::kNone);

  EXPECT_EQ(EventsDisplay(Output::kText), WatchDisplay::kLines);
  EXPECT_EQ(EventsDisplay(Output::kJson), WatchDisplay::kJson);
}

TEST(ExitCodeForWatch, ServerErrorElseByTheFinalState) {
  client::WatchOutcome outcome;
  outcome.final_state = v1::JOB_STATE_SUCCEEDED;
  EXPECT_EQ(ExitCodeForWatch(outcome), kExitOk);
  outcome.final_state = v1::JOB_STATE_FAILED;
  EXPECT_EQ(ExitCodeForWatch(outcome), kExitJobNotSucceeded);
  outcome.final_state = v1::JOB_STATE_CANCELLED;
  EXPECT_EQ(ExitCodeForWatch(outcome), kExitJobNotSucceeded);
  outcome.status = absl::NotFoundError("job j1 not found");
  EXPECT_EQ(ExitCodeForWatch(outcome), kExitServer);
  EXPECT_EQ(kExitUsage, 2);
}

// ---- work ----------------------------------------------------------------------------------

TEST(BuildWorkSetup, WorkerOptionsAndTheCommand) {
  WorkFlags flags;
  flags.workspace = "demo";
  flags.types = {"thumbnail"};
  flags.concurrency = 3;
  flags.lease = "1m";
  flags.grace = "5s";
  flags.poll_wait = "20s";
  flags.worker_id = "w1";
  flags.command = {"./make-thumbnail.sh", "--size", "128"};
  client::ClientOptions client_options;
  client_options.api_key = "jobd_worker_key";
  absl::StatusOr<WorkSetup> setup = BuildWorkSetup(flags, client_options);
  ASSERT_TRUE(setup.ok()) << setup.status();
  EXPECT_EQ(setup->worker.client.api_key, "jobd_worker_key");
  EXPECT_EQ(setup->worker.workspace_id, "demo");
  EXPECT_EQ(setup->worker.worker_id, "w1");
  EXPECT_EQ(setup->worker.concurrency, 3);
  EXPECT_EQ(setup->worker.lease_duration, absl::Minutes(1));
  EXPECT_EQ(setup->worker.grace_period, absl::Seconds(5));
  EXPECT_EQ(setup->worker.poll_wait, absl::Seconds(20));
  EXPECT_THAT(setup->command.argv, ElementsAre("./make-thumbnail.sh", "--size", "128"));
  EXPECT_EQ(setup->command.kill_grace, absl::Seconds(5));  // SIGTERM to SIGKILL is --grace
}

TEST(BuildWorkSetup, EachBadDurationNamesItsFlag) {
  for (const char* flag : {"--lease", "--grace", "--poll-wait"}) {
    WorkFlags flags;
    flags.command = {"true"};
    std::string& value = std::string(flag) == "--lease"   ? flags.lease
                         : std::string(flag) == "--grace" ? flags.grace
                                                          : flags.poll_wait;
    value = "soon";
    ExpectFlagError(BuildWorkSetup(flags, {}).status(), flag);
  }
}

}  // namespace
}  // namespace jobd::jobctl
