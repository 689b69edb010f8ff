// HTTP requests and responses as the gateway sees them (no Beast types), and the Exchange
// through which it answers: one response, or one stream of server-sent events.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace jobd::http {

struct HttpRequest {
  std::string method;                                        // "GET"
  std::string target;                                        // path and query, as sent
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  // Every value of the header `name` (lower case).
  std::vector<absl::string_view> HeaderValues(absl::string_view name) const;
  // The first value of `name`, or "".
  absl::string_view Header(absl::string_view name) const;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  void Set(std::string name, std::string value) {
    headers.emplace_back(std::move(name), std::move(value));
  }
};

// One request's way back to its client. Every method may be called from any thread; the
// server runs them on the connection's strand, in call order.
class Exchange {
 public:
  virtual ~Exchange() = default;
  // The answer (then the connection reads the next request, or closes). `written`, when
  // given, runs on the strand once the answer is out (ok) or cannot be sent (not ok).
  virtual void Respond(HttpResponse response, std::function<void(bool ok)> written = nullptr) = 0;
  // An event stream instead: the head (its body is ignored), then chunks, then the end.
  virtual void StartEvents(HttpResponse head) = 0;
  // `written(ok)` runs once the chunk is out (ok) or the connection is gone (not ok).
  virtual void SendEvent(std::string text, std::function<void(bool ok)> written) = 0;
  virtual void EndEvents(std::function<void(bool ok)> written = nullptr) = 0;
  // The client went away (seen while a call runs or events stream). Runs at most once.
  virtual void SetOnClosed(std::function<void()> closed) = 0;
  virtual bool closed() const = 0;
};

class RequestHandler {
 public:
  virtual ~RequestHandler() = default;
  // Runs on an I/O thread: must not block.
  virtual void Handle(HttpRequest request, std::shared_ptr<Exchange> exchange) = 0;
  // The answer to a request that could not be read (malformed, too large): `status` and
  // `message` in the API's error shape, with the common headers.
  virtual HttpResponse Refusal(int status, absl::string_view message) const = 0;
};

}  // namespace jobd::http
