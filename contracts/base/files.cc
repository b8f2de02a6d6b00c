#include "contracts/base/files.h"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "contracts/base/atomic_file.h"
#include "contracts/base/hex.h"

namespace itaku {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

}  // namespace

Result<std::string> Sha256File(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Io("cannot read " + path + ": " + std::strerror(errno));
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr);
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0) EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) return Status::Io("cannot read " + path);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &len);
  return Hex(md, len);
}

std::string Sha256Hex(const std::string& data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return Hex(md, len);
}

Status CopyFileAtomically(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(to).parent_path(), ec);
  if (ec)
    return Status::Io("cannot create " + fs::path(to).parent_path().string() + ": " + ec.message());
  std::ifstream in(from, std::ios::binary);
  if (!in) return Status::Io("cannot read " + from + ": " + std::strerror(errno));
  auto file = AtomicFile::Create(to, AtomicFile::Overwrite::kReplace);
  if (!file.ok()) return file.status();
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    const std::string_view chunk(buf.data(), static_cast<size_t>(in.gcount()));
    if (Status w = file->Write(chunk); !w.ok()) return file->Abandon(w);
  }
  if (in.bad()) return file->Abandon(Status::Io("cannot read " + from));
  return file->Commit();
}

Result<std::string> RandomHex32() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    return Result<std::string>::Error("cannot draw random bytes (OpenSSL RAND_bytes failed)");
  }
  return Hex(bytes, sizeof bytes);
}

}  // namespace itaku
