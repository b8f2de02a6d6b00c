#include "transports/certificate.h"

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>

#include <cctype>
#include <cstdio>
#include <ctime>

#include "contracts/base/date.h"
#include "contracts/base/hex.h"
#include "transports/detail/openssl_handles.h"

namespace itaku::transports {
namespace {

using std::chrono::system_clock;

bool ToTimePoint(const ASN1_TIME* t, system_clock::time_point* out) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return false;
  std::chrono::year_month_day day{std::chrono::year(tm.tm_year + 1900),
                                  std::chrono::month(static_cast<unsigned>(tm.tm_mon + 1)),
                                  std::chrono::day(static_cast<unsigned>(tm.tm_mday))};
  if (!day.ok()) return false;
  *out = std::chrono::sys_days(day) + std::chrono::hours(tm.tm_hour) +
         std::chrono::minutes(tm.tm_min) + std::chrono::seconds(tm.tm_sec);
  return true;
}

std::string DayOf(system_clock::time_point t) {
  return FormatDate(Date(std::chrono::floor<std::chrono::days>(t)));
}

}  // namespace

bool CertificateValidity(X509* cert, system_clock::time_point* not_before,
                         system_clock::time_point* not_after) {
  return cert != nullptr && ToTimePoint(X509_get0_notBefore(cert), not_before) &&
         ToTimePoint(X509_get0_notAfter(cert), not_after);
}

std::string CertificateValidityRefusal(system_clock::time_point not_before,
                                       system_clock::time_point not_after,
                                       system_clock::time_point now) {
  if (now >= not_before && now <= not_after) return "";
  const std::string valid = " (valid " + DayOf(not_before) + " to " + DayOf(not_after) + ")";
  if (now > not_after) return "certificate expired on " + DayOf(not_after) + valid;
  return "certificate is not valid until " + DayOf(not_before) + valid;
}

std::string CertificateFingerprint(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (X509_digest(cert, EVP_sha256(), md, &len) != 1) return "";
  std::string out = "SHA256:";
  for (unsigned int i = 0; i < len; ++i) {
    if (i > 0) out.push_back(':');
    AppendHex(&out, md + i, 1, /*upper=*/true);
  }
  return out;
}

namespace {

std::string Subject(X509* cert) {
  detail::BioPtr mem(BIO_new(BIO_s_mem()));
  if (!mem) return "";
  X509_NAME_print_ex(mem.get(), X509_get_subject_name(cert), 0,
                     XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
  char* data = nullptr;
  long len = BIO_get_mem_data(mem.get(), &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : "";
}

}  // namespace

Result<CertificateInfo> InspectCertificate(const std::string& pem, system_clock::time_point now) {
  detail::X509Ptr cert;
  if (pem.size() <= 1024 * 1024) cert = detail::ParsePemCertificate(pem);
  if (!cert) return Status::Error("not a PEM certificate");

  CertificateInfo info;
  if (!CertificateValidity(cert.get(), &info.not_before_time, &info.not_after_time)) {
    return Status::Error("not a PEM certificate");
  }
  info.not_before = FormatUtc(info.not_before_time);
  info.not_after = FormatUtc(info.not_after_time);
  if (std::string why = CertificateValidityRefusal(info.not_before_time, info.not_after_time, now);
      !why.empty()) {
    return Status::Error(why);
  }

  EVP_PKEY* key = X509_get0_pubkey(cert.get());
  if (key == nullptr) return Status::Error("not a PEM certificate");
  info.key_bits = EVP_PKEY_get_bits(key);
  switch (EVP_PKEY_get_base_id(key)) {
    case EVP_PKEY_RSA:
      info.key_type = "RSA";
      if (info.key_bits < 2048) {
        return Status::Error("certificate RSA key is " + std::to_string(info.key_bits) +
                             " bits; at least 2048 required");
      }
      break;
    case EVP_PKEY_EC:
      info.key_type = "EC";
      break;
    default: {
      const char* name = OBJ_nid2sn(EVP_PKEY_get_base_id(key));
      std::string type = name != nullptr ? name : "unknown";
      for (char& c : type) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return Status::Error("certificate key type " + type +
                           " cannot receive packages; RSA or EC required");
    }
  }
  info.fingerprint = CertificateFingerprint(cert.get());
  info.subject = Subject(cert.get());
  return info;
}

}  // namespace itaku::transports
