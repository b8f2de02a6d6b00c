#include "policies/decision.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace itaku::policies {
namespace {

using Reasons = std::vector<std::string>;

class DecideTest : public ::testing::Test {
 protected:
  void SetUp() override {
    snap_.contractor.id = "agency-a";
    snap_.contractor.name = "夢前収納サービス";
    snap_.profile.id = "agency-billing";
    snap_.profile.version = 2;
    snap_.profile.contractor_id = "agency-a";
    snap_.profile.purpose = "billing";
    snap_.profile.fields = {"subscriber_id", "name"};
    snap_.profile.transports = {"media", "sftp"};
    snap_.profile.valid_from = *ParseDate("2026-04-01");
    snap_.profile.valid_until = *ParseDate("2027-03-31");
    contracts::Nda nda;
    nda.id = 7;
    nda.contractor_id = "agency-a";
    nda.signed_on = *ParseDate("2026-03-20");
    nda.in_force_from = *ParseDate("2026-04-01");
    nda.in_force_until = *ParseDate("2027-03-31");
    snap_.ndas.push_back(nda);
  }
  Decision At(const char* day, const char* transport = "media") {
    return Decide({*contracts::Parse<contracts::Transport>(transport)}, snap_, *ParseDate(day));
  }
  RegistrySnapshot snap_;
};

TEST_F(DecideTest, AllowsWithNdaInForceAndNamesIt) {
  Decision d = At("2026-11-28");
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.nda_id, 7);
}

TEST_F(DecideTest, BoundaryDaysAreInside) {
  EXPECT_TRUE(At("2026-04-01").allowed());
  EXPECT_TRUE(At("2027-03-31").allowed());
}

TEST_F(DecideTest, RefusesSuspendedContractor) {
  snap_.contractor.status = contracts::ContractorStatus::kSuspended;
  EXPECT_EQ(At("2026-11-28").reasons,
            Reasons{"contractor agency-a is suspended (policy 4(3): deliveries go only to active "
                    "contractors)"});
}

TEST_F(DecideTest, RefusesWithoutNdaAndSaysWhenTheLastOneEnded) {
  snap_.ndas[0].in_force_until = *ParseDate("2026-10-31");
  Decision d = At("2026-11-28");
  EXPECT_EQ(d.reasons, Reasons{"contractor agency-a has no NDA in force on 2026-11-28 (its last "
                               "NDA ended 2026-10-31) (policy 4(3): 機密保持契約)"});
  EXPECT_FALSE(d.nda_id.has_value());
  snap_.ndas.clear();
  EXPECT_EQ(At("2026-11-28").reasons,
            Reasons{"contractor agency-a has no NDA in force on 2026-11-28 (policy 4(3): "
                    "機密保持契約)"});
}

// An NDA entered in error is withdrawn, never deleted: it covers nothing.
TEST_F(DecideTest, AWithdrawnNdaIsNotInForce) {
  snap_.ndas[0].withdrawn_at = "2026-11-27T01:00:00Z";
  snap_.ndas[0].withdrawn_reason = "wrong dates";
  Decision d = At("2026-11-28");
  EXPECT_EQ(d.reasons, Reasons{"contractor agency-a has no NDA in force on 2026-11-28 (policy "
                               "4(3): 機密保持契約)"});
  EXPECT_FALSE(d.nda_id.has_value());
  // The NDA registered in its place covers the delivery.
  contracts::Nda again = snap_.ndas[0];
  again.id = 8;
  again.withdrawn_at.clear();
  again.withdrawn_reason.clear();
  snap_.ndas.push_back(again);
  d = At("2026-11-28");
  EXPECT_TRUE(d.allowed());
  EXPECT_EQ(d.nda_id, 8);
}

TEST_F(DecideTest, IgnoresAnotherContractorsNda) {
  snap_.ndas[0].contractor_id = "agency-b";
  EXPECT_FALSE(At("2026-11-28").allowed());
}

TEST_F(DecideTest, RefusesProfileNotValidToday) {
  // The NDA also ended that day before: both reasons are given.
  EXPECT_EQ(At("2027-04-01").reasons,
            (Reasons{"contractor agency-a has no NDA in force on 2027-04-01 (its last NDA ended "
                     "2027-03-31) (policy 4(3): 機密保持契約)",
                     "profile agency-billing v2 is not valid on 2027-04-01 (valid 2026-04-01 to "
                     "2027-03-31)"}));
}

TEST_F(DecideTest, RefusesTransportTheProfileDoesNotAllow) {
  EXPECT_EQ(At("2026-11-28", "portal").reasons,
            Reasons{"profile agency-billing does not allow transport portal (allows media, sftp; "
                    "policy 6(2))"});
}

TEST_F(DecideTest, GivesEveryReasonAtOnce) {
  snap_.contractor.status = contracts::ContractorStatus::kTerminated;
  snap_.ndas.clear();
  snap_.profile.contractor_id = "agency-b";
  Decision d = At("2028-01-01", "paper");
  EXPECT_EQ(d.reasons.size(), 5u);
}

}  // namespace
}  // namespace itaku::policies
