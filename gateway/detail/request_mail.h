// How corrective-action notices travel: the SMTP settings and letters
// folder from flags, environment and config, sending with retries, and the
// requester's contact details picked from an export.
#pragma once

#include <optional>
#include <string>

#include "contracts/base/status.h"
#include "gateway/operator_identity.h"
#include "gateway/requests.h"

namespace itaku::gateway {

struct MailSetup {
  std::optional<SmtpSettings> smtp;  // absent: no SMTP configured
  std::string templates_dir;
  OperatorIdentity op;      // who signs notices and letters
  bool sender_set = false;  // [smtp] from (or $ITAKU_SMTP_FROM) is set
  std::string letters_dir;
};

// --smtp, $ITAKU_SMTP or the config's [smtp]; the letters folder; the
// operator's name, address and phone for notices and letters.
Result<MailSetup> ResolveMail(Context& ctx, const MailConfig& config);

// Why no e-mail may go out yet (the operator's name or the sender address
// still the built-in placeholders), or "":
//   "e-mail needs the operator's own details: set [requests] operator_name,
//    [smtp] from in the daemon's config (serve --config)"
std::string MailRefusal(const MailSetup& mail);
// Why no letter may be printed yet (name, address or phone unset), or "".
std::string LetterRefusal(const MailSetup& mail);

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
