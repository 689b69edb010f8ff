#include "server/http/http_server.h"

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "server/core/log.h"

namespace jobd::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

std::string ReasonOf(int status) {
  if (status == 499) return "Client Closed Request";
  return std::string(bhttp::obsolete_reason(static_cast<bhttp::status>(status)));
}

std::string Serialize(const HttpResponse& response, bool keep_alive, bool chunked) {
  std::string out =
      absl::StrCat("HTTP/1.1 ", response.status, " ", ReasonOf(response.status), "\r\n");
  for (const auto& [name, value] : response.headers)
    absl::StrAppend(&out, name, ": ", value, "\r\n");
  if (chunked) {
    out += "Transfer-Encoding: chunked\r\n";
  } else {
    absl::StrAppend(&out, "Content-Length: ", response.body.size(), "\r\n");
  }
  out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
  if (!chunked) out += response.body;
  return out;
}

}  // namespace

class HttpServer::Impl {
 public:
  explicit Impl(HttpServerOptions options) : options_(std::move(options)) {}

  absl::Status Start(RequestHandler& handler);
  void Stop();
  void Accept();

  HttpServerOptions options_;
  RequestHandler* handler_ = nullptr;
  net::io_context io_;
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::optional<net::ssl::context> tls_;
  std::optional<tcp::acceptor> acceptor_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> connections_{0};
  int port_ = 0;
  bool stopped_ = false;
  // How to close each open connection, for Stop.
  std::mutex mu_;
  uint64_t next_session_ = 1;
  std::unordered_map<uint64_t, std::function<void()>> closers_;
  bool closing_ = false;

  uint64_t Track(std::function<void()> close) {
    std::lock_guard<std::mutex> lock(mu_);
    if (closing_) return 0;
    const uint64_t id = next_session_++;
    closers_.emplace(id, std::move(close));
    return id;
  }
  void Untrack(uint64_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    closers_.erase(id);
  }
};

namespace {

// One connection. Plain (beast::tcp_stream) or TLS (beast::ssl_stream over it). Everything
// runs on the connection's strand; the Exchange methods post there.
template <class Stream>
class Session final : public Exchange, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <class... Args>
  Session(HttpServer::Impl& server, Args&&... args)
      : server_(server),
        options_(server.options_),
        stream_(std::forward<Args>(args)...),
        heartbeat_(stream_.get_executor()) {
    ++server_.connections_;
  }
  ~Session() override {
    server_.Untrack(id_);
    --server_.connections_;
  }

  // Registers the connection for Stop and starts reading, on the strand.
  void Begin() {
    std::weak_ptr<Session> weak = this->shared_from_this();
    id_ = server_.Track([weak] {
      if (auto session = weak.lock()) session->PostShutdown();
    });
    if (id_ == 0) return;  // the server is stopping
    Post([this] { Start(); });
  }

 private:
  void Start() {
    if constexpr (kTls) {
      Lowest().expires_after(Timeout(options_.read_timeout));
      stream_.async_handshake(net::ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Shutdown();
                                self->ReadRequest();
                              });
    } else {
      ReadRequest();
    }
  }

 public:
  // Exchange; each hops to the strand.
  void Respond(HttpResponse response, std::function<void(bool)> written) override {
    Post([this, response = std::move(response), written = std::move(written)]() mutable {
      const bool keep_alive = keep_alive_;
      Write(Serialize(response, keep_alive, false), keep_alive ? Then::kNextRequest : Then::kClose,
            std::move(written));
    });
  }
  void StartEvents(HttpResponse head) override {
    Post([this, head = std::move(head)]() mutable {
      streaming_ = true;
      keep_alive_ = false;
      Write(Serialize(head, false, true), Then::kNothing, nullptr);
      Heartbeat();
    });
  }
  void SendEvent(std::string text, std::function<void(bool)> written) override {
    Post([this, text = std::move(text), written = std::move(written)]() mutable {
      Write(absl::StrCat(absl::Hex(text.size()), "\r\n", text, "\r\n"), Then::kNothing,
            std::move(written));
    });
  }
  void EndEvents(std::function<void(bool)> written) override {
    Post([this, written = std::move(written)]() mutable {
      Write("0\r\n\r\n", Then::kClose, std::move(written));
    });
  }
  void SetOnClosed(std::function<void()> closed) override {
    Post([this, closed = std::move(closed)]() mutable {
      if (closed_) return closed();
      on_closed_ = std::move(closed);
    });
  }
  bool closed() const override { return closed_.load(); }

  void Shutdown() {
    if (shut_) return;
    shut_ = true;
    heartbeat_.cancel();
    MarkClosed();
    FailWrites();
    beast::error_code ignored;
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    Lowest().close();
  }

  void PostShutdown() {
    Post([this] { Shutdown(); });
  }

 private:
  enum class Then { kNothing, kNextRequest, kClose };
  struct PendingWrite {
    std::string data;
    Then then;
    std::function<void(bool)> written;
  };

  static std::chrono::nanoseconds Timeout(absl::Duration d) { return absl::ToChronoNanoseconds(d); }
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  template <class F>
  void Post(F f) {
    net::post(stream_.get_executor(),
              [self = this->shared_from_this(), f = std::move(f)]() mutable { f(); });
  }

  // A comment line when the stream was quiet for a heartbeat interval, so that proxies keep
  // an idle stream open.
  void Heartbeat() {
    if (shut_) return;
    heartbeat_.expires_after(Timeout(options_.sse_heartbeat));
    heartbeat_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
      if (ec || self->shut_) return;
      if (!self->writing_ && self->writes_.empty()) {
        self->Write("e\r\n: keep-alive\n\n\r\n", Then::kNothing, nullptr);
      }
      self->Heartbeat();
    });
  }

  void ReadRequest() {
    if (shut_) return;
    parser_.emplace();
    parser_->header_limit(options_.max_header_bytes);
    parser_->body_limit(options_.max_body_bytes);
    Lowest().expires_after(Timeout(options_.read_timeout));
    bhttp::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    if (beast::iequals(parser_->get()[bhttp::field::expect], "100-continue")) {
      Lowest().expires_after(Timeout(options_.write_timeout));
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      net::async_write(stream_, net::buffer(kContinue),
                       [self = this->shared_from_this()](beast::error_code ec, size_t) {
                         if (ec) return self->Shutdown();
                         self->ReadBody();
                       });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    Lowest().expires_after(Timeout(options_.read_timeout));
    bhttp::async_read(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRequest(ec); });
  }

  void OnReadError(beast::error_code ec) {
    int status = 0;
    const char* message = "";
    if (ec == bhttp::error::header_limit) {
      status = 431;
      message = "request headers are too large";
    } else if (ec == bhttp::error::body_limit) {
      status = 413;
      message = "request body is too large";
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
               ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
      status = 400;
      message = "malformed HTTP request";
    }
    if (status == 0) return Shutdown();  // closed, reset, timed out
    keep_alive_ = false;
    Write(Serialize(server_.handler_->Refusal(status, message), false, false), Then::kClose,
          nullptr);
  }

  void OnRequest(beast::error_code ec) {
    if (ec) return OnReadError(ec);
    bhttp::request<bhttp::string_body> message = parser_->release();
    parser_.reset();
    keep_alive_ = message.keep_alive();
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
      request.headers.emplace_back(absl::AsciiStrToLower(std::string(field.name_string())),
                                   std::string(field.value()));
    }
    request.body = std::move(message.body());
    // While the call runs, a read notices a client that goes away (a long poll's caller).
    Lowest().expires_never();
    if (buffer_.size() == 0) DetectClose();
    server_.handler_->Handle(std::move(request), this->shared_from_this());
  }

  void DetectClose() {
    if (detecting_ || shut_) return;
    detecting_ = true;
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = this->shared_from_this()](beast::error_code ec, size_t n) {
                              self->OnDetect(ec, n);
                            });
  }

  void OnDetect(beast::error_code ec, size_t n) {
    detecting_ = false;
    if (shut_) return;
    if (ec) {
      MarkClosed();
      if (!writing_) Shutdown();
      return;
    }
    buffer_.commit(n);
    if (streaming_) {  // an event stream's client has nothing to say
      buffer_.consume(buffer_.size());
      return DetectClose();
    }
    if (next_request_waits_) {
      next_request_waits_ = false;
      ReadRequest();
    }
    // Otherwise a pipelined request waits in the buffer until this answer is out.
  }

  void MarkClosed() {
    if (closed_.exchange(true)) return;
    if (on_closed_) {
      std::function<void()> closed = std::move(on_closed_);
      on_closed_ = nullptr;
      closed();
    }
  }

  void Write(std::string data, Then then, std::function<void(bool)> written) {
    if (shut_) {
      if (written) written(false);
      return;
    }
    writes_.push_back(PendingWrite{std::move(data), then, std::move(written)});
    WriteNext();
  }

  void WriteNext() {
    if (writing_ || writes_.empty() || shut_) return;
    writing_ = true;
    Lowest().expires_after(Timeout(options_.write_timeout));
    net::async_write(
        stream_, net::buffer(writes_.front().data),
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnWritten(ec); });
  }

  void OnWritten(beast::error_code ec) {
    writing_ = false;
    if (writes_.empty()) return;  // failed and cleared by Shutdown
    PendingWrite done = std::move(writes_.front());
    writes_.pop_front();
    if (ec) {
      if (done.written) done.written(false);
      return Shutdown();
    }
    if (done.written) done.written(true);
    switch (done.then) {
      case Then::kClose:
        return Shutdown();
      case Then::kNextRequest:
        if (detecting_) {
          next_request_waits_ = true;  // the pending read takes the next request's first bytes
          Lowest().expires_after(Timeout(options_.read_timeout));
        } else {
          ReadRequest();
        }
        break;
      case Then::kNothing:
        if (writes_.empty()) Lowest().expires_never();  // a quiet event stream stays open
        break;
    }
    WriteNext();
  }

  void FailWrites() {
    std::deque<PendingWrite> failed;
    failed.swap(writes_);
    for (PendingWrite& write : failed) {
      if (write.written) write.written(false);
    }
  }

  HttpServer::Impl& server_;
  const HttpServerOptions& options_;
  uint64_t id_ = 0;
  Stream stream_;
  net::steady_timer heartbeat_;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::deque<PendingWrite> writes_;
  std::function<void()> on_closed_;
  std::atomic<bool> closed_{false};
  bool keep_alive_ = false;
  bool streaming_ = false;
  bool writing_ = false;
  bool detecting_ = false;
  bool next_request_waits_ = false;
  bool shut_ = false;
};

absl::StatusOr<tcp::endpoint> ParseEndpoint(const std::string& listen) {
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) ||
      port < 0 || port > 65535) {
    return absl::InvalidArgumentError("http_listen: use host:port, e.g. 127.0.0.1:8080");
  }
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost") host = "127.0.0.1";
  beast::error_code ec;
  net::ip::address address = net::ip::make_address(host.empty() ? "0.0.0.0" : host, ec);
  if (ec) return absl::InvalidArgumentError("http_listen: " + host + " is not an IP address");
  return tcp::endpoint(address, static_cast<uint16_t>(port));
}

}  // namespace

absl::Status HttpServer::Impl::Start(RequestHandler& handler) {
  handler_ = &handler;
  absl::StatusOr<tcp::endpoint> endpoint = ParseEndpoint(options_.listen);
  if (!endpoint.ok()) return endpoint.status();
  if (!options_.tls_cert_file.empty()) {
    tls_.emplace(net::ssl::context::tls_server);
    tls_->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                      net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                      net::ssl::context::no_tlsv1_1);
    beast::error_code ec;
    tls_->use_certificate_chain_file(options_.tls_cert_file, ec);
    if (!ec) tls_->use_private_key_file(options_.tls_key_file, net::ssl::context::pem, ec);
    if (!ec && !options_.tls_client_ca_file.empty()) {
      tls_->load_verify_file(options_.tls_client_ca_file, ec);
      tls_->set_verify_mode(net::ssl::verify_peer | net::ssl::verify_fail_if_no_peer_cert);
    }
    if (ec) return absl::InvalidArgumentError("HTTPS: cannot load the TLS files: " + ec.message());
  }
  beast::error_code ec;
  acceptor_.emplace(io_);
  acceptor_->open(endpoint->protocol(), ec);
  if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(*endpoint, ec);
  if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return absl::UnavailableError("cannot listen on " + options_.listen + ": " + ec.message());
  port_ = acceptor_->local_endpoint().port();
  work_.emplace(net::make_work_guard(io_));
  Accept();
  for (int i = 0; i < options_.threads; ++i) threads_.emplace_back([this] { io_.run(); });
  return absl::OkStatus();
}

void HttpServer::Impl::Accept() {
  acceptor_->async_accept(net::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
    if (!ec) {
      if (connections_.load() >= options_.max_connections) {
        beast::error_code ignored;
        socket.close(ignored);  // over the limit: refused at once
      } else if (tls_) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(*this, std::move(socket),
                                                                        *tls_)
            ->Begin();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(*this, std::move(socket))->Begin();
      }
    }
    Accept();
  });
}

void HttpServer::Impl::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (acceptor_) {
    net::post(io_, [this] {
      beast::error_code ignored;
      acceptor_->close(ignored);
    });
  }
  std::unordered_map<uint64_t, std::function<void()>> closers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
    closers.swap(closers_);
  }
  for (auto& [id, close] : closers) close();
  // The threads end when every connection is closed; answers that come later stay queued
  // and are dropped with the context.
  work_.reset();
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

HttpServer::HttpServer(HttpServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpServer::~HttpServer() { Stop(); }
absl::Status HttpServer::Start(RequestHandler& handler) { return impl_->Start(handler); }
int HttpServer::port() const { return impl_->port_; }
void HttpServer::Stop() { impl_->Stop(); }
size_t HttpServer::open_connections() const { return impl_->connections_.load(); }

}  // namespace jobd::http
