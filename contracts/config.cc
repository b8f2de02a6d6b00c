#include "contracts/config.h"

#include <toml++/toml.h>

#include <fstream>
#include <sstream>

#include "contracts/profile_toml.h"

namespace itaku::contracts {

struct Config::Table {
  toml::table toml;
};

namespace {

Status SyntaxError(const std::string& name, const toml::parse_error& e) {
  return Status::Error(name + ":" + std::to_string(e.source().begin.line) + ": " +
                       std::string(e.description()));
}

}  // namespace

Result<Config> Config::Load(const std::string& path) {
  if (path.empty()) return Config(path, nullptr);
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Io(path + ": cannot read the configuration");
  std::ostringstream text;
  text << in.rdbuf();
  if (int64_t line = TomlLineOfNonAsciiOutsideText(text.str()); line > 0) {
    return Status::Error(path + ":" + std::to_string(line) +
                         ": only ASCII may stand outside quotes and comments (TOML keys are ASCII)");
  }
  try {
    auto table = std::make_shared<Table>(Table{toml::parse(text.str(), path)});
    return Config(path, std::move(table));
  } catch (const toml::parse_error& e) {
    return SyntaxError(path, e);
  }
}

template <typename T>
T Config::Get(std::string_view section, std::string_view key, T fallback, const char* type) {
  if (!table_) return fallback;
  const toml::node* node = table_->toml[section][key].node();
  if (node == nullptr) return fallback;
  // Exact types only: toml++ would turn 1 into true or 1.5 into 1.
  if (node->is<T>()) return *node->value<T>();
  if (status_.ok()) {
    status_ = Status::Error(name_ + ": [" + std::string(section) + "] " + std::string(key) +
                            " must be " + type);
  }
  return fallback;
}

std::string Config::String(std::string_view section, std::string_view key, std::string fallback) {
  return Get<std::string>(section, key, std::move(fallback), "a string");
}

int64_t Config::Int(std::string_view section, std::string_view key, int64_t fallback) {
  return Get<int64_t>(section, key, fallback, "a whole number");
}

bool Config::Bool(std::string_view section, std::string_view key, bool fallback) {
  return Get<bool>(section, key, fallback, "true or false");
}

}  // namespace itaku::contracts
