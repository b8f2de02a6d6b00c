#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <qrencode.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "contracts/base/files.h"
#include "contracts/base/hex.h"
#include "gateway/console/credentials.h"

namespace itaku::gateway::console {
namespace {

namespace fs = std::filesystem;

// RFC 6238 appendix B: the SHA-1 seed, ASCII "1234567890" twice.
const std::string kRfcSecret = "12345678901234567890";

std::string Repeat(const std::string& s, int times) {
  std::string out;
  for (int i = 0; i < times; ++i) out += s;
  return out;
}

// --- Passwords ---------------------------------------------------------------

TEST(ConsolePasswordTest, HashIsArgon2idAndVerifiesOnlyTheSamePassword) {
  auto hash = HashPassword("正しい馬の電池ホチキス");
  ASSERT_TRUE(hash.ok()) << hash.message();
  EXPECT_EQ(hash->rfind("$argon2id$", 0), 0u) << *hash;
  EXPECT_TRUE(VerifyPassword(*hash, "正しい馬の電池ホチキス"));
  EXPECT_FALSE(VerifyPassword(*hash, "正しい馬の電池ホチキ"));
  EXPECT_FALSE(VerifyPassword(*hash, ""));

  // A fresh salt each time: equal passwords do not show as equal hashes.
  auto again = HashPassword("正しい馬の電池ホチキス");
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_NE(*again, *hash);
  EXPECT_TRUE(VerifyPassword(*again, "正しい馬の電池ホチキス"));
}

TEST(ConsolePasswordTest, GarbledHashesVerifyNothing) {
  auto hash = HashPassword("correct horse battery");
  ASSERT_TRUE(hash.ok()) << hash.message();
  EXPECT_FALSE(VerifyPassword("", "correct horse battery"));
  EXPECT_FALSE(VerifyPassword("not a hash", "correct horse battery"));
  EXPECT_FALSE(VerifyPassword(hash->substr(0, hash->size() - 5), "correct horse battery"));
  EXPECT_FALSE(VerifyPassword(*hash + Repeat("A", 200), "correct horse battery"));
  std::string with_nul = *hash;
  with_nul[with_nul.size() - 1] = '\0';
  EXPECT_FALSE(VerifyPassword(with_nul, "correct horse battery"));
}

TEST(ConsolePasswordTest, ProblemsAreCountedInCharactersAndNamedInJapanese) {
  const std::string kShort = "パスワードは12文字以上にしてください";
  const std::string kLong = "パスワードは256バイト以内にしてください";
  const std::string kName = "パスワードに職員名を含めないでください";
  // 11 kana are 33 bytes but 11 characters: too short; 12 are enough.
  EXPECT_EQ(PasswordProblem("あいうえおかきくけこさ", "yamada"), kShort);
  EXPECT_EQ(PasswordProblem("あいうえおかきくけこさし", "yamada"), "");
  EXPECT_EQ(PasswordProblem("abcdefghijk", "yamada"), kShort);
  EXPECT_EQ(PasswordProblem("abcdefghijkl", "yamada"), "");
  EXPECT_EQ(PasswordProblem("", "yamada"), kShort);
  EXPECT_EQ(PasswordProblem(Repeat("x", 256), "yamada"), "");
  EXPECT_EQ(PasswordProblem(Repeat("x", 257), "yamada"), kLong);
  // 86 kana are 258 bytes.
  EXPECT_EQ(PasswordProblem(Repeat("あ", 86), "yamada"), kLong);
  EXPECT_EQ(PasswordProblem("yamada-taro1", "yamada-taro1"), kName);
  EXPECT_EQ(PasswordProblem("my-YaMaDa-secret", "yamada"), kName);
  EXPECT_EQ(PasswordProblem("伊藤花子のパスワードです", "伊藤花子"), kName);
  EXPECT_EQ(PasswordProblem("伊藤花子のパスワードです", ""), "");
}

// --- TOTP --------------------------------------------------------------------

TEST(ConsoleTotpTest, CodesAreTheRfc6238Sha1Vectors) {
  // Appendix B lists 8 digits; a 6-digit code is their last 6.
  EXPECT_EQ(TotpCode(kRfcSecret, 59), "287082");
  EXPECT_EQ(TotpCode(kRfcSecret, 1111111109), "081804");
  EXPECT_EQ(TotpCode(kRfcSecret, 1111111111), "050471");
  EXPECT_EQ(TotpCode(kRfcSecret, 1234567890), "005924");
  EXPECT_EQ(TotpCode(kRfcSecret, 2000000000), "279037");
  EXPECT_EQ(TotpCode(kRfcSecret, 20000000000), "353130");
  EXPECT_EQ(TotpCode("", 59), "");
}

TEST(ConsoleTotpTest, Base32IsRfc4648WithoutPadding) {
  EXPECT_EQ(Base32(""), "");
  EXPECT_EQ(Base32("f"), "MY");
  EXPECT_EQ(Base32("fo"), "MZXQ");
  EXPECT_EQ(Base32("foo"), "MZXW6");
  EXPECT_EQ(Base32("foob"), "MZXW6YQ");
  EXPECT_EQ(Base32("fooba"), "MZXW6YTB");
  EXPECT_EQ(Base32("foobar"), "MZXW6YTBOI");
  EXPECT_EQ(Base32(kRfcSecret), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

TEST(ConsoleTotpTest, NewSecretsAreTwentyRandomBytes) {
  auto a = NewTotpSecret();
  auto b = NewTotpSecret();
  ASSERT_TRUE(a.ok()) << a.message();
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_EQ(a->size(), 20u);
  EXPECT_EQ(Base32(*a).size(), 32u);
  EXPECT_NE(*a, *b);
}

TEST(ConsoleTotpTest, MatchesTheCurrentAndNeighbouringStepsOnly) {
  const int64_t now = 1111111109;  // step 37037036, 29 s into it
  const int64_t step = now / 30;
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, now), now, -1), step);
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, now - 30), now, -1), step - 1);
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, now + 30), now, -1), step + 1);
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, now - 60), now, -1), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, now + 60), now, -1), std::nullopt);
  // The code is the secret's, not just any 6 digits.
  auto other = NewTotpSecret();
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(MatchTotp(*other, TotpCode(kRfcSecret, now), now, -1), std::nullopt);
  EXPECT_EQ(MatchTotp("", "081804", now, -1), std::nullopt);
}

TEST(ConsoleTotpTest, ReplayOfAnAcceptedStepIsRefused) {
  const int64_t now = 1111111109;
  const int64_t step = now / 30;
  const std::string code = TotpCode(kRfcSecret, now);
  auto first = MatchTotp(kRfcSecret, code, now, step - 1);
  ASSERT_EQ(first, step);
  EXPECT_EQ(MatchTotp(kRfcSecret, code, now, *first), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcSecret, code, now + 20, *first), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcSecret, code, now, step + 1), std::nullopt);
  // The previous step's code after the current one was used: older, refused.
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, now - 30), now, step), std::nullopt);
  // The next step's code after the current one was used: newer, accepted.
  EXPECT_EQ(MatchTotp(kRfcSecret, TotpCode(kRfcSecret, now + 30), now, step), step + 1);
}

TEST(ConsoleTotpTest, FullWidthDigitsAndSpacesFromAnImeAreAccepted) {
  EXPECT_EQ(MatchTotp(kRfcSecret, "２８７０８２", 59, -1), 1);
  EXPECT_EQ(MatchTotp(kRfcSecret, "287 082", 59, -1), 1);
  EXPECT_EQ(MatchTotp(kRfcSecret, " ２８７　０８２ ", 59, -1), 1);
  EXPECT_EQ(MatchTotp(kRfcSecret, "28708２", 59, -1), 1);
}

TEST(ConsoleTotpTest, MalformedCodesAreRefused) {
  EXPECT_EQ(MatchTotp(kRfcSecret, "", 59, -1), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcSecret, "28708", 59, -1), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcSecret, "2870820", 59, -1), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcSecret, "0287082", 59, -1), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcSecret, "287-082", 59, -1), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcSecret, "28708a", 59, -1), std::nullopt);
  EXPECT_EQ(MatchTotp(kRfcSecret, std::string("287082\0", 7), 59, -1), std::nullopt);
  // An overlong UTF-8 "2" (0xC0 0xB2) is not a digit.
  EXPECT_EQ(MatchTotp(kRfcSecret,
                      "\xC0\xB2"
                      "87082",
                      59, -1),
            std::nullopt);
}

// What the real oathtool prints for `base32_secret` at `unix_time`; "" when it
// cannot be run.
std::string OathtoolCode(const std::string& base32_secret, int64_t unix_time) {
  const std::string command =
      "oathtool --totp -b " + base32_secret + " -N @" + std::to_string(unix_time) + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  std::string out;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) out += buffer;
  if (::pclose(pipe) != 0) return "oathtool failed: " + out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

TEST(ConsoleTotpTest, CodesAgreeWithOathtool) {
  auto fresh = NewTotpSecret();
  ASSERT_TRUE(fresh.ok()) << fresh.message();
  for (const std::string& secret : {kRfcSecret, *fresh}) {
    for (const int64_t t : {int64_t{59}, int64_t{1111111109}, int64_t{1700000000},
                            static_cast<int64_t>(::time(nullptr))}) {
      const std::string ours = TotpCode(secret, t);
      ASSERT_EQ(ours.size(), 6u);
      EXPECT_EQ(OathtoolCode(Base32(secret), t), ours)
          << "at " << t << " (oathtool is in the Debian package oathtool)";
    }
  }
}

TEST(ConsoleTotpTest, OtpauthUriPercentEncodesIssuerAndAccount) {
  EXPECT_EQ(OtpauthUri("イタク", "伊藤 花子", kRfcSecret),
            "otpauth://totp/%E3%82%A4%E3%82%BF%E3%82%AF:%E4%BC%8A%E8%97%A4%20%E8%8A%B1%E5%AD%90"
            "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=%E3%82%A4%E3%82%BF%E3%82%AF"
            "&algorithm=SHA1&digits=6&period=30");
  EXPECT_EQ(OtpauthUri("Itaku-GW_1.0~x", "ito@example.jp", kRfcSecret),
            "otpauth://totp/Itaku-GW_1.0~x:ito%40example.jp"
            "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Itaku-GW_1.0~x"
            "&algorithm=SHA1&digits=6&period=30");
}

// --- QR code -----------------------------------------------------------------

size_t Count(const std::string& haystack, const std::string& needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1)) {
    ++n;
  }
  return n;
}

TEST(ConsoleQrTest, SvgHasOnePathNoStylesAndNoScripts) {
  const std::string uri = OtpauthUri("イタク", "伊藤 花子", kRfcSecret);
  auto svg = QrSvg(uri);
  ASSERT_TRUE(svg.ok()) << svg.message();
  EXPECT_EQ(svg->rfind("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ", 0), 0u) << *svg;
  EXPECT_EQ(svg->substr(svg->size() - 6), "</svg>");
  EXPECT_EQ(Count(*svg, "<path"), 1u);
  EXPECT_EQ(Count(*svg, "<rect"), 1u);
  EXPECT_EQ(Count(*svg, "style"), 0u);
  EXPECT_EQ(Count(*svg, "<script"), 0u);
  EXPECT_EQ(Count(*svg, "role=\"img\" aria-label=\"二要素認証の登録用QRコード\""), 1u);
}

TEST(ConsoleQrTest, PathDrawsExactlyTheDarkModulesInsideAQuietZone) {
  // "HELLO" is a version 1 code: 21 modules, 29 with the quiet zone.
  auto svg = QrSvg("HELLO");
  ASSERT_TRUE(svg.ok()) << svg.message();
  EXPECT_NE(svg->find("viewBox=\"0 0 29 29\" width=\"116\" height=\"116\""), std::string::npos)
      << *svg;
  EXPECT_NE(svg->find("<rect width=\"29\" height=\"29\" fill=\"#fff\"/>"), std::string::npos);

  std::unique_ptr<QRcode, decltype(&QRcode_free)> qr(
      QRcode_encodeString("HELLO", 0, QR_ECLEVEL_M, QR_MODE_8, 1), QRcode_free);
  ASSERT_NE(qr, nullptr);
  ASSERT_EQ(qr->width, 21);
  std::vector<std::vector<bool>> want(29, std::vector<bool>(29, false));
  for (int y = 0; y < 21; ++y) {
    for (int x = 0; x < 21; ++x) want[y + 4][x + 4] = (qr->data[y * 21 + x] & 1) != 0;
  }

  const size_t d = svg->find(" d=\"");
  ASSERT_NE(d, std::string::npos);
  const std::string path = svg->substr(d + 4, svg->find('"', d + 4) - d - 4);
  std::vector<std::vector<bool>> drawn(29, std::vector<bool>(29, false));
  const std::regex square(R"(M(\d+) (\d+)h(\d+)v1h-(\d+)z)");
  size_t covered = 0;
  for (std::sregex_iterator it(path.begin(), path.end(), square), end; it != end; ++it) {
    ASSERT_EQ(it->position(), static_cast<std::ptrdiff_t>(covered)) << "stray text in " << path;
    covered += it->length();
    const int x = std::stoi((*it)[1]), y = std::stoi((*it)[2]), k = std::stoi((*it)[3]);
    ASSERT_EQ((*it)[3], (*it)[4]);
    for (int i = 0; i < k; ++i) {
      ASSERT_LT(x + i, 29);
      ASSERT_LT(y, 29);
      EXPECT_FALSE(drawn[y][x + i]) << "drawn twice at " << x + i << "," << y;
      drawn[y][x + i] = true;
    }
  }
  EXPECT_EQ(covered, path.size());
  EXPECT_EQ(drawn, want);
}

TEST(ConsoleQrTest, TextThatCannotBeACodeIsAnError) {
  auto empty = QrSvg("");
  EXPECT_FALSE(empty.ok());
  auto huge = QrSvg(Repeat("x", 4000));  // version 40-M holds 2331 bytes
  ASSERT_FALSE(huge.ok());
  EXPECT_EQ(huge.message(), "console: 4000 bytes are too many for a QR code");
}

// --- The console key ---------------------------------------------------------

class ConsoleKeyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "itaku-console-key-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    dir_ = root_ + "/keys";
    key_path_ = dir_ + "/console.key";
  }
  void TearDown() override { fs::remove_all(root_); }

  static mode_t ModeOf(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return st.st_mode & 07777;
  }
  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void WriteKeyFile(const std::string& bytes) {
    fs::create_directories(dir_);
    std::ofstream(key_path_, std::ios::binary) << bytes;
    ASSERT_EQ(::chmod(key_path_.c_str(), 0600), 0);
  }

  std::string root_, dir_, key_path_;
};

TEST_F(ConsoleKeyTest, CreatesAPrivateKeyFileOf32Bytes) {
  auto key = ConsoleKey::LoadOrCreate(dir_);
  ASSERT_TRUE(key.ok()) << key.message();
  EXPECT_EQ(ModeOf(dir_), 0700u);
  EXPECT_EQ(ModeOf(key_path_), 0600u);
  EXPECT_EQ(fs::file_size(key_path_), 32u);
  // Nothing but the key is left in the folder (no temporary file).
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(ConsoleKeyTest, SealedValuesOpenAndAreFreshEachTime) {
  auto key = ConsoleKey::LoadOrCreate(dir_);
  ASSERT_TRUE(key.ok()) << key.message();
  auto secret = NewTotpSecret();
  ASSERT_TRUE(secret.ok());
  const std::string sealed = key->Seal(*secret);
  EXPECT_EQ(sealed.size(), 2u * (24 + 16 + 20));
  EXPECT_TRUE(std::regex_match(sealed, std::regex("[0-9a-f]+"))) << sealed;
  EXPECT_EQ(sealed.find(Hex(reinterpret_cast<const unsigned char*>(secret->data()), 20)),
            std::string::npos);
  EXPECT_NE(key->Seal(*secret), sealed);
  auto opened = key->Open(sealed);
  ASSERT_TRUE(opened.ok()) << opened.message();
  EXPECT_EQ(*opened, *secret);
  auto empty = key->Open(key->Seal(""));
  ASSERT_TRUE(empty.ok()) << empty.message();
  EXPECT_EQ(*empty, "");
}

TEST_F(ConsoleKeyTest, TamperedOrForeignValuesDoNotOpen) {
  const std::string kMessage =
      "console: a sealed value does not open with this machine's console key";
  auto key = ConsoleKey::LoadOrCreate(dir_);
  ASSERT_TRUE(key.ok()) << key.message();
  const std::string sealed = key->Seal("秘密の種");
  for (const size_t at : {size_t{0}, size_t{50}, sealed.size() - 1}) {
    std::string tampered = sealed;
    tampered[at] = tampered[at] == '0' ? '1' : '0';
    auto opened = key->Open(tampered);
    ASSERT_FALSE(opened.ok()) << "flipped at " << at;
    EXPECT_EQ(opened.message(), kMessage);
  }
  for (const std::string& bad :
       {std::string(""), sealed.substr(0, 78), sealed.substr(1), "zz" + sealed.substr(2)}) {
    auto opened = key->Open(bad);
    ASSERT_FALSE(opened.ok()) << bad;
    EXPECT_EQ(opened.message(), kMessage);
  }
  auto other = ConsoleKey::LoadOrCreate(root_ + "/other");
  ASSERT_TRUE(other.ok()) << other.message();
  auto foreign = other->Open(sealed);
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.message(), kMessage);
}

TEST_F(ConsoleKeyTest, SecondLoadReadsTheSameKey) {
  auto first = ConsoleKey::LoadOrCreate(dir_);
  ASSERT_TRUE(first.ok()) << first.message();
  const std::string bytes = Slurp(key_path_);
  auto second = ConsoleKey::LoadOrCreate(dir_);
  ASSERT_TRUE(second.ok()) << second.message();
  EXPECT_EQ(Slurp(key_path_), bytes);
  auto opened = second->Open(first->Seal("GEZDGNBVGY3TQOJQ"));
  ASSERT_TRUE(opened.ok()) << opened.message();
  EXPECT_EQ(*opened, "GEZDGNBVGY3TQOJQ");
  EXPECT_EQ(second->Mac("session"), first->Mac("session"));
}

TEST_F(ConsoleKeyTest, MacIsHmacSha256UnderTheKeyFile) {
  auto key = ConsoleKey::LoadOrCreate(dir_);
  ASSERT_TRUE(key.ok()) << key.message();
  const std::string raw = Slurp(key_path_);
  ASSERT_EQ(raw.size(), 32u);
  const std::string data = "session-id-for-csrf";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  ASSERT_NE(HMAC(EVP_sha256(), raw.data(), static_cast<int>(raw.size()),
                 reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &size),
            nullptr);
  EXPECT_EQ(key->Mac(data), Hex(mac, size));
  EXPECT_EQ(key->Mac(data).size(), 64u);
  EXPECT_NE(key->Mac(data), key->Mac(data + "x"));
}

TEST_F(ConsoleKeyTest, KeyReadableByOthersIsRefused) {
  ASSERT_TRUE(ConsoleKey::LoadOrCreate(dir_).ok());
  ASSERT_EQ(::chmod(key_path_.c_str(), 0644), 0);
  auto key = ConsoleKey::LoadOrCreate(dir_);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.kind(), ErrorKind::kRefused);
  EXPECT_EQ(key.message(), "console: the console key " + key_path_ +
                               " is open to group or others; it must be mode 0600");
  ASSERT_EQ(::chmod(key_path_.c_str(), 0640), 0);
  EXPECT_FALSE(ConsoleKey::LoadOrCreate(dir_).ok());
  ASSERT_EQ(::chmod(key_path_.c_str(), 0600), 0);
  EXPECT_TRUE(ConsoleKey::LoadOrCreate(dir_).ok());
}

TEST_F(ConsoleKeyTest, KeyOfTheWrongSizeIsRefusedNotReplaced) {
  WriteKeyFile(Repeat("k", 31));
  auto short_key = ConsoleKey::LoadOrCreate(dir_);
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.message(), "console: the console key " + key_path_ +
                                     " is 31 bytes, not 32; restore it from the backup");
  EXPECT_EQ(Slurp(key_path_), Repeat("k", 31));

  WriteKeyFile(Repeat("k", 33));
  auto long_key = ConsoleKey::LoadOrCreate(dir_);
  ASSERT_FALSE(long_key.ok());
  EXPECT_EQ(long_key.message(), "console: the console key " + key_path_ +
                                    " is more than 32 bytes, not 32; restore it from the backup");
}

TEST_F(ConsoleKeyTest, KeyThatIsASymbolicLinkIsRefused) {
  auto real = ConsoleKey::LoadOrCreate(root_ + "/real");
  ASSERT_TRUE(real.ok()) << real.message();
  fs::create_directories(dir_);
  fs::create_symlink(root_ + "/real/console.key", key_path_);
  auto key = ConsoleKey::LoadOrCreate(dir_);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.kind(), ErrorKind::kRefused);
  EXPECT_EQ(key.message(), "console: the console key " + key_path_ +
                               " is a symbolic link; it must be a plain file");
}

TEST_F(ConsoleKeyTest, KeySurvivesAMove) {
  auto loaded = ConsoleKey::LoadOrCreate(dir_);
  ASSERT_TRUE(loaded.ok()) << loaded.message();
  const std::string sealed = loaded->Seal("x");
  ConsoleKey moved = std::move(loaded).value();
  auto opened = moved.Open(sealed);
  ASSERT_TRUE(opened.ok()) << opened.message();
  EXPECT_EQ(*opened, "x");
}

// --- Sessions ----------------------------------------------------------------

TEST(ConsoleSessionTest, SessionIdsAre43CharactersOfBase64url) {
  auto a = NewSessionId();
  auto b = NewSessionId();
  ASSERT_TRUE(a.ok()) << a.message();
  ASSERT_TRUE(b.ok()) << b.message();
  EXPECT_TRUE(std::regex_match(*a, std::regex("[A-Za-z0-9_-]{43}"))) << *a;
  EXPECT_TRUE(std::regex_match(*b, std::regex("[A-Za-z0-9_-]{43}"))) << *b;
  EXPECT_NE(*a, *b);
}

TEST(ConsoleSessionTest, SessionIdHashIsSha256Hex) {
  EXPECT_EQ(SessionIdHash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

// --- Enrolment codes ---------------------------------------------------------

TEST(ConsoleEnrolmentTest, CodesAre16CrockfordCharactersInFours) {
  const std::regex format("[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}");
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    auto code = NewEnrolmentCode();
    ASSERT_TRUE(code.ok()) << code.message();
    EXPECT_TRUE(std::regex_match(*code, format)) << *code;
    EXPECT_EQ(NormaliseEnrolmentCode(*code), *code);
    seen.insert(*code);
  }
  EXPECT_EQ(seen.size(), 20u);
}

TEST(ConsoleEnrolmentTest, WhatIsTypedFromPaperIsNormalised) {
  EXPECT_EQ(NormaliseEnrolmentCode("abcd efgh-ijkl-mnop"), "ABCD-EFGH-1JK1-MN0P");
  EXPECT_EQ(NormaliseEnrolmentCode("ABCDEFGH1JK1MN0P"), "ABCD-EFGH-1JK1-MN0P");
  EXPECT_EQ(NormaliseEnrolmentCode("  oOiI-lL00 "), "0011-1100");
  // Full-width letters, a full-width hyphen, an ideographic space and a
  // katakana long-vowel mark, as a Japanese IME may type them.
  EXPECT_EQ(NormaliseEnrolmentCode("ＡＢＣＤ－ｅｆｇｈ　ｉｊｋｌーｍｎｏｐ"),
            "ABCD-EFGH-1JK1-MN0P");
  // Anything else is kept, so a wrong code stays wrong.
  EXPECT_EQ(NormaliseEnrolmentCode("ABCD-EFG"), "ABCD-EFG");
  EXPECT_EQ(NormaliseEnrolmentCode("ABCあ*"), "ABCあ-*");
}

TEST(ConsoleEnrolmentTest, HashIsOfTheNormalisedCode) {
  EXPECT_EQ(EnrolmentCodeHash("abcd efgh-ijkl-mnop"), Sha256Hex("ABCD-EFGH-1JK1-MN0P"));
  EXPECT_EQ(EnrolmentCodeHash("ＡＢＣＤ－ＥＦＧＨ－ＩＪＫＬ－ＭＮＯＰ"),
            EnrolmentCodeHash("ABCD-EFGH-1JK1-MN0P"));
  EXPECT_NE(EnrolmentCodeHash("ABCD-EFGH-1JK1-MN0Q"), EnrolmentCodeHash("ABCD-EFGH-1JK1-MN0P"));
}

// --- Lock-out ----------------------------------------------------------------

TEST(ConsoleLockoutTest, BackOffDoublesFromFiveFailuresUpToAnHour) {
  const std::vector<std::pair<int, int>> table = {
      {-1, 0},  {0, 0},   {1, 0},     {4, 0},     {5, 60},    {6, 120},    {7, 240},
      {8, 480}, {9, 960}, {10, 1920}, {11, 3600}, {12, 3600}, {100, 3600}, {INT_MAX, 3600},
  };
  for (const auto& [failures, seconds] : table) {
    EXPECT_EQ(LockoutSeconds(failures), seconds) << failures << " failures";
  }
}

}  // namespace
}  // namespace itaku::gateway::console
