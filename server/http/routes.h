// The HTTP API's routes: each maps a method and a path template to an RPC, with the path's
// variables and the query parameters bound to the request's fields. Besides these, every
// unary RPC answers at `POST /{package.Service}/{Method}` (the request as JSON), and the
// server's own paths (/healthz, /readyz, /v1/openapi.json, the dashboard) are in gateway.cc.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace jobd::http {

enum class RouteKind { kUnary, kWatchJob, kWatchJobs };

// `?name=value` sets the request's `field`: repeated fields take every value, a map<string,
// string> field takes KEY:VALUE values, enums take their names.
struct QueryParam {
  const char* name;
  const char* field;
};

struct Route {
  const char* method;  // GET or POST
  // Segments are literals or {field}; the last may end in :verb ("/v1/jobs/{id}:cancel").
  const char* path;
  const char* service;  // full proto name, e.g. "jobd.v1.JobService"
  const char* rpc;      // e.g. "CancelJob"
  RouteKind kind;
  std::vector<QueryParam> query;
  bool body;  // the request body is the request message (the path's fields may be left out)
  const char* summary;
};

const std::vector<Route>& ApiRoutes();

struct RouteMatch {
  const Route* route = nullptr;
  std::vector<std::pair<std::string, std::string>> path_fields;  // field, decoded value
  // No route took the method, but some took the path: the methods they take ("GET, POST").
  std::string allowed_methods;
};

// Matches a request's path (without the query) against ApiRoutes.
RouteMatch MatchRoute(absl::string_view method, absl::string_view path);

// %XX decoding (and '+' as a space when `plus_is_space`); nullopt-like error on a bad escape.
absl::StatusOr<std::string> PercentDecode(absl::string_view text, bool plus_is_space);

// The query string's name=value pairs, decoded, in order.
absl::StatusOr<std::vector<std::pair<std::string, std::string>>> ParseQuery(
    absl::string_view query);

}  // namespace jobd::http
