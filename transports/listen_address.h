// A listener's address as configured: "ADDR:PORT" ("127.0.0.1:8443",
// "[::1]:8443"; port 0 picks a free one). Shared by the portal and the
// staff console.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <optional>
#include <string>

namespace itaku::transports {

// The endpoint `text` names; nullopt when it is not ADDR:PORT with a
// literal IPv4 or bracketed IPv6 address and a port up to 65535.
std::optional<boost::asio::ip::tcp::endpoint> ParseListenAddress(const std::string& text);

}  // namespace itaku::transports
