#include "contracts/base/atomic_file.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace itaku {
namespace {

std::string Errno(int err) { return std::strerror(err); }

// Renames without replacing: RENAME_NOREPLACE, or link+unlink on a file
// system without it. 0 or the errno.
int RenameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return 0;
  int err = errno;
  if (err == EINVAL || err == ENOSYS) {
    err = ::link(from.c_str(), to.c_str()) == 0 ? 0 : errno;
    if (err == 0) ::unlink(from.c_str());
  }
  return err;
}

}  // namespace

Result<AtomicFile> AtomicFile::Create(const std::string& final_path, Overwrite overwrite) {
  const size_t slash = final_path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : final_path.substr(0, slash + 1);
  const std::string name = slash == std::string::npos ? final_path : final_path.substr(slash + 1);
  if (name.empty()) return Status::Error("no file name in " + final_path);
  struct stat st;
  if (overwrite == Overwrite::kRefuse && ::lstat(final_path.c_str(), &st) == 0) {
    return Status::Conflict(final_path + " already exists; refusing to overwrite");
  }
  std::string tmpl = (slash == std::string::npos ? "" : dir) + "." + name + ".partial-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  const int fd = ::mkostemp(buf.data(), O_CLOEXEC);  // O_EXCL, mode 0600
  if (fd < 0) return Status::Io("cannot create a temporary file in " + dir + ": " + Errno(errno));
  return AtomicFile(final_path, std::string(buf.data()), dir, fd, overwrite);
}

AtomicFile::AtomicFile(std::string final_path, std::string temp_path, std::string dir, int fd,
                       Overwrite overwrite)
    : final_path_(std::move(final_path)),
      temp_path_(std::move(temp_path)),
      dir_(std::move(dir)),
      fd_(fd),
      overwrite_(overwrite) {}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : final_path_(std::move(other.final_path_)),
      temp_path_(std::move(other.temp_path_)),
      dir_(std::move(other.dir_)),
      fd_(std::exchange(other.fd_, -1)),
      overwrite_(other.overwrite_),
      done_(std::exchange(other.done_, true)) {}

AtomicFile::~AtomicFile() {
  if (!done_) Abandon(Status::Ok());
}

Status AtomicFile::Write(std::string_view data) {
  if (fd_ < 0) return Status::Internal("write to " + temp_path_ + " after it was closed");
  while (!data.empty()) {
    const ssize_t n = ::write(fd_, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Io("cannot write " + temp_path_ + ": " + Errno(errno));
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::Ok();
}

Status AtomicFile::Abandon(Status why) {
  done_ = true;
  if (fd_ >= 0) ::close(std::exchange(fd_, -1));
  ::unlink(temp_path_.c_str());
  return why;
}

Status AtomicFile::Commit() {
  if (done_ || fd_ < 0) return Status::Internal("commit of " + final_path_ + " twice");
  if (::fsync(fd_) != 0)
    return Abandon(Status::Io("cannot fsync " + temp_path_ + ": " + Errno(errno)));
  if (::close(std::exchange(fd_, -1)) != 0) {
    return Abandon(Status::Io("cannot close " + temp_path_ + ": " + Errno(errno)));
  }
  const int err = overwrite_ == Overwrite::kRefuse
                      ? RenameNoReplace(temp_path_, final_path_)
                      : (::rename(temp_path_.c_str(), final_path_.c_str()) == 0 ? 0 : errno);
  if (err == EEXIST) {
    return Abandon(Status::Conflict(final_path_ + " already exists; refusing to overwrite"));
  }
  if (err != 0) {
    return Abandon(
        Status::Io("cannot rename " + temp_path_ + " to " + final_path_ + ": " + Errno(err)));
  }
  done_ = true;
  const int dir_fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0 || ::fsync(dir_fd) != 0) {
    const int e = errno;
    if (dir_fd >= 0) ::close(dir_fd);
    return Status::Io(final_path_ + " is written but fsync of " + dir_ + " failed: " + Errno(e));
  }
  ::close(dir_fd);
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& path, std::string_view data,
                           AtomicFile::Overwrite overwrite) {
  auto file = AtomicFile::Create(path, overwrite);
  if (!file.ok()) return file.status();
  if (Status w = file->Write(data); !w.ok()) return file->Abandon(w);
  return file->Commit();
}

}  // namespace itaku
