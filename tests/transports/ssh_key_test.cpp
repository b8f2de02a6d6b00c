#include "transports/ssh_key.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "tests/transports/test_util.h"

namespace itaku::transports {
namespace {

using test_util::Output;
using test_util::ReadFile;
using test_util::RunCommand;
using test_util::TempDir;

constexpr char kNotAKey[] = "not an SSH private key (OpenSSH or PEM)";
constexpr char kRsa1024[] = "RSA key is 1024 bits; at least 2048 required";
constexpr char kNoPassphrase[] = "key is protected by a passphrase that was not given";
constexpr char kWrongPassphrase[] = "cannot open the key: wrong passphrase or damaged key";
constexpr char kDamaged[] = "damaged OpenSSH key";

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// The base64 body lines of a PEM or OpenSSH key (no BEGIN/END/header lines).
std::vector<std::string> BodyLines(const std::string& text) {
  std::vector<std::string> body;
  for (const std::string& line : Lines(text)) {
    if (line.rfind("-----", 0) == 0 || line.find(':') != std::string::npos || line.empty()) {
      continue;
    }
    body.push_back(line);
  }
  return body;
}

// A base64 line of the key that is unique to it (not the common header):
// the last body line but one, or the only one.
std::string DistinctiveLine(const std::string& text) {
  std::vector<std::string> body = BodyLines(text);
  if (body.empty()) return "";
  return body.size() == 1 ? body[0] : body[body.size() - 2];
}

// Asserts `message` does not quote the key.
void ExpectNoKeyText(const std::string& message, const std::string& key) {
  const std::string line = DistinctiveLine(key);
  ASSERT_GE(line.size(), 16u) << "no distinctive line found in the key";
  EXPECT_EQ(message.find(line), std::string::npos) << message;
  EXPECT_EQ(message.find(line.substr(0, 16)), std::string::npos) << message;
}

// What `ssh-keygen -lf KEY.pub` prints: "256 SHA256:... comment (ED25519)".
struct KeygenListing {
  int bits = 0;
  std::string fingerprint;
};

// What InspectPrivateKey must make of an accepted key.
struct Accepted {
  std::string type;
  int bits = 0;
  bool encrypted = false;
  std::string fingerprint;  // "" for PEM keys
};

void ExpectAccepted(const std::string& key, const std::string& passphrase, const Accepted& want) {
  auto info = InspectPrivateKey(key, passphrase);
  ASSERT_TRUE(info.ok()) << info.message();
  EXPECT_EQ(info->type, want.type);
  EXPECT_EQ(info->bits, want.bits);
  EXPECT_EQ(info->encrypted, want.encrypted);
  EXPECT_EQ(info->fingerprint, want.fingerprint);
}

// `text` is refused with `message`, which quotes nothing of `key` (when
// given: the key `text` was made from).
void ExpectRefused(const std::string& text, const std::string& passphrase,
                   const std::string& message, const std::string& key = "") {
  auto info = InspectPrivateKey(text, passphrase);
  ASSERT_FALSE(info.ok()) << "accepted as " << info->type;
  EXPECT_EQ(info.message(), message);
  if (!key.empty()) ExpectNoKeyText(info.message(), key);
}

// Keeps the BEGIN/END lines and the first half of the base64 body lines.
std::string KeepHalfTheBody(const std::string& key) {
  std::vector<std::string> lines = Lines(key);
  std::vector<std::string> body = BodyLines(key);
  std::string out = lines.front() + "\n";
  for (size_t i = 0; i < body.size() / 2; ++i) out += body[i] + "\n";
  return out + lines.back() + "\n";
}

constexpr char kPemRsa2048[] = "-algorithm RSA -pkeyopt rsa_keygen_bits:2048";

class SshKeyTest : public ::testing::Test {
 protected:
  // Generates an OpenSSH format key with ssh-keygen; returns the private key.
  std::string SshKeygen(const std::string& name, const std::string& args,
                        const std::string& passphrase = "") {
    EXPECT_EQ(RunCommand("ssh-keygen -q " + args + " -N '" + passphrase + "' -C itaku-test -f " +
                         (dir_ / name)),
              0)
        << args;
    std::string key = ReadFile(dir_ / name);
    EXPECT_NE(key.find("-----BEGIN OPENSSH PRIVATE KEY-----"), std::string::npos) << key;
    return key;
  }

  // `ssh-keygen -lf NAME.pub`, parsed.
  KeygenListing KeygenSays(const std::string& name) {
    std::istringstream out(Output("ssh-keygen -lf " + (dir_ / (name + ".pub"))));
    KeygenListing listing;
    out >> listing.bits >> listing.fingerprint;
    EXPECT_EQ(listing.fingerprint.rfind("SHA256:", 0), 0u) << listing.fingerprint;
    return listing;
  }

  // A key of `type` and `bits` from ssh-keygen is accepted with the bits
  // and fingerprint ssh-keygen says.
  void ExpectSshKeygenKeyAccepted(const std::string& type, int bits) {
    const std::string name = "id_" + type;
    const std::string key = SshKeygen(name, "-t " + type + " -b " + std::to_string(bits));
    const KeygenListing listing = KeygenSays(name);
    EXPECT_EQ(listing.bits, bits);
    ExpectAccepted(key, "", {type, bits, false, listing.fingerprint});
  }

  // Runs `openssl genpkey ARGS -out NAME`; returns the PEM.
  std::string Genpkey(const std::string& name, const std::string& args) {
    EXPECT_EQ(RunCommand("openssl genpkey " + args + " -out " + (dir_ / name)), 0) << args;
    std::string pem = ReadFile(dir_ / name);
    EXPECT_NE(pem.find("PRIVATE KEY-----"), std::string::npos) << pem;
    return pem;
  }

  // A 2048-bit RSA key in PKCS#1 PEM, as `ssh-keygen -m PEM` writes it.
  std::string SshKeygenPem(const std::string& passphrase) {
    const std::string key_path = dir_ / "id_rsa";
    EXPECT_EQ(
        RunCommand("ssh-keygen -q -t rsa -b 2048 -m PEM -N '" + passphrase + "' -f " + key_path),
        0);
    return ReadFile(key_path);
  }

  // An encrypted 2048-bit RSA PEM key opens with "secret" only.
  static void ExpectOpensWithTheRightPassphraseOnly(const std::string& pem) {
    ExpectRefused(pem, "", kNoPassphrase, pem);
    ExpectRefused(pem, "wrong", kWrongPassphrase, pem);
    ExpectAccepted(pem, "secret", {"rsa", 2048, true, ""});
  }

  TempDir dir_;
};

// ---- OpenSSH format ----

TEST_F(SshKeyTest, Ed25519IsAcceptedWithSshKeygenFingerprint) {
  const std::string key = SshKeygen("id_ed25519", "-t ed25519");
  const KeygenListing listing = KeygenSays("id_ed25519");
  EXPECT_EQ(listing.bits, 256);
  ExpectAccepted(key, "", {"ed25519", 256, false, listing.fingerprint});
  // "SHA256:" + 43 base64 characters, no '=' padding.
  EXPECT_EQ(listing.fingerprint.size(), 7u + 43);
  EXPECT_EQ(listing.fingerprint.find('='), std::string::npos);
}

TEST_F(SshKeyTest, Ed25519WithCrlfLineEndingsIsAccepted) {
  const std::string key = SshKeygen("id_ed25519", "-t ed25519");
  std::string crlf;
  for (const std::string& line : Lines(key)) crlf += line + "\r\n";
  ExpectAccepted(crlf, "", {"ed25519", 256, false, KeygenSays("id_ed25519").fingerprint});
}

TEST_F(SshKeyTest, PassphraseProtectedEd25519IsJudgedByItsPublicHalf) {
  const std::string key = SshKeygen("id_ed25519", "-t ed25519", "secret phrase");
  const std::string fingerprint = KeygenSays("id_ed25519").fingerprint;
  for (const char* passphrase : {"", "secret phrase", "wrong"}) {
    SCOPED_TRACE(std::string("passphrase '") + passphrase + "'");
    ExpectAccepted(key, passphrase, {"ed25519", 256, true, fingerprint});
  }
}

class SshKeyEcdsaTest : public SshKeyTest, public ::testing::WithParamInterface<int> {};

TEST_P(SshKeyEcdsaTest, IsAcceptedWithCurveBitsAndSshKeygenFingerprint) {
  ExpectSshKeygenKeyAccepted("ecdsa", GetParam());
}

INSTANTIATE_TEST_SUITE_P(Curves, SshKeyEcdsaTest, ::testing::Values(256, 384, 521),
                         [](const auto& p) { return "P" + std::to_string(p.param); });

class SshKeyRsaTest : public SshKeyTest, public ::testing::WithParamInterface<int> {};

TEST_P(SshKeyRsaTest, IsAcceptedWithModulusBitsAndSshKeygenFingerprint) {
  ExpectSshKeygenKeyAccepted("rsa", GetParam());
}

INSTANTIATE_TEST_SUITE_P(Sizes, SshKeyRsaTest, ::testing::Values(2048, 3072),
                         [](const auto& p) { return "Rsa" + std::to_string(p.param); });

TEST_F(SshKeyTest, OpenSshRsa1024IsRefused) {
  const std::string key = SshKeygen("id_rsa", "-t rsa -b 1024");
  ExpectRefused(key, "", kRsa1024, key);
}

TEST_F(SshKeyTest, OpenSshDsaIsRefused) {
  const std::string key = SshKeygen("id_dsa", "-t dsa");
  ExpectRefused(key, "", "key type ssh-dss is not accepted; use ed25519, ECDSA or RSA >= 2048",
                key);
}

// ---- Damaged OpenSSH keys ----

TEST_F(SshKeyTest, Ed25519TruncatedToHalfItsLinesIsDamaged) {
  const std::string key = SshKeygen("id_ed25519", "-t ed25519");
  ASSERT_LT(KeepHalfTheBody(key).size(), key.size());
  ExpectRefused(KeepHalfTheBody(key), "", kDamaged, key);
}

TEST_F(SshKeyTest, Rsa3072TruncatedToHalfItsLinesIsDamaged) {
  const std::string key = SshKeygen("id_rsa", "-t rsa -b 3072");
  ASSERT_LT(KeepHalfTheBody(key).size(), key.size());
  ExpectRefused(KeepHalfTheBody(key), "", kDamaged, key);
}

TEST_F(SshKeyTest, Ed25519MissingOneCharacterIsDamaged) {
  // Base64 whose length is not a multiple of 4 cannot be decoded.
  const std::string key = SshKeygen("id_ed25519", "-t ed25519");
  std::string damaged = key;
  const size_t end = damaged.find("\n-----END");
  ASSERT_NE(end, std::string::npos);
  damaged.erase(end - 1, 1);
  ExpectRefused(damaged, "", kDamaged, key);
}

TEST_F(SshKeyTest, OpenSshWithInvalidBase64IsDamaged) {
  const std::string key = SshKeygen("id_ed25519", "-t ed25519");
  std::string damaged = key;
  damaged.replace(damaged.find('\n') + 1 + 4, 4, "*!*!");
  ExpectRefused(damaged, "", kDamaged, key);
}

TEST_F(SshKeyTest, OpenSshWithoutEndLineIsDamaged) {
  const std::string key = SshKeygen("id_ed25519", "-t ed25519");
  ExpectRefused(key.substr(0, key.find("-----END")), "", kDamaged, key);
}

TEST_F(SshKeyTest, OpenSshWithWrongMagicIsDamaged) {
  // Valid base64 of something that is not "openssh-key-v1\0".
  ExpectRefused(
      "-----BEGIN OPENSSH PRIVATE KEY-----\n"
      "aGVsbG8gd29ybGQsIHRoaXMgaXMgbm90IGEga2V5IGF0IGFsbA==\n"
      "-----END OPENSSH PRIVATE KEY-----\n",
      "", kDamaged);
}

// ---- PEM ----

TEST_F(SshKeyTest, PemRsa2048IsAcceptedWithoutFingerprint) {
  ExpectAccepted(Genpkey("k.pem", kPemRsa2048), "", {"rsa", 2048, false, ""});
}

TEST_F(SshKeyTest, PemRsa2048WithUnneededPassphraseIsAccepted) {
  ExpectAccepted(Genpkey("k.pem", kPemRsa2048), "secret", {"rsa", 2048, false, ""});
}

TEST_F(SshKeyTest, PemRsa1024IsRefused) {
  const std::string pem = Genpkey("k.pem", "-algorithm RSA -pkeyopt rsa_keygen_bits:1024");
  ExpectRefused(pem, "", kRsa1024, pem);
}

TEST_F(SshKeyTest, Pkcs1RsaFromSshKeygenIsAccepted) {
  // ssh-keygen -m PEM writes "BEGIN RSA PRIVATE KEY" (PKCS#1).
  const std::string pem = SshKeygenPem("");
  ASSERT_NE(pem.find("-----BEGIN RSA PRIVATE KEY-----"), std::string::npos) << pem;
  ExpectAccepted(pem, "", {"rsa", 2048, false, ""});
}

TEST_F(SshKeyTest, PemEcP256IsAccepted) {
  ExpectAccepted(Genpkey("k.pem", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256"), "",
                 {"ecdsa", 256, false, ""});
}

TEST_F(SshKeyTest, PemEcP384IsAccepted) {
  ExpectAccepted(Genpkey("k.pem", "-algorithm EC -pkeyopt ec_paramgen_curve:P-384"), "",
                 {"ecdsa", 384, false, ""});
}

TEST_F(SshKeyTest, PemEd25519IsAccepted) {
  ExpectAccepted(Genpkey("k.pem", "-algorithm ED25519"), "", {"ed25519", 256, false, ""});
}

TEST_F(SshKeyTest, EncryptedPkcs8NeedsTheRightPassphrase) {
  const std::string pem =
      Genpkey("k.pem", std::string(kPemRsa2048) + " -aes-256-cbc -pass pass:secret");
  ASSERT_NE(pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----"), std::string::npos) << pem;
  ExpectOpensWithTheRightPassphraseOnly(pem);
}

TEST_F(SshKeyTest, EncryptedPkcs1NeedsTheRightPassphrase) {
  // Traditional "Proc-Type: 4,ENCRYPTED" PEM, as ssh-keygen -m PEM -N writes.
  const std::string pem = SshKeygenPem("secret");
  ASSERT_NE(pem.find("Proc-Type: 4,ENCRYPTED"), std::string::npos) << pem;
  ExpectOpensWithTheRightPassphraseOnly(pem);
}

TEST_F(SshKeyTest, PemEd448IsRefused) {
  const std::string pem = Genpkey("k.pem", "-algorithm ED448");
  auto info = InspectPrivateKey(pem, "");
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.message().rfind("key type ", 0), 0u) << info.message();
  EXPECT_NE(info.message().find("is not accepted"), std::string::npos) << info.message();
  EXPECT_NE(info.message().find("ED448"), std::string::npos) << info.message();
  ExpectNoKeyText(info.message(), pem);
}

TEST_F(SshKeyTest, PemWithDamagedBodyIsNotAKey) {
  const std::string pem = Genpkey("k.pem", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256");
  std::vector<std::string> lines = Lines(pem);
  ASSERT_GE(lines.size(), 3u);
  ExpectRefused(lines.front() + "\n" + lines[1].substr(0, 12) + "\n" + lines.back(), "", kNotAKey,
                pem);
}

// ---- Not a key at all ----

TEST_F(SshKeyTest, GarbageIsNotAKey) { ExpectRefused("hello, this is not a key\n", "", kNotAKey); }

TEST_F(SshKeyTest, EmptyTextIsNotAKey) { ExpectRefused("", "", kNotAKey); }

TEST_F(SshKeyTest, CertificateIsNotAKey) {
  ASSERT_EQ(RunCommand("openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj '/CN=x' -keyout " +
                       (dir_ / "c.key") + " -out " + (dir_ / "c.crt")),
            0);
  const std::string cert = ReadFile(dir_ / "c.crt");
  ASSERT_NE(cert.find("-----BEGIN CERTIFICATE-----"), std::string::npos) << cert;
  ExpectRefused(cert, "", kNotAKey, cert);
}

TEST_F(SshKeyTest, PublicKeyIsNotAKey) {
  SshKeygen("id_ed25519", "-t ed25519");
  const std::string pub = ReadFile(dir_ / "id_ed25519.pub");
  ASSERT_EQ(pub.rfind("ssh-ed25519 ", 0), 0u) << pub;
  ExpectRefused(pub, "", kNotAKey);
  EXPECT_EQ(InspectPrivateKey(pub, "").message().find(pub.substr(12, 20)), std::string::npos);
}

}  // namespace
}  // namespace itaku::transports
