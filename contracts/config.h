// The operator's configuration file (TOML, e.g. /etc/itaku/itaku.toml): one
// reader for every section ([smtp], [requests], [portal], ...). A missing
// file name means "no file": every value is its fallback. A value of the
// wrong type is not ignored: status() names the file, section and key.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "contracts/base/status.h"

namespace itaku::contracts {

class Config {
 public:
  // Parses `path` ("" = no file). A syntax error names the file and line.
  static Result<Config> Load(const std::string& path);

  std::string String(std::string_view section, std::string_view key, std::string fallback);
  int64_t Int(std::string_view section, std::string_view key, int64_t fallback);
  bool Bool(std::string_view section, std::string_view key, bool fallback);

  // The first value read with the wrong type: "itaku.toml: [portal] listen
  // must be a string".
  const Status& status() const { return status_; }

  struct Table;  // the parsed document (toml++), opaque to callers

 private:
  Config(std::string name, std::shared_ptr<const Table> table)
      : name_(std::move(name)), table_(std::move(table)) {}
  template <typename T>
  T Get(std::string_view section, std::string_view key, T fallback, const char* type);

  std::string name_;
  std::shared_ptr<const Table> table_;  // null: no file
  Status status_;
};

}  // namespace itaku::contracts
