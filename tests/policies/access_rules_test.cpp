#include "policies/access_rules.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

namespace itaku::policies {
namespace {

using contracts::ProposalState;
using contracts::StaffRole;

// Every cell of the matrix: what each role may call.
TEST(AccessRulesTest, EveryCommandHasOneAccessAndEachRoleItsAnswer) {
  ASSERT_GE(ApiCommands().size(), 40u);
  for (std::string_view command : ApiCommands()) {
    SCOPED_TRACE(std::string(command));
    const auto access = CommandAccess(command);
    ASSERT_TRUE(access.has_value());
    const bool officer = AccessRefusal(command, *access, StaffRole::kPrivacyOfficer).empty();
    const bool op = AccessRefusal(command, *access, StaffRole::kOperator).empty();
    const bool auditor = AccessRefusal(command, *access, StaffRole::kAuditor).empty();
    EXPECT_TRUE(officer);  // a privacy officer may call every command
    switch (*access) {
      case Access::kRead:
      case Access::kApprove:
        EXPECT_TRUE(op && auditor);
        break;
      case Access::kOperate:
        EXPECT_TRUE(op && !auditor);
        break;
      case Access::kOfficer:
        EXPECT_TRUE(!op && !auditor);
        break;
    }
  }
  EXPECT_FALSE(CommandAccess("init").has_value());
  EXPECT_FALSE(CommandAccess("serve").has_value());
  EXPECT_EQ(CommandAccess("request.decide"), Access::kOfficer);
  EXPECT_EQ(CommandAccess("deliver"), Access::kOperate);
  EXPECT_EQ(CommandAccess("history"), Access::kRead);
  EXPECT_EQ(AccessRefusal("request.decide", Access::kOfficer, StaffRole::kOperator),
            "request.decide is not open to an operator (privacy officers only)");
  EXPECT_EQ(AccessRefusal("deliver", Access::kOperate, StaffRole::kAuditor),
            "deliver is not open to an auditor (auditors read only)");
}

std::string Read(const std::string& relative) {
  std::ifstream in(std::string(ITAKU_SOURCE_DIR) + "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The README's matrix and the OpenAPI document say what the code does.
TEST(AccessRulesTest, TheWrittenMatrixIsTheCodesMatrix) {
  const std::string readme = Read("README.md");
  const std::string openapi = Read("docs/staff-api.yaml");
  ASSERT_FALSE(readme.empty());
  ASSERT_FALSE(openapi.empty());
  for (std::string_view command : ApiCommands()) {
    SCOPED_TRACE(std::string(command));
    const Access access = *CommandAccess(command);
    const std::string c(command);
    const char* cells = access == Access::kRead      ? "yes | yes | yes | — |"
                        : access == Access::kOperate ? "yes | yes | — | — |"
                        : access == Access::kOfficer ? "yes | — | — | — |"
                                                     : "yes¹ | yes¹ | yes¹ | — |";
    EXPECT_NE(readme.find("| `" + c + "` | " + cells), std::string::npos);
    EXPECT_NE(openapi.find("| `" + c + "` | " + std::string(ToString(access)) + " |"),
              std::string::npos);
    if (command != "whoami") {
      EXPECT_NE(openapi.find("            - " + c + "\n"), std::string::npos);
    }
  }
}

contracts::Proposal ByTanaka() {
  contracts::Proposal p;
  p.id = 3;
  p.proposed_by = "tanaka";
  return p;
}

contracts::StaffMember Staff(const std::string& name, StaffRole role) {
  contracts::StaffMember m;
  m.name = name;
  m.role = role;
  return m;
}

TEST(AccessRulesTest, TheProposerNeverDecidesTheirOwnProposal) {
  bool small = true;
  EXPECT_EQ(ApprovalRefusal(Staff("tanaka", StaffRole::kPrivacyOfficer), ByTanaka(), 2, &small),
            "proposal 3 was proposed by tanaka; a second person decides it (two-person rule)");
  EXPECT_EQ(ApprovalRefusal(Staff("tanaka", StaffRole::kPrivacyOfficer), ByTanaka(), 1, &small),
            "proposal 3 was proposed by tanaka; a second person decides it (two-person rule)");
}

TEST(AccessRulesTest, AnotherOfficerApprovesAndSoDoesAnyoneInASmallOffice) {
  bool small = true;
  EXPECT_EQ(ApprovalRefusal(Staff("suzuki", StaffRole::kPrivacyOfficer), ByTanaka(), 2, &small),
            "");
  EXPECT_FALSE(small);
  EXPECT_EQ(ApprovalRefusal(Staff("sato", StaffRole::kOperator), ByTanaka(), 2, &small),
            "proposal 3: only a privacy officer other than the proposer decides it (sato is "
            "operator)");
  EXPECT_EQ(ApprovalRefusal(Staff("sato", StaffRole::kOperator), ByTanaka(), 1, &small), "");
  EXPECT_TRUE(small);
  EXPECT_EQ(ApprovalRefusal(Staff("ito", StaffRole::kAuditor), ByTanaka(), 0, &small), "");
  EXPECT_TRUE(small);
}

TEST(AccessRulesTest, ADecidedProposalIsNotDecidedAgain) {
  contracts::Proposal p = ByTanaka();
  p.state = ProposalState::kApproved;
  bool small = false;
  EXPECT_EQ(ApprovalRefusal(Staff("suzuki", StaffRole::kPrivacyOfficer), p, 2, &small),
            "proposal 3 is already approved");
  p.state = ProposalState::kExpired;
  EXPECT_EQ(ApprovalRefusal(Staff("suzuki", StaffRole::kPrivacyOfficer), p, 2, &small),
            "proposal 3 is already expired");
}

}  // namespace
}  // namespace itaku::policies
