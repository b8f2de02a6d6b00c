#include "transports/transport.h"

#include <algorithm>

namespace itaku::transports {

const std::vector<std::string_view>& KnownTransports() {
  // paper: 書面, sftp: 電子データの伝送, media: 電子記録媒体の引渡し,
  // portal: サーバへのアクセス.
  static const std::vector<std::string_view> kNames = {"media", "sftp", "portal", "paper"};
  return kNames;
}

bool IsKnownTransport(std::string_view name) {
  const auto& names = KnownTransports();
  return std::find(names.begin(), names.end(), name) != names.end();
}

}  // namespace itaku::transports
