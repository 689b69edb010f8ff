#include "proto/common/local_address.h"

#include <algorithm>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"

namespace jobd {

bool IsLocalAddress(const std::string& address) {
  if (absl::StartsWith(address, "unix:")) return true;
  std::string host = address;
  for (absl::string_view scheme : {"dns:///", "dns:", "ipv4:", "ipv6:"}) {
    if (absl::StartsWith(host, scheme)) {
      host = host.substr(scheme.size());
      break;
    }
  }
  if (!host.empty() && host[0] == '[') {  // [::1]:50051
    const size_t close = host.find(']');
    host = close == std::string::npos ? host : host.substr(1, close - 1);
  } else if (std::count(host.begin(), host.end(), ':') == 1) {  // 127.0.0.1:50051
    host = host.substr(0, host.find(':'));
  }
  host = absl::AsciiStrToLower(host);
  if (host == "localhost") return true;
  // Parsed, not matched by prefix: "127.0.0.1.evil.example" is a name, not a loopback address.
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;  // ::ffff:127.x.y.z
  }
  return false;
}

}  // namespace jobd
