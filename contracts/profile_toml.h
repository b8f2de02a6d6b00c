// Reading a contract profile from its TOML file. Shape only: required keys,
// types, dates. Whether the fields fit the purpose is policies/' business.
#pragma once

#include <string>

#include "contracts/base/status.h"
#include "contracts/types.h"

namespace itaku::contracts {

// `file_name` is used in error messages: "billing.toml: missing key 'purpose'".
// Fills every ContractProfile member except version and imported_*;
// source = text, source_sha256 = its SHA-256 in lowercase hex.
Result<ContractProfile> ParseProfileToml(const std::string& text, const std::string& file_name);

}  // namespace itaku::contracts
