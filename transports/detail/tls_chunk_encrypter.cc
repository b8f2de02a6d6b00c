#include "transports/detail/tls_chunk_encrypter.h"

#include <openssl/err.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace itaku::transports::detail {
namespace {

constexpr std::size_t kReadBytes = 128 * 1024;

// A write-only BIO that appends to the std::string set as its data.
BIO_METHOD* AppendBioMethod() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "itaku append");
    BIO_meth_set_create(m, [](BIO* b) {
      BIO_set_init(b, 1);
      return 1;
    });
    BIO_meth_set_write(m, [](BIO* b, const char* data, int len) {
      static_cast<std::string*>(BIO_get_data(b))->append(data, static_cast<std::size_t>(len));
      return len;
    });
    BIO_meth_set_ctrl(
        m, [](BIO*, int cmd, long, void*) -> long { return cmd == BIO_CTRL_FLUSH ? 1 : 0; });
    return m;
  }();
  return method;
}

// SSL_write() of all of `data`; false on any failure.
bool WriteAll(SSL* ssl, const char* data, std::size_t n) {
  std::size_t done = 0;
  while (done < n) {
    ERR_clear_error();
    const int w = SSL_write(ssl, data + done, static_cast<int>(n - done));
    if (w <= 0) {
      ERR_clear_error();
      return false;
    }
    done += static_cast<std::size_t>(w);
  }
  return true;
}

}  // namespace

bool TlsChunkEncrypter::Encrypt(SSL* ssl, int fd, uint64_t offset, uint64_t want,
                                std::string* cipher, uint64_t* plain_bytes,
                                std::string* read_error) {
  if (!bio_) {
    bio_.reset(BIO_new(AppendBioMethod()));
    if (!bio_) return false;
  }
  BIO_set_data(bio_.get(), cipher);
  plain_.resize(kReadBytes);
  cipher->clear();
  // TLS records of at most 16 KiB, each with at most 64 bytes of overhead.
  cipher->reserve(want + (want / 16384 + 1) * 64 + 4096);
  *plain_bytes = 0;
  // SSL_set0_wbio() takes one reference to the BIO it is given and drops
  // one to the one it replaces.
  BIO* const saved = SSL_get_wbio(ssl);
  BIO_up_ref(saved);
  BIO_up_ref(bio_.get());
  SSL_set0_wbio(ssl, bio_.get());
  // asio sets these; here the BIO never pushes back, so SSL_write() may
  // take all it is given, keeping its buffer until the chunk is done.
  constexpr long kModes = SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_RELEASE_BUFFERS;
  const long modes = static_cast<long>(SSL_get_mode(ssl)) & kModes;
  SSL_clear_mode(ssl, kModes);
  bool ok = true;
  while (*plain_bytes < want) {
    const auto n =
        ::pread(fd, plain_.data(),
                static_cast<std::size_t>(std::min<uint64_t>(want - *plain_bytes, kReadBytes)),
                static_cast<off_t>(offset + *plain_bytes));
    if (n <= 0) {
      *read_error = n < 0 ? std::strerror(errno) : "file shorter than recorded";
      ok = *plain_bytes > 0;
      break;
    }
    if (!WriteAll(ssl, plain_.data(), static_cast<std::size_t>(n))) {
      ok = false;
      break;
    }
    *plain_bytes += static_cast<uint64_t>(n);
  }
  SSL_set_mode(ssl, modes);
  SSL_set0_wbio(ssl, saved);
  return ok;
}

}  // namespace itaku::transports::detail
