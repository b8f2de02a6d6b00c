// itaku-bench-sftp: one transports::SftpUpload, timed, for ops/bench/sftp.
//
//   itaku-bench-sftp --file PATH --url sftp://user@127.0.0.1:PORT//abs/inbox
//                    --host-key SHA256:... --key PRIVATE_KEY_FILE [--name FINAL_NAME]
//
// Prints "itaku <bytes> bytes <seconds> s <MB/s> MB/s" (MB = 10^6 bytes); the
// time covers the whole call: connect, handshake, authentication, upload,
// remote fsync, size check and rename. On error prints the error and exits 1.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <string>

#include "tests/bench/bench_options.h"
#include "transports/sftp_transport.h"

namespace {

int Usage(const std::string& why) {
  return itaku::bench::Usage("itaku-bench-sftp",
                             "--file PATH --url sftp://user@host:PORT//dir --host-key SHA256:... "
                             "--key PRIVATE_KEY_FILE [--name FINAL_NAME]",
                             why);
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

int main(int argc, char** argv) {
  namespace t = itaku::transports;
  std::string file, url, host_key, key, name;
  const std::string error = itaku::bench::ReadOptions(argc, argv,
                                                      {{"--file", &file},
                                                       {"--url", &url},
                                                       {"--host-key", &host_key},
                                                       {"--key", &key},
                                                       {"--name", &name}});
  if (!error.empty()) return Usage(error);
  if (file.empty() || url.empty() || host_key.empty() || key.empty()) {
    return Usage("--file, --url, --host-key and --key are required");
  }
  if (name.empty()) name = BaseName(file);

  auto endpoint = t::ParseSftpUrl(url);
  if (!endpoint.ok()) {
    std::cerr << "itaku-bench-sftp: " << endpoint.message() << "\n";
    return 1;
  }
  endpoint->pinned_host_key = host_key;
  endpoint->private_key_file = key;

  const auto start = std::chrono::steady_clock::now();
  const auto result = t::SftpUpload(*endpoint, file, name, t::SftpTimeouts{});
  const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
  if (!result.ok()) {
    std::cerr << "itaku-bench-sftp: " << result.message() << "\n";
    return 1;
  }
  if (result->already_there) {
    std::cerr << "itaku-bench-sftp: " << name << " was already on the server; nothing was sent\n";
    return 1;
  }
  const double seconds = elapsed.count();
  std::printf("itaku %llu bytes %.3f s %.1f MB/s\n", static_cast<unsigned long long>(result->bytes),
              seconds, static_cast<double>(result->bytes) / 1e6 / seconds);
  return 0;
}
