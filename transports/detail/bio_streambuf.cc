#include "transports/detail/bio_streambuf.h"

#include <algorithm>
#include <climits>

#include "transports/detail/openssl_handles.h"

namespace itaku::transports::detail {

BioStreambuf::BioStreambuf(BIO* bio, size_t buffer_size) : bio_(bio), buffer_(buffer_size) {
  setp(buffer_.data(), buffer_.data() + buffer_.size());
}

bool BioStreambuf::WriteAll(const char* data, size_t size) {
  if (failed_) return false;
  while (size > 0) {
    int chunk = static_cast<int>(std::min<size_t>(size, INT_MAX / 2));
    int n = BIO_write(bio_, data, chunk);
    if (n <= 0) {
      failed_ = true;
      error_ = TakeOpenSslError();
      return false;
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool BioStreambuf::Drain() {
  size_t pending = static_cast<size_t>(pptr() - pbase());
  bool ok = WriteAll(pbase(), pending);
  setp(buffer_.data(), buffer_.data() + buffer_.size());
  return ok;
}

BioStreambuf::int_type BioStreambuf::overflow(int_type ch) {
  if (!Drain()) return traits_type::eof();
  if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
  *pptr() = traits_type::to_char_type(ch);
  pbump(1);
  return ch;
}

std::streamsize BioStreambuf::xsputn(const char* s, std::streamsize n) {
  if (failed_) return 0;
  auto room = static_cast<std::streamsize>(epptr() - pptr());
  if (n <= room) {
    std::copy(s, s + n, pptr());
    pbump(static_cast<int>(n));
    return n;
  }
  // Larger than the free space: pass it through without a second copy.
  if (!Drain() || !WriteAll(s, static_cast<size_t>(n))) return 0;
  return n;
}

int BioStreambuf::sync() { return Drain() ? 0 : -1; }

}  // namespace itaku::transports::detail
