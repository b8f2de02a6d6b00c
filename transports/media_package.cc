#include "transports/media_package.h"

#include <Poco/DateTime.h>
#include <Poco/Exception.h>
#include <Poco/Path.h>
#include <Poco/Zip/Compress.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/obj_mac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "contracts/base/hex.h"
#include "transports/detail/bio_streambuf.h"
#include "transports/detail/byte_pipe.h"
#include "transports/detail/openssl_handles.h"

namespace itaku::transports {
namespace {

using detail::BioPtr;
using detail::TakeOpenSslError;

// Deflate is the expensive step of a package (NOTES.md). Measured on 200 MB
// of CSV-like rows: zlib level 1 (CL_SUPERFAST) 1.9 s -> 62 MB, the default
// level (CL_NORMAL) 6.4 s -> 52 MB.
constexpr auto kCompressionLevel = Poco::Zip::ZipCommon::CL_SUPERFAST;
// Producer-to-deflate pipe: 8 x 256 KiB in flight at most.
constexpr size_t kPipeChunk = 256 * 1024;
constexpr size_t kPipeChunks = 8;
// Without ZIP64 records an entry must stay below 4 GiB.
constexpr uint64_t kMaxEntrySize = 0xFFFFFFFEull;
// PBKDF2 rounds for a passphrase recipient.
constexpr int kPbkdf2Iterations = 600000;

std::string Errno(int err) { return std::strerror(err); }

bool IsPlainFileName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.size() <= 200 &&
         name.find('/') == std::string::npos && name.find('\0') == std::string::npos;
}

// Entry names are relative '/'-separated paths that cannot climb out of
// the folder they are extracted into.
bool IsSafeEntryName(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.back() == '/') return false;
  if (name.find('\\') != std::string::npos || name.find('\0') != std::string::npos) return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t end = name.find('/', start);
    if (end == std::string::npos) end = name.size();
    std::string part = name.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

Status NotRegular(const std::string& label) {
  return Status::Refused(label + " is not a regular file (symlinks are not followed)");
}

}  // namespace

std::string ByteSizeText(uint64_t bytes) {
  constexpr uint64_t kMiB = uint64_t{1} << 20;
  if (bytes < kMiB) return std::to_string(bytes) + " bytes";
  return std::to_string(bytes / kMiB + (bytes % kMiB != 0 ? 1 : 0)) + " MiB";
}

Result<SourceFolder> SourceFolder::Open(const std::string& path) {
  // With a trailing '/' the kernel would follow a link named by the last
  // component, O_NOFOLLOW or not.
  std::string bare = path;
  while (bare.size() > 1 && bare.back() == '/') bare.pop_back();
  if (bare.empty()) return Status::NotFound("no folder named");
  const int fd = ::open(bare.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return Status::NotFound(path + " does not exist");
    if (err == ENOTDIR || err == ELOOP) {
      return Status::Refused(path + " is not a folder (symlinks are not followed)");
    }
    return Status::Io("cannot open " + path + ": " + Errno(err));
  }
  return SourceFolder(path, fd);
}

SourceFolder::SourceFolder(SourceFolder&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)) {}

SourceFolder::~SourceFolder() {
  if (fd_ >= 0) ::close(fd_);
}

Result<SourceFile> SourceFile::Open(const SourceFolder& folder, const std::string& name,
                                    const std::string& label) {
  const std::string shown = label.empty() ? name : label;
  if (!IsPlainFileName(name)) return Status::Error(shown + " is not a plain file name");
  // lstat first: a FIFO would block the open, a device could act on it.
  struct stat st {};
  if (::fstatat(folder.fd(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    const int err = errno;
    if (err == ENOENT) return Status::NotFound(shown + " is not in " + folder.path());
    return Status::Io("cannot open " + shown + ": " + Errno(err));
  }
  if (!S_ISREG(st.st_mode)) return NotRegular(shown);
  // The entry may have been swapped since: what the descriptor is counts.
  const int raw = ::openat(folder.fd(), name.c_str(),
                           O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (raw < 0) {
    const int err = errno;
    if (err == ELOOP) return NotRegular(shown);
    if (err == ENOENT) return Status::NotFound(shown + " is not in " + folder.path());
    return Status::Io("cannot open " + shown + ": " + Errno(err));
  }
  SourceFile file(raw, 0, shown);  // closes it on the refusals below
  if (::fstat(raw, &st) != 0) return Status::Io("cannot open " + shown + ": " + Errno(errno));
  if (!S_ISREG(st.st_mode)) return NotRegular(shown);
  // Regular files ignore O_NONBLOCK; cleared all the same.
  const int flags = ::fcntl(raw, F_GETFL);
  if (flags >= 0) ::fcntl(raw, F_SETFL, flags & ~O_NONBLOCK);
  file.size_ = static_cast<uint64_t>(st.st_size);
  return file;
}

SourceFile::SourceFile(SourceFile&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), size_(other.size_), label_(std::move(other.label_)) {}

SourceFile::~SourceFile() {
  if (fd_ >= 0) ::close(fd_);
}

// The open CMS envelope and the ZIP writing into it. Members are declared
// in the order they are built; the destructor takes them down in reverse,
// ending the BIO_new_CMS chain before the BIOs and the CMS it points into.
struct MediaPackageWriter::Envelope {
  detail::X509Ptr cert;
  detail::CipherPtr cipher;
  detail::CmsPtr cms;
  BioPtr file;    // over the temporary file's descriptor, not owning it
  BioPtr buffer;  // batches the cipher BIO's small writes
  BioPtr md;      // SHA-256 of the bytes as written
  BIO* cms_bio = nullptr;
  std::unique_ptr<detail::BioStreambuf> sink;
  std::unique_ptr<std::ostream> out;
  std::unique_ptr<Poco::Zip::Compress> zip;
  std::set<std::string> entries;

  ~Envelope() {
    zip.reset();
    out.reset();
    sink.reset();
    while (cms_bio != nullptr && cms_bio != md.get()) {
      BIO* next = BIO_pop(cms_bio);
      BIO_free(cms_bio);
      cms_bio = next;
    }
    md.reset();
    buffer.reset();
    file.reset();
    cms.reset();
  }

  Status Open(int fd, const Recipient& recipient) {
    const bool by_password = recipient.cert_pem.empty();
    cipher.reset(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
    if (!cipher) return Status::Error("cannot load cipher: " + TakeOpenSslError());
    const unsigned flags = CMS_BINARY | CMS_STREAM | CMS_PARTIAL;
    detail::X509StackPtr certs(sk_X509_new_null());
    if (!certs) return Status::Error("out of memory");
    if (!by_password) {
      cert = detail::ParsePemCertificate(recipient.cert_pem);
      if (!cert) return Status::Error("recipient certificate is not a PEM certificate");
      if (sk_X509_push(certs.get(), cert.get()) <= 0) return Status::Error("out of memory");
    }
    cms.reset(CMS_encrypt(certs.get(), nullptr, cipher.get(), flags));
    if (!cms) {
      return Status::Error("cannot encrypt to the recipient certificate: " + TakeOpenSslError());
    }
    if (by_password) {
      // The CMS takes ownership of the copy and clears it when freed.
      auto* pass = static_cast<unsigned char*>(
          OPENSSL_memdup(recipient.passphrase.data(), recipient.passphrase.size()));
      if (pass == nullptr) return Status::Error("out of memory");
      // The key wrap must be a CBC cipher: left null, OpenSSL would take the
      // content cipher (GCM) and fail. OpenSSL 3.0 ignores the PRF argument
      // and always uses PBKDF2-HMAC-SHA1.
      if (CMS_add0_recipient_password(cms.get(), kPbkdf2Iterations, NID_undef, NID_undef, pass,
                                      static_cast<ossl_ssize_t>(recipient.passphrase.size()),
                                      EVP_aes_256_cbc()) == nullptr) {
        // Not freed: OpenSSL may already own it (it frees it on a late
        // failure), and a leak on this out-of-memory path beats a double free.
        return Status::Error("cannot add the password recipient: " + TakeOpenSslError());
      }
    }
    file.reset(BIO_new_fd(fd, BIO_NOCLOSE));
    buffer.reset(BIO_new(BIO_f_buffer()));
    md.reset(BIO_new(BIO_f_md()));
    if (!file || !buffer || !md || BIO_set_write_buffer_size(buffer.get(), 256 * 1024) <= 0 ||
        BIO_set_md(md.get(), EVP_sha256()) <= 0) {
      return Status::Error("cannot set up the output: " + TakeOpenSslError());
    }
    BIO_push(md.get(), buffer.get());
    BIO_push(buffer.get(), file.get());
    cms_bio = BIO_new_CMS(md.get(), cms.get());
    if (cms_bio == nullptr)
      return Status::Error("cannot start the envelope: " + TakeOpenSslError());
    sink = std::make_unique<detail::BioStreambuf>(cms_bio);
    out = std::make_unique<std::ostream>(sink.get());
    try {
      zip = std::make_unique<Poco::Zip::Compress>(*out, /*seekableOut=*/false);
    } catch (const Poco::Exception& e) {
      return Status::Error("cannot start the ZIP: " + e.displayText());
    }
    return Status::Ok();
  }
};

Result<std::unique_ptr<MediaPackageWriter>> MediaPackageWriter::Create(
    const std::string& out_dir, const std::string& final_name, const Recipient& recipient) {
  if (recipient.cert_pem.empty() == recipient.passphrase.empty()) {
    return Status::Error("package recipient needs exactly one of a certificate or a passphrase");
  }
  if (!recipient.passphrase.empty() && recipient.passphrase.size() < kMinPassphraseLength) {
    return Status::Error("package passphrase must be at least " +
                         std::to_string(kMinPassphraseLength) + " characters");
  }
  if (!IsPlainFileName(final_name)) {
    return Status::Error("package name '" + final_name + "' must be a plain file name");
  }
  struct stat st;
  if (out_dir.empty() || ::stat(out_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return Status::Error("package folder " + out_dir + " does not exist or is not a folder");
  }
  std::string dir = out_dir;
  if (dir.back() != '/') dir.push_back('/');
  std::string final_path = dir + final_name;
  if (::lstat(final_path.c_str(), &st) == 0) {
    return Status::Conflict("package " + final_path + " already exists; refusing to overwrite");
  }
  auto file = AtomicFile::Create(final_path);
  if (!file.ok()) return file.status();
  auto envelope = std::make_unique<Envelope>();
  Status opened = envelope->Open(file->fd(), recipient);
  if (!opened.ok()) {
    envelope.reset();
    return file->Abandon(opened);
  }
  return std::unique_ptr<MediaPackageWriter>(
      new MediaPackageWriter(std::move(file).value(), std::move(envelope)));
}

MediaPackageWriter::MediaPackageWriter(AtomicFile file, std::unique_ptr<Envelope> envelope)
    : file_(std::move(file)), envelope_(std::move(envelope)) {}

MediaPackageWriter::~MediaPackageWriter() {
  if (!finished_ && !abandoned_) Abandon(Status::Ok());
}

Status MediaPackageWriter::Usable() const {
  if (finished_) return Status::Error("package " + final_path() + " is already finished");
  if (abandoned_) {
    return Status::Error("package " + final_path() + " was abandoned after an earlier error");
  }
  return Status::Ok();
}

Status MediaPackageWriter::Abandon(Status why) {
  abandoned_ = true;
  envelope_.reset();
  return file_.Abandon(std::move(why));
}

Result<PackageFile> MediaPackageWriter::AddStream(
    const std::string& entry_name, const std::function<Status(std::ostream&)>& produce) {
  if (Status s = Usable(); !s.ok()) return s;
  if (!IsSafeEntryName(entry_name)) {
    return Status::Error("entry name '" + entry_name +
                         "' must be a relative path without '.', '..' or '\\'");
  }
  for (char c : entry_name) {
    if (c < 0x20 || c > 0x7e) {
      // Poco 1.11 cannot set the ZIP UTF-8 flag, and unzip then garbles the
      // name (reads it as CP437).
      return Status::Error("entry name '" + entry_name + "' must be printable ASCII");
    }
  }
  if (envelope_->entries.count(entry_name) != 0) {
    return Status::Error("entry " + entry_name + " is already in the package");
  }

  detail::BytePipe pipe(kPipeChunk, kPipeChunks);
  detail::PipeWriterBuf produced_bytes(&pipe, kMaxEntrySize);
  Status produced;
  std::thread producer([&] {
    std::ostream os(&produced_bytes);
    try {
      produced = produce(os);
    } catch (const std::exception& e) {
      produced = Status::Error("entry " + entry_name + ": threw " + e.what());
    } catch (...) {
      produced = Status::Error("entry " + entry_name + ": threw an unknown exception");
    }
    if (produced.ok() && !os) {
      produced = Status::Error("entry " + entry_name + ": its output stream failed");
    }
    produced_bytes.Close();
  });

  Status zipped;
  {
    detail::PipeReaderBuf in_buf(&pipe);
    std::istream in(&in_buf);
    try {
      envelope_->zip->addFile(in, Poco::DateTime(), Poco::Path(entry_name, Poco::Path::PATH_UNIX),
                              Poco::Zip::ZipCommon::CM_DEFLATE, kCompressionLevel);
    } catch (const Poco::Exception& e) {
      zipped = Status::Error(e.displayText());
    } catch (const std::exception& e) {
      zipped = Status::Error(e.what());
    }
    if (envelope_->sink->failed()) {
      zipped = Status::Io("cannot write " + temp_path() + ": " + envelope_->sink->error());
    }
    // Normally a no-op (the producer has closed); after a failure it frees a
    // producer blocked on a full pipe.
    pipe.Cancel();
  }
  producer.join();

  if (produced_bytes.over_limit()) {
    return Abandon(
        Status::Error("entry " + entry_name + " reached 4 GiB; larger entries are not supported"));
  }
  if (!zipped.ok()) return Abandon(Status::Error("entry " + entry_name + ": " + zipped.message()));
  // The source's own error (the export's line and column, a drawing's
  // limit) is not the entry's: it comes back as it is.
  if (!produced.ok()) return Abandon(produced);
  envelope_->entries.insert(entry_name);
  return PackageFile{entry_name, produced_bytes.bytes(), produced_bytes.sha256()};
}

Result<PackageFile> MediaPackageWriter::AddFile(const std::string& entry_name,
                                                const SourceFile& file, uint64_t max_bytes) {
  if (Status s = Usable(); !s.ok()) return s;
  // Judged on fstat's size before a byte is read: a 5 GB file costs nothing.
  if (file.size() > max_bytes) {
    return Status::Refused(file.label() + " is " + ByteSizeText(file.size()) +
                           ", over the limit of " + ByteSizeText(max_bytes));
  }
  if (::lseek(file.fd(), 0, SEEK_SET) != 0) {
    return Status::Io("cannot read " + file.label() + ": " + Errno(errno));
  }
  return AddStream(entry_name, [&](std::ostream& out) -> Status {
    std::vector<char> buf(256 * 1024);
    uint64_t total = 0;
    for (;;) {
      // Never more than one byte past the limit: a file growing while it
      // is read is stopped there, not read to its end.
      const uint64_t room = max_bytes - total;
      const size_t want = room >= buf.size() ? buf.size() : static_cast<size_t>(room) + 1;
      const ssize_t got = ::read(file.fd(), buf.data(), want);
      if (got < 0 && errno == EINTR) continue;
      if (got < 0) return Status::Io("cannot read " + file.label() + ": " + Errno(errno));
      if (got == 0) return Status::Ok();
      total += static_cast<uint64_t>(got);
      if (total > max_bytes) {
        return Status::Refused(file.label() + " grew past " + ByteSizeText(max_bytes) +
                               " while it was read");
      }
      out.write(buf.data(), got);
      if (!out) return Status::Ok();  // the writer side reports its own failure
    }
  });
}

Result<PackageFile> MediaPackageWriter::Finish() {
  if (Status s = Usable(); !s.ok()) return s;
  Envelope& env = *envelope_;
  try {
    env.zip->close();
  } catch (const Poco::Exception& e) {
    return Abandon(
        Status::Error("cannot finish the ZIP of " + temp_path() + ": " + e.displayText()));
  }
  env.out->flush();
  if (env.sink->failed()) {
    return Abandon(Status::Io("cannot write " + temp_path() + ": " + env.sink->error()));
  }
  if (BIO_flush(env.cms_bio) != 1 || BIO_flush(env.buffer.get()) != 1) {
    return Abandon(
        Status::Error("cannot finish the envelope of " + temp_path() + ": " + TakeOpenSslError()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  int digest_len = BIO_gets(env.md.get(), reinterpret_cast<char*>(digest), sizeof digest);
  if (digest_len <= 0) return Abandon(Status::Error("cannot hash " + temp_path()));
  PackageFile result{final_path(), BIO_number_written(env.file.get()),
                     Hex(digest, static_cast<size_t>(digest_len))};
  envelope_.reset();

  if (Status c = file_.Commit(); !c.ok()) {
    abandoned_ = true;
    return c.kind() == ErrorKind::kConflict ? c.WithMessage("package " + c.message()) : c;
  }
  finished_ = true;
  return result;
}

Result<std::string> GeneratePassphrase() {
  static constexpr char kAlphabet[] = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
  static_assert(sizeof kAlphabet - 1 == 32, "each character must take exactly 5 bits");
  unsigned char random[24];
  if (RAND_bytes(random, sizeof random) != 1) {
    return Status::Error("cannot generate a passphrase: " + TakeOpenSslError());
  }
  std::string out;
  for (size_t i = 0; i < sizeof random; ++i) {
    if (i > 0 && i % 4 == 0) out.push_back('-');
    out.push_back(kAlphabet[random[i] & 31]);
  }
  OPENSSL_cleanse(random, sizeof random);
  return out;
}

}  // namespace itaku::transports
