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

}  // namespace
}  // namespace itaku::policies
