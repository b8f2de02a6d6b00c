// The packages an in-memory portal backend offers, by id, some of them gone
// (expired, used up or withdrawn): what the portal tests' stand-ins for the
// store answer Available() and Find() from.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "transports/portal_backend.h"

namespace itaku::transports::test_util {

struct PackageShelf {
  std::map<std::string, PortalPackage> packages;
  std::set<std::string> gone;

  void Put(const PortalPackage& p, bool is_gone = false) {
    packages[p.id] = p;
    if (is_gone) gone.insert(p.id);
  }

  // The contractor's packages that are not gone.
  std::vector<PortalPackage> Available(const std::string& contractor_id) const {
    std::vector<PortalPackage> out;
    for (const auto& [id, p] : packages) {
      if (p.contractor_id == contractor_id && !gone.count(id)) out.push_back(p);
    }
    return out;
  }

  // Another contractor's package is as absent as one that never was.
  PortalBackend::Access Find(const std::string& contractor_id, const std::string& package_id,
                             PortalPackage* out) const {
    auto it = packages.find(package_id);
    if (it == packages.end() || it->second.contractor_id != contractor_id) {
      return PortalBackend::Access::kNotFound;
    }
    *out = it->second;
    return gone.count(package_id) ? PortalBackend::Access::kGone : PortalBackend::Access::kOk;
  }
};

}  // namespace itaku::transports::test_util
