// The HTTP gateway's tables without a server: route matching, the binding of bodies, paths
// and queries to requests, and that every RPC of jobd.v1 has a route and an OpenAPI entry.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "jobd/v1/admin_service.pb.h"
#include "jobd/v1/job_service.pb.h"
#include "jobd/v1/queue_service.pb.h"
#include "jobd/v1/schedule_service.pb.h"
#include "jobd/v1/template_service.pb.h"
#include "jobd/v1/worker_service.pb.h"
#include "server/http/http_errors.h"
#include "server/http/message_json.h"
#include "server/http/openapi.h"
#include "server/http/routes.h"

namespace jobd::http {
namespace {

std::vector<const google::protobuf::ServiceDescriptor*> Services() {
  return {v1::CreateJobRequest::descriptor()->file()->FindServiceByName("JobService"),
          v1::AcquireJobsRequest::descriptor()->file()->FindServiceByName("WorkerService"),
          v1::CreateApiKeyRequest::descriptor()->file()->FindServiceByName("AdminService"),
          v1::CreateScheduleRequest::descriptor()->file()->FindServiceByName("ScheduleService"),
          v1::CreateJobTemplateRequest::descriptor()->file()->FindServiceByName("TemplateService"),
          v1::ListQueuesRequest::descriptor()->file()->FindServiceByName("QueueService")};
}

TEST(HttpRoutesTest, EveryRpcHasARouteAndAnOpenApiEntry) {
  const nlohmann::json document = nlohmann::json::parse(OpenApiDocument());
  int rpcs = 0;
  for (const google::protobuf::ServiceDescriptor* service : Services()) {
    ASSERT_NE(service, nullptr);
    for (int i = 0; i < service->method_count(); ++i) {
      const google::protobuf::MethodDescriptor* method = service->method(i);
      ++rpcs;
      int routes = 0;
      for (const Route& route : ApiRoutes()) {
        if (route.service == service->full_name() && route.rpc == method->name()) {
          ++routes;
          std::string verb = route.method;
          for (char& c : verb) c = static_cast<char>(std::tolower(c));
          EXPECT_TRUE(document["paths"][route.path].contains(verb)) << route.path;
        }
      }
      EXPECT_EQ(routes, 1) << method->full_name() << " needs exactly one route in routes.cc";
      if (!method->server_streaming()) {
        const std::string generic = "/" + service->full_name() + "/" + method->name();
        EXPECT_TRUE(document["paths"].contains(generic)) << generic;
      }
    }
  }
  EXPECT_EQ(rpcs, 45);
  EXPECT_EQ(ApiRoutes().size(), 45u);  // no route without an RPC
}

TEST(HttpRoutesTest, MatchesPathsMethodsAndVerbs) {
  RouteMatch get = MatchRoute("GET", "/v1/jobs/j-1");
  ASSERT_NE(get.route, nullptr);
  EXPECT_STREQ(get.route->rpc, "GetJob");
  EXPECT_EQ(get.path_fields, (Pairs{{"id", "j-1"}}));
  RouteMatch cancel = MatchRoute("POST", "/v1/jobs/j-1:cancel");
  ASSERT_NE(cancel.route, nullptr);
  EXPECT_STREQ(cancel.route->rpc, "CancelJob");
  EXPECT_EQ(cancel.path_fields, (Pairs{{"id", "j-1"}}));
  RouteMatch wrong = MatchRoute("GET", "/v1/jobs/j-1:cancel");
  EXPECT_EQ(wrong.route, nullptr);
  EXPECT_EQ(wrong.allowed_methods, "POST");
  RouteMatch both = MatchRoute("DELETE", "/v1/workspaces/w/jobs");
  EXPECT_EQ(both.allowed_methods, "POST, GET");
  RouteMatch watch = MatchRoute("GET", "/v1/workspaces/w/jobs:watch");
  ASSERT_NE(watch.route, nullptr);
  EXPECT_EQ(watch.route->kind, RouteKind::kWatchJobs);
  // Escapes are decoded within a segment, never across segments.
  RouteMatch escaped = MatchRoute("GET", "/v1/jobs/a%2Fb");
  ASSERT_NE(escaped.route, nullptr);
  EXPECT_EQ(escaped.path_fields, (Pairs{{"id", "a/b"}}));
  for (const char* path : {"/v1/jobs/", "/v1/jobs/a:bogus", "/v1/jobs/%zz", "/v1/jobs/a/b",
                           "/v1/jobs", "v1/jobs/a", "/v1/jobs/a/events/x"}) {
    RouteMatch none = MatchRoute("GET", path);
    EXPECT_EQ(none.route, nullptr) << path;
    EXPECT_EQ(none.allowed_methods, "") << path;
  }
}

TEST(HttpRoutesTest, BindsBodyPathAndQuery) {
  const Route* list = MatchRoute("GET", "/v1/workspaces/w/jobs").route;
  ASSERT_NE(list, nullptr);
  v1::ListJobsRequest request;
  ASSERT_TRUE(BindRequest("", {{"workspace_id", "w"}},
                          {{"state", "QUEUED"},
                           {"state", "JOB_STATE_RUNNING"},
                           {"type", "t"},
                           {"label", "team:a:b"},
                           {"page_size", "7"}},
                          &list->query, &request)
                  .ok());
  EXPECT_EQ(request.workspace_id(), "w");
  ASSERT_EQ(request.states_size(), 2);
  EXPECT_EQ(request.states(0), v1::JOB_STATE_QUEUED);
  EXPECT_EQ(request.states(1), v1::JOB_STATE_RUNNING);
  EXPECT_EQ(request.labels().at("team"), "a:b");
  EXPECT_EQ(request.page_size(), 7);

  auto error = [&](absl::string_view body, const Pairs& query) {
    v1::ListJobsRequest out;
    absl::Status status = BindRequest(body, {{"workspace_id", "w"}}, query, &list->query, &out);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << body;
    return std::string(status.message());
  };
  EXPECT_EQ(error("", {{"page_size", "1"}, {"page_size", "2"}}), "page_size: given twice");
  EXPECT_EQ(error("", {{"label", "nocolon"}}), "label: use KEY:VALUE");
  EXPECT_EQ(error("", {{"label", "k:1"}, {"label", "k:2"}}), "label: key \"k\" given twice");
  EXPECT_EQ(error("", {{"colour", "red"}}),
            "query parameter \"colour\" is not known on this route");
  EXPECT_NE(error("", {{"state", "NOPE"}}).find("query:"), std::string::npos);
  EXPECT_EQ(error(R"({"workspaceId":"x"})", {}),
            "workspace_id: the body says \"x\" but the path says \"w\"");
  EXPECT_NE(error(R"({"nope":1})", {}).find("request body:"), std::string::npos);
  EXPECT_NE(error("[1,2]", {}).find("request body:"), std::string::npos);
  // Both spellings in.
  v1::CreateJobRequest create;
  ASSERT_TRUE(BindRequest(R"({"idempotency_key":"a","runAfter":"2030-01-01T00:00:00Z"})", {}, {},
                          nullptr, &create)
                  .ok());
  EXPECT_EQ(create.idempotency_key(), "a");
  EXPECT_EQ(create.run_after().seconds(), 1893456000);
}

TEST(HttpRoutesTest, StatusMappingAndErrorBody) {
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kFailedPrecondition), 400);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kUnauthenticated), 401);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kPermissionDenied), 403);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kAborted), 409);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kResourceExhausted), 429);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kUnimplemented), 501);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kDeadlineExceeded), 504);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kInternal), 500);
  EXPECT_EQ(HttpStatusOf(absl::StatusCode::kDataLoss), 500);
  EXPECT_EQ(ErrorBody(absl::NotFoundError("job \"x\" not found")),
            R"({"code":5,"details":[],"message":"job \"x\" not found"})");
}

TEST(HttpRoutesTest, PercentDecoding) {
  EXPECT_EQ(*PercentDecode("a%20b+c", false), "a b+c");
  EXPECT_EQ(*PercentDecode("a%20b+c", true), "a b c");
  EXPECT_FALSE(PercentDecode("%", false).ok());
  EXPECT_FALSE(PercentDecode("%4", false).ok());
  EXPECT_FALSE(PercentDecode("%g0", false).ok());
  absl::StatusOr<Pairs> query = ParseQuery("a=1&b=x%3Dy&&c");
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(*query, (Pairs{{"a", "1"}, {"b", "x=y"}, {"c", ""}}));
}

}  // namespace
}  // namespace jobd::http
