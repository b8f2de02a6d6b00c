#include "policies/supervision_rules.h"

#include <gtest/gtest.h>

namespace itaku::policies {
namespace {

using contracts::CheckResult;
using contracts::Contract;
using contracts::SupervisionCheck;

Date D(const char* text) { return *ParseDate(text); }

Contract MakeContract(int64_t id, const char* from, const char* until,
                      std::vector<std::string> purposes) {
  Contract c;
  c.id = id;
  c.contractor_id = "agency-a";
  c.signed_on = D(from);
  c.in_force_from = D(from);
  c.in_force_until = D(until);
  c.purposes = std::move(purposes);
  c.incident_contact = "収納部 079-111-2222";
  return c;
}

TEST(SupervisionRulesTest, TheCoveringContractIsInForceCoversThePurposeAndRunsLongest) {
  std::vector<Contract> all = {MakeContract(1, "2026-04-01", "2027-03-31", {"billing"}),
                               MakeContract(2, "2026-04-01", "2028-03-31", {"billing", "mailing"}),
                               MakeContract(3, "2026-04-01", "2029-03-31", {"installation"})};
  const Contract* c = CoveringContract(all, "agency-a", "billing", D("2026-12-02"));
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->id, 2);
  // Its first and last days are covered; the day after is not.
  EXPECT_NE(CoveringContract(all, "agency-a", "mailing", D("2026-04-01")), nullptr);
  EXPECT_NE(CoveringContract(all, "agency-a", "mailing", D("2028-03-31")), nullptr);
  EXPECT_EQ(CoveringContract(all, "agency-a", "mailing", D("2028-04-01")), nullptr);
  // Another contractor's contract covers nothing here.
  EXPECT_EQ(CoveringContract(all, "builder-b", "installation", D("2026-12-02")), nullptr);
  // A withdrawn contract covers nothing.
  all[1].withdrawn_at = "2026-05-01T00:00:00Z";
  EXPECT_EQ(CoveringContract(all, "agency-a", "billing", D("2026-12-02"))->id, 1);
}

TEST(SupervisionRulesTest, TheRefusalNamesWhatIsClosest) {
  std::vector<Contract> all = {MakeContract(1, "2025-04-01", "2026-03-31", {"billing"}),
                               MakeContract(2, "2026-04-01", "2027-03-31", {"installation"}),
                               MakeContract(3, "2027-04-01", "2028-03-31", {"mailing"})};
  EXPECT_EQ(NoContractReason(all, "agency-a", "billing", D("2026-12-02")),
            "contractor agency-a has no outsourcing contract in force on 2026-12-02 covering "
            "purpose billing (contract #1 ended 2026-03-31) (policy 6: 業務委託契約)");
  EXPECT_EQ(NoContractReason(all, "agency-a", "mailing", D("2026-12-02")),
            "contractor agency-a has no outsourcing contract in force on 2026-12-02 covering "
            "purpose mailing (contract #3 starts 2027-04-01) (policy 6: 業務委託契約)");
  EXPECT_EQ(NoContractReason(all, "agency-a", "support", D("2026-12-02")),
            "contractor agency-a has no outsourcing contract in force on 2026-12-02 covering "
            "purpose support (contract #2 covers installation) (policy 6: 業務委託契約)");
  EXPECT_EQ(NoContractReason({}, "agency-a", "support", D("2026-12-02")),
            "contractor agency-a has no outsourcing contract in force on 2026-12-02 covering "
            "purpose support (policy 6: 業務委託契約)");
}

TEST(SupervisionRulesTest, AContractAsEnteredIsChecked) {
  Contract c = MakeContract(0, "2026-04-01", "2027-03-31", {"billing"});
  EXPECT_EQ(ContractRefusal(c), "");
  c.in_force_until = D("2026-03-31");
  EXPECT_EQ(ContractRefusal(c),
            "contract for agency-a: --until 2026-03-31 is before --from 2026-04-01");
  c = MakeContract(0, "2026-04-01", "2027-03-31", {});
  EXPECT_EQ(ContractRefusal(c),
            "contract for agency-a: at least one --purpose is required (policy 2(3))");
  c.purposes = {"marketing"};
  EXPECT_EQ(
      ContractRefusal(c).rfind("contract for agency-a: unknown purpose marketing (known: ", 0), 0u);
  c.purposes = {"billing"};
  c.incident_contact.clear();
  EXPECT_NE(ContractRefusal(c).find("--incident-contact is required"), std::string::npos);
}

TEST(SupervisionRulesTest, ACheckIsOverdueOnlyPastItsGrace) {
  SupervisionCheck old;
  old.id = 1;
  old.contractor_id = "agency-a";
  old.checked_on = D("2025-12-01");
  old.result = CheckResult::kPass;
  old.next_due = D("2026-06-01");
  SupervisionCheck latest = old;
  latest.id = 2;
  latest.checked_on = D("2026-06-01");
  latest.next_due = D("2026-12-01");
  const std::vector<SupervisionCheck> checks = {latest, old};
  EXPECT_EQ(LatestCheck(checks, "agency-a")->id, 2);
  EXPECT_EQ(OverdueCheckReason(checks, "agency-a", D("2026-12-31"), 30), "");  // due + 30
  EXPECT_EQ(OverdueCheckReason(checks, "agency-a", D("2027-01-01"), 30),
            "contractor agency-a: its periodic check was due 2026-12-01 and is overdue by more "
            "than 30 days ([supervision] block_on_overdue_check; policy 6: 指示・監督)");
  EXPECT_EQ(OverdueCheckReason(checks, "builder-b", D("2026-12-02"), 30),
            "contractor builder-b has never been checked ([supervision] block_on_overdue_check; "
            "policy 6: 指示・監督)");
}

TEST(SupervisionRulesTest, DisposalWordsAndDays) {
  EXPECT_EQ(DeleteBy(D("2026-12-02"), 60), D("2027-01-31"));
  EXPECT_EQ(ParseDisposalMethod("裁断"), contracts::DisposalMethod::kShredded);
  EXPECT_EQ(ParseDisposalMethod("erased"), contracts::DisposalMethod::kErased);
  EXPECT_EQ(ParseDisposalMethod("燃やした"), std::nullopt);
  EXPECT_EQ(OverdueDisposalReason("agency-a", 0, 0, D("2026-12-02")), "");
  EXPECT_EQ(OverdueDisposalReason("agency-a", 1, 7, D("2026-12-01")),
            "contractor agency-a has 1 delivery past its delete-by day with no return or disposal "
            "recorded (delivery 7, delete by 2026-12-01) ([supervision] "
            "block_on_overdue_disposal; policy 6: 指示・監督)");
}

}  // namespace
}  // namespace itaku::policies
