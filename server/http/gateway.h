// What each HTTP request means: the API routes (routes.h) and `POST /{Service}/{Method}` run
// the same handlers as gRPC (api::UnaryMethods) after the same admission; the watch routes
// stream server-sent events from the core's watches; /healthz, /readyz, /v1/openapi.json and
// the dashboard's files are answered here. Every response carries the common headers.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "server/api/admission.h"
#include "server/api/unary_methods.h"
#include "server/core/job_watch.h"
#include "server/http/http_message.h"
#include "server/http/routes.h"

namespace jobd::http {

class Gateway final : public RequestHandler {
 public:
  Gateway(const api::Admission& admission, const api::UnaryMethods& methods, core::WatchDeps watch,
          std::vector<std::string> cors_origins);

  void Handle(HttpRequest request, std::shared_ptr<Exchange> exchange) override;
  HttpResponse Refusal(int status, absl::string_view message) const override;

  // /readyz answers 503 while this is false (the database is unreachable, or jobd stops).
  void SetReady(bool ready) { ready_.store(ready); }
  // GET /metrics answers what this returns (Prometheus' text format); unset: no /metrics.
  void SetMetricsSource(std::function<std::string()> source) { metrics_ = std::move(source); }

  // An API answer: JSON with the API headers (and CORS for an allowed `origin`).
  HttpResponse Json(int status, std::string body, absl::string_view origin) const;
  HttpResponse Error(const absl::Status& status, absl::string_view origin) const;

 private:
  void ServeUnary(const api::UnaryMethod& method, const HttpRequest& request,
                  const std::vector<std::pair<std::string, std::string>>& path_fields,
                  absl::string_view query, const std::vector<QueryParam>* params,
                  std::shared_ptr<Exchange> exchange, absl::string_view origin);
  void ServeWatch(const Route& route, const HttpRequest& request,
                  const std::vector<std::pair<std::string, std::string>>& path_fields,
                  absl::string_view query, std::shared_ptr<Exchange> exchange,
                  absl::string_view origin);
  bool AllowedOrigin(absl::string_view origin) const;
  void AddCommonHeaders(HttpResponse& response, absl::string_view origin) const;

  const api::Admission& admission_;
  const api::UnaryMethods& methods_;
  const core::WatchDeps watch_;
  const std::vector<std::string> cors_origins_;
  std::function<std::string()> metrics_;
  std::atomic<bool> ready_{true};
};

}  // namespace jobd::http
