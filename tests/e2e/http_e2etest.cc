// The HTTP/JSON API against a real jobd: every route with exact statuses and bodies, the
// error mapping, the security headers, the generic /{Service}/{Method} route and the OpenAPI
// document. Event streams are in http_events_e2etest.cc.
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "tests/e2e/jobd_fixture.h"
#include "tests/support/http_client.h"

namespace jobd::testing {
namespace {

using nlohmann::json;

json Body(const HttpReply& reply) {
  json parsed = json::parse(reply.body, nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(parsed.is_discarded()) << "not JSON: " << reply.body;
  return parsed;
}

class HttpTest : public JobdTest {
 protected:
  void SetUp() override {
    JobdTest::SetUp();
    port_ = jobd_->http_port();
    ASSERT_GT(port_, 0);
  }

  HttpReply Call(const std::string& method, const std::string& target, const std::string& body = "",
                 const std::string& key = "\x01") {
    return HttpCall(port_, method, target, body, Bearer(key == "\x01" ? jobd_->admin_key() : key));
  }

  std::string Key(const std::string& role, const std::string& workspace = "") {
    std::vector<std::string> extra;
    if (!workspace.empty()) extra = {"--workspace", workspace};
    const std::string key = CreateApiKey(database_->url(), role, role + "-" + workspace, extra);
    // Made in the database: jobd learns it within its key refresh interval.
    EXPECT_TRUE(WaitFor(
        [&] {
          return HttpCall(port_, "GET", "/v1/workspaces/ws1/stats", "", Bearer(key)).status != 401;
        },
        absl::Seconds(10)));
    return key;
  }

  // Creates a job in `workspace` over HTTP and returns it.
  json Create(const std::string& workspace, const std::string& body) {
    HttpReply reply = Call("POST", "/v1/workspaces/" + workspace + "/jobs", body);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return Body(reply)["job"];
  }

  int port_ = 0;
};

void ExpectError(const HttpReply& reply, int status, int code) {
  EXPECT_EQ(reply.status, status) << reply.body;
  json body = Body(reply);
  EXPECT_EQ(body["code"], code) << reply.body;
  EXPECT_TRUE(body["message"].is_string()) << reply.body;
  EXPECT_EQ(body["details"], json::array()) << reply.body;
  EXPECT_EQ(reply.header("content-type"), "application/json");
}

TEST_F(HttpTest, JobRoutesAnswerInTheJsonMapping) {
  json job = Create("ws1", R"({"type":"crawl","payload":{"url":"https://a.example"},
                               "labels":{"team":"a"},"priority":3})");
  const std::string id = job["id"];
  EXPECT_EQ(job["workspaceId"], "ws1");
  EXPECT_EQ(job["state"], "JOB_STATE_QUEUED");
  EXPECT_EQ(job["payload"], json::parse(R"({"url":"https://a.example"})"));
  EXPECT_EQ(job["priority"], 3);

  HttpReply got = Call("GET", "/v1/jobs/" + id);
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(Body(got)["job"]["id"], id);
  EXPECT_EQ(Body(got)["job"]["labels"], json::parse(R"({"team":"a"})"));

  // Both spellings in: snake_case as well as lowerCamelCase.
  Create("ws1", R"({"type":"other","idempotency_key":"k1"})");
  HttpReply list = Call("GET",
                        "/v1/workspaces/ws1/jobs?state=QUEUED&state=JOB_STATE_RUNNING"
                        "&type=crawl&label=team:a&page_size=10");
  ASSERT_EQ(list.status, 200) << list.body;
  ASSERT_EQ(Body(list)["jobs"].size(), 1u);
  EXPECT_EQ(Body(list)["jobs"][0]["id"], id);

  HttpReply events = Call("GET", "/v1/jobs/" + id + "/events?page_size=5");
  ASSERT_EQ(events.status, 200) << events.body;
  ASSERT_EQ(Body(events)["events"].size(), 1u);
  EXPECT_EQ(Body(events)["events"][0]["kind"], "JOB_EVENT_KIND_CREATED");
  EXPECT_EQ(Body(events)["events"][0]["sequence"], "1");  // int64: a string in JSON

  HttpReply stats = Call("GET", "/v1/workspaces/ws1/stats");
  ASSERT_EQ(stats.status, 200) << stats.body;
  EXPECT_EQ(Body(stats)["stateCounts"].size(), 7u) << stats.body;  // every state, zeros too

  HttpReply cancelled = Call("POST", "/v1/jobs/" + id + ":cancel", R"({"reason":"not needed"})");
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(Body(cancelled)["job"]["state"], "JOB_STATE_CANCELLED");
  HttpReply retried = Call("POST", "/v1/jobs/" + id + ":retry");
  ASSERT_EQ(retried.status, 200) << retried.body;
  EXPECT_EQ(Body(retried)["job"]["state"], "JOB_STATE_QUEUED");

  // The generic route reaches the same handler.
  HttpReply generic = Call("POST", "/jobd.v1.JobService/GetJob", json{{"id", id}}.dump());
  ASSERT_EQ(generic.status, 200) << generic.body;
  EXPECT_EQ(Body(generic)["job"]["id"], id);
  EXPECT_EQ(Body(generic)["job"]["state"], "JOB_STATE_QUEUED");
}

TEST_F(HttpTest, BatchCreateIsAllOrNothingOverHttpToo) {
  HttpReply batch = Call("POST", "/v1/workspaces/ws1/jobs:batchCreate",
                         R"({"requests":[{"type":"a","payload":{"n":1}},
                                         {"type":"b","idempotencyKey":"k"},
                                         {"type":"c","labels":{"team":"x"}}]})");
  ASSERT_EQ(batch.status, 200) << batch.body;
  const json jobs = Body(batch)["jobs"];
  ASSERT_EQ(jobs.size(), 3u);
  EXPECT_EQ(jobs[0]["type"], "a");
  EXPECT_EQ(jobs[0]["payload"], json::parse(R"({"n":1})"));
  EXPECT_EQ(jobs[1]["type"], "b");
  EXPECT_EQ(jobs[2]["labels"], json::parse(R"({"team":"x"})"));
  for (const json& job : jobs) EXPECT_EQ(job["state"], "JOB_STATE_QUEUED");

  HttpReply bad = Call("POST", "/v1/workspaces/ws1/jobs:batchCreate",
                       R"({"requests":[{"type":"d"},{"type":"Not Valid"}]})");
  ExpectError(bad, 400, 3);
  EXPECT_EQ(Body(bad)["message"].get<std::string>().rfind("requests[1].type: ", 0), 0u) << bad.body;
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs"), "3");
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE type = 'd'"), "0");
}

TEST_F(HttpTest, AcquireCarriesFinishedJobsOverHttpToo) {
  const std::string worker = Key("worker", "ws1");
  for (int i = 0; i < 3; ++i) Create("ws1", R"({"type":"carry"})");
  HttpReply first = Call("POST", "/v1/workspaces/ws1/jobs:acquire",
                         R"({"types":["carry"],"workerId":"w1","maxJobs":2})", worker);
  ASSERT_EQ(first.status, 200) << first.body;
  const json leased = Body(first)["jobs"];
  ASSERT_EQ(leased.size(), 2u);
  // One finished with its lease, one failed; the third job leased in the same call.
  const json body = {{"types", {"carry"}},
                     {"workerId", "w1"},
                     {"maxJobs", 1},
                     {"completed",
                      {{{"jobId", leased[0]["job"]["id"]},
                        {"leaseToken", leased[0]["leaseToken"]},
                        {"result", {{"pages", 3}}}}}},
                     {"failed",
                      {{{"jobId", leased[1]["job"]["id"]},
                        {"leaseToken", leased[1]["leaseToken"]},
                        {"errorMessage", "boom"},
                        {"retryable", false}}}}};
  HttpReply next = Call("POST", "/v1/workspaces/ws1/jobs:acquire", body.dump(), worker);
  ASSERT_EQ(next.status, 200) << next.body;
  const json answer = Body(next);
  ASSERT_EQ(answer["completed"].size(), 1u) << next.body;
  EXPECT_EQ(answer["completed"][0]["jobId"], leased[0]["job"]["id"]);
  EXPECT_EQ(answer["completed"][0]["state"], "JOB_STATE_SUCCEEDED");
  EXPECT_FALSE(answer["completed"][0].contains("code")) << next.body;  // 0: left out in JSON
  ASSERT_EQ(answer["failed"].size(), 1u) << next.body;
  EXPECT_EQ(answer["failed"][0]["state"], "JOB_STATE_FAILED");
  ASSERT_EQ(answer["jobs"].size(), 1u);
  EXPECT_EQ(
      Body(Call("GET", "/v1/jobs/" + leased[0]["job"]["id"].get<std::string>()))["job"]["result"],
      json::parse(R"({"pages":3})"));

  // A malformed item refuses the whole call: 400 naming it, nothing written.
  HttpReply bad = Call("POST", "/v1/workspaces/ws1/jobs:acquire",
                       R"({"maxJobs":0,"completed":[{"jobId":"nope","leaseToken":"x"}]})", worker);
  ExpectError(bad, 400, 3);
  EXPECT_EQ(Body(bad)["message"].get<std::string>().rfind("completed[0].job_id: ", 0), 0u)
      << bad.body;
}

TEST_F(HttpTest, WorkerRoutesLeaseReportAndFinish) {
  const std::string worker = Key("worker", "ws1");
  const std::string first = Create("ws1", R"({"type":"t"})")["id"];
  const std::string second = Create("ws1", R"({"type":"t"})")["id"];
  HttpReply acquired = Call("POST", "/v1/workspaces/ws1/jobs:acquire",
                            R"({"types":["t"],"workerId":"w1","maxJobs":2})", worker);
  ASSERT_EQ(acquired.status, 200) << acquired.body;
  json jobs = Body(acquired)["jobs"];
  ASSERT_EQ(jobs.size(), 2u);
  std::map<std::string, std::string> tokens;
  for (const json& leased : jobs) tokens[leased["job"]["id"]] = leased["leaseToken"];
  ASSERT_EQ(tokens.count(first), 1u);

  HttpReply report =
      Call("POST", "/v1/jobs/" + first + ":report",
           json{{"leaseToken", tokens[first]}, {"progressPercent", 50}}.dump(), worker);
  EXPECT_EQ(report.status, 200) << report.body;
  HttpReply complete =
      Call("POST", "/v1/jobs/" + first + ":complete",
           json{{"leaseToken", tokens[first]}, {"result", {{"pages", 3}}}}.dump(), worker);
  ASSERT_EQ(complete.status, 200) << complete.body;
  EXPECT_EQ(Body(complete)["job"]["state"], "JOB_STATE_SUCCEEDED");
  EXPECT_EQ(Body(complete)["job"]["result"], json::parse(R"({"pages":3})"));

  // Another attempt's lease token is ABORTED: 409.
  ExpectError(Call("POST", "/v1/jobs/" + second + ":complete",
                   json{{"leaseToken", tokens[first]}}.dump(), worker),
              409, 10);
  HttpReply failed = Call(
      "POST", "/v1/jobs/" + second + ":fail",
      json{{"leaseToken", tokens[second]}, {"errorMessage", "boom"}, {"retryable", false}}.dump(),
      worker);
  ASSERT_EQ(failed.status, 200) << failed.body;
  EXPECT_EQ(Body(failed)["job"]["state"], "JOB_STATE_FAILED");
}

TEST_F(HttpTest, KeyRoutesCreateListAndRevoke) {
  HttpReply created = Call("POST", "/v1/keys",
                           R"({"name":"dash","role":"API_KEY_ROLE_VIEWER","workspaceId":"ws1"})");
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string secret = Body(created)["secret"];
  const std::string key_id = Body(created)["apiKey"]["id"];
  EXPECT_EQ(Body(created)["apiKey"]["role"], "API_KEY_ROLE_VIEWER");
  // jobd takes the new key at once on this replica; the key can learn what it is.
  EXPECT_EQ(Call("GET", "/v1/workspaces/ws1/stats", "", secret).status, 200);
  HttpReply me = Call("GET", "/v1/whoami", "", secret);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(Body(me), json({{"keyId", Body(created)["apiKey"]["id"]},
                            {"name", "dash"},
                            {"role", "API_KEY_ROLE_VIEWER"},
                            {"workspaceId", "ws1"},
                            {"permissions", {"read", "read_setup"}}}));

  HttpReply listed = Call("GET", "/v1/keys?workspace_id=ws1");
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(Body(listed)["apiKeys"].size(), 1u);
  EXPECT_EQ(Body(listed)["apiKeys"][0]["id"], key_id);

  HttpReply revoked = Call("POST", "/v1/keys/" + key_id + ":revoke");
  ASSERT_EQ(revoked.status, 200) << revoked.body;
  EXPECT_TRUE(Body(revoked)["apiKey"].contains("revokeTime"));
  ExpectError(Call("GET", "/v1/workspaces/ws1/stats", "", secret), 401, 16);
}

TEST_F(HttpTest, ErrorsMapToHttpStatusesAndChangeNothing) {
  const std::string viewer = Key("viewer", "ws1");
  const std::string member = Key("member", "ws1");
  ExpectError(Call("GET", "/v1/workspaces/ws1/stats", "", ""), 401, 16);
  ExpectError(Call("GET", "/v1/workspaces/ws1/stats", "", "not-a-key"), 401, 16);
  ExpectError(Call("POST", "/v1/workspaces/ws1/jobs", R"({"type":"t"})", viewer), 403, 7);
  ExpectError(Call("POST", "/v1/workspaces/ws1/jobs", R"({"type":)", member), 400, 3);
  HttpReply unknown_field = Call("POST", "/v1/workspaces/ws1/jobs", R"({"type":"t","color":1})");
  ExpectError(unknown_field, 400, 3);
  EXPECT_NE(Body(unknown_field)["message"].get<std::string>().find("color"), std::string::npos);
  ExpectError(Call("POST", "/v1/workspaces/ws1/jobs", R"({"type":""})"), 400, 3);
  ExpectError(Call("POST", "/v1/workspaces/ws1/jobs", R"({"workspaceId":"ws2","type":"t"})"), 400,
              3);
  ExpectError(Call("GET", "/v1/workspaces/ws1/jobs?colour=red"), 400, 3);
  ExpectError(Call("GET", "/v1/workspaces/ws1/jobs?label=novalue"), 400, 3);
  ExpectError(Call("GET", "/v1/workspaces/ws1/jobs?state=NOPE"), 400, 3);

  // Wrong method: 405 with Allow; unknown paths and methods: 404.
  HttpReply wrong = Call("DELETE", "/v1/jobs/abc");
  ExpectError(wrong, 405, 12);
  EXPECT_EQ(wrong.header("allow"), "GET");
  ExpectError(Call("GET", "/v1/nothing"), 404, 5);
  ExpectError(Call("POST", "/jobd.v1.JobService/Nope", "{}"), 404, 5);
  ExpectError(Call("POST", "/v1/jobs/abc:explode"), 404, 5);

  // FAILED_PRECONDITION is 400: a queued job cannot be retried.
  const std::string id = Create("ws1", R"({"type":"t"})")["id"];
  ExpectError(Call("POST", "/v1/jobs/" + id + ":retry"), 400, 9);

  // A job of another workspace is as unknown as a job that does not exist: same body.
  const std::string foreign = Create("ws2", R"({"type":"t"})")["id"];
  HttpReply foreign_reply = Call("GET", "/v1/jobs/" + foreign, "", member);
  ExpectError(foreign_reply, 404, 5);
  Sql("DELETE FROM jobs WHERE id = '" + foreign + "'");
  HttpReply missing_reply = Call("GET", "/v1/jobs/" + foreign, "", member);
  EXPECT_EQ(foreign_reply.body, missing_reply.body);

  // None of the refused calls wrote anything: ws1 has the one job made above.
  EXPECT_EQ(Sql("SELECT count(*) FROM jobs WHERE workspace_id = 'ws1'"), "1");
}

class HttpLimitsTest : public HttpTest {
 protected:
  std::vector<std::string> JobdArgs() override {
    return {"--create_rate_per_key", "1",    "--create_burst_per_key", "1",
            "--max_payload_bytes",   "1024", "--max_request_bytes",    "4096",
            "--http_read_timeout",   "1s"};
  }
};

TEST_F(HttpLimitsTest, QuotasBodiesHeadersAndSlowClients) {
  Create("ws1", R"({"type":"t"})");
  HttpReply limited = Call("POST", "/v1/workspaces/ws1/jobs", R"({"type":"t"})");
  ExpectError(limited, 429, 8);
  EXPECT_EQ(limited.header("retry-after"), "1");

  const std::string big = json{{"type", "t"}, {"payload", {{"x", std::string(8000, 'a')}}}}.dump();
  ExpectError(Call("POST", "/v1/workspaces/ws1/jobs", big), 413, 8);
  HttpReply huge_header =
      HttpCall(port_, "GET", "/healthz", "", {{"X-Filler", std::string(20000, 'h')}});
  ExpectError(huge_header, 431, 8);

  // Malformed HTTP: a 400 in the API's error shape, then the connection closes.
  const std::string garbage = RawHttp(port_, "BLAH\x01 / HTTP/9\r\n\r\n");
  EXPECT_EQ(garbage.substr(0, 12), "HTTP/1.1 400") << garbage;
  EXPECT_NE(garbage.find(R"("code":3)"), std::string::npos) << garbage;

  // A client that starts a request and stops is dropped after --http_read_timeout.
  const absl::Time start = absl::Now();
  const std::string slow =
      RawHttp(port_, "GET /healthz HTTP/1.1\r\nHost: x\r\n", absl::Seconds(20));
  EXPECT_EQ(slow, "");
  EXPECT_LT(absl::Now() - start, absl::Seconds(10));
  // Path tricks find no route and no file.
  for (const char* path : {"/v1/jobs/..%2f..%2fetc%2fpasswd", "/v1/jobs/%zz", "/../index.html",
                           "/v1/jobs/a%00b", "//v1/jobs"}) {
    HttpReply reply = Call("GET", path);
    EXPECT_TRUE(reply.status == 404 || reply.status == 400) << path << ": " << reply.status;
    Body(reply);
  }
}

TEST_F(HttpTest, HealthAndSecurityHeaders) {
  HttpReply health = HttpCall(port_, "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(Body(health)["status"], "SERVING");
  HttpReply ready = HttpCall(port_, "GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  HttpReply api = Call("GET", "/v1/workspaces/ws1/stats");
  EXPECT_EQ(api.header("x-content-type-options"), "nosniff");
  EXPECT_EQ(api.header("referrer-policy"), "no-referrer");
  EXPECT_EQ(api.header("cache-control"), "no-store");
  EXPECT_EQ(api.header("access-control-allow-origin"), "");  // CORS is off by default
  HttpReply page = HttpCall(port_, "GET", "/");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.header("content-type"), "text/html; charset=utf-8");
  const std::string csp = page.header("content-security-policy");
  EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << csp;
  EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << csp;
  EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << csp;
  EXPECT_EQ(page.header("x-content-type-options"), "nosniff");
}

TEST_F(HttpTest, OpenApiDocumentListsEveryRoute) {
  HttpReply reply = HttpCall(port_, "GET", "/v1/openapi.json");
  ASSERT_EQ(reply.status, 200);
  json document = Body(reply);
  EXPECT_EQ(document["openapi"], "3.0.3");
  const json& paths = document["paths"];
  for (const char* path :
       {"/v1/workspaces/{workspace_id}/jobs", "/v1/jobs/{id}", "/v1/jobs/{id}:watch", "/v1/keys",
        "/jobd.v1.WorkerService/AcquireJobs", "/healthz", "/readyz"}) {
    EXPECT_TRUE(paths.contains(path)) << path;
  }
  EXPECT_TRUE(paths["/v1/workspaces/{workspace_id}/jobs"].contains("post"));
  EXPECT_TRUE(paths["/v1/workspaces/{workspace_id}/jobs"].contains("get"));
  EXPECT_TRUE(document["components"]["schemas"].contains("jobd.v1.Job"));
}

}  // namespace
}  // namespace jobd::testing
