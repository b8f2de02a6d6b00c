#include "gateway/operator_identity.h"

#include "contracts/base/strings.h"
#include "contracts/config.h"

namespace itaku::gateway {

Result<OperatorIdentity> LoadOperatorIdentity(const std::string& config_file,
                                              const std::string& caller_config) {
  auto daemon = contracts::Config::Load(config_file);
  if (!daemon.ok()) return daemon.status();
  auto caller = contracts::Config::Load(caller_config);
  if (!caller.ok()) return caller.status();
  auto setting = [&](const char* key, const std::string& fallback) {
    return caller->String("requests", key, daemon->String("requests", key, fallback));
  };
  OperatorIdentity op;
  op.name = setting("operator_name", op.name);
  op.postal_code = setting("operator_postal_code", "");
  op.address = setting("operator_address", "");
  op.phone = setting("operator_phone", "");
  op.wareki = caller->Bool("requests", "wareki", daemon->Bool("requests", "wareki", false));
  if (!daemon->status().ok()) return daemon->status();
  if (!caller->status().ok()) return caller->status();
  return op;
}

std::string PlaceholderRefusal(const OperatorIdentity& op, std::string_view what,
                               const std::vector<std::string_view>& needs) {
  std::vector<std::string> unset;
  for (std::string_view key : needs) {
    const bool missing =
        (key == "operator_name" && (op.name.empty() || op.name == kDefaultOperatorName)) ||
        (key == "operator_address" && op.address.empty()) ||
        (key == "operator_phone" && op.phone.empty());
    if (missing) unset.emplace_back(key);
  }
  if (unset.empty()) return "";
  return std::string(what) + " needs the operator's own details: set [requests] " + Join(unset) +
         " in the daemon's config (serve --config)";
}

std::vector<std::string> SenderLines(const OperatorIdentity& op) {
  std::vector<std::string> lines{op.name};
  std::string postal = op.postal_code;
  if (postal.size() == 7 && postal.find('-') == std::string::npos) postal.insert(3, "-");
  if (!postal.empty() || !op.address.empty()) {
    lines.push_back((postal.empty() ? "" : "〒" + postal + " ") + op.address);
  }
  if (!op.phone.empty()) lines.push_back("電話 " + op.phone);
  return lines;
}

std::string JapaneseDate(const Date& day, bool wareki) {
  const int y = static_cast<int>(day.year());
  const unsigned m = static_cast<unsigned>(day.month());
  const unsigned d = static_cast<unsigned>(day.day());
  const std::string md = std::to_string(m) + "月" + std::to_string(d) + "日";
  // 令和 began on 2019-05-01; earlier days keep the Western year.
  if (!wareki || y < 2019 || (y == 2019 && m < 5)) return std::to_string(y) + "年" + md;
  const int era_year = y - 2018;
  return "令和" + (era_year == 1 ? std::string("元") : std::to_string(era_year)) + "年" + md;
}

}  // namespace itaku::gateway
