#include "policies/profile_rules.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <string>

namespace itaku::policies {
namespace {

contracts::ContractProfile Billing() {
  contracts::ContractProfile p;
  p.id = "agency-billing";
  p.contractor_id = "agency-a";
  p.purpose = "billing";
  p.fields = {"subscriber_id",  "name",           "address", "phone",
              "account_number", "account_holder", "services"};
  p.transports = {"media", "sftp"};
  p.valid_from = *ParseDate("2026-04-01");
  p.valid_until = *ParseDate("2027-03-31");
  p.retention_days = 60;
  p.output_encoding = "cp932";
  p.masks = {{"phone", "last4"}};
  return p;
}

TEST(ProfileRulesTest, AcceptsTheIssueExample) { EXPECT_TRUE(ValidateProfile(Billing()).ok()); }

// What ValidateProfile says of Billing() after `change`.
std::string RefusalOf(const std::function<void(contracts::ContractProfile&)>& change) {
  contracts::ContractProfile p = Billing();
  change(p);
  return ValidateProfile(p).message();
}

TEST(ProfileRulesTest, RefusesFieldOutsideThePurpose) {
  EXPECT_EQ(RefusalOf([](auto& p) { p.fields.push_back("birth_date"); }),
            "birth_date is not used for purpose billing (policy 2(3))");
}

TEST(ProfileRulesTest, RefusesUnknownFieldAndUnknownMask) {
  EXPECT_EQ(RefusalOf([](auto& p) {
              p.fields.push_back("nickname");
              p.masks["name"] = "blur";
            }),
            "unknown field nickname (policy 1: field catalog); unknown mask blur for name (none, "
            "last4, redact, year, prefix3, pseudonym)");
}

TEST(ProfileRulesTest, RefusesValidUntilBeforeValidFrom) {
  EXPECT_EQ(RefusalOf([](auto& p) { p.valid_until = *ParseDate("2026-03-31"); }),
            "valid_until 2026-03-31 is before valid_from 2026-04-01");
}

TEST(ProfileRulesTest, RefusesMasksThatDoNotFit) {
  EXPECT_EQ(RefusalOf([](auto& p) {
              p.masks["address"] = "year";
              p.masks["email"] = "redact";
            }),
            "mask year applies to birth_date only, not address; mask for email, which the "
            "profile does not send");
}

TEST(ProfileRulesTest, RefusesUnknownPurposeTransportAndDuplicates) {
  EXPECT_EQ(RefusalOf([](auto& p) {
              p.purpose = "marketing";
              p.fields = {"name", "name"};
              p.masks.clear();
              p.transports = {"fax"};
            }),
            "unknown purpose marketing (policy 2(3)); field name is listed twice; the profile "
            "does not send subscriber_id (needed to record who received what, policy 5); "
            "unknown transport fax (policy 6(2): media, sftp, portal, paper)");
}

// Regression: ids such as "../x", a right-to-left override or a NUL byte
// were imported as given.
TEST(ProfileRulesTest, RefusesIdsThatBreakTheRuleShowingThemEscaped) {
  const std::string rule =
      " must be 1 to 64 characters of a-z, 0-9, '-', '_' and '.', starting with a letter or "
      "digit, without \"..\": got ";
  EXPECT_EQ(RefusalOf([](auto& p) { p.id = "../x"; }), "profile id" + rule + "\"../x\"");
  EXPECT_EQ(RefusalOf([](auto& p) {
              p.id = std::string("a\0b", 3);
              p.contractor_id = "agency/a";
            }),
            "profile id" + rule + "\"a\\x00b\"; contractor id" + rule + "\"agency/a\"");
}

// Regression: a profile without subscriber_id, or with it masked, was
// imported, and the record of who received what could not name anyone.
TEST(ProfileRulesTest, SubscriberIdIsSentAndUnmasked) {
  EXPECT_EQ(RefusalOf([](auto& p) { p.fields.erase(p.fields.begin()); }),
            "the profile does not send subscriber_id (needed to record who received what, "
            "policy 5)");
  for (const char* mask : {"last4", "redact", "pseudonym"}) {
    EXPECT_EQ(RefusalOf([&](auto& p) { p.masks["subscriber_id"] = mask; }),
              "subscriber_id must be sent unmasked, not with mask " + std::string(mask) +
                  " (needed to record who received what, policy 5)")
        << mask;
  }
  EXPECT_EQ(RefusalOf([](auto& p) { p.masks["subscriber_id"] = "none"; }), "");
  // A mask that does not fit is named once, by what does not fit.
  EXPECT_EQ(RefusalOf([](auto& p) { p.masks["subscriber_id"] = "year"; }),
            "mask year applies to birth_date only, not subscriber_id");
}

TEST(ProfileRulesTest, NamesNotOnRecordAreRepeatedEscaped) {
  EXPECT_EQ(RefusalOf([](auto& p) {
              p.fields.push_back("x\x1b[2J");
              p.purpose = "bill\ning";
              p.transports.push_back("fax\u202E");
            }),
            "unknown purpose bill\\ning (policy 2(3)); unknown field x\\x1b[2J (policy 1: "
            "field catalog); unknown transport fax\\u{202E} (policy 6(2): media, sftp, portal, "
            "paper)");
}

TEST(ProfileRulesTest, StatisticsProfileNeedsItsMasks) {
  contracts::ContractProfile p = Billing();
  p.purpose = "statistics";
  p.fields = {"subscriber_id", "postal_code", "birth_date", "gender"};
  p.masks = {{"subscriber_id", "pseudonym"}, {"postal_code", "prefix3"}};
  EXPECT_EQ(ValidateProfile(p).message(),
            "birth_date may be used for purpose statistics only with mask year (policy 2(3)[6])");
  p.masks["birth_date"] = "year";
  EXPECT_TRUE(ValidateProfile(p).ok());
}

// Regression: importing id = "builder-installation" with contractor =
// "agency-a" made version 2 belong to the collection agency.
TEST(ProfileRulesTest, AProfileIdBelongsToItsContractorForLife) {
  contracts::ContractProfile installation = Billing();
  installation.id = "builder-installation";
  installation.contractor_id = "builder-co";
  contracts::ContractProfile moved = installation;
  moved.contractor_id = "agency-a";
  EXPECT_EQ(ProfileOwnerRefusal(installation, moved),
            "profile builder-installation belongs to builder-co; a profile id cannot move to "
            "agency-a (policy 6)");
  EXPECT_EQ(ProfileOwnerRefusal(installation, installation), "");
  EXPECT_EQ(ProfileOwnerRefusal(std::nullopt, moved), "");
}

// What a second person is shown (two-person rule): every widening, and
// nothing for a change that only narrows.
std::vector<std::string> Widening(const contracts::ContractProfile& next) {
  std::vector<std::string> lines;
  for (const auto& c : ProfileWidening(Billing(), next)) {
    lines.push_back(c.item + ": " + c.from + " -> " + c.to);
  }
  return lines;
}

TEST(ProfileWideningTest, NamesEveryWidening) {
  contracts::ContractProfile next = Billing();
  next.fields.push_back("bank_code");
  next.masks.erase("phone");
  next.transports.push_back("portal");
  next.valid_until = *ParseDate("2028-03-31");
  next.retention_days = 90;
  next.contractor_id = "agency-b";
  EXPECT_EQ(Widening(next), (std::vector<std::string>{
                                "contractor: agency-a -> agency-b",
                                "field bank_code:  -> sent",
                                "mask phone: last4 -> ",
                                "transport portal:  -> allowed",
                                "valid_until: 2027-03-31 -> 2028-03-31",
                                "retention_days: 60 -> 90",
                            }));
}

TEST(ProfileWideningTest, NarrowingAndKeepingAreNotWidening) {
  contracts::ContractProfile next = Billing();
  next.fields.erase(std::find(next.fields.begin(), next.fields.end(), "phone"));
  next.transports = {"media"};
  next.valid_until = *ParseDate("2026-12-31");
  next.retention_days = 30;
  next.masks["account_number"] = "last4";
  EXPECT_TRUE(Widening(next).empty());
  EXPECT_TRUE(Widening(Billing()).empty());
}

TEST(ProfileWideningTest, TurningTheFormulaGuardOffWidens) {
  contracts::ContractProfile off = Billing();
  off.formula_guard = false;
  EXPECT_EQ(Widening(off), (std::vector<std::string>{"formula_guard: on -> off"}));
  // On again narrows.
  EXPECT_TRUE(ProfileWidening(off, Billing()).empty());
  auto added = ProfileWidening(std::nullopt, off);
  ASSERT_EQ(added.size(), 1u);
  EXPECT_EQ(added[0].to,
            "new, for agency-a (purpose billing; fields subscriber_id, name, address, phone, "
            "account_number, account_holder, services; transports media, sftp; formula guard "
            "off)");
}

TEST(ProfileWideningTest, ANewProfileIsOneWidening) {
  auto changes = ProfileWidening(std::nullopt, Billing());
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].item, "profile agency-billing");
  EXPECT_EQ(changes[0].to,
            "new, for agency-a (purpose billing; fields subscriber_id, name, address, phone, "
            "account_number, account_holder, services; transports media, sftp)");
}

}  // namespace
}  // namespace itaku::policies
