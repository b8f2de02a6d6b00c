// Rules of a delivery that are not the decision itself (decision.h): what a
// package may carry and how long the portal keeps it. Pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "contracts/types.h"

namespace itaku::policies {

// A house drawing travels only when the profile sends house_drawing unmasked.
bool SendsDrawings(const contracts::ContractProfile& profile);

// A drawing's file name as the export gives it must name a plain file in
// the attachments folder: no folders, no "..", printable ASCII (it becomes
// a ZIP entry name).
bool PlainDrawingName(std::string_view name);

// "7d", "48h", "30m": how long a portal package stays available; nullopt
// unless it is more than nothing and at most 90 days.
std::optional<std::chrono::seconds> ParsePortalLifetime(const std::string& text);

// How many complete downloads a portal package may allow: 1 to 1,000,000.
inline bool ValidMaxDownloads(int n) { return n >= 1 && n <= 1000000; }

// Why a portal package can no longer be downloaded at `now` (UTC,
// "YYYY-MM-DDTHH:MM:SSZ"): "revoked", "expired" or "used up"; empty when it
// can.
std::string PortalGoneReason(const contracts::PortalPackageRecord& package, const std::string& now);

}  // namespace itaku::policies
