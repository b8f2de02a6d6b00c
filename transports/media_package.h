// The encrypted media package of policy 6(2) ("handover of electronic
// media"): ONE file that a contractor opens with stock tools,
//
//   openssl cms -decrypt -binary -inform DER -recip CERT -inkey KEY -out x.zip
//   openssl cms -decrypt -binary -inform DER -pwri_password PASS -out x.zip
//   unzip x.zip
//
// The file is a CMS envelope (RFC 5652/5083; BER with indefinite lengths,
// which `-inform DER` reads) around a ZIP with data descriptors: AES-256-GCM
// authEnvelopedData (RFC 5083) in both cases. A certificate recipient gets
// RSA or ECDH key transport; a passphrase recipient gets an RFC 3211
// password recipient: PBKDF2 (HMAC-SHA1, which OpenSSL 3.0 hard-codes;
// 600,000 rounds) and an AES-256-CBC key wrap. (The stock CLI cannot *make*
// GCM + password packages, `-aes-256-gcm -pwri_password` fails, because it
// uses the content cipher for the key wrap; it opens ours fine.)
//
// Everything streams: no entry, ZIP or envelope is held whole in memory.
// The package is written under a hidden temporary name in the same folder
// (".<final>.partial-XXXXXX", mode 0600) and appears under its final name
// only when Finish() succeeds; an existing file is never overwritten. A
// writer destroyed before Finish() removes its temporary file; a process
// killed mid-way may leave one behind, for the caller to sweep.
//
// Errors come back as Status/Result, one line each; nothing throws. After
// any error in AddStream/AddFile, other than a refusal of the arguments, the
// package is abandoned: the temporary file is removed at once and Finish()
// refuses.
//
// Files from outside (house drawings) come in through a SourceFolder opened
// once and SourceFiles opened relative to it without following symbolic
// links: regular files only, read from the descriptor that was checked,
// never reopened by name.
//
// Thread safety: one thread at a time per writer. AddStream runs `produce`
// on a thread of its own (overlapping it with compression), so `produce`
// must not touch the writer.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <utility>

#include "contracts/base/atomic_file.h"
#include "contracts/base/status.h"

namespace itaku::transports {

// One file: a ZIP entry (plaintext) or the finished package (as written).
struct PackageFile {
  std::string name;    // entry name, or the package's full path
  uint64_t size = 0;   // bytes
  std::string sha256;  // lowercase hex, as sha256sum prints it
};

// Exactly one of the two must be set.
struct Recipient {
  std::string cert_pem;    // the contractor's certificate (RSA >= 2048 or EC)
  std::string passphrase;  // at least kMinPassphraseLength characters
};

inline constexpr size_t kMinPassphraseLength = 16;

// How a size reads in messages: "512 bytes" below 1 MiB, else whole MiB,
// rounded up ("5120 MiB"; 50 MiB and one byte is "51 MiB").
std::string ByteSizeText(uint64_t bytes);

// A folder the package takes files from, opened once with O_DIRECTORY |
// O_NOFOLLOW: the path must name the folder itself, not a symbolic link to
// one. Its files are opened relative to this descriptor, so a folder
// renamed or replaced after Open() cannot redirect a read. Move-only; the
// destructor closes it.
class SourceFolder {
 public:
  // Errors name the path as given:
  //   NotFound "DIR does not exist"
  //   Refused  "DIR is not a folder (symlinks are not followed)"
  //   Io       "cannot open DIR: <reason>"
  static Result<SourceFolder> Open(const std::string& path);

  SourceFolder(SourceFolder&& other) noexcept;
  SourceFolder& operator=(SourceFolder&&) = delete;
  SourceFolder(const SourceFolder&) = delete;
  ~SourceFolder();

  const std::string& path() const { return path_; }
  int fd() const { return fd_; }

 private:
  SourceFolder(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

// One file of a SourceFolder, open for reading: a regular file reached
// without following a symbolic link, with its size as fstat gave it when it
// was opened. Move-only; the destructor closes it.
class SourceFile {
 public:
  // Opens `name` (one path component) in `folder`: lstat first, so that a
  // FIFO or a device is refused without being opened; then openat with
  // O_NOFOLLOW | O_NONBLOCK and fstat on the descriptor, which is what
  // counts. Reads nothing. `label` is how errors name the file ("" for
  // `name` itself):
  //   Error    "LABEL is not a plain file name"
  //   NotFound "LABEL is not in DIR"
  //   Refused  "LABEL is not a regular file (symlinks are not followed)"
  //   Io       "cannot open LABEL: <reason>"
  static Result<SourceFile> Open(const SourceFolder& folder, const std::string& name,
                                 const std::string& label = "");

  SourceFile(SourceFile&& other) noexcept;
  SourceFile& operator=(SourceFile&&) = delete;
  SourceFile(const SourceFile&) = delete;
  ~SourceFile();

  int fd() const { return fd_; }
  uint64_t size() const { return size_; }  // when opened
  const std::string& label() const { return label_; }

 private:
  SourceFile(int fd, uint64_t size, std::string label)
      : fd_(fd), size_(size), label_(std::move(label)) {}
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string label_;
};

class MediaPackageWriter {
 public:
  // Refuses when `out_dir` is not a folder, `final_name` is not a plain file
  // name, `<out_dir>/<final_name>` already exists, or the recipient is
  // unusable. Does not judge the certificate's validity period or key size:
  // callers run InspectCertificate (certificate.h) first.
  static Result<std::unique_ptr<MediaPackageWriter>> Create(const std::string& out_dir,
                                                            const std::string& final_name,
                                                            const Recipient& recipient);

  MediaPackageWriter(const MediaPackageWriter&) = delete;
  MediaPackageWriter& operator=(const MediaPackageWriter&) = delete;
  // Without a successful Finish(), removes the temporary file.
  ~MediaPackageWriter();

  // Adds entry `entry_name` whose bytes `produce` writes into the stream it
  // is given. The name is a relative '/'-separated path of printable ASCII
  // (without the ZIP UTF-8 flag, which Poco 1.11 cannot set, unzip garbles
  // other names: use "drawings/1001.pdf", not "住宅の図面.pdf"). The bytes
  // are compressed and encrypted while `produce` runs; at most a few MiB
  // are buffered.
  // Returns the entry's plaintext size and SHA-256. An error `produce`
  // returns abandons the package and comes back as it is: it is the
  // source's ("export.csv:7: unterminated quoted field"), not the entry's.
  // The writer's own failures say which entry: "entry <name>: <message>"
  // (ZIP, encryption, output), as do an exception `produce` throws ("entry
  // <name>: threw ...") and a stream it leaves failed.
  // An entry reaching 4 GiB fails its stream and abandons the package (the
  // ZIP has no ZIP64 records).
  Result<PackageFile> AddStream(const std::string& entry_name,
                                const std::function<Status(std::ostream&)>& produce);
  // Adds `file` as entry `entry_name`, streamed from its descriptor (from
  // the start; never reopened by name), at most `max_bytes` of it. A file
  // over `max_bytes` when it was opened is refused before a byte is read
  // (a refusal of the arguments: the package stays usable):
  //   "LABEL is 5120 MiB, over the limit of 50 MiB"
  // One that grows past `max_bytes` while it is read abandons the package:
  //   "LABEL grew past 50 MiB while it was read"
  //   "cannot read LABEL: <reason>"
  Result<PackageFile> AddFile(const std::string& entry_name, const SourceFile& file,
                              uint64_t max_bytes);

  // Ends the ZIP and the envelope, fsyncs the file, renames it to its final
  // name (refusing if that name appeared meanwhile) and fsyncs the folder.
  // Returns the final path and the size and SHA-256 of the encrypted file.
  Result<PackageFile> Finish();

  // Where the package will appear, and where it is being written now.
  const std::string& final_path() const { return file_.final_path(); }
  const std::string& temp_path() const { return file_.temp_path(); }

 private:
  struct Envelope;
  MediaPackageWriter(AtomicFile file, std::unique_ptr<Envelope> envelope);
  Status Usable() const;
  // Drops everything and removes the temporary file; returns `why`.
  Status Abandon(Status why);

  AtomicFile file_;
  std::unique_ptr<Envelope> envelope_;
  bool abandoned_ = false;
  bool finished_ = false;
};

// A random passphrase to tell a contractor over the phone: six groups of
// four characters from the 32 digits and capitals left after dropping the
// look-alikes 0, O, 1 and I, e.g. "7KQ2-MZ4D-...". 120 bits from RAND_bytes.
Result<std::string> GeneratePassphrase();

}  // namespace itaku::transports
