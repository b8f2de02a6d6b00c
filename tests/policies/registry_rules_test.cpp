#include "policies/registry_rules.h"

#include <gtest/gtest.h>

#include <string>

namespace itaku::policies {
namespace {

constexpr char kIdRule[] =
    " must be 1 to 64 characters of a-z, 0-9, '-', '_' and '.', starting with a letter or digit, "
    "without \"..\": got ";

TEST(RegistryRulesTest, IdsInUseAreAccepted) {
  for (const char* id : {"agency-a", "builder-b", "builder-co", "agency-c-billing",
                         "builder-installation", "agency-01", "p1", "a", "x.y_z-2", "0a"}) {
    EXPECT_EQ(ContractorIdRefusal(id), "") << id;
    EXPECT_EQ(ProfileIdRefusal(id), "") << id;
  }
  EXPECT_EQ(ProfileIdRefusal(std::string(64, 'a')), "");
}

// Regression: a profile id could be "../x", "a/b", 5,000 characters, hold a
// right-to-left override or a NUL byte that left the profile unaddressable.
TEST(RegistryRulesTest, ProfileIdsBreakingTheRuleAreRefusedAndShownEscaped) {
  const std::string rule = std::string("profile id") + kIdRule;
  EXPECT_EQ(ProfileIdRefusal("../x"), rule + "\"../x\"");
  EXPECT_EQ(ProfileIdRefusal("a/b"), rule + "\"a/b\"");
  EXPECT_EQ(ProfileIdRefusal(std::string(5000, 'a')),
            rule + "\"" + std::string(40, 'a') + "…\" (5000 bytes)");
  EXPECT_EQ(ProfileIdRefusal("abc\u202Edef"), rule + "\"abc\\u{202E}def\"");
  EXPECT_EQ(ProfileIdRefusal(std::string("a\0b", 3)), rule + "\"a\\x00b\"");
  EXPECT_EQ(ProfileIdRefusal("a\x1b[2Jb"), rule + "\"a\\x1b[2Jb\"");
  EXPECT_EQ(ProfileIdRefusal(""), rule + "\"\"");
  EXPECT_EQ(ProfileIdRefusal(std::string(65, 'a')),
            rule + "\"" + std::string(40, 'a') + "…\" (65 bytes)");
}

TEST(RegistryRulesTest, ContractorIdsFollowTheSameRule) {
  const std::string rule = std::string("contractor id") + kIdRule;
  for (const char* bad : {"agency a", "a/b", "a\\b", "a:b", "Agency-A", "-a", ".a", "_a", "a..b",
                          "..", "a\nb", "委託先"}) {
    EXPECT_EQ(ContractorIdRefusal(bad).rfind(rule, 0), 0u) << bad;
  }
  EXPECT_EQ(ContractorIdRefusal("a\"b\\c"), rule + "\"a\\\"b\\\\c\"");
  // Ids are ASCII: anything else is shown as its code point.
  EXPECT_EQ(ContractorIdRefusal("委託先"), rule + "\"\\u{59D4}\\u{8A17}\\u{5148}\"");
}

TEST(RegistryRulesTest, PrintableEscapesWhatATerminalWouldObey) {
  EXPECT_EQ(Printable("夢前収納サービス"), "夢前収納サービス");
  EXPECT_EQ(Printable("plain text, as is"), "plain text, as is");
  EXPECT_EQ(Printable("a\nb\r\tc"), "a\\nb\\r\\tc");
  EXPECT_EQ(Printable("\x1b[31mred\x7f"), "\\x1b[31mred\\x7f");
  EXPECT_EQ(Printable("a\u0085b\u009bc"), "a\\u{0085}b\\u{009B}c");  // C1, CSI
  EXPECT_EQ(Printable("\u202Aa\u202Eb\u2066c\u2069\u200F\u2028"),
            "\\u{202A}a\\u{202E}b\\u{2066}c\\u{2069}\\u{200F}\\u{2028}");
  EXPECT_EQ(Printable("\xff\xc3(x\xed\xa0\x80"), "\\xff\\xc3(x\\xed\\xa0\\x80");  // not UTF-8
  EXPECT_EQ(Printable("\"q\" \\"), "\\\"q\\\" \\\\");
  EXPECT_EQ(Printable("日本 😀", true), "\\u{65E5}\\u{672C} \\u{01F600}");
  EXPECT_EQ(Printable("abcdef", false, 3), "abc…");
  EXPECT_EQ(Printable("日本語です", false, 3), "日本語…");
  EXPECT_EQ(Printable("abc", false, 3), "abc");
}

// Regression: staff and contractor names with a newline or a terminal
// escape were stored and printed as given.
TEST(RegistryRulesTest, DisplayNamesArePrintableUtf8OfAtMost100Characters) {
  EXPECT_EQ(DisplayNameRefusal("staff name", "鈴木"), "");
  EXPECT_EQ(DisplayNameRefusal("staff name", "itk-clerk"), "");
  EXPECT_EQ(DisplayNameRefusal("name of contractor agency-a", "夢前収納サービス 株式会社"), "");
  const std::string control =
      " must not hold control characters (line breaks, terminal escapes) or bidirectional "
      "controls: got ";
  EXPECT_EQ(DisplayNameRefusal("staff name", "bad\nname"),
            "staff name" + control + "\"bad\\nname\"");
  EXPECT_EQ(DisplayNameRefusal("staff name", "x\x1b[31m"),
            "staff name" + control + "\"x\\x1b[31m\"");
  EXPECT_EQ(DisplayNameRefusal("staff name", "a\x7f"), "staff name" + control + "\"a\\x7f\"");
  EXPECT_EQ(DisplayNameRefusal("staff name", "a\u0085"), "staff name" + control + "\"a\\u{0085}\"");
  for (const char* bidi :
       {"\u202A", "\u202B", "\u202C", "\u202D", "\u202E", "\u2066", "\u2067", "\u2068", "\u2069"}) {
    EXPECT_EQ(DisplayNameRefusal("name of contractor agency-a", std::string("山田") + bidi)
                  .rfind("name of contractor agency-a" + control + "\"山田\\u{", 0),
              0u)
        << bidi;
  }
  EXPECT_EQ(DisplayNameRefusal("staff name", "\xff\xfe"),
            "staff name is not UTF-8 text: got \"\\xff\\xfe\"");
  EXPECT_EQ(DisplayNameRefusal("staff name", ""), "staff name must not be empty");
  std::string hundred;
  for (int i = 0; i < 100; ++i) hundred += "名";
  EXPECT_EQ(DisplayNameRefusal("staff name", hundred), "");
  EXPECT_EQ(DisplayNameRefusal("staff name", hundred + "x"),
            "staff name is longer than 100 characters (101)");
}

TEST(RegistryRulesTest, NdasRunForwardsAndHaveASignatory) {
  contracts::Nda n;
  n.contractor_id = "agency-a";
  n.in_force_from = *ParseDate("2026-04-01");
  n.in_force_until = *ParseDate("2026-03-01");
  n.signatories = {"山田 一郎"};
  EXPECT_EQ(NdaRefusal(n), "NDA for agency-a: --until 2026-03-01 is before --from 2026-04-01");
  n.in_force_until = *ParseDate("2026-04-01");
  EXPECT_EQ(NdaRefusal(n), "");
  n.signatories.clear();
  EXPECT_EQ(NdaRefusal(n), "NDA for agency-a: at least one --signatory is required");
}

TEST(RegistryRulesTest, APortalCertificateBelongsToOneContractor) {
  EXPECT_EQ(PortalCertificateRefusal("builder-b", "SHA256:AB", std::nullopt), "");
  EXPECT_EQ(PortalCertificateRefusal("builder-b", "SHA256:AB", std::string("builder-b")), "");
  EXPECT_EQ(PortalCertificateRefusal("builder-b", "SHA256:AB", std::string("agency-a")),
            "contractor builder-b: portal certificate SHA256:AB is already registered for "
            "contractor agency-a");
}

TEST(RegistryRulesTest, AHostKeyPinReadsAsOpenSshPrintsIt) {
  const std::string pin = "SHA256:" + std::string(43, 'A');
  EXPECT_EQ(NormalisedHostKeyPin(pin), pin);
  EXPECT_EQ(NormalisedHostKeyPin(pin + "="), pin);
  EXPECT_EQ(NormalisedHostKeyPin("SHA256:" + std::string(42, 'A')), std::nullopt);
  EXPECT_EQ(NormalisedHostKeyPin("MD5:" + std::string(43, 'A')), std::nullopt);
  EXPECT_EQ(NormalisedHostKeyPin("SHA256:" + std::string(42, 'A') + "-"), std::nullopt);
}

TEST(RegistryRulesTest, APinIsDroppedWhenTheServerMovesUnlessANewOneIsGiven) {
  EXPECT_EQ(PinAfterChange("SHA256:old", "", false), "SHA256:old");
  EXPECT_EQ(PinAfterChange("SHA256:old", "", true), "");
  EXPECT_EQ(PinAfterChange("SHA256:old", "SHA256:new", true), "SHA256:new");
  EXPECT_EQ(PinAfterChange("", "SHA256:new", false), "SHA256:new");
}

TEST(RegistryRulesTest, PassphraseSourcesAreAVariableOrAFile) {
  using Kind = PassphraseSource::Kind;
  EXPECT_EQ(ParsePassphraseSource("env:AGENCY_KEY")->kind, Kind::kEnv);
  EXPECT_EQ(ParsePassphraseSource("file:/etc/itaku/p")->name, "/etc/itaku/p");
  EXPECT_EQ(ParsePassphraseSource("")->kind, Kind::kNone);
  EXPECT_FALSE(ParsePassphraseSource("env:").has_value());
  EXPECT_FALSE(ParsePassphraseSource("vault:x").has_value());
  EXPECT_EQ(ToString(*ParsePassphraseSource("file:/p")), "file:/p");

  const PassphraseSource current{Kind::kEnv, "OLD"};
  EXPECT_EQ(ToString(ChoosePassphraseSource(current, "", "").source), "env:OLD");
  EXPECT_EQ(ToString(ChoosePassphraseSource(current, "NEW", "").source), "env:NEW");
  EXPECT_EQ(ToString(ChoosePassphraseSource(current, "", "/k").source), "file:/k");
  EXPECT_EQ(ChoosePassphraseSource(current, "NEW", "/k").refusal,
            "give --key-passphrase-env or --key-passphrase-file, not both");
}

TEST(RegistryRulesTest, AnEncryptedKeyNeedsASourceAndANewPlainKeyDropsAnUnnamedOne) {
  EXPECT_NE(KeySourceRefusal(true, PassphraseSource{}), "");
  EXPECT_EQ(KeySourceRefusal(true, {PassphraseSource::Kind::kEnv, "K"}), "");
  EXPECT_EQ(KeySourceRefusal(false, PassphraseSource{}), "");
  EXPECT_FALSE(KeepsPassphraseSource(/*encrypted=*/false, /*key_replaced=*/true,
                                     /*source_named=*/false));
  EXPECT_TRUE(KeepsPassphraseSource(false, true, true));
  EXPECT_TRUE(KeepsPassphraseSource(false, false, false));
  EXPECT_TRUE(KeepsPassphraseSource(true, true, false));
}

}  // namespace
}  // namespace itaku::policies
