// Inspection of a contractor's X.509 certificate before packages are
// encrypted to it: is it a certificate at all, is it valid today, is its key
// strong enough. A plain function of the PEM text and the time handed in.
#pragma once

#include <openssl/types.h>

#include <chrono>
#include <string>

#include "contracts/base/status.h"

namespace itaku::transports {

struct CertificateInfo {
  // "SHA256:" then the 32 digest bytes as uppercase hex joined by ':'; the
  // part after "SHA256:" equals what `openssl x509 -noout -fingerprint
  // -sha256` prints after "sha256 Fingerprint=".
  std::string fingerprint;
  std::string subject;     // RFC 2253, UTF-8: "CN=agency-a,O=Agency A"
  std::string not_before;  // UTC, "2026-01-31T00:00:00Z"
  std::string not_after;
  std::chrono::system_clock::time_point not_before_time;
  std::chrono::system_clock::time_point not_after_time;
  std::string key_type;  // "RSA" or "EC"
  int key_bits = 0;      // RSA modulus bits; EC field bits (256 for P-256)
};

// Reads the first certificate of `pem` and checks it against `now`.
// Refuses, with exactly one of these lines:
//   "not a PEM certificate"
//   "certificate expired on 2026-01-31 (not after)"
//   "certificate is not valid until 2026-01-31 (not before)"
//   "certificate RSA key is 1024 bits; at least 2048 required"
//   "certificate key type ED25519 cannot receive packages; RSA or EC required"
// Dates are UTC. A certificate is valid from not_before to not_after
// inclusive.
Result<CertificateInfo> InspectCertificate(const std::string& pem,
                                           std::chrono::system_clock::time_point now);

// The certificate's fingerprint as CertificateInfo::fingerprint holds it
// (the portal's identity of a client); "" when it cannot be computed.
std::string CertificateFingerprint(X509* cert);

}  // namespace itaku::transports
