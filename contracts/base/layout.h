// Where Itaku keeps what it owns beside the store file: one folder,
// "<db>.d", readable by the service account alone. The only place these
// names are spelled.
#pragma once

#include <string>

namespace itaku {

class StoreLayout {
 public:
  explicit StoreLayout(std::string db_path) : root_(std::move(db_path) + ".d") {}

  const std::string& Root() const { return root_; }               // "<db>.d"
  std::string Documents() const { return root_ + "/documents"; }  // NDA scans, consent evidence
  std::string Outbox() const { return root_ + "/outbox"; }        // SFTP packages being sent
  std::string Portal() const { return root_ + "/portal"; }        // packages on the portal
  std::string Paper() const { return root_ + "/paper"; }          // printable PDFs until handover
  std::string Keys() const { return root_ + "/keys"; }            // SFTP client keys
  std::string AuditKeys() const {
    return root_ + "/audit-keys";
  }  // the chain's HMAC and signing keys
  std::string ConsoleKeys() const { return root_ + "/console-keys"; }  // seals TOTP secrets
  std::string Letters() const { return root_ + "/letters"; }           // printable letters
  std::string Templates() const { return root_ + "/templates"; }  // the operator's notice texts
  // Certificates of disposal being uploaded to the portal, until recorded.
  std::string PortalUploads() const { return root_ + "/portal-uploads"; }

 private:
  const std::string root_;
};

}  // namespace itaku
