#include "policies/request_rules.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

namespace itaku::policies {
namespace {

using contracts::CorrectiveRequest;
using contracts::StaffRole;
using Role = std::optional<StaffRole>;  // nullopt: not staff
using contracts::StaffRole;

Date D(const char* text) { return *ParseDate(text); }

std::string All(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += s + "|";
  return out;
}

StepInput Officer(bool justified) {
  StepInput in;
  in.actor_role = StaffRole::kPrivacyOfficer;
  in.justified = justified;
  in.reason = "深夜の架電は委託契約の範囲外";
  return in;
}

StepInput Text(const char* text) {
  StepInput in;
  in.actor_role = StaffRole::kOperator;
  in.text = text;
  return in;
}

StepInput Closing(bool carried_out, const char* reason = "") {
  StepInput in;
  in.actor_role = StaffRole::kOperator;
  in.carried_out = carried_out;
  in.reason = reason;
  return in;
}

StepInput Notifying() {
  StepInput in;
  in.actor_role = StaffRole::kOperator;
  return in;
}

// Takes `step` with `in`, asserting it is allowed.
void Take(CorrectiveRequest& r, RequestStep step, const StepInput& in) {
  ASSERT_EQ(All(RefuseStep(r, step, in)), "")
      << ToString(step) << " from " << contracts::ToString(r.state);
  if (step == RequestStep::kDecide) r.justified = in.justified;
  if (step == RequestStep::kClose) r.carried_out = in.carried_out;
  r.state = StateAfter(r, step, in);
}

CorrectiveRequest Received() {
  CorrectiveRequest r;
  r.id = 7;
  r.state = contracts::RequestState::kReceived;
  return r;
}

TEST(RequestRulesTest, JustifiedRequestGoesThroughEveryStep) {
  CorrectiveRequest r = Received();
  Take(r, RequestStep::kDecide, Officer(true));
  EXPECT_EQ(r.state, contracts::RequestState::kDecided);
  Take(r, RequestStep::kInstruct, Text("21時以降の架電を停止してください"));
  EXPECT_EQ(r.state, contracts::RequestState::kInstructed);
  Take(r, RequestStep::kAnswer, Text("架電時間を変更しました"));
  EXPECT_EQ(r.state, contracts::RequestState::kAnswered);
  Take(r, RequestStep::kClose, Closing(true));
  EXPECT_EQ(r.state, contracts::RequestState::kClosed);
  Take(r, RequestStep::kNotify, Notifying());
  EXPECT_EQ(r.state, contracts::RequestState::kNotified);
}

TEST(RequestRulesTest, UnjustifiedRequestGoesStraightToTheNotice) {
  CorrectiveRequest r = Received();
  Take(r, RequestStep::kDecide, Officer(false));
  EXPECT_NE(All(RefuseStep(r, RequestStep::kInstruct, Text("x"))), "");
  Take(r, RequestStep::kNotify, Notifying());
  EXPECT_EQ(r.state, contracts::RequestState::kNotified);
}

TEST(RequestRulesTest, NotifyBeforeADecisionIsRefusedWithTheClause) {
  CorrectiveRequest r = Received();
  EXPECT_EQ(All(RefuseStep(r, RequestStep::kNotify, Notifying())),
            "request 7 has not been decided yet; a requester is told the outcome only after a "
            "decision (policy 6(4))|");
}

// What RefuseStep says to staff of `role` taking `step`.
std::string RefusedAs(std::optional<StaffRole> role, const CorrectiveRequest& r, RequestStep step,
                      StepInput in) {
  in.actor_role = role;
  return All(RefuseStep(r, step, in));
}

TEST(RequestRulesTest, OnlyAPrivacyOfficerDecides) {
  const CorrectiveRequest r = Received();
  EXPECT_EQ(RefusedAs(StaffRole::kOperator, r, RequestStep::kDecide, Officer(true)),
            "only a privacy officer decides a request (actor is operator)|");
  EXPECT_NE(
      RefusedAs(std::nullopt, r, RequestStep::kDecide, Officer(true)).find("not registered staff"),
      std::string::npos);
}

TEST(RequestRulesTest, AuditorsAndStrangersTakeNoStep) {
  CorrectiveRequest r = Received();
  Take(r, RequestStep::kDecide, Officer(true));
  EXPECT_EQ(RefusedAs(StaffRole::kAuditor, r, RequestStep::kInstruct, Text("x")),
            "only an operator or a privacy officer may instruct a request (actor is auditor)|");
  EXPECT_NE(
      RefusedAs(std::nullopt, r, RequestStep::kInstruct, Text("x")).find("not registered staff"),
      std::string::npos);
}

TEST(RequestRulesTest, DecisionNeedsAnAnswerAndAReason) {
  CorrectiveRequest r = Received();
  StepInput in;
  in.actor_role = StaffRole::kPrivacyOfficer;
  EXPECT_EQ(All(RefuseStep(r, RequestStep::kDecide, in)),
            "say whether the request is justified or not|a decision needs its reason|");
}

TEST(RequestRulesTest, UnjustifiedCannotBeClosedAsCarriedOut) {
  CorrectiveRequest r = Received();
  Take(r, RequestStep::kDecide, Officer(false));
  EXPECT_EQ(All(RefuseStep(r, RequestStep::kClose, Closing(true))),
            "request 7 was judged not justified; it cannot be closed as carried out|");
  EXPECT_EQ(All(RefuseStep(r, RequestStep::kClose, Closing(false, "理由"))), "");
}

TEST(RequestRulesTest, NotCarriedOutNeedsTheReason) {
  CorrectiveRequest r = Received();
  Take(r, RequestStep::kDecide, Officer(true));
  Take(r, RequestStep::kInstruct, Text("x"));
  Take(r, RequestStep::kAnswer, Text("y"));
  EXPECT_NE(All(RefuseStep(r, RequestStep::kClose, Closing(false))).find("policy 6(4)"),
            std::string::npos);
}

TEST(RequestRulesTest, StepsOutOfOrderAreRefused) {
  CorrectiveRequest r = Received();
  EXPECT_NE(All(RefuseStep(r, RequestStep::kInstruct, Text("x"))), "");
  EXPECT_NE(All(RefuseStep(r, RequestStep::kAnswer, Text("x"))), "");
  EXPECT_NE(All(RefuseStep(r, RequestStep::kClose, Closing(true))), "");
  Take(r, RequestStep::kDecide, Officer(true));
  EXPECT_NE(All(RefuseStep(r, RequestStep::kDecide, Officer(true))), "");
  EXPECT_NE(All(RefuseStep(r, RequestStep::kAnswer, Text("x"))), "");
  EXPECT_NE(All(RefuseStep(r, RequestStep::kClose, Closing(true))), "");
  EXPECT_NE(All(RefuseStep(r, RequestStep::kNotify, Notifying())), "");
  Take(r, RequestStep::kInstruct, Text("x"));
  EXPECT_NE(All(RefuseStep(r, RequestStep::kInstruct, Text("x"))), "");
  EXPECT_NE(All(RefuseStep(r, RequestStep::kNotify, Notifying())), "");
  Take(r, RequestStep::kAnswer, Text("y"));
  Take(r, RequestStep::kClose, Closing(true));
  EXPECT_NE(All(RefuseStep(r, RequestStep::kClose, Closing(true))), "");
  Take(r, RequestStep::kNotify, Notifying());
  for (RequestStep s : {RequestStep::kDecide, RequestStep::kInstruct, RequestStep::kAnswer,
                        RequestStep::kClose, RequestStep::kNotify}) {
    EXPECT_NE(All(RefuseStep(r, s, Officer(true))).find("is finished"), std::string::npos);
  }
}

TEST(RequestRulesTest, OverdueFromTheDayAfterEachDeadline) {
  CorrectiveRequest r = Received();
  const RequestDeadlines d{.decide_within_days = 7, .notify_within_days = 14};
  const Date received = D("2026-12-01");
  EXPECT_TRUE(OverdueReasons(r, received, d, D("2026-12-08")).empty());
  EXPECT_EQ(All(OverdueReasons(r, received, d, D("2026-12-09"))),
            "decision overdue since 2026-12-09|");
  EXPECT_EQ(All(OverdueReasons(r, received, d, D("2026-12-16"))),
            "decision overdue since 2026-12-09|notice overdue since 2026-12-16|");
  r.state = contracts::RequestState::kClosed;
  EXPECT_EQ(All(OverdueReasons(r, received, d, D("2026-12-16"))),
            "notice overdue since 2026-12-16|");
  r.state = contracts::RequestState::kNotified;
  EXPECT_TRUE(OverdueReasons(r, received, d, D("2027-06-01")).empty());
}

TEST(RequestRulesTest, SpecialRequestAppliesByContractorOrPurposeWithinItsDates) {
  contracts::SpecialRequest s;
  s.contractor_id = "agency-a";
  s.valid_from = D("2026-12-01");
  s.valid_until = D("2026-12-31");
  EXPECT_TRUE(SpecialRequestApplies(s, "agency-a", "billing", D("2026-12-01")));
  EXPECT_FALSE(SpecialRequestApplies(s, "agency-b", "billing", D("2026-12-01")));
  EXPECT_FALSE(SpecialRequestApplies(s, "agency-a", "billing", D("2026-11-30")));
  EXPECT_FALSE(SpecialRequestApplies(s, "agency-a", "billing", D("2027-01-01")));
  s.contractor_id.clear();
  s.purpose = "installation";
  EXPECT_TRUE(SpecialRequestApplies(s, "builder-b", "installation", D("2026-12-15")));
  EXPECT_FALSE(SpecialRequestApplies(s, "agency-a", "billing", D("2026-12-15")));
  s.ended_at = "2026-12-10T00:00:00Z";
  EXPECT_FALSE(SpecialRequestApplies(s, "builder-b", "installation", D("2026-12-15")));
}

TEST(OutcomeForNoticeTest, TheReasonTheRequesterIsTold) {
  contracts::CorrectiveRequest r;
  r.justified = false;
  r.decision_reason = "請求書の送付は契約上必要なため";
  EXPECT_FALSE(OutcomeForNotice(r).carried_out);
  EXPECT_EQ(OutcomeForNotice(r).reason, "請求書の送付は契約上必要なため");
  r.justified = true;
  r.carried_out = true;
  EXPECT_TRUE(OutcomeForNotice(r).carried_out);
  EXPECT_EQ(OutcomeForNotice(r).reason, "");
  r.carried_out = false;
  r.close_reason = "委託先が対応を拒否";
  EXPECT_FALSE(OutcomeForNotice(r).carried_out);
  EXPECT_EQ(OutcomeForNotice(r).reason, "委託先が対応を拒否");
}

TEST(SpecialRequestRefusalTest, ExtensionsNeedAnOfficerConsentAndNoStatistics) {
  contracts::SpecialRequest s;
  s.kind = contracts::SpecialKind::kWithhold;
  s.contractor_id = "agency-a";
  s.fields = {"phone"};
  s.created_by = "窓口担当";
  EXPECT_EQ(SpecialRequestRefusal(s, StaffRole::kOperator, false), "");
  s.fields = {"nickname"};
  EXPECT_EQ(SpecialRequestRefusal(s, StaffRole::kOperator, false),
            "unknown field nickname (not in the field catalog, policy 1)");
  s.fields = {"subscriber_id"};
  EXPECT_EQ(SpecialRequestRefusal(s, StaffRole::kOperator, false),
            "subscriber_id identifies the record; use --exclude instead");
  s.kind = contracts::SpecialKind::kExtend;
  s.fields = {"email"};
  EXPECT_EQ(SpecialRequestRefusal(s, StaffRole::kOperator, true),
            "only a privacy officer records an extension (窓口担当 is operator)");
  EXPECT_EQ(SpecialRequestRefusal(s, std::nullopt, true),
            "only a privacy officer records an extension (窓口担当 is not registered staff)");
  EXPECT_EQ(SpecialRequestRefusal(s, StaffRole::kPrivacyOfficer, false),
            "an extension needs the subscriber's consent on file: --consent FILE (policy 6(1))");
  EXPECT_EQ(SpecialRequestRefusal(s, StaffRole::kPrivacyOfficer, true), "");
  s.contractor_id.clear();
  s.purpose = "statistics";
  EXPECT_EQ(SpecialRequestRefusal(s, StaffRole::kPrivacyOfficer, true),
            "statistics are sent pseudonymised; nothing can be added to them");
  s.purpose = "fortune-telling";
  EXPECT_EQ(SpecialRequestRefusal(s, StaffRole::kPrivacyOfficer, true),
            "unknown purpose fortune-telling (policy 2(3))");
}

// Regression: a special request entered in error (a mistyped id) could not
// be ended by the operator who entered it.
TEST(SpecialRequestRulesTest, ItsCreatorOrAPrivacyOfficerEndsOne) {
  contracts::SpecialRequest s;
  s.id = 4;
  s.created_by = "田中";
  EXPECT_EQ(SpecialEndRefusal(s, StaffRole::kPrivacyOfficer, "鈴木"), "");
  EXPECT_EQ(SpecialEndRefusal(s, StaffRole::kOperator, "田中"), "");
  EXPECT_EQ(SpecialEndRefusal(s, StaffRole::kOperator, "佐藤"),
            "special request 4 was entered by 田中; only they or a privacy officer end it (佐藤 "
            "is operator)");
  EXPECT_EQ(SpecialEndRefusal(s, StaffRole::kAuditor, "田中"),
            "special request 4 was entered by 田中; only they or a privacy officer end it (田中 "
            "is auditor)");
  EXPECT_EQ(SpecialEndRefusal(s, std::nullopt, "eve"),
            "special request 4 was entered by 田中; only they or a privacy officer end it (eve "
            "is not registered staff)");
}

TEST(RequestRulesTest, DeadlinesAreDaysFromReceiptWithTheNoticeNotBeforeTheDecision) {
  EXPECT_EQ(DeadlinesRefusal({7, 14}), "");
  EXPECT_EQ(DeadlinesRefusal({0, 0}), "");
  EXPECT_EQ(DeadlinesRefusal({365, 365}), "");
  EXPECT_EQ(DeadlinesRefusal({-1, 14}), "deadlines are whole days from receipt, 0 to 365");
  EXPECT_EQ(DeadlinesRefusal({7, 366}), "deadlines are whole days from receipt, 0 to 365");
  EXPECT_EQ(DeadlinesRefusal({10, 9}),
            "the requester cannot be told before the decision is due: "
            "--notify-within must be at least --decide-within");
}

contracts::SpecialRequest Special(int64_t id, const std::string& subscriber,
                                  contracts::SpecialKind kind, std::vector<std::string> fields,
                                  const std::string& purpose = "billing") {
  contracts::SpecialRequest s;
  s.id = id;
  s.subscriber_id = subscriber;
  s.purpose = purpose;
  s.kind = kind;
  s.fields = std::move(fields);
  s.valid_from = *ParseDate("2026-04-01");
  return s;
}

TEST(SpecialShapingTest, ExcludesWithholdsAndExtendsOnlyWhatChangesSomething) {
  using K = contracts::SpecialKind;
  const Date today = *ParseDate("2026-12-02");
  std::vector<contracts::SpecialRequest> in = {
      Special(1, "S1", K::kExclude, {}),
      Special(2, "S2", K::kWithhold, {"phone"}),
      Special(3, "S3", K::kExtend, {"email", "birth_date"}),
      Special(4, "S3", K::kWithhold, {"email"}),        // withholding cancels the extension
      Special(5, "S4", K::kExtend, {"name"}),           // already sent: changes nothing
      Special(6, "S5", K::kExclude, {}, "statistics"),  // another purpose
  };
  in.push_back(Special(7, "S6", K::kExclude, {}));
  in.back().ended_at = "2026-11-01T00:00:00Z";  // ended
  in.push_back(Special(8, "S7", K::kExclude, {}));
  in.back().valid_until = *ParseDate("2026-12-01");  // no longer in force

  const SpecialShaping sh =
      ShapeBySpecialRequests(in, "agency-a", "billing", {"subscriber_id", "name", "phone"}, today);
  EXPECT_EQ(sh.extra_fields, (std::vector<std::string>{"email", "birth_date"}));  // catalog order
  ASSERT_EQ(sh.overrides.size(), 3u);
  EXPECT_TRUE(sh.overrides.at("S1").excluded);
  EXPECT_EQ(sh.overrides.at("S2").withheld, (std::set<std::string>{"phone"}));
  EXPECT_EQ(sh.overrides.at("S3").extended, (std::set<std::string>{"email", "birth_date"}));
  EXPECT_EQ(sh.overrides.at("S3").withheld, (std::set<std::string>{"email"}));
  EXPECT_EQ(sh.overrides.at("S3").sources, (std::vector<int64_t>{3, 4}));
}

TEST(SpecialShapingTest, StatisticsTakeNoExtension) {
  const SpecialShaping sh = ShapeBySpecialRequests(
      {Special(1, "S1", contracts::SpecialKind::kExtend, {"email"}, "statistics")}, "stats-co",
      "statistics", {"subscriber_id"}, *ParseDate("2026-12-02"));
  EXPECT_TRUE(sh.extra_fields.empty());
  EXPECT_TRUE(sh.overrides.empty());
}

}  // namespace
}  // namespace itaku::policies
