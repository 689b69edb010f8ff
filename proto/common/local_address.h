// Whether a gRPC address is on this machine: jobd's --listen (plaintext only there unless
// allowed) and jobctl's --address (a found admin key file is only sent there) ask alike.
#pragma once

#include <string>

namespace jobd {

// True for localhost, 127.0.0.0/8 and ::1 (parsed as addresses: a name that starts with
// "127." is not local), with or without a port, as plain hosts or as dns:/ipv4:/ipv6:
// targets, and for unix: sockets.
bool IsLocalAddress(const std::string& address);

}  // namespace jobd
