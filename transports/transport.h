// A transport carries a finished package to one destination. It knows bytes,
// files, endpoints and keys; it never knows why the data is sent (no
// profiles, no purposes). Each mechanism of policy 6(2) is one
// implementation: media, sftp, portal, paper (added by later work).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace itaku::transports {

// The means of provision policy 6(2) allows, by their CLI names.
const std::vector<std::string_view>& KnownTransports();
bool IsKnownTransport(std::string_view name);

}  // namespace itaku::transports
