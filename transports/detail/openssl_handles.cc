#include "transports/detail/openssl_handles.h"

#include <openssl/err.h>
#include <openssl/pem.h>

namespace itaku::transports::detail {

std::string TakeOpenSslError() {
  unsigned long first = ERR_get_error();
  ERR_clear_error();
  if (first == 0) return "unknown OpenSSL error";
  const char* reason = ERR_reason_error_string(first);
  if (reason != nullptr) return reason;
  char buf[256];
  ERR_error_string_n(first, buf, sizeof buf);
  return buf;
}

X509Ptr ParsePemCertificate(const std::string& pem) {
  BioPtr in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!in) return nullptr;
  X509Ptr cert(PEM_read_bio_X509(in.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  return cert;
}

}  // namespace itaku::transports::detail
