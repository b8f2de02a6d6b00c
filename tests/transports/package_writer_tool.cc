// Test-only: writes a slow, large media package until it is killed, so
// media_package_test can SIGKILL it mid-way and check that no file with the
// final name appears.
//
//   itaku-test-package-writer OUT_DIR FINAL_NAME CERT_PEM_FILE
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "transports/media_package.h"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s OUT_DIR FINAL_NAME CERT_PEM_FILE\n", argv[0]);
    return 2;
  }
  std::ifstream cert_file(argv[3]);
  std::ostringstream cert;
  cert << cert_file.rdbuf();
  auto writer = itaku::transports::MediaPackageWriter::Create(argv[1], argv[2], {cert.str(), ""});
  if (!writer.ok()) {
    std::fprintf(stderr, "%s\n", writer.message().c_str());
    return 1;
  }
  std::printf("writing %s\n", (*writer)->temp_path().c_str());
  std::fflush(stdout);
  auto added = (*writer)->AddStream("slow.bin", [](std::ostream& out) {
    // Incompressible (xorshift) so the temporary file grows as data flows.
    std::vector<char> block(1024 * 1024);
    uint64_t x = 88172645463325252ull;
    for (int i = 0; i < 3000; ++i) {  // 3 GB over about ten minutes
      for (char& c : block) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        c = static_cast<char>(x);
      }
      out.write(block.data(), static_cast<std::streamsize>(block.size()));
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return itaku::Status::Ok();
  });
  if (!added.ok()) {
    std::fprintf(stderr, "%s\n", added.message().c_str());
    return 1;
  }
  auto finished = (*writer)->Finish();
  if (!finished.ok()) {
    std::fprintf(stderr, "%s\n", finished.message().c_str());
    return 1;
  }
  return 0;
}
