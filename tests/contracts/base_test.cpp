#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "contracts/base/atomic_file.h"
#include "contracts/base/date.h"
#include "contracts/base/hex.h"
#include "contracts/base/layout.h"
#include "contracts/base/names.h"
#include "contracts/base/status.h"

namespace itaku {
namespace {

TEST(BaseDateTest, UtcInstantsRoundTrip) {
  auto t = ParseUtc("2026-12-31T15:30:00Z");
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(FormatUtc(*t), "2026-12-31T15:30:00Z");
  EXPECT_EQ(FormatUtc(*t + std::chrono::milliseconds(999)), "2026-12-31T15:30:00Z");
}

TEST(BaseDateTest, MalformedInstantsAreRefused) {
  for (const char* bad : {"2026-12-31 15:30:00Z", "2026-12-31T24:00:00Z", "2026-12-31T15:60:00Z",
                          "2026-02-30T00:00:00Z", "2026-12-31T15:30:00", "2026-12-31T1a:30:00Z"}) {
    EXPECT_FALSE(ParseUtc(bad).has_value()) << bad;
  }
}

// Regression for the year boundary the e2e suite is also run across: 15:00
// UTC is midnight in Japan.
TEST(BaseDateTest, TheOperatorsDayIsJapans) {
  EXPECT_EQ(FormatDate(JapanDay(*ParseUtc("2026-12-31T14:59:59Z"))), "2026-12-31");
  EXPECT_EQ(FormatDate(JapanDay(*ParseUtc("2026-12-31T15:00:00Z"))), "2027-01-01");
  EXPECT_EQ(FormatDate(*JapanDayOf("2026-12-31T15:30:00Z")), "2027-01-01");
  EXPECT_EQ(FormatDate(*JapanDayOf("2026-01-05")), "2026-01-05");
  EXPECT_FALSE(JapanDayOf("yesterday").has_value());
}

// Issue 12: staff work in JST; a delivery at 01:00 on 12-03 in Japan is
// stored as 16:00 UTC on 12-02 and shown as Japan's time.
TEST(BaseDateTest, InstantsAreShownInJapansTime) {
  EXPECT_EQ(ShowJst("2026-12-02T16:00:00Z"), "2026-12-03 01:00 JST");
  EXPECT_EQ(ShowJst("2026-12-02T14:59:59Z"), "2026-12-02 23:59 JST");
  EXPECT_EQ(ShowJst("2026-12-31T15:00:00Z"), "2027-01-01 00:00 JST");
  EXPECT_EQ(IsoJst("2026-12-02T16:00:00Z"), "2026-12-03T01:00:00+09:00");
  EXPECT_EQ(IsoJst("2026-12-31T14:59:59Z"), "2026-12-31T23:59:59+09:00");
  // Not a stored instant (or one already in year 10000 in Japan): unchanged,
  // so optional fields and dates pass as they are.
  for (const char* other : {"", "2026-12-03", "2026-12-31T24:00:00Z", "2026-12-03T01:00:00+09:00",
                            "never", "9999-12-31T15:00:00Z"}) {
    EXPECT_EQ(ShowJst(other), other);
    EXPECT_EQ(IsoJst(other), other);
  }
}

// Regression for issue 12: `breach-scope --since 2026-12-03` missed a
// delivery at 01:00 JST on 12-03 because days were cut at UTC midnight.
TEST(BaseDateTest, JapanDaysAsUtcBoundsStartAtJapansMidnight) {
  const Date d = *ParseDate("2026-12-02");
  EXPECT_EQ(JapanDayBoundsUtc(d, d),
            (std::pair<std::string, std::string>{"2026-12-01T15:00:00Z", "2026-12-02T15:00:00Z"}));
  EXPECT_EQ(JapanDayBoundsUtc(*ParseDate("2026-12-03"), *ParseDate("2026-12-31")),
            (std::pair<std::string, std::string>{"2026-12-02T15:00:00Z", "2026-12-31T15:00:00Z"}));
  const auto [start, end] = JapanDayBoundsUtc(*ParseDate("2026-12-03"), *ParseDate("2026-12-03"));
  const std::string delivered = "2026-12-02T16:00:00Z";  // 01:00 JST on 12-03
  EXPECT_TRUE(start <= delivered && delivered < end);
  EXPECT_LE(JapanDayBoundsUtc(d, d).second, delivered);  // not on 12-02
  // The last day staff can type ends in 9999 (past system_clock's 2262).
  EXPECT_EQ(JapanDayBoundsUtc(d, *ParseDate("9999-12-31")).second, "9999-12-31T15:00:00Z");
}

TEST(BaseHexTest, LowerUpperAndBytes) {
  const unsigned char bytes[] = {0x00, 0x8f, 0xff};
  EXPECT_EQ(Hex(bytes, 3), "008fff");
  EXPECT_EQ(Hex(bytes, 3, /*upper=*/true), "008FFF");
  EXPECT_EQ(HexByte(0x8f), "0x8F");
}

TEST(BaseLayoutTest, EverythingLivesBesideTheStore) {
  StoreLayout layout("/var/lib/itaku/itaku.db");
  EXPECT_EQ(layout.Root(), "/var/lib/itaku/itaku.db.d");
  EXPECT_EQ(layout.Documents(), "/var/lib/itaku/itaku.db.d/documents");
  EXPECT_EQ(layout.Outbox(), "/var/lib/itaku/itaku.db.d/outbox");
  EXPECT_EQ(layout.Portal(), "/var/lib/itaku/itaku.db.d/portal");
  EXPECT_EQ(layout.Keys(), "/var/lib/itaku/itaku.db.d/keys");
  EXPECT_EQ(layout.Letters(), "/var/lib/itaku/itaku.db.d/letters");
}

TEST(BaseStatusTest, AnErrorKeepsItsKindThroughAResultAndANewMessage) {
  Result<int> r = Status::Refused("only a privacy officer decides a request");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.kind(), ErrorKind::kRefused);
  EXPECT_EQ(r.status().WithMessage("request 3: " + r.message()).kind(), ErrorKind::kRefused);
  EXPECT_EQ(Status::Error("bad flag").kind(), ErrorKind::kInvalidInput);
  EXPECT_EQ(Status::NotFound("unknown delivery 9").kind(), ErrorKind::kNotFound);
  EXPECT_EQ(ToString(ErrorKind::kNotFound), "not-found");
  EXPECT_EQ(ToString(ErrorKind::kInvalidInput), "invalid-input");
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_EQ(Result<int>(7).value(), 7);
}

enum class Colour { kRed, kGreen };
constexpr std::string_view kColours[] = {"red", "green"};

TEST(BaseNamesTest, OneTableNamesAndParses) {
  EXPECT_EQ(NameOf(kColours, Colour::kGreen), "green");
  EXPECT_EQ(FromName<Colour>(kColours, "red"), Colour::kRed);
  EXPECT_EQ(FromName<Colour>(kColours, "Red"), std::nullopt);
  EXPECT_EQ(FromName<Colour>(kColours, ""), std::nullopt);
  EXPECT_EQ(NameOf(kColours, static_cast<Colour>(7)), "unknown");
}

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("itaku-atomic-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string Read(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }
  size_t Entries() const {
    size_t n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir_)) ++n;
    return n;
  }
  std::filesystem::path dir_;
};

TEST_F(AtomicFileTest, AppearsWhole0600AndOnlyOnCommit) {
  auto file = AtomicFile::Create(Path("key"));
  ASSERT_TRUE(file.ok()) << file.message();
  ASSERT_TRUE(file->Write("secret").ok());
  EXPECT_FALSE(std::filesystem::exists(Path("key")));
  struct stat st;
  ASSERT_EQ(::stat(file->temp_path().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_TRUE(file->Commit().ok());
  EXPECT_EQ(Read(Path("key")), "secret");
  EXPECT_EQ(Entries(), 1u);
}

TEST_F(AtomicFileTest, RefusesToOverwriteEvenANameThatAppearsWhileWriting) {
  ASSERT_TRUE(WriteFileAtomically(Path("a.zip.p7m"), "first").ok());
  Status again = WriteFileAtomically(Path("a.zip.p7m"), "second");
  EXPECT_EQ(again.kind(), ErrorKind::kConflict);
  EXPECT_EQ(again.message(), Path("a.zip.p7m") + " already exists; refusing to overwrite");

  auto late = AtomicFile::Create(Path("b.csv"));
  ASSERT_TRUE(late.ok());
  ASSERT_TRUE(late->Write("mine").ok());
  std::ofstream(Path("b.csv")) << "someone else's";
  EXPECT_EQ(late->Commit().kind(), ErrorKind::kConflict);
  EXPECT_EQ(Read(Path("a.zip.p7m")), "first");
  EXPECT_EQ(Read(Path("b.csv")), "someone else's");
  EXPECT_EQ(Entries(), 2u);  // no temporary file left
}

TEST_F(AtomicFileTest, ReplacesWhenAskedAndLeavesNothingWhenAbandoned) {
  ASSERT_TRUE(WriteFileAtomically(Path("letter.txt"), "v1").ok());
  ASSERT_TRUE(WriteFileAtomically(Path("letter.txt"), "v2", AtomicFile::Overwrite::kReplace).ok());
  EXPECT_EQ(Read(Path("letter.txt")), "v2");
  {
    auto dropped = AtomicFile::Create(Path("never"));
    ASSERT_TRUE(dropped.ok());
    ASSERT_TRUE(dropped->Write("half").ok());
  }
  EXPECT_FALSE(std::filesystem::exists(Path("never")));
  EXPECT_EQ(Entries(), 1u);
}

}  // namespace
}  // namespace itaku
