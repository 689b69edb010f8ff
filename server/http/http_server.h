// The HTTP/1.1 listener (Boost.Beast on Asio): plaintext or TLS, a few I/O threads for every
// connection and stream (no thread per connection), with limits on header and body size,
// idle connections and slow clients. It reads requests and writes answers; what they mean is
// the RequestHandler's business (gateway.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "server/http/http_message.h"

namespace jobd::http {

struct HttpServerOptions {
  std::string listen;         // host:port (port 0: any free port)
  std::string tls_cert_file;  // set: serve HTTPS
  std::string tls_key_file;
  std::string tls_client_ca_file;  // set: clients must present a certificate it signed
  int threads = 2;
  uint32_t max_header_bytes = 16 * 1024;
  uint64_t max_body_bytes = 1 << 20;
  absl::Duration read_timeout = absl::Seconds(30);   // a request, or the wait for the next one
  absl::Duration write_timeout = absl::Seconds(30);  // one write to a slow reader
  size_t max_connections = 20000;
  absl::Duration sse_heartbeat = absl::Seconds(15);  // a comment line on a quiet event stream
};

class HttpServer {
 public:
  // Owns the I/O context: declare it before whatever may still answer a request when the
  // server stops (executors, group committers), so that late answers go to a stopped context
  // instead of a destroyed one.
  explicit HttpServer(HttpServerOptions options);
  ~HttpServer();  // Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds and starts the I/O threads; `handler` must outlive Stop().
  absl::Status Start(RequestHandler& handler);
  int port() const;
  // Stops accepting, closes every connection and joins the threads. Idempotent; no handler
  // runs after it returns.
  void Stop();
  size_t open_connections() const;

  class Impl;  // in http_server.cc, with the connections that use it

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace jobd::http
