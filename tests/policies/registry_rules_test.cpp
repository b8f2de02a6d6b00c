#include "policies/registry_rules.h"

#include <gtest/gtest.h>

namespace itaku::policies {
namespace {

TEST(RegistryRulesTest, ContractorIds) {
  EXPECT_EQ(ContractorIdRefusal("agency-a"), "");
  for (const char* bad : {"", "agency a", "a/b", "a\\b", "a:b"}) {
    EXPECT_EQ(ContractorIdRefusal(bad),
              "contractor id must be non-empty without spaces, slashes or colons")
        << bad;
  }
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
