// The OpenAPI 3 document of the HTTP API (GET /v1/openapi.json), made from the routes
// (routes.h) and the request and response messages' descriptors, so that it cannot drift
// from what the server does.
#pragma once

#include <string>

namespace jobd::http {

// The document as JSON text; built once.
const std::string& OpenApiDocument();

}  // namespace jobd::http
