#include "transports/listen_address.h"

#include <charconv>

namespace itaku::transports {

namespace net = boost::asio;
using tcp = net::ip::tcp;

std::optional<tcp::endpoint> ParseListenAddress(const std::string& text) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) return std::nullopt;
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned port = 0;
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  auto [end, ec] = std::from_chars(first, last, port);
  if (ec != std::errc() || end != last || port > 65535) return std::nullopt;
  boost::system::error_code aec;
  auto address = net::ip::make_address(host, aec);
  if (aec) return std::nullopt;
  return tcp::endpoint(address, static_cast<unsigned short>(port));
}

}  // namespace itaku::transports
