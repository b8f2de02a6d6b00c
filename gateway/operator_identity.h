// Who the operator is on paper: the name, address and telephone printed on
// handover slips, letters and e-mail, from the daemon's config file
// ([requests] operator_name, operator_postal_code, operator_address,
// operator_phone, wareki; [smtp] from). Built-in placeholders stand in until
// they are set, and nothing that leaves the building is made while one
// does: a letter signed 「当社」 or mail from privacy@localhost tells the
// recipient nothing and cannot be answered.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "contracts/base/date.h"
#include "contracts/base/status.h"

namespace itaku::gateway {

inline constexpr const char* kDefaultOperatorName = "当社";         // set [requests] operator_name
inline constexpr const char* kDefaultSender = "privacy@localhost";  // set [smtp] from

struct OperatorIdentity {
  std::string name = kDefaultOperatorName;
  std::string postal_code;  // "1234567" or "123-4567"
  std::string address;
  std::string phone;
  bool wareki = false;  // dates as 令和8年12月2日 instead of 2026年12月2日
};

// From `config_file` ("" for none: every placeholder); `caller_config`
// (a command's --config, may be "") overrides the daemon's values.
Result<OperatorIdentity> LoadOperatorIdentity(const std::string& config_file,
                                              const std::string& caller_config = "");

// The settings still at their placeholders among those `what` needs, as a
// refusal naming each, or "" when none is:
//   "a letter needs the operator's own details: set [requests] operator_address,
//    operator_phone in the daemon's config (serve --config)"
// `needs` lists the settings ("operator_name", "operator_address",
// "operator_phone").
std::string PlaceholderRefusal(const OperatorIdentity& op, std::string_view what,
                               const std::vector<std::string_view>& needs);

// The sender block of a letter: name, 〒 and address, 電話.
std::vector<std::string> SenderLines(const OperatorIdentity& op);

// A day as printed on paper: "2026年12月2日", or with wareki "令和8年12月2日"
// (令和 from 2019-05-01; 令和元年 for its first year).
std::string JapaneseDate(const Date& day, bool wareki);

}  // namespace itaku::gateway
