#include "server/http/gateway.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "server/api/convert.h"
#include "server/core/retry_after.h"
#include "server/http/dashboard_assets.h"
#include "server/http/http_errors.h"
#include "server/http/message_json.h"
#include "server/http/openapi.h"
#include "server/http/routes.h"
#include "server/http/sse_stream.h"

namespace jobd::http {
namespace {

constexpr char kStopping[] = "jobd is shutting down; retry on another replica";

// One unary call that came over HTTP: it owns the request and response messages until the
// answer is handed to the connection.
class HttpUnaryCall final : public api::CallTransport {
 public:
  HttpUnaryCall(const Gateway& gateway, std::shared_ptr<Exchange> exchange,
                std::unique_ptr<google::protobuf::Message> request,
                std::unique_ptr<google::protobuf::Message> response, std::string origin)
      : gateway_(gateway),
        exchange_(std::move(exchange)),
        request_(std::move(request)),
        response_(std::move(response)),
        origin_(std::move(origin)) {}

  google::protobuf::Message* request() { return request_.get(); }
  google::protobuf::Message* response() { return response_.get(); }

  bool Cancelled() const override { return exchange_->closed(); }
  absl::Time Deadline() const override { return absl::InfiniteFuture(); }
  void SetOnCancel(std::function<void()> cancelled) override {
    exchange_->SetOnClosed(std::move(cancelled));
  }
  void Answer(const absl::Status& status) override {
    exchange_->Respond(status.ok() ? gateway_.Json(200, MessageToJson(*response_), origin_)
                                   : gateway_.Error(status, origin_));
    delete this;
  }

 private:
  const Gateway& gateway_;
  const std::shared_ptr<Exchange> exchange_;
  const std::unique_ptr<google::protobuf::Message> request_;
  const std::unique_ptr<google::protobuf::Message> response_;
  const std::string origin_;
};

std::pair<absl::string_view, absl::string_view> SplitTarget(absl::string_view target) {
  const size_t question = target.find('?');
  if (question == absl::string_view::npos) return {target, ""};
  return {target.substr(0, question), target.substr(question + 1)};
}

}  // namespace

Gateway::Gateway(const api::Admission& admission, const api::UnaryMethods& methods,
                 core::WatchDeps watch, std::vector<std::string> cors_origins)
    : admission_(admission),
      methods_(methods),
      watch_(watch),
      cors_origins_(std::move(cors_origins)) {}

bool Gateway::AllowedOrigin(absl::string_view origin) const {
  if (origin.empty()) return false;
  for (const std::string& allowed : cors_origins_) {
    if (allowed == origin || allowed == "*") return true;
  }
  return false;
}

void Gateway::AddCommonHeaders(HttpResponse& response, absl::string_view origin) const {
  response.Set("X-Content-Type-Options", "nosniff");
  response.Set("Referrer-Policy", "no-referrer");
  if (AllowedOrigin(origin)) {
    response.Set("Access-Control-Allow-Origin", std::string(origin));
    response.Set("Vary", "Origin");
  }
}

HttpResponse Gateway::Json(int status, std::string body, absl::string_view origin) const {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.Set("Content-Type", "application/json");
  response.Set("Cache-Control", "no-store");
  AddCommonHeaders(response, origin);
  return response;
}

HttpResponse Gateway::Error(const absl::Status& status, absl::string_view origin) const {
  HttpResponse response = Json(HttpStatusOf(status.code()), ErrorBody(status), origin);
  if (std::optional<absl::Duration> wait = core::RetryAfterOf(status)) {
    // Whole seconds, rounded up (RFC 9110).
    response.Set("Retry-After",
                 std::to_string(absl::ToInt64Seconds(absl::Ceil(*wait, absl::Seconds(1)))));
  }
  return response;
}

HttpResponse Gateway::Refusal(int status, absl::string_view message) const {
  absl::StatusCode code = absl::StatusCode::kInvalidArgument;
  if (status == 413 || status == 431) code = absl::StatusCode::kResourceExhausted;
  HttpResponse response = Json(status, ErrorBody(absl::Status(code, message)), "");
  return response;
}

void Gateway::Handle(HttpRequest request, std::shared_ptr<Exchange> exchange) {
  const std::string origin(request.Header("origin"));
  auto [path, query] = SplitTarget(request.target);
  auto refuse = [&](const absl::Status& status) { exchange->Respond(Error(status, origin)); };

  if (request.method == "OPTIONS" && AllowedOrigin(origin)) {  // a CORS preflight
    HttpResponse response = Json(204, "", origin);
    response.Set("Access-Control-Allow-Methods", "GET, POST");
    response.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID");
    response.Set("Access-Control-Max-Age", "600");
    return exchange->Respond(std::move(response));
  }
  if (path == "/healthz" || path == "/readyz") {
    if (request.method != "GET") {
      HttpResponse response = Error(absl::UnimplementedError("use GET"), origin);
      response.status = 405;
      response.Set("Allow", "GET");
      return exchange->Respond(std::move(response));
    }
    const bool serving = path == "/healthz" || (ready_.load() && !admission_.gate().closed());
    return exchange->Respond(
        Json(serving ? 200 : 503,
             serving ? R"({"status":"SERVING"})" : R"({"status":"NOT_SERVING"})", origin));
  }
  if (path == "/metrics" && request.method == "GET" && metrics_) {
    // Prometheus' text format; no key, like the health checks (it names workspaces and
    // types: keep the HTTP listener off untrusted networks, or turn this off).
    HttpResponse response;
    response.body = metrics_();
    response.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    response.Set("Cache-Control", "no-store");
    AddCommonHeaders(response, origin);
    return exchange->Respond(std::move(response));
  }
  if (path == "/v1/openapi.json" && request.method == "GET") {
    return exchange->Respond(Json(200, OpenApiDocument(), origin));
  }

  RouteMatch match = MatchRoute(request.method, path);
  if (match.route != nullptr) {
    if (match.route->kind != RouteKind::kUnary) {
      return ServeWatch(*match.route, request, match.path_fields, query, exchange, origin);
    }
    const api::UnaryMethod* method = methods_.Find(match.route->service, match.route->rpc);
    if (method == nullptr) return refuse(absl::InternalError("route without a handler"));
    return ServeUnary(*method, request, match.path_fields, query, &match.route->query, exchange,
                      origin);
  }
  if (!match.allowed_methods.empty()) {
    HttpResponse response =
        Error(absl::UnimplementedError(absl::StrCat(request.method, " is not allowed on ", path,
                                                    "; use ", match.allowed_methods)),
              origin);
    response.status = 405;
    response.Set("Allow", match.allowed_methods);
    return exchange->Respond(std::move(response));
  }

  // POST /{package.Service}/{Method}: any unary RPC with the request as the body.
  std::vector<absl::string_view> parts = absl::StrSplit(path.substr(path.empty() ? 0 : 1), '/');
  if (parts.size() == 2 && absl::StrContains(parts[0], '.')) {
    const api::UnaryMethod* method = methods_.Find(parts[0], parts[1]);
    if (method == nullptr) {
      return refuse(absl::NotFoundError(absl::StrCat("no unary method ", parts[0], "/", parts[1],
                                                     " (streams have their own routes)")));
    }
    if (request.method != "POST") {
      HttpResponse response = Error(absl::UnimplementedError("use POST"), origin);
      response.status = 405;
      response.Set("Allow", "POST");
      return exchange->Respond(std::move(response));
    }
    return ServeUnary(*method, request, {}, query, nullptr, exchange, origin);
  }

  if (request.method == "GET") {
    if (const DashboardAsset* asset = FindDashboardAsset(path)) {
      HttpResponse response;
      response.body.assign(asset->data, asset->size);
      response.Set("Content-Type", asset->content_type);
      response.Set("Cache-Control", "no-cache");
      response.Set(
          "Content-Security-Policy",
          "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
      response.Set("X-Frame-Options", "DENY");
      AddCommonHeaders(response, "");
      return exchange->Respond(std::move(response));
    }
  }
  refuse(absl::NotFoundError(absl::StrCat("no route for ", request.method, " ", path)));
}

void Gateway::ServeUnary(const api::UnaryMethod& method, const HttpRequest& request,
                         const std::vector<std::pair<std::string, std::string>>& path_fields,
                         absl::string_view query, const std::vector<QueryParam>* params,
                         std::shared_ptr<Exchange> exchange, absl::string_view origin) {
  auto* transport = new HttpUnaryCall(*this, std::move(exchange), method.NewRequest(),
                                      method.NewResponse(), std::string(origin));
  api::UnaryCall call(transport, method.name(), admission_);
  core::Principal caller;
  if (!call.Admit(request.HeaderValues("authorization"), &caller)) return;
  absl::StatusOr<Pairs> query_pairs = ParseQuery(query);
  absl::Status bound = query_pairs.ok() ? BindRequest(request.body, path_fields, *query_pairs,
                                                      params, transport->request())
                                        : query_pairs.status();
  if (!bound.ok()) return call.Finish(bound, "");
  method.handle(call, caller, transport->request(), transport->response());
}

void Gateway::ServeWatch(const Route& route, const HttpRequest& request,
                         const std::vector<std::pair<std::string, std::string>>& path_fields,
                         absl::string_view query, std::shared_ptr<Exchange> exchange,
                         absl::string_view origin) {
  const std::string origin_copy(origin);
  ErrorResponder errors = [this, origin_copy](const absl::Status& status) {
    return Error(status, origin_copy);
  };
  auto refuse = [&](const absl::Status& status) {
    api::LogRpc(route.rpc, status, absl::ZeroDuration(), "", "", {{"transport", "http"}});
    exchange->Respond(errors(status));
  };
  absl::StatusOr<core::Principal> caller =
      admission_.Admit(request.HeaderValues("authorization"), route.rpc, kStopping);
  if (!caller.ok()) return refuse(caller.status());
  absl::StatusOr<Pairs> query_pairs = ParseQuery(query);
  if (!query_pairs.ok()) return refuse(query_pairs.status());

  HttpResponse head;
  head.Set("Content-Type", "text/event-stream");
  head.Set("Cache-Control", "no-store");
  head.Set("X-Accel-Buffering", "no");  // nginx: pass events on at once
  AddCommonHeaders(head, origin);

  if (route.kind == RouteKind::kWatchJob) {
    v1::WatchJobRequest watch_request;
    absl::Status bound = BindRequest("", path_fields, *query_pairs, &route.query, &watch_request);
    if (!bound.ok()) return refuse(bound);
    std::optional<int64_t> after;
    if (watch_request.has_after_sequence()) after = watch_request.after_sequence();
    // A reconnecting EventSource says where it stopped; that wins over the query.
    const absl::string_view last_event_id = request.Header("last-event-id");
    if (!last_event_id.empty()) {
      int64_t sequence = 0;
      if (!absl::SimpleAtoi(last_event_id, &sequence) || sequence < 0) {
        return refuse(absl::InvalidArgumentError("Last-Event-ID: must be an event sequence"));
      }
      after = sequence;
    }
    return StartJobEvents(watch_, std::move(*caller), watch_request.id(), after,
                          std::move(exchange), std::move(head), std::move(errors));
  }
  v1::WatchJobsRequest watch_request;
  absl::Status bound = BindRequest("", path_fields, *query_pairs, &route.query, &watch_request);
  if (!bound.ok()) return refuse(bound);
  core::WorkspaceWatchFilter filter;
  filter.workspace_id = watch_request.workspace_id();
  for (int state : watch_request.states()) {
    absl::StatusOr<JobState> parsed = api::FromProto(static_cast<v1::JobState>(state), "state");
    if (!parsed.ok()) return refuse(parsed.status());
    filter.states.push_back(*parsed);
  }
  filter.types.assign(watch_request.types().begin(), watch_request.types().end());
  StartWorkspaceEvents(watch_, std::move(*caller), std::move(filter), std::move(exchange),
                       std::move(head), std::move(errors));
}

}  // namespace jobd::http
