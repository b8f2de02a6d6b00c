// How corrective-action notices travel: the SMTP settings and letters
// folder from flags, environment and config, sending with retries, and the
// requester's contact details picked from an export.
#pragma once

#include <optional>
#include <string>

#include "contracts/base/status.h"
#include "gateway/requests.h"

namespace itaku::gateway {

inline constexpr const char* kDefaultOperatorName = "当社";  // set [requests] operator_name

struct MailSetup {
  std::optional<SmtpSettings> smtp;  // absent: no SMTP configured
  std::string templates_dir;
  std::string operator_name = kDefaultOperatorName;
  std::string letters_dir;
};

// --smtp, $ITAKU_SMTP or the config's [smtp]; the letters folder; the
// operator's name for notices.
Result<MailSetup> ResolveMail(Context& ctx, const MailConfig& config);

// Sends with retries; the last error when every attempt failed.
Result<std::string> SendWithRetries(const SmtpSettings& smtp, const MailMessage& message,
                                    const MailConfig& config);

struct Contact {
  std::string name, postal_code, address, email;
};

// Reads the subscriber's row from an export through the projector (any
// encoding and header style the projector takes), keeping nothing else.
Result<std::optional<Contact>> FindContact(const std::string& export_path,
                                           const std::string& subscriber_id);

}  // namespace itaku::gateway
