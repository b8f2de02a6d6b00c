// A file that appears under its final name complete or not at all. It is
// written under a temporary name in the same folder (".NAME.partial-XXXXXX",
// created with O_EXCL and mode 0600, so it is private from the first byte),
// then Commit() fsyncs it, renames it to the final name and fsyncs the
// folder. With Overwrite::kRefuse a file already at the final name, even one
// that appeared while writing, is a Conflict and is left untouched. A file
// never committed is removed by the destructor: nothing half-written stays
// where someone could take it for the real thing.
#pragma once

#include <string>
#include <string_view>

#include "contracts/base/status.h"

namespace itaku {

class AtomicFile {
 public:
  enum class Overwrite { kRefuse, kReplace };

  static Result<AtomicFile> Create(const std::string& final_path,
                                   Overwrite overwrite = Overwrite::kRefuse);
  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  ~AtomicFile();

  // The open temporary file, for writers that need a descriptor (OpenSSL
  // BIOs); -1 after Commit() or Abandon().
  int fd() const { return fd_; }
  const std::string& temp_path() const { return temp_path_; }
  const std::string& final_path() const { return final_path_; }

  // Appends every byte of `data` (retrying short writes).
  Status Write(std::string_view data);
  // fsync, close, rename to the final name, fsync the folder. On failure the
  // temporary file is removed; a failed folder fsync leaves the file in
  // place and says so.
  Status Commit();
  // Closes and removes the temporary file; returns `why`.
  Status Abandon(Status why);

 private:
  AtomicFile(std::string final_path, std::string temp_path, std::string dir, int fd,
             Overwrite overwrite);
  std::string final_path_;
  std::string temp_path_;
  std::string dir_;
  int fd_ = -1;
  Overwrite overwrite_;
  bool done_ = false;
};

// `data` as `path`, through an AtomicFile.
Status WriteFileAtomically(const std::string& path, std::string_view data,
                           AtomicFile::Overwrite overwrite = AtomicFile::Overwrite::kRefuse);

}  // namespace itaku
