// A bounded, blocking byte pipe from one producer thread to one consumer
// thread, with std::streambuf ends: the producer writes into a std::ostream
// over PipeWriterBuf while the consumer reads a std::istream over
// PipeReaderBuf. At most `max_chunks` chunks of `chunk_size` bytes are in
// flight, so memory stays bounded however much flows through.
//
// Thread safety: BytePipe is safe for one producer and one consumer. Each
// streambuf belongs to its own thread.
#pragma once

#include <openssl/evp.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <streambuf>
#include <string>
#include <vector>

namespace itaku::transports::detail {

class BytePipe {
 public:
  BytePipe(size_t chunk_size, size_t max_chunks);
  BytePipe(const BytePipe&) = delete;
  BytePipe& operator=(const BytePipe&) = delete;

  size_t chunk_size() const { return chunk_size_; }

  // Producer: queues *chunk (blocking while the pipe is full) and leaves an
  // empty, recycled buffer in *chunk. False once the consumer cancelled.
  bool Push(std::vector<char>* chunk);
  // Producer: no more data; the consumer sees the end after queued chunks.
  void CloseWrite();

  // Consumer: recycles *chunk and replaces it with the next queued chunk,
  // blocking until one arrives. False at the end of data.
  bool Pop(std::vector<char>* chunk);
  // Consumer: stop; the producer's Push calls fail from now on.
  void Cancel();

 private:
  // Sets `flag` (closed_ or cancelled_) and wakes both sides; a cancelled
  // pipe drops what it still holds.
  void Raise(bool* flag);
  const size_t chunk_size_;
  const size_t max_chunks_;
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<std::vector<char>> queue_;
  std::vector<std::vector<char>> free_;
  bool closed_ = false;
  bool cancelled_ = false;
};

// The producer's end. Counts and SHA-256-hashes every byte written. Writing
// more than `limit` bytes fails the stream and cancels the pipe.
class PipeWriterBuf : public std::streambuf {
 public:
  PipeWriterBuf(BytePipe* pipe, uint64_t limit);
  ~PipeWriterBuf() override;
  PipeWriterBuf(const PipeWriterBuf&) = delete;
  PipeWriterBuf& operator=(const PipeWriterBuf&) = delete;

  // Sends buffered bytes and closes the pipe. False when the consumer
  // cancelled before everything was sent. Idempotent.
  bool Close();
  uint64_t bytes() const { return bytes_; }
  bool over_limit() const { return over_limit_; }
  // Lowercase hex SHA-256 of all bytes written; valid after Close().
  const std::string& sha256() const { return sha256_; }

 protected:
  int_type overflow(int_type ch) override;
  int sync() override;

 private:
  bool Send();

  BytePipe* const pipe_;
  const uint64_t limit_;
  std::vector<char> chunk_;
  EVP_MD_CTX* md_;
  bool over_limit_ = false;
  uint64_t bytes_ = 0;
  bool broken_ = false;
  bool closed_ = false;
  std::string sha256_;
};

// The consumer's end. Not seekable, but answers the position queries
// Poco::Zip::Compress::addFile makes (tellg, seekg(0, end), seekg(tellg()))
// with the current position, so Poco neither fails the stream nor guesses a
// size; the size then travels in the ZIP data descriptor.
class PipeReaderBuf : public std::streambuf {
 public:
  explicit PipeReaderBuf(BytePipe* pipe);
  PipeReaderBuf(const PipeReaderBuf&) = delete;
  PipeReaderBuf& operator=(const PipeReaderBuf&) = delete;

 protected:
  int_type underflow() override;
  pos_type seekoff(off_type off, std::ios_base::seekdir dir,
                   std::ios_base::openmode which) override;
  pos_type seekpos(pos_type pos, std::ios_base::openmode which) override;

 private:
  uint64_t Position() const;

  BytePipe* const pipe_;
  std::vector<char> chunk_;
  uint64_t consumed_before_chunk_ = 0;
};

}  // namespace itaku::transports::detail
