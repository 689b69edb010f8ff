// A blocking HTTP/1.1 client for the tests (Boost.Beast): one request per connection, or a
// server-sent-events reader that returns events as they come. Every read has a deadline.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace jobd::testing {

struct HttpReply {
  int status = 0;                                   // 0: no answer (connection failed or timed out)
  std::multimap<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

using Headers = std::vector<std::pair<std::string, std::string>>;

// `Authorization: Bearer <key>` (nothing when the key is empty).
Headers Bearer(const std::string& key);

HttpReply HttpCall(int port, const std::string& method, const std::string& target,
                   const std::string& body = "", const Headers& headers = {},
                   absl::Duration timeout = absl::Seconds(30));

// Sends raw bytes and reads until the server closes or `timeout` passes.
std::string RawHttp(int port, const std::string& bytes, absl::Duration timeout = absl::Seconds(10));

struct SseEvent {
  std::string id;     // empty when the event had none
  std::string event;  // empty for comments
  std::string data;
  bool comment = false;
};

// One event stream. Next() returns the next event (comments included) or nullopt when the
// stream ended or the deadline passed.
class SseReader {
 public:
  SseReader(int port, const std::string& target, const Headers& headers);
  ~SseReader();
  int status() const { return status_; }
  const std::string& header(const std::string& name) const;
  // The body when the server answered with an error instead of a stream.
  const std::string& error_body() const { return error_body_; }
  std::optional<SseEvent> Next(absl::Duration timeout = absl::Seconds(20));
  bool ended() const { return ended_; }
  // Drops the connection (the client goes away).
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int status_ = 0;
  std::map<std::string, std::string> headers_;
  std::string error_body_;
  std::string pending_;  // received text not yet split into events
  bool ended_ = false;
};

}  // namespace jobd::testing
