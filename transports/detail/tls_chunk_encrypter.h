// The portal's download fast path: file bytes encrypted by OpenSSL straight
// into TLS records in one buffer, which the session hands to the TCP socket
// with one write. asio's ssl::stream would take one 16 KiB record at a time
// through a BIO pair (copied twice) with one socket write each.
//
// Use only when asio's stream has nothing buffered (its last write has
// completed): Encrypt() swaps the SSL's write BIO for its own while it
// writes and puts the original back, so the stream carries on with the
// record sequence moved forward. Not thread-safe; one per session.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <string>
#include <vector>

#include "transports/detail/openssl_handles.h"

namespace itaku::transports::detail {

class TlsChunkEncrypter {
 public:
  // Reads up to `want` bytes of `fd` from `offset` and encrypts them as
  // `ssl`'s next TLS records into *cipher (replacing its content), with the
  // number of file bytes that are in it in *plain_bytes. False when nothing
  // could be read or encrypted. A read error after some bytes were read
  // leaves those bytes in *cipher, returns true, and says why in
  // *read_error ("file shorter than recorded", or the errno text).
  bool Encrypt(SSL* ssl, int fd, uint64_t offset, uint64_t want, std::string* cipher,
               uint64_t* plain_bytes, std::string* read_error);

  // Frees the read buffer, so an idle connection keeps none.
  void Release() { std::vector<char>().swap(plain_); }

 private:
  BioPtr bio_;  // appends to the string set as its data
  std::vector<char> plain_;
};

}  // namespace itaku::transports::detail
