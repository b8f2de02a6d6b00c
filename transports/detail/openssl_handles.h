// RAII owners for the OpenSSL handles transports/ uses, and one helper that
// turns the thread's OpenSSL error queue into a line a person can read.
#pragma once

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <memory>
#include <string>

namespace itaku::transports::detail {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct CmsFree {
  void operator()(CMS_ContentInfo* c) const { CMS_ContentInfo_free(c); }
};
struct CipherFree {
  void operator()(EVP_CIPHER* c) const { EVP_CIPHER_free(c); }
};
struct X509StackFree {
  // The stack only borrows its certificates.
  void operator()(STACK_OF(X509) * s) const { sk_X509_free(s); }
};

using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using CmsPtr = std::unique_ptr<CMS_ContentInfo, CmsFree>;
using CipherPtr = std::unique_ptr<EVP_CIPHER, CipherFree>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;

// Drains the thread's OpenSSL error queue; returns the first reason
// ("unwrap failure"), or "unknown OpenSSL error" when the queue is empty.
std::string TakeOpenSslError();

// Parses the first certificate of a PEM text; null when there is none.
X509Ptr ParsePemCertificate(const std::string& pem);

}  // namespace itaku::transports::detail
