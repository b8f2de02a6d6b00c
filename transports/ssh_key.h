// Inspection of an SFTP client's private key before it is registered: what
// kind of key it is, whether it is strong enough, whether it needs a
// passphrase, and its public fingerprint as OpenSSH prints it (the
// contractor's IT person adds the public key to its server and can compare).
// A plain function of the key's text; the key itself is never logged.
#pragma once

#include <string>

#include "contracts/base/status.h"

namespace itaku::transports {

struct SshKeyInfo {
  std::string type;         // "ed25519", "ecdsa" or "rsa"
  int bits = 0;             // 256 for ed25519 and P-256; the RSA modulus size
  bool encrypted = false;   // protected by a passphrase
  std::string fingerprint;  // "SHA256:<base64>" of the public key (OpenSSH
                            // format keys); empty for PEM keys
};

// Reads an OpenSSH ("BEGIN OPENSSH PRIVATE KEY") or PEM (PKCS#1, SEC1,
// PKCS#8, encrypted PKCS#8) private key. OpenSSH keys are judged by their
// public half, which needs no passphrase; PEM keys are opened with
// `passphrase` when they are encrypted. Refuses, one line each:
//   "not an SSH private key (OpenSSH or PEM)"
//   "RSA key is 1024 bits; at least 2048 required"
//   "key type ssh-dss is not accepted; use ed25519, ECDSA or RSA >= 2048"
//   "key is protected by a passphrase that was not given" (PEM only)
//   "cannot open the key: wrong passphrase or damaged key" (PEM only)
//   "damaged OpenSSH key"
Result<SshKeyInfo> InspectPrivateKey(const std::string& text, const std::string& passphrase);

}  // namespace itaku::transports
