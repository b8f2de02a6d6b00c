// The staff console (委託先データ授受コンソール): server-rendered Japanese
// pages over the same commands, with the same per-command authorisation,
// as the staff API (gateway/staff_session.h). Each request runs as the
// staff member its session cookie names; nothing in a form or header says
// who acts.
//
// Sign-in: staff name, password (argon2id) and a TOTP code. An officer
// issues a one-time enrolment code (`itaku staff enrol-code NAME`, or the
// 職員 page); with it the member sets their password and TOTP at /enrol.
// Five failed sign-ins lock the account, 1 minute doubling to 1 hour.
// Sessions: a random 256-bit id in a `__Host-` cookie (Secure, HttpOnly,
// SameSite=Strict), stored hashed, ended after 15 idle minutes or 8 hours.
// Every POST carries a CSRF token bound to the session (or, before sign-in,
// to a pre-session cookie). Sign-ins, failures, lock-outs and sign-outs are
// in the audit trail.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "gateway/console/console_server.h"
#include "gateway/console/credentials.h"
#include "gateway/staff_session.h"

namespace itaku::gateway::console {

struct ConsoleOptions {
  StaffSessionOptions staff;  // as the staff API's
  std::string keys_dir;       // "<db>.d/console-keys": the key that seals TOTP secrets
  std::string staged_root;    // "<db>.d/console": uploads between the dry run and the delivery
  int idle_minutes = 15;
  int absolute_hours = 8;
  std::string issuer = "Itaku";  // shown in the authenticator app
};

class ConsoleApp final : public ConsoleHandler {
 public:
  static Result<std::unique_ptr<ConsoleApp>> Create(const ConsoleOptions& options);
  ~ConsoleApp() override;

  std::variant<std::string, WebResponse> UploadFolder(const WebRequest& head) override;
  WebResponse Handle(WebRequest& request) override;

  struct Impl;

 private:
  explicit ConsoleApp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace itaku::gateway::console
