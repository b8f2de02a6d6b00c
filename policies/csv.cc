#include "policies/csv.h"

#include <emmintrin.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>

#include "policies/encoding.h"

namespace itaku::policies {

namespace {

// Bit i set when p[i] is one of , " CR LF NUL (16 bytes, SSE2). NUL rides
// along with the delimiters: the parser meets it where it would stop anyway,
// so refusing it costs one compare per 16 bytes.
inline unsigned SpecialBits(const char* p) {
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i m = _mm_or_si128(
      _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8(',')),
                                _mm_cmpeq_epi8(x, _mm_set1_epi8('"'))),
                   _mm_cmpeq_epi8(x, _mm_setzero_si128())),
      _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('\r')), _mm_cmpeq_epi8(x, _mm_set1_epi8('\n'))));
  return static_cast<unsigned>(_mm_movemask_epi8(m));
}

}  // namespace

const char* FindCsvSpecial(const char* p, const char* end) {
  // Cells are short (10-60 bytes), so 16 bytes at a time with SSE2 (always
  // present on x86-64) is where the parser's time goes down.
  while (end - p >= 16) {
    const unsigned bits = SpecialBits(p);
    if (bits != 0) return p + __builtin_ctz(bits);
    p += 16;
  }
  for (; p < end; ++p) {
    char c = *p;
    if (c == ',' || c == '"' || c == '\r' || c == '\n' || c == '\0') return p;
  }
  return end;
}

// ---------------------------------------------------------------- reader

namespace {

// FindCsvSpecial for consecutive fields of one record: keeps the bit mask of
// the last 16-byte block, so a short field that starts where the previous
// one ended costs no new load.
class SpecialScanner {
 public:
  explicit SpecialScanner(const char* end) : end_(end) {}

  const char* Find(const char* p) {
    if (block_ != nullptr && p >= block_ && p < block_ + 16) {
      const unsigned m = bits_ & (~0u << (p - block_));
      if (m != 0) return block_ + __builtin_ctz(m);
      p = block_ + 16;
    }
    while (end_ - p >= 16) {
      block_ = p;
      bits_ = SpecialBits(p);
      if (bits_ != 0) return p + __builtin_ctz(bits_);
      p += 16;
    }
    block_ = nullptr;
    return FindCsvSpecial(p, end_);
  }

 private:
  const char* const end_;
  const char* block_ = nullptr;
  unsigned bits_ = 0;
};

}  // namespace

CsvReader::CsvReader(std::istream& in, std::string_view input_name)
    : CsvReader(in, input_name, Options()) {}

CsvReader::CsvReader(std::istream& in, std::string_view input_name, Options options)
    : in_(in), name_(input_name), options_(options) {}

std::string CsvReader::DescribeColumn(size_t index) const {
  std::string s = "column " + std::to_string(index + 1);
  if (index < column_names_.size()) s += " (" + column_names_[index] + ")";
  return s;
}

Status CsvReader::Error(int64_t line, std::string_view what) const {
  return Status::Error(name_ + ":" + std::to_string(line) + ": " + std::string(what));
}

Status CsvReader::Refill() {
  if (!started_) {
    cap_ = std::max<size_t>(options_.buffer_size, 16);
    buf_ = std::make_unique<char[]>(cap_);
  }
  if (pos_ > 0) {
    std::memmove(buf_.get(), buf_.get() + pos_, end_ - pos_);
    end_ -= pos_;
    pos_ = 0;
  }
  if (end_ == cap_) {
    // One record fills the whole buffer: grow, within reason.
    if (cap_ >= options_.max_record_size) {
      return Error(next_line_,
                   "record longer than " + std::to_string(options_.max_record_size) + " bytes");
    }
    size_t new_cap = std::min(cap_ * 2, std::max(options_.max_record_size, cap_ + 1));
    auto bigger = std::make_unique<char[]>(new_cap);
    std::memcpy(bigger.get(), buf_.get(), end_);
    buf_ = std::move(bigger);
    cap_ = new_cap;
  }
  const size_t want = cap_ - end_;
  in_.read(buf_.get() + end_, static_cast<std::streamsize>(want));
  const size_t got = static_cast<size_t>(in_.gcount());
  if (in_.bad()) return Status::Error(name_ + ": read error");
  end_ += got;
  if (got < want) eof_ = true;
  if (!started_) {
    started_ = true;
    // CSV in UTF-16 or UTF-32 is not ASCII-transparent: refused by name
    // before a single record is parsed, instead of failing on a NUL byte.
    const std::string_view wide =
        DetectWideEncoding(std::string_view(buf_.get(), std::min<size_t>(end_, 512)));
    if (!wide.empty()) {
      return Status::Error(name_ + ": the file is " + std::string(wide) +
                           "; save the export as UTF-8 or Shift_JIS (CP932)");
    }
    if (end_ >= 3 && std::memcmp(buf_.get(), "\xEF\xBB\xBF", 3) == 0) {
      pos_ = 3;
      had_bom_ = true;
    }
  }
  return Status::Ok();
}

Result<bool> CsvReader::Next() {
  if (!error_.ok()) return error_;
  for (;;) {
    if (started_) {
      switch (ParseRecord(eof_)) {
        case Parse::kRecord:
          return true;
        case Parse::kError:
          return error_;
        case Parse::kNeedMore:
          break;
      }
      if (eof_ && pos_ == end_) return false;
    }
    Status s = Refill();
    if (!s.ok()) {
      error_ = s;
      return s;
    }
  }
}

// Parses one record starting at pos_. Nothing is committed unless a whole
// record (or the end of the input) is found, so that kNeedMore can simply
// retry from pos_ after Refill().
CsvReader::Parse CsvReader::ParseRecord(bool at_eof) {
  const char* const base = buf_.get();
  const char* p = base + pos_;
  const char* const end = base + end_;
  int64_t line = next_line_;
  auto fail = [&](int64_t at, std::string_view what) {
    error_ = Error(at, what);
    return Parse::kError;
  };
  constexpr std::string_view kStrayCr = "carriage return outside quotes not followed by line feed";

  // Lines without a single byte are not records.
  for (;;) {
    if (p == end) {
      if (!at_eof) return Parse::kNeedMore;
      pos_ = end_;
      next_line_ = line;
      return Parse::kNeedMore;  // Next() sees eof_ && pos_ == end_
    }
    if (*p == '\n') {
      ++p;
      ++line;
    } else if (*p == '\r') {
      if (p + 1 == end) return at_eof ? fail(line, kStrayCr) : Parse::kNeedMore;
      if (p[1] != '\n') return fail(line, kStrayCr);
      p += 2;
      ++line;
    } else {
      break;
    }
  }

  if (scratch_cap_ < cap_) {
    scratch_ = std::make_unique<char[]>(cap_);
    scratch_cap_ = cap_;
  }
  char* scratch = scratch_.get();
  size_t n = 0;  // fields so far
  auto add = [&](const char* data, size_t size) {
    if (n == fields_.size()) fields_.resize(std::max<size_t>(16, 2 * n));
    fields_[n++] = std::string_view(data, size);
  };
  const char* const record_start = p;
  const int64_t start_line = line;
  SpecialScanner scanner(end);
  for (;;) {
    const size_t col = n;
    if (p < end && *p == '"') {
      const int64_t quote_line = line;
      const char* q = p + 1;
      const char* close;
      bool doubled = false;
      for (;;) {
        const char* d = static_cast<const char*>(std::memchr(q, '"', end - q));
        if (d == nullptr) {
          return at_eof ? fail(quote_line, "unterminated quoted field") : Parse::kNeedMore;
        }
        if (d + 1 == end && !at_eof) return Parse::kNeedMore;
        if (d + 1 < end && d[1] == '"') {
          doubled = true;
          q = d + 2;
          continue;
        }
        close = d;
        break;
      }
      // Quoted fields are the minority: one more memchr over them keeps
      // NUL out without slowing the common unquoted path.
      const char* const nul = static_cast<const char*>(std::memchr(p + 1, '\0', close - p - 1));
      const char* const counted = nul != nullptr ? nul : close;  // lines up to the NUL
      for (const char* s = p + 1;
           (s = static_cast<const char*>(std::memchr(s, '\n', counted - s))) != nullptr; ++s) {
        ++line;
      }
      if (nul != nullptr) return fail(line, DescribeColumn(col) + ": NUL byte");
      if (doubled) {
        char* const from = scratch;
        for (const char* s = p + 1; s < close; ++s) {
          *scratch++ = *s;
          if (*s == '"') ++s;  // the second of a doubled pair
        }
        add(from, static_cast<size_t>(scratch - from));
      } else {
        add(p + 1, static_cast<size_t>(close - p - 1));
      }
      p = close + 1;
      if (p == end) break;  // only reached at_eof
      if (*p == ',') {
        ++p;
        continue;
      }
      if (*p == '\n') {
        ++p;
        ++line;
        break;
      }
      if (*p == '\r') {
        if (p + 1 == end) return at_eof ? fail(line, kStrayCr) : Parse::kNeedMore;
        if (p[1] != '\n') return fail(line, kStrayCr);
        p += 2;
        ++line;
        break;
      }
      return fail(line, DescribeColumn(col) + ": characters after a closing quote");
    }

    const char* s = scanner.Find(p);
    if (s == end) {
      if (!at_eof) return Parse::kNeedMore;
      add(p, static_cast<size_t>(s - p));
      p = end;
      break;
    }
    const char c = *s;
    if (c == '\0') return fail(line, DescribeColumn(col) + ": NUL byte");
    if (c == '"') return fail(line, DescribeColumn(col) + ": quote inside an unquoted field");
    if (c == '\r') {
      if (s + 1 == end) return at_eof ? fail(line, kStrayCr) : Parse::kNeedMore;
      if (s[1] != '\n') return fail(line, kStrayCr);
    }
    add(p, static_cast<size_t>(s - p));
    if (c == ',') {
      p = s + 1;
      continue;
    }
    p = s + (c == '\r' ? 2 : 1);
    ++line;
    break;
  }

  if (options_.check_field_count) {
    if (expected_fields_ == 0) {
      expected_fields_ = n;
    } else if (n != expected_fields_) {
      return fail(start_line,
                  std::to_string(n) + " fields, header has " + std::to_string(expected_fields_));
    }
  }
  fields_span_ = std::span<const std::string_view>(fields_.data(), n);
  raw_record_ = std::string_view(record_start, static_cast<size_t>(p - record_start));
  pos_ = static_cast<size_t>(p - base);
  line_ = start_line;
  next_line_ = line;
  return Parse::kRecord;
}

// ---------------------------------------------------------------- writer

// The helper thread of Mode::kBackground: writes one buffer at a time while
// the caller fills the other. One slot, guarded by mu_.
class CsvWriter::Background {
 public:
  Background(std::ostream* out, size_t cap)
      : out_(out), spare_(std::make_unique<char[]>(cap)), thread_([this] { Run(); }) {}
  ~Background() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // Takes *buf (size bytes) for writing and gives back an empty buffer of at
  // least `cap` bytes in its place. Blocks while the previous write runs.
  void Submit(std::unique_ptr<char[]>* buf, size_t size, size_t cap) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return pending_ == nullptr; });
    pending_ = std::move(*buf);
    pending_size_ = size;
    *buf =
        spare_ != nullptr && spare_cap_ >= cap ? std::move(spare_) : std::make_unique<char[]>(cap);
    spare_cap_ = cap;
    cv_.notify_all();
  }

  // Waits until everything submitted is written; true when all went well.
  bool Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return pending_ == nullptr; });
    return !failed_;
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      cv_.wait(lock, [this] { return stop_ || pending_ != nullptr; });
      if (pending_ == nullptr) return;  // stop_ and nothing left
      const char* data = pending_.get();
      const size_t size = pending_size_;
      const bool skip = failed_;
      lock.unlock();
      bool ok = true;
      if (!skip) {
        out_->write(data, static_cast<std::streamsize>(size));
        ok = static_cast<bool>(*out_);
      }
      lock.lock();
      if (!ok) failed_ = true;
      if (spare_ == nullptr) spare_ = std::move(pending_);
      pending_.reset();
      cv_.notify_all();
    }
  }

  std::ostream* const out_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unique_ptr<char[]> pending_;  // being written; nullptr when idle
  size_t pending_size_ = 0;
  std::unique_ptr<char[]> spare_;  // written out, ready for reuse
  size_t spare_cap_ = 0;
  bool failed_ = false;
  bool stop_ = false;
  std::thread thread_;  // last: starts once the members above exist
};

CsvWriter::CsvWriter(std::ostream* out, size_t buffer_size, Mode mode)
    : out_(out),
      buf_(std::make_unique<char[]>(std::max<size_t>(buffer_size, 64))),
      cap_(std::max<size_t>(buffer_size, 64)) {
  if (out_ != nullptr && mode == Mode::kBackground) {
    background_ = std::make_unique<Background>(out_, cap_);
  }
}

CsvWriter::~CsvWriter() = default;

void CsvWriter::Drain() {
  if (pos_ == 0 || out_ == nullptr || failed_) {
    pos_ = 0;
    return;
  }
  if (background_ != nullptr) {
    background_->Submit(&buf_, pos_, cap_);
  } else {
    out_->write(buf_.get(), static_cast<std::streamsize>(pos_));
    if (!*out_) failed_ = true;
  }
  pos_ = 0;
}

void CsvWriter::Reserve(size_t n) {
  if (pos_ + n <= cap_) return;
  Drain();
  if (n > cap_) {
    cap_ = n;
    buf_ = std::make_unique<char[]>(cap_);
  }
}

void CsvWriter::Raw(std::string_view bytes) {
  Reserve(bytes.size());
  std::memcpy(buf_.get() + pos_, bytes.data(), bytes.size());
  pos_ += bytes.size();
}

void CsvWriter::Field(std::string_view value) {
  Reserve(2 * value.size() + 3);
  char* o = buf_.get() + pos_;
  if (!first_in_record_) *o++ = ',';
  first_in_record_ = false;
  const char* const end = value.data() + value.size();
  if (FindCsvSpecial(value.data(), end) == end) {
    std::memcpy(o, value.data(), value.size());
    o += value.size();
  } else {
    *o++ = '"';
    for (const char* s = value.data(); s < end; ++s) {
      if (*s == '"') *o++ = '"';
      *o++ = *s;
    }
    *o++ = '"';
  }
  pos_ = static_cast<size_t>(o - buf_.get());
}

void CsvWriter::EndRecord() {
  Reserve(2);
  buf_[pos_++] = '\r';
  buf_[pos_++] = '\n';
  first_in_record_ = true;
}

Status CsvWriter::Flush() {
  Drain();
  if (background_ != nullptr && !background_->Wait()) failed_ = true;
  if (out_ != nullptr && !failed_) {
    out_->flush();
    if (!*out_) failed_ = true;
  }
  return failed_ ? Status::Error("write error") : Status::Ok();
}

}  // namespace itaku::policies
