#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>

#include "tests/transports/portal_fixture.h"
#include "transports/detail/portal_server_impl.h"

namespace itaku::transports::portal_test {
namespace {

using std::chrono::milliseconds;

// Many descriptors at once (the junk below and the server, in one process):
// raise the soft limit to `n` when the hard one allows.
void EnsureDescriptors(rlim_t n) {
  rlimit r{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &r), 0);
  if (r.rlim_cur < n && r.rlim_max >= n) {
    r.rlim_cur = n;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &r), 0);
  }
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &r), 0);
  ASSERT_GE(r.rlim_cur, n) << "ulimit -n is too low for this test";
}

// Plain TCP connections to the portal from `source` (any 127.x.y.z: Linux
// routes all of 127/8 to the loopback), held until destroyed. Each is idle,
// or sends the first 11 bytes of a TLS ClientHello (a record announcing
// 512 bytes) and nothing more: the slow client a handshake waits for.
class JunkConnections {
 public:
  JunkConnections(const std::string& source, int port, int count, bool hello) {
    static const unsigned char kPartialHello[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01,
                                                  0x00, 0x01, 0xfc, 0x03, 0x03};
    for (int i = 0; i < count; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) break;
      fds_.push_back(fd);
      sockaddr_in from{};
      from.sin_family = AF_INET;
      ::inet_pton(AF_INET, source.c_str(), &from.sin_addr);
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(static_cast<uint16_t>(port));
      ::inet_pton(AF_INET, "127.0.0.1", &to.sin_addr);
      if (::bind(fd, reinterpret_cast<sockaddr*>(&from), sizeof from) != 0 ||
          ::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
        break;
      }
      if (hello) (void)::send(fd, kPartialHello, sizeof kPartialHello, MSG_NOSIGNAL);
      ++connected_;
    }
  }
  ~JunkConnections() {
    for (int fd : fds_) ::close(fd);
  }
  JunkConnections(const JunkConnections&) = delete;
  JunkConnections& operator=(const JunkConnections&) = delete;

  int connected() const { return connected_; }
  // Those the server has not closed (nothing to read yet, no end of stream).
  int open() const {
    int n = 0;
    for (int fd : fds_) {
      char c;
      const ssize_t got = ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
      if (got > 0 || (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))) ++n;
    }
    return n;
  }
  // Waits (up to `limit`) until at most `n` are open; how many are.
  int WaitUntilOpenAtMost(int n, milliseconds limit) const {
    const auto until = Clock::now() + limit;
    int now_open = open();
    while (now_open > n && Clock::now() < until) {
      std::this_thread::sleep_for(milliseconds(20));
      now_open = open();
    }
    return now_open;
  }

 private:
  std::vector<int> fds_;
  int connected_ = 0;
};

// A TLS connection with client certificate `who`, handshake done.
struct RawClient {
  boost::asio::io_context ioc;
  boost::asio::ssl::context ctx{boost::asio::ssl::context::tls_client};
  std::unique_ptr<boost::asio::ssl::stream<boost::asio::ip::tcp::socket>> stream;

  RawClient(int port, const std::string& who) {
    namespace net = boost::asio;
    ctx.use_certificate_file(certs->cert(who), net::ssl::context::pem);
    ctx.use_private_key_file(certs->key(who), net::ssl::context::pem);
    ctx.set_verify_mode(net::ssl::verify_none);
    stream = std::make_unique<net::ssl::stream<net::ip::tcp::socket>>(ioc, ctx);
    stream->next_layer().connect({net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)});
    stream->handshake(net::ssl::stream_base::client);
  }
};

TEST_F(PortalServerTest, ConnectionsOverTheCapAreClosedAtOnce) {
  options_.max_connections = 1;
  StartServer();
  {
    RawClient idle(server_->port(), "A");  // holds the only slot
    CurlResult refused = Curl("A", "/portal/v1/packages");
    EXPECT_NE(refused.exit, 0);
    EXPECT_EQ(refused.http, 0);
  }
  // The slot is free again once the idle connection is gone.
  CurlResult ok;
  for (int i = 0; i < 20; ++i) {
    ok = Curl("A", "/portal/v1/packages");
    if (ok.http == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(ok.http, 200);
}

// ~256 idle TCP connections (no TLS) locked every contractor out. Now one
// address holds at most max_connections_per_address (32): the rest are
// closed at accept, and a contractor elsewhere is served at once.
TEST_F(PortalServerTest, FiveHundredIdleConnectionsFromOneAddressDoNotLockOutAnother) {
  ASSERT_NO_FATAL_FAILURE(EnsureDescriptors(1200));
  StartServer();
  JunkConnections junk("127.0.0.2", server_->port(), 500, /*hello=*/false);
  ASSERT_EQ(junk.connected(), 500);
  EXPECT_EQ(junk.WaitUntilOpenAtMost(32, milliseconds(3000)), 32);
  const auto start = Clock::now();
  CurlResult r = Curl("A", "/portal/v1/packages");
  const auto took = Clock::now() - start;
  EXPECT_TRUE(Answered(r, 200));
  EXPECT_LT(took, milliseconds(1000));
  EXPECT_EQ(junk.open(), 32);       // still there while the contractor was served
  EXPECT_EQ(Audits(1).size(), 1u);  // the junk never reached the record
}

TEST_F(PortalServerTest, FiveHundredSlowClientHellosFromOneAddressDoNotLockOutAnother) {
  ASSERT_NO_FATAL_FAILURE(EnsureDescriptors(1200));
  StartServer();
  JunkConnections junk("127.0.0.2", server_->port(), 500, /*hello=*/true);
  ASSERT_EQ(junk.connected(), 500);
  EXPECT_EQ(junk.WaitUntilOpenAtMost(32, milliseconds(3000)), 32);
  const auto start = Clock::now();
  CurlResult r = Curl("A", "/portal/v1/packages");
  const auto took = Clock::now() - start;
  EXPECT_TRUE(Answered(r, 200));
  EXPECT_LT(took, milliseconds(1000));
  EXPECT_EQ(junk.open(), 32);
}

// Junk from the contractor's own address fills its share; it goes at the
// handshake deadline (from accept to the first request head), and the
// contractor gets in.
TEST_F(PortalServerTest, JunkFromTheContractorsOwnAddressGoesAtTheHandshakeDeadline) {
  options_.handshake_timeout_ms = 1000;
  options_.max_connections_per_address = 8;
  StartServer();
  const auto opened = Clock::now();
  JunkConnections idle("127.0.0.1", server_->port(), 4, /*hello=*/false);
  JunkConnections slow("127.0.0.1", server_->port(), 4, /*hello=*/true);
  CurlResult refused = Curl("A", "/portal/v1/packages");  // the ninth from 127.0.0.1
  EXPECT_NE(refused.exit, 0);
  EXPECT_EQ(refused.http, 0);
  EXPECT_EQ(idle.WaitUntilOpenAtMost(0, milliseconds(5000)), 0);
  EXPECT_EQ(slow.WaitUntilOpenAtMost(0, milliseconds(5000)), 0);
  const auto gone_after = Clock::now() - opened;
  EXPECT_GE(gone_after, milliseconds(900));
  EXPECT_LT(gone_after, milliseconds(2500));
  EXPECT_TRUE(Answered(Curl("A", "/portal/v1/packages"), 200));
}

TEST(AddressKeyTest, OneAddressOrOneIpv6Slash64) {
  namespace net = boost::asio;
  EXPECT_EQ(detail::AddressKey(net::ip::make_address("127.0.0.2")), "127.0.0.2");
  EXPECT_EQ(detail::AddressKey(net::ip::make_address("::ffff:192.0.2.7")), "192.0.2.7");
  EXPECT_EQ(detail::AddressKey(net::ip::make_address("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
  EXPECT_EQ(detail::AddressKey(net::ip::make_address("2001:db8:1:2:bbbb::9")), "2001:db8:1:2::/64");
  EXPECT_EQ(detail::AddressKey(net::ip::make_address("::1")), "::/64");
}

// A client that completes the TLS handshake, then sends its request head
// one byte at a time; returns how long the server let it trickle.
std::chrono::milliseconds TrickleUntilCut(int port, const std::string& who,
                                          std::chrono::milliseconds per_byte) {
  namespace net = boost::asio;
  namespace ssl = net::ssl;
  net::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.use_certificate_file(certs->cert(who), ssl::context::pem);
  ctx.use_private_key_file(certs->key(who), ssl::context::pem);
  ctx.set_verify_mode(ssl::verify_none);
  ssl::stream<net::ip::tcp::socket> stream(ioc, ctx);
  stream.next_layer().connect({net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port)});
  stream.handshake(ssl::stream_base::client);
  const std::string head =
      "GET /portal/v1/packages HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + std::string(500, 'z') +
      "\r\n\r\n";
  const auto start = Clock::now();
  for (char c : head) {
    boost::system::error_code ec;
    net::write(stream, net::buffer(&c, 1), ec);
    if (ec) break;
    std::this_thread::sleep_for(per_byte);
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

TEST_F(PortalServerTest, SlowHeaderClientIsCutWhileADownloadCarriesOn) {
  options_.header_timeout_ms = 1500;
  StartServerWithBigPackage();
  CurlResult download;
  Clock::time_point download_done;
  std::thread downloader = StartBigDownload(&download, "4M", &download_done);
  const auto trickled = TrickleUntilCut(server_->port(), "B", std::chrono::milliseconds(100));
  const auto cut_at = Clock::now();
  downloader.join();

  // Cut at the header timeout (the write that notices may come a byte or
  // two later), not at the end of its 600-byte head (60 s).
  EXPECT_GE(trickled.count(), 1300);
  EXPECT_LE(trickled.count(), 3000);
  ASSERT_TRUE(Answered(download, 200));
  EXPECT_TRUE(download.body() == big_);
  EXPECT_GT(download_done, cut_at);  // the download was still running when the slow client went
  Audits(2);
  auto timed_out = AuditsWithStatus(408);
  ASSERT_EQ(timed_out.size(), 1u);
  EXPECT_EQ(timed_out[0].caller.fingerprint, certs->fingerprint["B"]);
  EXPECT_EQ(timed_out[0].caller.contractor_id, "builder-b");
  EXPECT_EQ(timed_out[0].outcome, "request head timed out");
}

TEST_F(PortalServerTest, SuspensionCutsADownloadInProgress) {
  options_.status_recheck_ms = 200;
  StartServerWithBigPackage();
  CurlResult download;
  std::thread downloader = StartBigDownload(&download, "2M");
  backend_.Suspend("builder-a");
  const auto suspended_at = Clock::now();
  downloader.join();
  // Not the 7 s the rest would take; what loopback buffers already hold
  // (a few MiB) still arrives before the cut shows.
  EXPECT_LT(Clock::now() - suspended_at, std::chrono::seconds(5));
  EXPECT_NE(download.exit, 0) << download.http << " " << download.error << download.headers;
  EXPECT_LT(download.body().size(), big_.size());

  auto downloads = Downloads(1);
  ASSERT_EQ(downloads.size(), 1u);
  EXPECT_FALSE(downloads[0].complete);
  EXPECT_LT(downloads[0].bytes, big_.size());
  auto audits = Audits(1);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].status, 200);
  EXPECT_EQ(audits[0].outcome, "cut off during download: contractor builder-a is suspended");
  EXPECT_EQ(audits[0].bytes, downloads[0].bytes);
}

TEST_F(PortalServerTest, SigtermLetsAnInFlightDownloadFinish) {
  StartServerWithBigPackage(64, /*handle_signals=*/true);
  const int port = server_->port();
  CurlResult download;
  std::thread downloader = StartBigDownload(&download, "16M");
  EXPECT_FALSE(returned_);
  EXPECT_TRUE(backend_.downloads().empty());  // the server is still sending
  ASSERT_EQ(::kill(::getpid(), SIGTERM), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // No longer accepting: refused (curl 7), even though the curl still
  // downloading was forked while the listener was open (it must not have
  // inherited the listening socket).
  EXPECT_EQ(
      RunCommand("curl -sk --max-time 5 --cert " + certs->cert("A") + " --key " + certs->key("A") +
                 " https://127.0.0.1:" + std::to_string(port) + "/portal/v1/packages"),
      7);
  EXPECT_FALSE(returned_);  // ...but still serving the download.
  downloader.join();
  ASSERT_EQ(download.exit, 0) << download.error;
  EXPECT_TRUE(download.body() == big_);
  thread_.join();
  EXPECT_TRUE(returned_);
  EXPECT_TRUE(run_status_.ok()) << run_status_.message();
  auto downloads = Downloads(1);
  ASSERT_EQ(downloads.size(), 1u);
  EXPECT_TRUE(downloads[0].complete);
  EXPECT_EQ(downloads[0].bytes, big_.size());
}

TEST_F(PortalServerTest, StopCutsDownloadsStillRunningAfterTheGracePeriod) {
  options_.shutdown_grace_ms = 500;
  StartServerWithBigPackage();
  CurlResult download;
  std::thread downloader = StartBigDownload(&download, "4M");
  const auto stop_at = Clock::now();
  server_->Stop();
  thread_.join();
  const auto stopped_after = Clock::now() - stop_at;
  EXPECT_GE(stopped_after, std::chrono::milliseconds(450));  // the grace period was given
  EXPECT_LT(stopped_after, std::chrono::seconds(2));
  EXPECT_TRUE(run_status_.ok());
  downloader.join();
  EXPECT_NE(download.exit, 0);
  auto downloads = Downloads(1);
  ASSERT_EQ(downloads.size(), 1u);
  EXPECT_FALSE(downloads[0].complete);
  auto audits = Audits(1);
  ASSERT_EQ(audits.size(), 1u);
  EXPECT_EQ(audits[0].outcome, "download cut off at shutdown");
}

}  // namespace
}  // namespace itaku::transports::portal_test
