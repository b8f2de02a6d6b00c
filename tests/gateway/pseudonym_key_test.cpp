#include "gateway/pseudonym_key.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "contracts/base/files.h"
#include "policies/masks.h"
#include "tests/gateway/gateway_fixture.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;
using policies::ApplyMask;
using policies::Mask;

// A key as stores before the move kept it in meta "pseudonym_key".
constexpr char kOldKey[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

class PseudonymKeyTest : public gateway_test::StoreFixture {
 protected:
  PseudonymKeyTest() : StoreFixture("pseudonym-key", "2026-05-01T03:00:00Z") {}

  std::string KeyPath() const { return PseudonymKeyPath(ctx_.db_path); }
  static std::string Slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  static unsigned Mode(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return static_cast<unsigned>(st.st_mode & 07777);
  }
  // Replaces the key file with `text`, mode 0600.
  void WriteKeyFile(const std::string& text) const {
    fs::remove(KeyPath());
    const int fd = ::open(KeyPath().c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
    ::close(fd);
    ASSERT_EQ(::chmod(KeyPath().c_str(), 0600), 0);
  }
  std::string Loaded() {
    auto key = LoadPseudonymKey(ctx_);
    EXPECT_TRUE(key.ok()) << key.message();
    return key.ok() ? key.value() : "";
  }
  // A meta value, or "(none)".
  std::string Meta(const std::string& key) {
    auto value = ctx_.store->GetMeta(key);
    EXPECT_TRUE(value.ok()) << value.message();
    return value.ok() ? value.value().value_or("(none)") : "(error)";
  }
  static std::string Pseudonym(const std::string& key, const std::string& id) {
    return ApplyMask(Mask::kPseudonym, id, key).value();
  }
  // The store as it was before the key moved out: the key in meta, no key
  // file, no fingerprint.
  void MakeOldStore() {
    ASSERT_TRUE(ctx_.store->DeleteMeta("pseudonym_key_fingerprint").ok());
    ASSERT_TRUE(ctx_.store->SetMeta("pseudonym_key", kOldKey).ok());
    fs::remove(KeyPath());
  }
};

TEST_F(PseudonymKeyTest, InitWritesAPrivateKeyFileAndKeepsOnlyItsFingerprintInTheStore) {
  const std::string text = Slurp(KeyPath());
  ASSERT_EQ(text.size(), 65u);
  EXPECT_EQ(text.back(), '\n');
  const std::string key = text.substr(0, 64);
  EXPECT_EQ(key.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(Mode(KeyPath()), 0600u);
  EXPECT_EQ(Mode(PseudonymKeyDir(ctx_.db_path)), 0700u);
  EXPECT_EQ(KeyPath(), ctx_.db_path + ".d/pseudonym-keys/pseudonym.key");

  EXPECT_EQ(Loaded(), key);
  EXPECT_EQ(Meta("pseudonym_key"), "(none)");
  EXPECT_EQ(Meta("pseudonym_key_fingerprint"), Sha256Hex(key).substr(0, 8));
  EXPECT_EQ(PseudonymKeyFingerprint(key), Sha256Hex(key).substr(0, 8));
  const auto init = AuditEvents("store.init");
  ASSERT_EQ(init.size(), 1u);
  EXPECT_NE(init[0].details.find("\"pseudonym_key\":\"" + PseudonymKeyFingerprint(key) + "\""),
            std::string::npos)
      << init[0].details;
  // Not a byte of the key in the store's files.
  for (const std::string& file : {ctx_.db_path, ctx_.db_path + "-wal"}) {
    EXPECT_EQ(Slurp(file).find(key), std::string::npos) << file;
  }
}

TEST_F(PseudonymKeyTest, InitAgainKeepsTheKey) {
  const std::string key = Loaded();
  auto again = Init(ctx_, "root");
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_FALSE(again->json["created"].get<bool>());
  EXPECT_EQ(Loaded(), key);
  EXPECT_EQ(AuditCount("store.init"), 1);
}

TEST_F(PseudonymKeyTest, KeyOpenToGroupOrOthersIsRefused) {
  ASSERT_EQ(::chmod(KeyPath().c_str(), 0644), 0);
  auto key = LoadPseudonymKey(ctx_);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.kind(), ErrorKind::kRefused);
  EXPECT_EQ(key.message(), "the pseudonym key " + KeyPath() +
                               " is open to group or others (mode 0644); it must be mode 0600");
  ASSERT_EQ(::chmod(KeyPath().c_str(), 0640), 0);
  EXPECT_EQ(LoadPseudonymKey(ctx_).message(),
            "the pseudonym key " + KeyPath() +
                " is open to group or others (mode 0640); it must be mode 0600");
  ASSERT_EQ(::chmod(KeyPath().c_str(), 0600), 0);
  EXPECT_TRUE(LoadPseudonymKey(ctx_).ok());
}

TEST_F(PseudonymKeyTest, KeyThatIsASymbolicLinkIsRefused) {
  const std::string real = Path("elsewhere.key");
  fs::rename(KeyPath(), real);
  fs::create_symlink(real, KeyPath());
  auto key = LoadPseudonymKey(ctx_);
  EXPECT_EQ(key.kind(), ErrorKind::kRefused);
  EXPECT_EQ(key.message(),
            "the pseudonym key " + KeyPath() + " is a symbolic link; it must be a plain file");
}

TEST_F(PseudonymKeyTest, KeyThatIsNotAPlainFileIsRefused) {
  fs::remove(KeyPath());
  ASSERT_EQ(::mkfifo(KeyPath().c_str(), 0600), 0);  // must not hang the reader either
  auto key = LoadPseudonymKey(ctx_);
  EXPECT_EQ(key.kind(), ErrorKind::kRefused);
  EXPECT_EQ(key.message(), "the pseudonym key " + KeyPath() +
                               " must be a plain file owned by the service account");
}

TEST_F(PseudonymKeyTest, KeyOfTheWrongSizeIsRefusedNotReplaced) {
  const std::string key = Loaded();
  const std::string wrong =
      "the pseudonym key " + KeyPath() + " is not 64 hex digits: restore it from the backup";
  for (const std::string& text : {key.substr(0, 63) + "\n", key + "0\n", key + "\n\n",
                                  std::string(32, 'x'), std::string(), key.substr(0, 62) + "ZZ"}) {
    SCOPED_TRACE(text);
    WriteKeyFile(text);
    auto loaded = LoadPseudonymKey(ctx_);
    EXPECT_EQ(loaded.kind(), ErrorKind::kInvalidInput);
    EXPECT_EQ(loaded.message(), wrong);
    EXPECT_EQ(Slurp(KeyPath()), text);  // never replaced
  }
  WriteKeyFile(key);  // without the newline: the same key
  EXPECT_EQ(Loaded(), key);
}

TEST_F(PseudonymKeyTest, AMissingKeyIsNeverMadeAgainSilently) {
  fs::remove(KeyPath());
  auto key = LoadPseudonymKey(ctx_);
  EXPECT_EQ(key.kind(), ErrorKind::kRefused);
  EXPECT_EQ(key.message(),
            "the pseudonym key " + KeyPath() +
                " is missing: restore it from the backup (a new key gives every subscriber a new "
                "pseudonym; to start one on purpose, a privacy officer runs itaku keys "
                "rotate-pseudonym)");
  EXPECT_FALSE(fs::exists(KeyPath()));
  auto again = Init(ctx_, "root");  // init does not make one either
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_FALSE(fs::exists(KeyPath()));
}

TEST_F(PseudonymKeyTest, AKeyFromElsewhereIsRefused) {
  const std::string key = Loaded();
  WriteKeyFile(std::string(kOldKey) + "\n");
  auto loaded = LoadPseudonymKey(ctx_);
  EXPECT_EQ(loaded.kind(), ErrorKind::kRefused);
  EXPECT_EQ(loaded.message(),
            "the pseudonym key " + KeyPath() + " (fingerprint " + PseudonymKeyFingerprint(kOldKey) +
                ") is not the one this store uses (" + PseudonymKeyFingerprint(key) +
                "): restore that one from the backup, or start a new one on "
                "purpose with itaku keys rotate-pseudonym");
}

TEST_F(PseudonymKeyTest, AStoreWithoutAKeyIsToldToRunInit) {
  ASSERT_TRUE(ctx_.store->DeleteMeta("pseudonym_key_fingerprint").ok());
  EXPECT_EQ(LoadPseudonymKey(ctx_).message(), "store has no pseudonym key: run itaku init");
}

TEST_F(PseudonymKeyTest, AKeyInTheStoreMovesOutAndEarlierPseudonymsStay) {
  MakeOldStore();
  const std::string before = Pseudonym(kOldKey, "S90001");
  EXPECT_EQ(Loaded(), kOldKey);
  EXPECT_EQ(Slurp(KeyPath()), std::string(kOldKey) + "\n");
  EXPECT_EQ(Mode(KeyPath()), 0600u);
  EXPECT_EQ(Meta("pseudonym_key"), "(none)");
  EXPECT_EQ(Meta("pseudonym_key_fingerprint"), PseudonymKeyFingerprint(kOldKey));
  EXPECT_EQ(Pseudonym(Loaded(), "S90001"), before);
  const auto moved = AuditEvents("pseudonym.key-moved");
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].subject, "pseudonym-key");
  EXPECT_EQ(moved[0].details, "{\"file\":\"" + KeyPath() + "\",\"fingerprint\":\"" +
                                  PseudonymKeyFingerprint(kOldKey) + "\"}");
  EXPECT_EQ(AuditCount("pseudonym.key-moved"), 1);  // once, however often it is loaded
  ExpectAuditIntact();
}

TEST_F(PseudonymKeyTest, InitMovesTheKeyOfAnOldStoreAndKeepsTheStore) {
  MakeOldStore();
  auto again = Init(ctx_, "root");
  ASSERT_TRUE(again.ok()) << again.message();
  EXPECT_FALSE(again->json["created"].get<bool>());
  EXPECT_EQ(Meta("pseudonym_key"), "(none)");
  EXPECT_EQ(Loaded(), kOldKey);
  EXPECT_EQ(AuditCount("pseudonym.key-moved"), 1);
}

TEST_F(PseudonymKeyTest, AMoveThatStoppedAfterWritingTheFileIsFinished) {
  MakeOldStore();
  WriteKeyFile(std::string(kOldKey) + "\n");
  auto moved = MovePseudonymKeyOutOfStore(ctx_);
  ASSERT_TRUE(moved.ok()) << moved.message();
  EXPECT_TRUE(moved.value());
  EXPECT_EQ(Meta("pseudonym_key"), "(none)");
  EXPECT_EQ(Loaded(), kOldKey);
}

TEST_F(PseudonymKeyTest, AnotherKeyFileBesideAKeyInTheStoreIsAConflict) {
  const std::string other = Loaded();
  ASSERT_TRUE(ctx_.store->SetMeta("pseudonym_key", kOldKey).ok());
  auto moved = MovePseudonymKeyOutOfStore(ctx_);
  EXPECT_EQ(moved.kind(), ErrorKind::kConflict);
  EXPECT_EQ(moved.message(), "the store still holds a pseudonym key (fingerprint " +
                                 PseudonymKeyFingerprint(kOldKey) + ") and " + KeyPath() +
                                 " holds another (" + PseudonymKeyFingerprint(other) +
                                 "): move that file away and try again (earlier pseudonyms were "
                                 "made with the store's key)");
  EXPECT_EQ(Meta("pseudonym_key"), kOldKey);  // nothing lost
  EXPECT_EQ(Slurp(KeyPath()), other + "\n");
  EXPECT_EQ(LoadPseudonymKey(ctx_).kind(), ErrorKind::kConflict);
}

TEST_F(PseudonymKeyTest, RotationMakesNewPseudonymsAndKeepsTheOldKeyRetired) {
  const std::string old_key = Loaded();
  auto rotated = RotatePseudonymKey(ctx_, "contract with agency-s ended");
  ASSERT_TRUE(rotated.ok()) << rotated.message();
  const std::string new_key = Loaded();
  EXPECT_NE(new_key, old_key);
  EXPECT_NE(Pseudonym(new_key, "S90001"), Pseudonym(old_key, "S90001"));
  EXPECT_EQ(Mode(KeyPath()), 0600u);

  const std::string retired = KeyPath() + ".20260501T030000Z.retired";
  EXPECT_EQ(Slurp(retired), old_key + "\n");
  EXPECT_EQ(Mode(retired), 0600u);
  EXPECT_EQ(Meta("pseudonym_key_fingerprint"), PseudonymKeyFingerprint(new_key));
  EXPECT_EQ(rotated->json["fingerprint"], PseudonymKeyFingerprint(new_key));
  EXPECT_EQ(rotated->json["previous"], PseudonymKeyFingerprint(old_key));
  EXPECT_EQ(rotated->json["retired_file"], retired);
  EXPECT_EQ(rotated->text,
            "rotated the pseudonym key: now " + PseudonymKeyFingerprint(new_key) + " (was " +
                PseudonymKeyFingerprint(old_key) + ", kept as " + retired +
                ")\ndeliveries from now on carry new pseudonyms: a subscriber's pseudonym "
                "differs from the one in earlier deliveries, so a contractor cannot link records "
                "across the rotation; earlier deliveries are unchanged\nthe retired key still "
                "re-identifies earlier pseudonyms here; delete " +
                retired + " to make that impossible");

  const auto events = AuditEvents("pseudonym.key-rotated");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].details,
            "{\"fingerprint\":\"" + PseudonymKeyFingerprint(new_key) + "\",\"previous\":\"" +
                PseudonymKeyFingerprint(old_key) +
                "\",\"reason\":\"contract with agency-s ended\",\"retired_file\":\"" +
                fs::path(retired).filename().string() + "\"}");
  EXPECT_EQ(events[0].details.find(new_key), std::string::npos);
  ExpectAuditIntact();
}

TEST_F(PseudonymKeyTest, ARotationThatCannotKeepTheOldKeyChangesNothing) {
  ASSERT_TRUE(RotatePseudonymKey(ctx_, "first").ok());
  const std::string key = Loaded();
  // The same second (the fixture's clock stands still): the retired name is taken.
  auto again = RotatePseudonymKey(ctx_, "second");
  EXPECT_EQ(again.kind(), ErrorKind::kConflict);
  EXPECT_EQ(again.message(),
            KeyPath() + ".20260501T030000Z.retired already exists; rotate again in a second");
  EXPECT_EQ(Loaded(), key);
  EXPECT_EQ(AuditCount("pseudonym.key-rotated"), 1);
}

TEST_F(PseudonymKeyTest, RotationReplacesALostKeyOnPurpose) {
  fs::remove(KeyPath());
  auto rotated = RotatePseudonymKey(ctx_, "key file lost");
  ASSERT_TRUE(rotated.ok()) << rotated.message();
  EXPECT_TRUE(rotated->json["previous"].is_null());
  EXPECT_TRUE(rotated->json["retired_file"].is_null());
  EXPECT_EQ(rotated->json["fingerprint"], PseudonymKeyFingerprint(Loaded()));
}

TEST_F(PseudonymKeyTest, RotationOfAnUnsafeKeyIsRefusedAndARotationNeedsAReason) {
  ASSERT_EQ(::chmod(KeyPath().c_str(), 0644), 0);
  EXPECT_EQ(RotatePseudonymKey(ctx_, "exposed").message(),
            "the pseudonym key " + KeyPath() +
                " is open to group or others (mode 0644); it must be mode 0600");
  ASSERT_EQ(::chmod(KeyPath().c_str(), 0600), 0);
  EXPECT_EQ(RotatePseudonymKey(ctx_, "").message(),
            "keys rotate-pseudonym: --reason must say why (it is kept in the audit trail)");
  EXPECT_EQ(AuditCount("pseudonym.key-rotated"), 0);
}

}  // namespace
}  // namespace itaku::gateway
