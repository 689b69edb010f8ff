#include "tests/support/http_client.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"

namespace jobd::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

// Runs one asynchronous operation (started by `start`, which calls its handler with an
// error code) for at most `timeout`; a late one is cancelled (operation_aborted).
template <typename Start>
beast::error_code RunFor(net::io_context& io, tcp::socket& socket, absl::Duration timeout,
                         Start start) {
  beast::error_code result;
  bool done = false;
  start([&](beast::error_code ec) {
    result = ec;
    done = true;
  });
  io.restart();
  io.run_for(absl::ToChronoNanoseconds(std::max(timeout, absl::Milliseconds(1))));
  if (!done) {
    beast::error_code ignored;
    socket.cancel(ignored);
    io.restart();
    io.run();
  }
  return result;
}

}  // namespace

Headers Bearer(const std::string& key) {
  if (key.empty()) return {};
  return {{"Authorization", "Bearer " + key}};
}

HttpReply HttpCall(int port, const std::string& method, const std::string& target,
                   const std::string& body, const Headers& headers, absl::Duration timeout) {
  HttpReply reply;
  net::io_context io;
  tcp::socket socket(io);
  beast::error_code ec;
  socket.connect(tcp::endpoint(net::ip::address_v4::loopback(), static_cast<uint16_t>(port)), ec);
  if (ec) return reply;
  bhttp::request<bhttp::string_body> request(bhttp::string_to_verb(method), target, 11);
  request.set(bhttp::field::host, "127.0.0.1");
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  if (!body.empty() || method == "POST") request.prepare_payload();
  const absl::Time deadline = absl::Now() + timeout;
  ec = RunFor(io, socket, timeout, [&](auto done) {
    bhttp::async_write(socket, request, [done](beast::error_code ec, size_t) { done(ec); });
  });
  if (ec) return reply;
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(64 << 20);
  ec = RunFor(io, socket, deadline - absl::Now(), [&](auto done) {
    bhttp::async_read(socket, buffer, parser, [done](beast::error_code ec, size_t) { done(ec); });
  });
  if (ec) return reply;
  const auto& response = parser.get();
  reply.status = response.result_int();
  for (const auto& field : response) {
    reply.headers.emplace(absl::AsciiStrToLower(std::string(field.name_string())),
                          std::string(field.value()));
  }
  reply.body = response.body();
  return reply;
}

std::string RawHttp(int port, const std::string& bytes, absl::Duration timeout) {
  net::io_context io;
  tcp::socket socket(io);
  beast::error_code ec;
  socket.connect(tcp::endpoint(net::ip::address_v4::loopback(), static_cast<uint16_t>(port)), ec);
  if (ec) return "";
  net::write(socket, net::buffer(bytes), ec);
  std::string out;
  char chunk[4096];
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    size_t n = 0;
    ec = RunFor(io, socket, deadline - absl::Now(), [&](auto done) {
      socket.async_read_some(net::buffer(chunk), [done, &n](beast::error_code ec, size_t read) {
        n = read;
        done(ec);
      });
    });
    out.append(chunk, n);
    if (ec) break;
  }
  return out;
}

struct SseReader::Impl {
  net::io_context io;
  tcp::socket socket{io};
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
};

SseReader::SseReader(int port, const std::string& target, const Headers& headers)
    : impl_(std::make_unique<Impl>()) {
  beast::error_code ec;
  impl_->socket.connect(tcp::endpoint(net::ip::address_v4::loopback(), static_cast<uint16_t>(port)),
                        ec);
  if (ec) {
    ended_ = true;
    return;
  }
  bhttp::request<bhttp::empty_body> request(bhttp::verb::get, target, 11);
  request.set(bhttp::field::host, "127.0.0.1");
  request.set(bhttp::field::accept, "text/event-stream");
  for (const auto& [name, value] : headers) request.set(name, value);
  bhttp::write(impl_->socket, request, ec);
  impl_->parser.body_limit(boost::none);
  if (!ec) {
    ec = RunFor(impl_->io, impl_->socket, absl::Seconds(20), [&](auto done) {
      bhttp::async_read_header(impl_->socket, impl_->buffer, impl_->parser,
                               [done](beast::error_code ec, size_t) { done(ec); });
    });
  }
  if (ec) {
    ended_ = true;
    return;
  }
  status_ = impl_->parser.get().result_int();
  for (const auto& field : impl_->parser.get()) {
    headers_[absl::AsciiStrToLower(std::string(field.name_string()))] = std::string(field.value());
  }
  if (status_ != 200) {  // an error answer: read its body whole
    while (!impl_->parser.is_done()) {
      char chunk[4096];
      impl_->parser.get().body().data = chunk;
      impl_->parser.get().body().size = sizeof chunk;
      ec = RunFor(impl_->io, impl_->socket, absl::Seconds(20), [&](auto done) {
        bhttp::async_read(impl_->socket, impl_->buffer, impl_->parser,
                          [done](beast::error_code ec, size_t) { done(ec); });
      });
      if (ec == bhttp::error::need_buffer) ec = {};
      if (ec) break;
      error_body_.append(chunk, sizeof chunk - impl_->parser.get().body().size);
    }
    ended_ = true;
  }
}

SseReader::~SseReader() = default;

const std::string& SseReader::header(const std::string& name) const {
  static const std::string kEmpty;
  auto it = headers_.find(name);
  return it == headers_.end() ? kEmpty : it->second;
}

void SseReader::Close() {
  beast::error_code ignored;
  impl_->socket.shutdown(tcp::socket::shutdown_both, ignored);
  impl_->socket.close(ignored);
  ended_ = true;
}

std::optional<SseEvent> SseReader::Next(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    const size_t end = pending_.find("\n\n");
    if (end != std::string::npos) {
      const std::string block = pending_.substr(0, end);
      pending_.erase(0, end + 2);
      SseEvent event;
      for (absl::string_view line : absl::StrSplit(block, '\n')) {
        if (absl::StartsWith(line, ":")) {
          event.comment = true;
          event.data = std::string(line.substr(1));
        } else if (absl::ConsumePrefix(&line, "id: ")) {
          event.id = std::string(line);
        } else if (absl::ConsumePrefix(&line, "event: ")) {
          event.event = std::string(line);
        } else if (absl::ConsumePrefix(&line, "data: ")) {
          event.data = std::string(line);
        }
      }
      return event;
    }
    if (ended_ || impl_->parser.is_done() || absl::Now() > deadline) {
      ended_ = ended_ || impl_->parser.is_done();
      return std::nullopt;
    }
    char chunk[8192];
    impl_->parser.get().body().data = chunk;
    impl_->parser.get().body().size = sizeof chunk;
    beast::error_code ec = RunFor(impl_->io, impl_->socket, deadline - absl::Now(), [&](auto done) {
      bhttp::async_read_some(impl_->socket, impl_->buffer, impl_->parser,
                             [done](beast::error_code ec, size_t) { done(ec); });
    });
    if (ec == bhttp::error::need_buffer) ec = {};
    pending_.append(chunk, sizeof chunk - impl_->parser.get().body().size);
    if (ec) {
      if (ec != net::error::operation_aborted) ended_ = true;  // aborted: our deadline
      if (pending_.find("\n\n") == std::string::npos) return std::nullopt;
    }
  }
}

}  // namespace jobd::testing
