#include "transports/certificate.h"

#include <gtest/gtest.h>

#include <chrono>

#include "contracts/base/date.h"
#include "tests/transports/test_util.h"

namespace itaku::transports {
namespace {

using std::chrono::system_clock;
using test_util::Output;
using test_util::ReadFile;
using test_util::RunCommand;
using test_util::TempDir;

class CertificateTest : public ::testing::Test {
 protected:
  // A self-signed certificate valid for `days` from now; returns its PEM.
  std::string MakeCert(const std::string& name, const std::string& key_spec, int days = 30) {
    EXPECT_EQ(RunCommand("openssl req -x509 " + key_spec + " -nodes -days " + std::to_string(days) +
                         " -subj '/O=Agency A/CN=" + name + "' -keyout " +
                         (dir_ / (name + ".key")) + " -out " + (dir_ / (name + ".crt"))),
              0);
    return ReadFile(dir_ / (name + ".crt"));
  }
  // What `openssl x509` prints for the certificate, e.g. field "enddate".
  std::string OpensslSays(const std::string& name, const std::string& option) {
    std::string out = Output("openssl x509 -noout -dateopt iso_8601 -" + option + " -in " +
                             (dir_ / (name + ".crt")));
    out = out.substr(out.find('=') + 1);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }

  TempDir dir_;
};

TEST_F(CertificateTest, Rsa2048IsAcceptedWithOpensslFingerprint) {
  std::string pem = MakeCert("agency-a", "-newkey rsa:2048");
  auto info = InspectCertificate(pem, system_clock::now());
  ASSERT_TRUE(info.ok()) << info.message();
  // openssl prints "sha256 Fingerprint=AB:CD:..."; ours is "SHA256:AB:CD:...".
  EXPECT_EQ(info->fingerprint, "SHA256:" + OpensslSays("agency-a", "fingerprint -sha256"));
  EXPECT_EQ(info->fingerprint.size(), 7u + 32 * 3 - 1);
  EXPECT_EQ(info->subject, "CN=agency-a,O=Agency A");
  EXPECT_EQ(info->key_type, "RSA");
  EXPECT_EQ(info->key_bits, 2048);
  // openssl's ISO 8601 form is "2026-11-29 14:47:44Z"; ours has a 'T'.
  std::string not_after = OpensslSays("agency-a", "enddate");
  not_after[10] = 'T';
  EXPECT_EQ(info->not_after, not_after);
  std::string not_before = OpensslSays("agency-a", "startdate");
  not_before[10] = 'T';
  EXPECT_EQ(info->not_before, not_before);
}

TEST_F(CertificateTest, EcP256IsAccepted) {
  std::string pem = MakeCert("agency-ec", "-newkey ec -pkeyopt ec_paramgen_curve:P-256");
  auto info = InspectCertificate(pem, system_clock::now());
  ASSERT_TRUE(info.ok()) << info.message();
  EXPECT_EQ(info->fingerprint, "SHA256:" + OpensslSays("agency-ec", "fingerprint -sha256"));
  EXPECT_EQ(info->key_type, "EC");
  EXPECT_EQ(info->key_bits, 256);
}

TEST_F(CertificateTest, ExpiredIsRefusedWithItsDates) {
  std::string pem = MakeCert("old", "-newkey ec -pkeyopt ec_paramgen_curve:P-256", 1);
  std::string start_day = OpensslSays("old", "startdate").substr(0, 10);
  std::string end_day = OpensslSays("old", "enddate").substr(0, 10);
  auto info = InspectCertificate(pem, system_clock::now() + std::chrono::hours(72));
  EXPECT_EQ(info.message(),
            "certificate expired on " + end_day + " (valid " + start_day + " to " + end_day + ")");
}

TEST_F(CertificateTest, NotYetValidIsRefusedWithItsDates) {
  std::string pem = MakeCert("early", "-newkey ec -pkeyopt ec_paramgen_curve:P-256");
  std::string start_day = OpensslSays("early", "startdate").substr(0, 10);
  std::string end_day = OpensslSays("early", "enddate").substr(0, 10);
  auto info = InspectCertificate(pem, system_clock::now() - std::chrono::hours(72));
  EXPECT_EQ(info.message(), "certificate is not valid until " + start_day + " (valid " + start_day +
                                " to " + end_day + ")");
}

// What the portal asks of a client certificate at the handshake: the ends
// are inclusive, one second past either is refused.
TEST(CertificateValidityRefusalTest, BothEndsInclusive) {
  const auto from = std::chrono::sys_days(std::chrono::year(2026) / 1 / 31) + std::chrono::hours(9);
  const auto until = from + std::chrono::hours(24 * 365);
  const std::string valid = " (valid 2026-01-31 to 2027-01-31)";
  EXPECT_EQ(CertificateValidityRefusal(from, until, from), "");
  EXPECT_EQ(CertificateValidityRefusal(from, until, until), "");
  EXPECT_EQ(CertificateValidityRefusal(from, until, until + std::chrono::seconds(1)),
            "certificate expired on 2027-01-31" + valid);
  EXPECT_EQ(CertificateValidityRefusal(from, until, from - std::chrono::seconds(1)),
            "certificate is not valid until 2026-01-31" + valid);
}

TEST(CertificateValidityTest, NoCertificateHasNoDates) {
  system_clock::time_point not_before, not_after;
  EXPECT_FALSE(CertificateValidity(nullptr, &not_before, &not_after));
}

TEST_F(CertificateTest, Rsa1024IsRefused) {
  std::string pem = MakeCert("weak", "-newkey rsa:1024");
  auto info = InspectCertificate(pem, system_clock::now());
  EXPECT_EQ(info.message(), "certificate RSA key is 1024 bits; at least 2048 required");
}

TEST_F(CertificateTest, Ed25519IsRefused) {
  std::string pem = MakeCert("edwards", "-newkey ed25519");
  auto info = InspectCertificate(pem, system_clock::now());
  EXPECT_EQ(info.message(),
            "certificate key type ED25519 cannot receive packages; RSA or EC required");
}

TEST_F(CertificateTest, GarbageIsNotAPemCertificate) {
  EXPECT_EQ(InspectCertificate("hello", system_clock::now()).message(), "not a PEM certificate");
  EXPECT_EQ(InspectCertificate("", system_clock::now()).message(), "not a PEM certificate");
  EXPECT_EQ(InspectCertificate("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
                               system_clock::now())
                .message(),
            "not a PEM certificate");
  // A private key is not a certificate either.
  MakeCert("k", "-newkey rsa:2048");
  EXPECT_EQ(InspectCertificate(ReadFile(dir_ / "k.key"), system_clock::now()).message(),
            "not a PEM certificate");
}

}  // namespace
}  // namespace itaku::transports
