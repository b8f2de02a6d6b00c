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
//   "certificate expired on 2026-01-31 (valid 2025-01-31 to 2026-01-31)"
//   "certificate is not valid until 2026-01-31 (valid 2026-01-31 to 2027-01-31)"
//   "certificate RSA key is 1024 bits; at least 2048 required"
//   "certificate key type ED25519 cannot receive packages; RSA or EC required"
// Dates are UTC. A certificate is valid from not_before to not_after
// inclusive. Registration (package and portal certificates alike) calls
// this, so a certificate outside its validity is never registered.
Result<CertificateInfo> InspectCertificate(const std::string& pem,
                                           std::chrono::system_clock::time_point now);

// The certificate's fingerprint as CertificateInfo::fingerprint holds it
// (the portal's identity of a client); "" when it cannot be computed.
std::string CertificateFingerprint(X509* cert);

// The validity period of `cert` (notBefore, notAfter); false when its dates
// cannot be read.
bool CertificateValidity(X509* cert, std::chrono::system_clock::time_point* not_before,
                         std::chrono::system_clock::time_point* not_after);

// Why a certificate valid from `not_before` to `not_after` (inclusive) may
// not be used at `now`, in InspectCertificate's words ("certificate expired
// on ... (valid ... to ...)", "certificate is not valid until ..."); empty
// when it may. The portal asks this of every client certificate at the
// handshake and on every request.
std::string CertificateValidityRefusal(std::chrono::system_clock::time_point not_before,
                                       std::chrono::system_clock::time_point not_after,
                                       std::chrono::system_clock::time_point now);

}  // namespace itaku::transports
