#include "transports/detail/byte_pipe.h"

#include <cstdio>

#include "contracts/base/hex.h"

namespace itaku::transports::detail {

BytePipe::BytePipe(size_t chunk_size, size_t max_chunks)
    : chunk_size_(chunk_size), max_chunks_(max_chunks) {}

bool BytePipe::Push(std::vector<char>* chunk) {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return cancelled_ || queue_.size() < max_chunks_; });
  if (cancelled_) return false;
  queue_.push_back(std::move(*chunk));
  if (free_.empty()) {
    *chunk = std::vector<char>();
  } else {
    *chunk = std::move(free_.back());
    free_.pop_back();
  }
  chunk->clear();
  changed_.notify_all();
  return true;
}

void BytePipe::CloseWrite() { Raise(&closed_); }

bool BytePipe::Pop(std::vector<char>* chunk) {
  std::unique_lock lock(mu_);
  if (chunk->capacity() > 0 && free_.size() < max_chunks_) free_.push_back(std::move(*chunk));
  chunk->clear();
  changed_.wait(lock, [&] { return cancelled_ || closed_ || !queue_.empty(); });
  if (cancelled_ || queue_.empty()) return false;
  *chunk = std::move(queue_.front());
  queue_.pop_front();
  changed_.notify_all();
  return true;
}

void BytePipe::Cancel() { Raise(&cancelled_); }

void BytePipe::Raise(bool* flag) {
  std::lock_guard lock(mu_);
  *flag = true;
  if (cancelled_) queue_.clear();
  changed_.notify_all();
}

PipeWriterBuf::PipeWriterBuf(BytePipe* pipe, uint64_t limit)
    : pipe_(pipe), limit_(limit), md_(EVP_MD_CTX_new()) {
  chunk_.resize(pipe_->chunk_size());
  setp(chunk_.data(), chunk_.data() + chunk_.size());
  if (md_ == nullptr || EVP_DigestInit_ex(md_, EVP_sha256(), nullptr) != 1) broken_ = true;
}

PipeWriterBuf::~PipeWriterBuf() {
  Close();
  EVP_MD_CTX_free(md_);
}

bool PipeWriterBuf::Send() {
  auto n = static_cast<size_t>(pptr() - pbase());
  if (n > 0 && !broken_ && bytes_ + n > limit_) {
    over_limit_ = true;
    broken_ = true;
    pipe_->Cancel();
  }
  if (n > 0 && !broken_) {
    if (EVP_DigestUpdate(md_, pbase(), n) != 1) broken_ = true;
    bytes_ += n;
    chunk_.resize(n);
    if (!broken_ && !pipe_->Push(&chunk_)) broken_ = true;
  }
  chunk_.resize(pipe_->chunk_size());
  setp(chunk_.data(), chunk_.data() + chunk_.size());
  return !broken_;
}

PipeWriterBuf::int_type PipeWriterBuf::overflow(int_type ch) {
  if (!Send()) return traits_type::eof();
  if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
  *pptr() = traits_type::to_char_type(ch);
  pbump(1);
  return ch;
}

// Flushing the ostream is not a reason to send a short chunk.
int PipeWriterBuf::sync() { return broken_ ? -1 : 0; }

bool PipeWriterBuf::Close() {
  if (closed_) return !broken_;
  closed_ = true;
  Send();
  pipe_->CloseWrite();
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!broken_ && EVP_DigestFinal_ex(md_, digest, &len) == 1) {
    sha256_ = Hex(digest, len);
  }
  setp(nullptr, nullptr);
  return !broken_;
}

PipeReaderBuf::PipeReaderBuf(BytePipe* pipe) : pipe_(pipe) {}

PipeReaderBuf::int_type PipeReaderBuf::underflow() {
  if (gptr() < egptr()) return traits_type::to_int_type(*gptr());
  consumed_before_chunk_ += chunk_.size();
  if (!pipe_->Pop(&chunk_)) {
    chunk_.clear();
    setg(nullptr, nullptr, nullptr);
    return traits_type::eof();
  }
  setg(chunk_.data(), chunk_.data(), chunk_.data() + chunk_.size());
  return traits_type::to_int_type(*gptr());
}

uint64_t PipeReaderBuf::Position() const {
  return consumed_before_chunk_ + static_cast<uint64_t>(gptr() - eback());
}

PipeReaderBuf::pos_type PipeReaderBuf::seekoff(off_type off, std::ios_base::seekdir dir,
                                               std::ios_base::openmode which) {
  // Only "where am I" questions are answered; the end is unknown, so it is
  // reported as here.
  if (off != 0 || !(which & std::ios_base::in) || dir == std::ios_base::beg) {
    return pos_type(off_type(-1));
  }
  return pos_type(static_cast<off_type>(Position()));
}

PipeReaderBuf::pos_type PipeReaderBuf::seekpos(pos_type pos, std::ios_base::openmode which) {
  if (!(which & std::ios_base::in) || static_cast<uint64_t>(off_type(pos)) != Position()) {
    return pos_type(off_type(-1));
  }
  return pos;
}

}  // namespace itaku::transports::detail
