// A write-only std::streambuf over an OpenSSL BIO, so a std::ostream (and so
// Poco::Zip::Compress) can write straight into a CMS streaming BIO chain.
//
// sync() only hands buffered bytes to BIO_write; it never calls BIO_flush,
// because flushing a BIO_new_CMS chain finalises the envelope. The owner
// calls BIO_flush itself once all content is written.
// Not thread-safe. Does not own the BIO.
#pragma once

#include <openssl/bio.h>

#include <streambuf>
#include <string>
#include <vector>

namespace itaku::transports::detail {

class BioStreambuf : public std::streambuf {
 public:
  explicit BioStreambuf(BIO* bio, size_t buffer_size = 256 * 1024);
  BioStreambuf(const BioStreambuf&) = delete;
  BioStreambuf& operator=(const BioStreambuf&) = delete;

  // True once a BIO_write failed; every later write fails too.
  bool failed() const { return failed_; }
  // The OpenSSL reason of the first failure; empty when none.
  const std::string& error() const { return error_; }

 protected:
  int_type overflow(int_type ch) override;
  std::streamsize xsputn(const char* s, std::streamsize n) override;
  int sync() override;

 private:
  bool Drain();
  bool WriteAll(const char* data, size_t size);

  BIO* const bio_;
  std::vector<char> buffer_;
  bool failed_ = false;
  std::string error_;
};

}  // namespace itaku::transports::detail
