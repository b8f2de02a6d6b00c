#include "policies/catalog.h"

#include <gtest/gtest.h>

namespace itaku::policies {
namespace {

TEST(CatalogTest, HasEveryFieldOfClauseOneInDesignOrder) {
  ASSERT_EQ(Catalog().size(), 17u);
  EXPECT_EQ(Catalog().front().id, "subscriber_id");
  EXPECT_EQ(Catalog().back().id, "house_drawing");
  EXPECT_EQ(Catalog().back().cls, FieldClass::kDocument);
}

TEST(CatalogTest, FindsByIdOrJapaneseLabel) {
  ASSERT_NE(FindField("account_number"), nullptr);
  EXPECT_EQ(FindField("口座番号"), FindField("account_number"));
  EXPECT_EQ(FindField("住宅の図面")->id, "house_drawing");
  EXPECT_EQ(FindField("フリガナ")->cls, FieldClass::kIdentity);
  EXPECT_EQ(FindField("nickname"), nullptr);
  EXPECT_EQ(FindField(""), nullptr);
}

TEST(CatalogTest, ParsesEveryMaskName) {
  for (auto m :
       {Mask::kNone, Mask::kLast4, Mask::kRedact, Mask::kYear, Mask::kPrefix3, Mask::kPseudonym}) {
    EXPECT_EQ(ParseMask(ToString(m)), m);
  }
  EXPECT_FALSE(ParseMask("hash").has_value());
}

TEST(PurposeTest, BillingMayUseAccountNumberButNotBirthDate) {
  EXPECT_TRUE(CheckFieldForPurpose("account_number", "billing", Mask::kNone).ok());
  EXPECT_EQ(CheckFieldForPurpose("birth_date", "billing", Mask::kNone).message(),
            "birth_date is not used for purpose billing (policy 2(3))");
}

TEST(PurposeTest, InstallationGetsDrawingsAndNoBankData) {
  EXPECT_TRUE(CheckFieldForPurpose("house_drawing", "installation", Mask::kNone).ok());
  EXPECT_EQ(CheckFieldForPurpose("account_number", "installation", Mask::kNone).message(),
            "account_number is not used for purpose installation (policy 2(3))");
  EXPECT_EQ(CheckFieldForPurpose("house_drawing", "billing", Mask::kNone).message(),
            "house_drawing is not used for purpose billing (policy 2(3))");
}

TEST(PurposeTest, MailingFamilyMayUseEmailButNotDrawings) {
  for (const char* p : {"mailing", "service_notice", "support", "aftercare"}) {
    EXPECT_TRUE(CheckFieldForPurpose("email", p, Mask::kNone).ok()) << p;
    EXPECT_FALSE(CheckFieldForPurpose("house_drawing", p, Mask::kNone).ok()) << p;
    EXPECT_FALSE(CheckFieldForPurpose("gender", p, Mask::kNone).ok()) << p;
  }
}

TEST(PurposeTest, StatisticsTakesIdentifyingFieldsOnlyMasked) {
  EXPECT_EQ(CheckFieldForPurpose("subscriber_id", "statistics", Mask::kNone).message(),
            "subscriber_id may be used for purpose statistics only with mask pseudonym "
            "(policy 2(3)[6])");
  EXPECT_TRUE(CheckFieldForPurpose("subscriber_id", "statistics", Mask::kPseudonym).ok());
  EXPECT_EQ(CheckFieldForPurpose("postal_code", "statistics", Mask::kLast4).message(),
            "postal_code may be used for purpose statistics only with mask prefix3 "
            "(policy 2(3)[6])");
  EXPECT_TRUE(CheckFieldForPurpose("birth_date", "statistics", Mask::kYear).ok());
  EXPECT_TRUE(CheckFieldForPurpose("gender", "statistics", Mask::kNone).ok());
  EXPECT_EQ(CheckFieldForPurpose("name", "statistics", Mask::kPseudonym).message(),
            "name is not used for purpose statistics (policy 2(3))");
}

TEST(PurposeTest, UnknownFieldAndPurposeNameTheClause) {
  EXPECT_EQ(CheckFieldForPurpose("nickname", "billing", Mask::kNone).message(),
            "unknown field nickname (policy 1: field catalog)");
  EXPECT_EQ(CheckFieldForPurpose("name", "marketing", Mask::kNone).message(),
            "unknown purpose marketing (policy 2(3))");
}

}  // namespace
}  // namespace itaku::policies
