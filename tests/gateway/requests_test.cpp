#include "gateway/requests.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "contracts/base/layout.h"
#include "contracts/record_json.h"
#include "tests/gateway/gateway_fixture.h"
#include "tests/transports/smtp_fixture.h"

namespace itaku::gateway {
namespace {

using Json = nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using transports::test_util::DecodeMessage;
using transports::test_util::SmtpFixture;

constexpr char kOperator[] = "窓口担当";
constexpr char kOfficer[] = "鈴木";
constexpr char kAuditor[] = "監査担当";
constexpr char kStranger[] = "通りすがり";
constexpr char kRequester[] = "taro.yamada@example.jp";
constexpr char kAsked[] = "夜間の督促電話をやめてほしい";
constexpr char kJustified[] = "深夜の架電は委託契約の範囲外";
constexpr char kNotJustified[] = "請求書の送付は契約上必要なため";
constexpr char kInstruction[] = "21時以降の架電を直ちに停止してください";
constexpr char kAnswer[] = "架電は20時までに変更しました";
constexpr char kNow[] = "2026-12-01T01:00:00Z";  // 10:00 on 2026-12-01 in Japan

// `itaku request notify --subscriber-data EXPORT`.
NotifyArgs FromExport(const std::string& path) {
  NotifyArgs args;
  args.subscriber_data = path;
  return args;
}

// `itaku special add`'s arguments, flag by flag.
class Special {
 public:
  explicit Special(const std::string& subscriber) { args_.subscriber = subscriber; }
  Special& Contractor(const std::string& id) { return Set(args_.contractor, id); }
  Special& Purpose(const std::string& purpose) { return Set(args_.purpose, purpose); }
  Special& Exclude() { return Set(args_.exclude, true); }
  Special& Withhold(const std::vector<std::string>& fields) { return Set(args_.withhold, fields); }
  Special& Extend(const std::vector<std::string>& fields) { return Set(args_.extend, fields); }
  Special& Consent(const std::string& file) { return Set(args_.consent_file, file); }
  Special& Dates(const std::string& from, const std::string& until) {
    args_.from = from;
    return Set(args_.until, until);
  }
  operator SpecialArgs() const { return args_; }  // NOLINT: implicit by design

 private:
  template <typename T>
  Special& Set(T& field, const T& value) {
    field = value;
    return *this;
  }
  SpecialArgs args_;
};

// Corrective-action requests (policy 6(3)-(4)) and special requests (6(1))
// as services against a real store; e-mail goes to a real SMTP server
// (aiosmtpd) and letters to files beside the store. agency-a takes
// instructions by e-mail, builder-b (no address) by letter. Staff of every
// role are registered; the operator acts unless a test says otherwise.
class RequestsTest : public gateway_test::StoreFixture {
 protected:
  RequestsTest() : StoreFixture("requests", kNow) {}

  void Register() override {
    // Only what a test hands in configures mail.
    ::unsetenv("ITAKU_SMTP");
    ::unsetenv("ITAKU_SMTP_FROM");
    // The operator's own details, as the daemon's config holds them: no
    // notice or letter goes out signed by a placeholder.
    Write("itaku.toml",
          "[requests]\noperator_name = \"夢前ケーブル株式会社\"\n"
          "operator_postal_code = \"6712103\"\n"
          "operator_address = \"兵庫県姫路市夢前町前之庄2番地\"\n"
          "operator_phone = \"079-000-0000\"\n"
          "[smtp]\nfrom = \"privacy@operator.example\"\n");
    ctx_.daemon_config = Path("itaku.toml");
    for (const auto& [id, email] :
         {std::pair{"agency-a", "it@agency-a.example"}, std::pair{"builder-b", ""}}) {
      ContractorArgs c;
      c.id = id;
      c.name = std::string(id) + " 株式会社";
      c.email = email;
      c.postal_code = "6700011";
      c.address = "兵庫県姫路市工事町3番地";
      AddContractor(c);
    }
    // Debian's system accounts stand in for staff OS users here.
    for (const auto& [name, os_user, role] :
         {std::tuple{kOperator, "daemon", "operator"},
          std::tuple{kOfficer, "bin", "privacy-officer"}, std::tuple{kAuditor, "sys", "auditor"}}) {
      auto added = StaffAdd(ctx_, name, os_user, role);
      ASSERT_TRUE(added.ok()) << added.message();
    }
    ctx_.actor = kOperator;
    Write("export.csv",
          "subscriber_id,name,postal_code,address\n"
          "S0,佐藤 一郎,1000001,東京都千代田区1-1\n"
          "S1,山田 太郎,6712103,兵庫県姫路市夢前町前之庄1番地\n");
  }

  // A request from subscriber S1 about `contractor`, received now or on
  // `received_at`; its id.
  int64_t Receive(const std::string& contractor = "agency-a", const std::string& email = kRequester,
                  const std::string& received_at = "") {
    auto r = RequestAdd(ctx_, {"S1", contractor, "phone", kAsked, email, received_at});
    EXPECT_TRUE(r.ok()) << r.message();
    return r.ok() ? r->json["id"].get<int64_t>() : 0;
  }

  // `step` taken by `actor`, which must succeed.
  void Take(const char* actor, const std::function<Result<Output>()>& step) {
    ctx_.actor = actor;
    auto out = step();
    ctx_.actor = kOperator;
    ASSERT_TRUE(out.ok()) << out.message();
  }
  void Decide(int64_t id, bool justified) {
    Take(kOfficer, [&] {
      return RequestDecide(ctx_, id, justified, justified ? kJustified : kNotJustified);
    });
  }

  // The request as stored, in the store's own spelling (contracts/record_json).
  Json Stored(int64_t id) {
    auto r = ctx_.store->FindCorrectiveRequest(id);
    EXPECT_TRUE(r.ok() && r.value()) << r.message();
    return r.ok() && r.value() ? contracts::ToJson(*r.value()) : Json();
  }
  std::string StateOf(int64_t id) { return Stored(id)["state"].get<std::string>(); }

  std::string Letter(const std::string& name) const {
    return StoreLayout(ctx_.db_path).Letters() + "/" + name;
  }
  // A PDF letter's text as poppler's pdftotext reads it, white space
  // removed (the layout may break a line anywhere).
  static std::string LetterText(const std::string& path) {
    std::string text = transports::test_util::Output("pdftotext " + path + " -");
    std::erase_if(text, [](char c) { return c == ' ' || c == '\n' || c == '\f'; });
    return text;
  }

  // Mail through `smtp` (none: no SMTP configured), tried once.
  static MailConfig Mail(const SmtpFixture* smtp) {
    MailConfig m;
    if (smtp != nullptr) m.smtp_url = "smtp://127.0.0.1:" + std::to_string(smtp->port());
    m.send_attempts = 1;
    m.retry_wait_s = 0;
    return m;
  }
  static std::unique_ptr<SmtpFixture> StartSmtp() {
    std::string error;
    auto smtp = SmtpFixture::Start({}, &error);
    EXPECT_NE(smtp, nullptr) << error;
    return smtp;
  }
  static std::string Refused(const SmtpFixture& smtp) {
    return "SMTP 127.0.0.1:" + std::to_string(smtp.port()) + ": cannot connect: Connection refused";
  }
  // The one message the server took for `to`, decoded.
  static Json MailTo(const SmtpFixture& smtp, const std::string& to) {
    std::vector<Json> found;
    for (const std::string& path : smtp.Messages()) {
      Json m = Json::parse(DecodeMessage(path));
      if (m["envelope_to"] == to) found.push_back(m);
    }
    EXPECT_EQ(found.size(), 1u) << "messages to " << to;
    return found.empty() ? Json::object() : found[0];
  }

  // No audit event holds what the subscriber said, the instruction, or the
  // requester's address (audit.h: no personal data in details).
  void ExpectNoPersonalDataInTheAuditTrail() {
    ASSERT_TRUE(ctx_.store
                    ->ForEachAuditEvent([&](const contracts::AuditEvent& e) {
                      for (const char* text : {kAsked, kInstruction, kAnswer, kRequester, "山田"}) {
                        EXPECT_THAT(e.details, Not(HasSubstr(text))) << e.action;
                      }
                      return true;
                    })
                    .ok());
  }
};

TEST_F(RequestsTest, JustifiedRequestGoesFromReceiptToTheNoticeByMail) {
  auto smtp = StartSmtp();
  ASSERT_NE(smtp, nullptr);
  const MailConfig mail = Mail(smtp.get());
  auto added = RequestAdd(ctx_, {"S1", "agency-a", "phone", kAsked, kRequester, ""});
  ASSERT_TRUE(added.ok()) << added.message();
  const int64_t id = added->json["id"];
  EXPECT_EQ(added->text,
            "request 1 received from subscriber S1 about agency-a (phone)\n"
            "decide by 2026-12-08, tell the requester by 2026-12-15");
  EXPECT_EQ(StateOf(id), "received");

  struct Step {
    const char* actor;
    std::function<Result<Output>()> take;
    const char* state;
    const char* action;
  };
  const std::vector<Step> steps = {
      {kOfficer, [&] { return RequestDecide(ctx_, id, true, kJustified); }, "decided",
       "request.decide"},
      {kOperator, [&] { return RequestInstruct(ctx_, id, kInstruction, mail); }, "instructed",
       "request.instruct"},
      {kOperator, [&] { return RequestAnswer(ctx_, id, kAnswer); }, "answered", "request.answer"},
      {kOperator, [&] { return RequestClose(ctx_, id, true, ""); }, "closed", "request.close"},
      {kOperator, [&] { return RequestNotify(ctx_, id, {}, mail); }, "notified", "request.notify"},
  };
  for (const Step& step : steps) {
    SCOPED_TRACE(step.action);
    ctx_.actor = step.actor;
    auto out = step.take();
    ASSERT_TRUE(out.ok()) << out.message();
    EXPECT_EQ(out->json["state"], step.state);
    EXPECT_EQ(StateOf(id), step.state);
    EXPECT_EQ(AuditCount(step.action), 1);
  }

  const Json r = Stored(id);
  EXPECT_EQ(r["decided_by"], kOfficer);
  EXPECT_EQ(r["justified"], true);
  EXPECT_EQ(r["instruction_via"], "email");
  EXPECT_EQ(r["instructed_to"], "it@agency-a.example");
  EXPECT_EQ(r["answer_text"], kAnswer);
  EXPECT_EQ(r["carried_out"], true);
  EXPECT_EQ(r["notice_via"], "email");
  EXPECT_EQ(r["notice_to"], kRequester);
  EXPECT_EQ(r["notified_by"], kOperator);
  EXPECT_EQ(r["notified_at"], kNow);

  // What the two servers' users actually received.
  ASSERT_EQ(smtp->Messages().size(), 2u);
  const Json instruction = MailTo(*smtp, "it@agency-a.example");
  EXPECT_EQ(instruction["subject"], "【ご指示】個人情報の取扱いの改善について（受付番号 1）");
  EXPECT_THAT(instruction["body"].get<std::string>(), HasSubstr(kInstruction));
  EXPECT_THAT(instruction["body"].get<std::string>(), HasSubstr("agency-a 株式会社 御中"));
  const Json notice = MailTo(*smtp, kRequester);
  EXPECT_EQ(notice["subject"], "個人情報の取扱いに関するお申し出への対応結果のお知らせ");
  EXPECT_EQ(notice["subject"], r["notice_subject"]);
  EXPECT_THAT(notice["body"].get<std::string>(), HasSubstr("対応の結果：対応いたしました"));
  EXPECT_THAT(notice["body"].get<std::string>(), HasSubstr(kAsked));

  ExpectNoPersonalDataInTheAuditTrail();
  ExpectAuditIntact();
}

TEST_F(RequestsTest, NotJustifiedRequestIsToldStraightAwayWithTheReason) {
  const int64_t id = Receive("agency-a", /*email=*/"");
  Decide(id, false);
  EXPECT_EQ(RequestInstruct(ctx_, id, kInstruction, Mail(nullptr)).message(),
            "request 1: cannot instruct: request 1 was judged not justified; there is nothing to "
            "instruct");
  EXPECT_EQ(StateOf(id), "decided");

  // No e-mail address: a letter to the address the export holds.
  auto told = RequestNotify(ctx_, id, FromExport(Path("export.csv")), Mail(nullptr));
  ASSERT_TRUE(told.ok()) << told.message();
  EXPECT_THAT(told->text, HasSubstr("; outcome: not carried out"));
  const Json r = Stored(id);
  EXPECT_EQ(r["state"], "notified");
  EXPECT_EQ(r["notice_via"], "letter");
  EXPECT_EQ(r["notice_to"], Letter("request-1-outcome.pdf"));
  EXPECT_THAT(r["notice_text"].get<std::string>(), HasSubstr(kNotJustified));
  // A PDF for a window envelope: the addressee, the date in JST, the sender.
  const std::string letter = LetterText(Letter("request-1-outcome.pdf"));
  for (const char* expected :
       {"〒671-2103", "兵庫県姫路市夢前町前之庄1番地", "山田太郎様", "2026年12月1日",
        "夢前ケーブル株式会社", "兵庫県姫路市夢前町前之庄2番地", "079-000-0000", "受付番号1",
        "対応の結果：対応いたしませんでした"}) {
    EXPECT_THAT(letter, HasSubstr(expected)) << letter;
  }
  EXPECT_THAT(letter, HasSubstr(std::string("理由・ご説明：") + kNotJustified));
  EXPECT_THAT(letter, Not(HasSubstr("佐藤")));  // nobody else's row
  EXPECT_EQ(AuditCount("request.instruct"), 0);
  EXPECT_EQ(AuditCount("request.close"), 0);
  EXPECT_EQ(AuditCount("request.notify"), 1);
  // The address went into the letter, not into the record.
  EXPECT_THAT(r.dump(), Not(HasSubstr("前之庄")));
  ExpectNoPersonalDataInTheAuditTrail();
}

// A refused step changes nothing and writes nothing: the request stays as
// it was, and the audit trail gains no event (recording the refusal is the
// caller's: itaku's main() appends "<command>.refused").
TEST_F(RequestsTest, RefusedStepsLeaveTheRequestAsItWas) {
  const int64_t fresh = Receive();
  const int64_t answered = Receive("builder-b");  // instructed by letter: no SMTP needed
  Decide(answered, true);
  Take(kOperator, [&] { return RequestInstruct(ctx_, answered, kInstruction, Mail(nullptr)); });
  Take(kOperator, [&] { return RequestAnswer(ctx_, answered, kAnswer); });
  ASSERT_EQ(StateOf(answered), "answered");

  struct Refusal {
    const char* actor;
    int64_t id;
    std::function<Result<Output>(int64_t)> step;
    std::string message;
  };
  const std::vector<Refusal> refusals = {
      {kOperator, fresh, [&](int64_t id) { return RequestDecide(ctx_, id, true, kJustified); },
       "request 1: cannot decide: only a privacy officer decides a request (actor is operator)"},
      {kOfficer, fresh, [&](int64_t id) { return RequestDecide(ctx_, id, true, ""); },
       "request 1: cannot decide: a decision needs its reason"},
      {kOfficer, fresh, [&](int64_t id) { return RequestDecide(ctx_, id, std::nullopt, ""); },
       "request 1: cannot decide: say whether the request is justified or not; a decision needs "
       "its reason"},
      {kAuditor, fresh, [&](int64_t id) { return RequestAnswer(ctx_, id, kAnswer); },
       "request 1: cannot answer: only an operator or a privacy officer may answer a request "
       "(actor is auditor); request 1 is received; a contractor's answer is recorded after it "
       "was instructed"},
      {kStranger, fresh, [&](int64_t id) { return RequestNotify(ctx_, id, {}, Mail(nullptr)); },
       "request 1: cannot notify: only an operator or a privacy officer may notify a request "
       "(actor is not registered staff); request 1 has not been decided yet; a requester is "
       "told the outcome only after a decision (policy 6(4))"},
      {kOperator, fresh, [&](int64_t id) { return RequestClose(ctx_, id, true, ""); },
       "request 1: cannot close: request 1 has not been decided yet"},
      {kOperator, answered,
       [&](int64_t id) { return RequestInstruct(ctx_, id, kInstruction, Mail(nullptr)); },
       "request 2: cannot instruct: request 2 was already instructed on 2026-12-01 10:00 JST "
       "(it is answered)"},
      {kOperator, answered, [&](int64_t id) { return RequestClose(ctx_, id, false, ""); },
       "request 2: cannot close: a request not carried out needs the reason, which the "
       "requester is told (policy 6(4))"},
      {kOperator, answered, [&](int64_t id) { return RequestNotify(ctx_, id, {}, Mail(nullptr)); },
       "request 2: cannot notify: request 2 is answered; close it (carried out or not) before "
       "notifying"},
      {kOfficer, 99, [&](int64_t id) { return RequestDecide(ctx_, id, true, kJustified); },
       "unknown request 99"},
  };
  for (const Refusal& refusal : refusals) {
    SCOPED_TRACE(refusal.message);
    const Json before = refusal.id == 99 ? Json() : Stored(refusal.id);
    const int64_t events = AuditTotal();
    ctx_.actor = refusal.actor;
    auto out = refusal.step(refusal.id);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.message(), refusal.message);
    // A step already taken is a conflict (409 on the staff API); the rest
    // are refusals, unknown ids not found.
    const ErrorKind kind = refusal.id == 99 ? ErrorKind::kNotFound
                           : refusal.message.find("(it is ") != std::string::npos
                               ? ErrorKind::kConflict
                               : ErrorKind::kRefused;
    EXPECT_EQ(out.kind(), kind);
    if (refusal.id != 99) {
      EXPECT_EQ(Stored(refusal.id), before);
    }
    EXPECT_EQ(AuditTotal(), events);
  }
  ExpectAuditIntact();
}

// Mail the server does not take leaves the request where it was, with the
// failure on the request (for the overdue list) and in the audit trail; once
// the server is back the same step goes through.
TEST_F(RequestsTest, MailTheServerDoesNotTakeIsRecordedAndTheRequestWaits) {
  auto smtp = StartSmtp();
  ASSERT_NE(smtp, nullptr);
  const MailConfig mail = Mail(smtp.get());
  const int64_t id = Receive();
  Decide(id, true);
  std::string error;

  smtp->Stop();
  auto instructed = RequestInstruct(ctx_, id, kInstruction, mail);
  ASSERT_FALSE(instructed.ok());
  EXPECT_EQ(
      instructed.message(),
      "request 1: the instruction was not sent (still decided, not instructed): " + Refused(*smtp));
  EXPECT_EQ(StateOf(id), "decided");
  ASSERT_EQ(AuditCount("request.instruct.failed"), 1);
  EXPECT_EQ(Json::parse(AuditEvents("request.instruct.failed")[0].details)["error"],
            Refused(*smtp));
  ASSERT_TRUE(smtp->Restart(&error)) << error;
  Take(kOperator, [&] { return RequestInstruct(ctx_, id, kInstruction, mail); });
  Take(kOperator, [&] { return RequestAnswer(ctx_, id, kAnswer); });
  Take(kOperator, [&] { return RequestClose(ctx_, id, false, "委託先が対応を拒否"); });

  smtp->Stop();
  auto notified = RequestNotify(ctx_, id, {}, mail);
  ASSERT_FALSE(notified.ok());
  EXPECT_EQ(notified.message(),
            "request 1: not yet notified, the notice was not accepted: " + Refused(*smtp));
  Json r = Stored(id);
  EXPECT_EQ(r["state"], "closed");
  EXPECT_EQ(r["notice_error"], Refused(*smtp));
  EXPECT_EQ(r["notice_error_at"], kNow);
  EXPECT_EQ(AuditCount("request.notify.failed"), 1);
  EXPECT_EQ(AuditCount("request.notify"), 0);
  auto shown = RequestShow(ctx_, id);
  ASSERT_TRUE(shown.ok()) << shown.message();
  EXPECT_THAT(shown->text, HasSubstr("\nnot yet notified: last attempt 2026-12-01 10:00 JST "
                                     "failed: " +
                                     Refused(*smtp)));
  auto listed = RequestList(ctx_, false, std::nullopt, std::nullopt);
  ASSERT_TRUE(listed.ok()) << listed.message();
  EXPECT_THAT(listed->text, HasSubstr("\tnot yet notified"));
  EXPECT_EQ(listed->json[0]["notice_error"], Refused(*smtp));

  ASSERT_TRUE(smtp->Restart(&error)) << error;
  Take(kOperator, [&] { return RequestNotify(ctx_, id, {}, mail); });
  r = Stored(id);
  EXPECT_EQ(r["state"], "notified");
  EXPECT_EQ(r["notice_error"], "");
  EXPECT_EQ(r["notice_error_at"], "");
  const std::string body = MailTo(*smtp, kRequester)["body"];
  EXPECT_THAT(body, HasSubstr("対応の結果：対応いたしませんでした"));
  EXPECT_THAT(body, HasSubstr("委託先が対応を拒否"));
  ExpectAuditIntact();
}

TEST_F(RequestsTest, InstructionGoesByLetterBesideTheStoreWhenTheContractorHasNoAddress) {
  const int64_t by_letter = Receive("builder-b");
  Decide(by_letter, true);
  auto out = RequestInstruct(ctx_, by_letter, kInstruction, Mail(nullptr));
  ASSERT_TRUE(out.ok()) << out.message();
  const std::string path = Letter("request-1-instruction.pdf");
  EXPECT_EQ(path, ctx_.db_path + ".d/letters/request-1-instruction.pdf");
  const Json r = Stored(by_letter);
  EXPECT_EQ(r["instruction_via"], "letter");
  EXPECT_EQ(r["instructed_to"], path);
  const std::string letter = LetterText(path);
  for (const char* expected : {"〒670-0011", "兵庫県姫路市工事町3番地", "builder-b株式会社御中",
                               "夢前ケーブル株式会社", "受付番号1"}) {
    EXPECT_THAT(letter, HasSubstr(expected)) << letter;
  }
  EXPECT_THAT(letter, HasSubstr(kInstruction));

  // A contractor with an address needs an SMTP server: none, no step.
  const int64_t by_mail = Receive("agency-a");
  Decide(by_mail, true);
  const Json before = Stored(by_mail);
  EXPECT_EQ(RequestInstruct(ctx_, by_mail, kInstruction, Mail(nullptr)).message(),
            "request 2: contractor agency-a is instructed by e-mail, but no SMTP server is "
            "configured (--smtp URL, ITAKU_SMTP or [smtp] in --config)");
  EXPECT_EQ(Stored(by_mail), before);
  // --letter: by post even to a contractor with an e-mail address.
  auto posted = RequestInstruct(ctx_, by_mail, kInstruction, Mail(nullptr), /*letter=*/true);
  ASSERT_TRUE(posted.ok()) << posted.message();
  EXPECT_EQ(Stored(by_mail)["instruction_via"], "letter");
  EXPECT_THAT(LetterText(Letter("request-2-instruction.pdf")), HasSubstr("agency-a株式会社御中"));
  EXPECT_EQ(AuditCount("request.instruct"), 2);
}

// Nothing leaves signed by a placeholder: a letter needs the operator's
// name, address and phone; e-mail its name and a sender address. Each
// refusal names the settings, changes nothing and writes nothing (the staff
// session audits it as request.instruct.refused; the e2e test checks).
TEST_F(RequestsTest, PlaceholdersRefuseLettersAndMailNamingTheSettings) {
  auto smtp = StartSmtp();
  ASSERT_NE(smtp, nullptr);
  Write("itaku.toml", "[requests]\noperator_phone = \"079-000-0000\"\n");
  const int64_t by_letter = Receive("builder-b");
  const int64_t by_mail = Receive("agency-a");
  Decide(by_letter, true);
  Decide(by_mail, true);
  auto letter = RequestInstruct(ctx_, by_letter, kInstruction, Mail(nullptr));
  EXPECT_EQ(letter.message(),
            "request 1: a letter needs the operator's own details: set [requests] operator_name, "
            "operator_address in the daemon's config (serve --config)");
  auto mail = RequestInstruct(ctx_, by_mail, kInstruction, Mail(smtp.get()));
  EXPECT_EQ(mail.message(),
            "request 2: e-mail needs the operator's own details: set [requests] operator_name, "
            "[smtp] from in the daemon's config (serve --config)");
  EXPECT_EQ(StateOf(by_letter), "decided");
  EXPECT_EQ(StateOf(by_mail), "decided");
  EXPECT_FALSE(std::filesystem::exists(Letter("request-1-instruction.pdf")));
  EXPECT_TRUE(smtp->Messages().empty());
  EXPECT_EQ(AuditCount("request.instruct"), 0);

  // A contractor the post cannot reach: no letter either.
  Write("itaku.toml",
        "[requests]\noperator_name = \"夢前ケーブル株式会社\"\noperator_address = \"姫路市\"\n"
        "operator_phone = \"079-000-0000\"\n");
  ContractorArgs c;
  c.id = "painter-c";
  c.name = "painter-c 株式会社";
  AddContractor(c);
  const int64_t nowhere = Receive("painter-c");
  Decide(nowhere, true);
  EXPECT_EQ(RequestInstruct(ctx_, nowhere, kInstruction, Mail(nullptr)).message(),
            "request 3: contractor painter-c has no postal address for the letter (itaku "
            "contractor update painter-c --postal-code CODE --address ADDRESS)");
  EXPECT_EQ(AuditCount("request.instruct"), 0);
  ExpectAuditIntact();
}

TEST_F(RequestsTest, OverdueListNamesEveryMissedDeadline) {
  ASSERT_TRUE(RequestDeadlinesCommand(ctx_, 6, 14).ok());
  auto set = RequestDeadlinesCommand(ctx_, 7, 14);
  ASSERT_TRUE(set.ok()) << set.message();
  EXPECT_EQ(set->text,
            "decide within 7 days of receipt; tell the requester within 14 days of receipt");
  EXPECT_EQ(RequestDeadlinesCommand(ctx_, 400, std::nullopt).message(),
            "deadlines are whole days from receipt, 0 to 365");
  EXPECT_EQ(RequestDeadlinesCommand(ctx_, 10, 5).message(),
            "the requester cannot be told before the decision is due: --notify-within must be at "
            "least --decide-within");
  EXPECT_EQ(AuditCount("request.deadlines"), 2);
  ASSERT_TRUE(RequestDeadlinesCommand(ctx_, 7, 14).ok());  // no change: nothing recorded
  EXPECT_EQ(AuditCount("request.deadlines"), 2);
  EXPECT_EQ(RequestDeadlinesCommand(ctx_, std::nullopt, std::nullopt)->json,
            (Json{{"decide_within_days", 7}, {"notify_within_days", 14}}));

  auto late = RequestAdd(ctx_, {"S1", "agency-a", "letter", kAsked, "", "2026-11-20"});
  ASSERT_TRUE(late.ok()) << late.message();
  EXPECT_THAT(late->text, HasSubstr("\ndecide by 2026-11-27, tell the requester by 2026-12-04"));
  const int64_t later = Receive("builder-b", "", "2026-11-10T03:00:00Z");
  const int64_t fresh = Receive();
  const int64_t told = Receive("agency-a", "", "2026-11-10");
  Decide(told, false);
  Take(kOperator,
       [&] { return RequestNotify(ctx_, told, FromExport(Path("export.csv")), Mail(nullptr)); });

  auto overdue = ListRequests(ctx_, true, std::nullopt, std::nullopt);
  ASSERT_TRUE(overdue.ok()) << overdue.message();
  ASSERT_EQ(overdue->size(), 2u);
  EXPECT_EQ((*overdue)[0].request.id, 1);
  EXPECT_EQ((*overdue)[0].overdue, std::vector<std::string>{"decision overdue since 2026-11-28"});
  EXPECT_EQ((*overdue)[1].request.id, later);
  EXPECT_EQ((*overdue)[1].overdue, (std::vector<std::string>{"decision overdue since 2026-11-18",
                                                             "notice overdue since 2026-11-25"}));
  auto all = ListRequests(ctx_, false, std::nullopt, std::nullopt);
  ASSERT_TRUE(all.ok()) << all.message();
  ASSERT_EQ(all->size(), 4u);
  EXPECT_EQ((*all)[2].request.id, fresh);
  EXPECT_TRUE((*all)[2].overdue.empty());
  EXPECT_EQ((*all)[3].request.id, told);
  EXPECT_TRUE((*all)[3].overdue.empty());
  EXPECT_EQ(ListRequests(ctx_, true, std::string("builder-b"), std::nullopt)->size(), 1u);
  auto notified = ListRequests(ctx_, false, std::nullopt, contracts::RequestState::kNotified);
  ASSERT_EQ(notified->size(), 1u);
  EXPECT_EQ(notified->front().request.id, told);
  auto listed = RequestList(ctx_, true, std::nullopt, std::nullopt);
  ASSERT_TRUE(listed.ok()) << listed.message();
  EXPECT_EQ(listed->text,
            "#1\treceived\tS1\tagency-a\treceived 2026-11-20 09:00 JST\tdecision overdue since "
            "2026-11-28\n"
            "#2\treceived\tS1\tbuilder-b\treceived 2026-11-10 12:00 JST\tdecision overdue since "
            "2026-11-18, notice overdue since 2026-11-25");

  // Deciding clears the decision deadline; the notice's still runs, and is
  // missed once the clock passes it.
  Decide(1, true);
  EXPECT_EQ(ListRequests(ctx_, true, std::nullopt, std::nullopt)->size(), 1u);
  SetClock(std::make_unique<FixedClock>("2026-12-05T01:00:00Z"));
  auto shown = RequestShow(ctx_, 1);
  ASSERT_TRUE(shown.ok()) << shown.message();
  EXPECT_EQ(shown->json["overdue"], Json::array({"notice overdue since 2026-12-05"}));
  EXPECT_THAT(shown->text, HasSubstr("request 1: decided — notice overdue since 2026-12-05\n"));
}

TEST_F(RequestsTest, SpecialRequestsShapeWhatOneContractorOrPurposeGets) {
  Write("consent.pdf", "signed consent\n");
  const std::vector<std::string> sends = {"subscriber_id", "name", "phone"};
  ASSERT_TRUE(SpecialAdd(ctx_, Special("S1").Contractor("agency-a").Exclude()).ok());
  ASSERT_TRUE(SpecialAdd(ctx_, Special("S2").Purpose("billing").Withhold({"phone"})).ok());
  const SpecialArgs extend =
      Special("S3").Contractor("agency-a").Extend({"email"}).Consent(Path("consent.pdf"));
  EXPECT_EQ(SpecialAdd(ctx_, extend).message(),
            "special request for subscriber S3: only a privacy officer records an extension "
            "(窓口担当 is operator)");
  ctx_.actor = kOfficer;
  auto extended = SpecialAdd(ctx_, extend);
  ASSERT_TRUE(extended.ok()) << extended.message();
  // The consent evidence is kept in the store's documents, by its hash.
  const std::string sha = extended->json["consent_sha256"];
  EXPECT_EQ(transports::test_util::ReadFile(ctx_.store->DocumentDir() + "/" + sha + ".pdf"),
            "signed consent\n");
  EXPECT_EQ(AuditCount("special.add"), 3);

  auto shaping = ShapeBySpecialRequests(ctx_, "agency-a", "billing", sends);
  ASSERT_TRUE(shaping.ok()) << shaping.message();
  EXPECT_EQ(shaping->extra_fields, std::vector<std::string>{"email"});
  ASSERT_EQ(shaping->overrides.size(), 3u);
  EXPECT_TRUE(shaping->overrides["S1"].excluded);
  EXPECT_EQ(shaping->overrides["S1"].sources, std::vector<int64_t>{1});
  EXPECT_EQ(shaping->overrides["S2"].withheld, std::set<std::string>{"phone"});
  EXPECT_EQ(shaping->overrides["S3"].extended, std::set<std::string>{"email"});
  EXPECT_EQ(shaping->overrides["S3"].sources, std::vector<int64_t>{3});

  // Another contractor and purpose: none of them applies.
  shaping = ShapeBySpecialRequests(ctx_, "builder-b", "installation", sends);
  ASSERT_TRUE(shaping.ok()) << shaping.message();
  EXPECT_TRUE(shaping->overrides.empty());
  EXPECT_TRUE(shaping->extra_fields.empty());
  // Statistics take no extension; a field the profile sends needs none.
  for (const auto& [purpose, fields] :
       {std::pair{"statistics", sends},
        std::pair{"billing", std::vector<std::string>{"subscriber_id", "email"}}}) {
    shaping = ShapeBySpecialRequests(ctx_, "agency-a", purpose, fields);
    ASSERT_TRUE(shaping.ok()) << shaping.message();
    EXPECT_TRUE(shaping->extra_fields.empty()) << purpose;
    EXPECT_EQ(shaping->overrides.count("S3"), 0u) << purpose;
    EXPECT_TRUE(shaping->overrides["S1"].excluded) << purpose;
  }
}

// Regression: a special request entered in error (a mistyped id) could not
// be ended by the operator who entered it. Anyone else still may not.
TEST_F(RequestsTest, ItsCreatorOrAnOfficerEndsASpecialRequestAndOnlyOnce) {
  ASSERT_TRUE(SpecialAdd(ctx_, Special("S1").Contractor("agency-a").Withhold({"phone"})).ok());
  ctx_.actor = kOfficer;
  ASSERT_TRUE(SpecialAdd(ctx_, Special("S2").Contractor("agency-a").Exclude()).ok());
  ctx_.actor = kOperator;
  EXPECT_EQ(SpecialEnd(ctx_, 2, "申し出の取下げ").message(),
            "special request 2 was entered by 鈴木; only they or a privacy officer end it "
            "(窓口担当 is operator)");
  ctx_.actor = kStranger;
  EXPECT_EQ(SpecialEnd(ctx_, 1, "申し出の取下げ").message(),
            "special request 1 was entered by 窓口担当; only they or a privacy officer end it "
            "(通りすがり is not registered staff)");
  ctx_.actor = kOperator;
  EXPECT_EQ(SpecialEnd(ctx_, 9, "申し出の取下げ").message(), "unknown special request 9");
  EXPECT_EQ(SpecialEnd(ctx_, 1, "").message(), "special end needs --reason");
  EXPECT_EQ(AuditCount("special.end"), 0);
  auto ended = SpecialEnd(ctx_, 1, "申し出の取下げ");
  ASSERT_TRUE(ended.ok()) << ended.message();
  EXPECT_EQ(ended->json["ended_by"], kOperator);
  auto ends = AuditEvents("special.end");
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].subject, "special:1");
  EXPECT_EQ(Json::parse(ends[0].details),
            (Json{{"corrects", "special:1"}, {"reason", "申し出の取下げ"}, {"subscriber", "S1"}}));
  // The officer ends the one its operator may not.
  ctx_.actor = kOfficer;
  ASSERT_TRUE(SpecialEnd(ctx_, 2, "申し出の取下げ").ok());
  ctx_.actor = kOperator;
  EXPECT_EQ(AuditCount("special.end"), 2);
  EXPECT_EQ(SpecialEnd(ctx_, 1, "again").message(),
            "special request 1 already ended on 2026-12-01 10:00 JST");

  EXPECT_EQ(SpecialList(ctx_, std::nullopt, false)->text, "no special requests");
  auto all = SpecialList(ctx_, std::string("S1"), true);
  ASSERT_TRUE(all.ok()) << all.message();
  EXPECT_EQ(all->json[0]["end_reason"], "申し出の取下げ");
  auto shaping = ShapeBySpecialRequests(ctx_, "agency-a", "billing", {"subscriber_id", "phone"});
  ASSERT_TRUE(shaping.ok()) << shaping.message();
  EXPECT_TRUE(shaping->overrides.empty());
}

TEST_F(RequestsTest, SpecialRequestRefusalsNameWhatIsWrong) {
  Write("consent.pdf", "signed consent\n");
  const std::string who = "special request for subscriber S1: ";
  const std::vector<std::pair<SpecialArgs, std::string>> refusals = {
      {Special("").Contractor("agency-a").Exclude(), "special request: --subscriber is required"},
      {Special("S1").Contractor("agency-a").Purpose("billing").Exclude(),
       who + "give exactly one of --contractor and --purpose"},
      {Special("S1").Contractor("agency-a"),
       who + "give exactly one of --exclude, --withhold and --extend"},
      {Special("S1").Contractor("nobody").Exclude(), who + "unknown contractor nobody"},
      {Special("S1").Contractor("agency-a").Withhold({"nickname"}),
       who + "unknown field nickname (not in the field catalog, policy 1)"},
      {Special("S1").Contractor("agency-a").Exclude().Consent(Path("consent.pdf")),
       who + "--consent goes with --extend only"},
      {Special("S1").Contractor("agency-a").Exclude().Dates("2026-13-01", ""),
       who + "--from must be a date like 2026-04-01, got 2026-13-01"},
      {Special("S1").Contractor("agency-a").Exclude().Dates("2026-12-10", "2026-12-01"),
       who + "--until is before --from"},
  };
  for (const auto& [args, message] : refusals) {
    EXPECT_EQ(SpecialAdd(ctx_, args).message(), message);
  }
  EXPECT_TRUE(ctx_.store->ListSpecialRequests(std::nullopt, true)->empty());
  EXPECT_EQ(AuditCount("special.add"), 0);
}

// Regression: a special request for a mistyped id (S9OO12 for S90012) was
// accepted silently and matched nobody. It is still accepted (the
// subscriber may first appear in next month's export), with a warning to
// check the id, kept in the audit trail as well.
TEST_F(RequestsTest, ASpecialRequestForAnIdNoDeliveryCarriedWarns) {
  contracts::DeliveryRecord d;
  d.ordered_by = kOperator;
  d.ordered_at = kNow;
  d.contractor_id = "agency-a";
  d.profile_id = "agency-billing";
  d.profile_version = 1;
  d.outcome = contracts::DeliveryOutcome::kDelivered;
  d.fields = {"subscriber_id", "name"};
  auto delivered = ctx_.store->AddDelivery(d);
  ASSERT_TRUE(delivered.ok()) << delivered.message();
  ASSERT_TRUE(ctx_.store->AddDeliverySubscribers(*delivered, {"S90012"}).ok());

  auto known = SpecialAdd(ctx_, Special("S90012").Contractor("agency-a").Exclude());
  ASSERT_TRUE(known.ok()) << known.message();
  EXPECT_EQ(known->json["warnings"], Json::array());
  EXPECT_EQ(known->text,
            "special request #1\tS90012\tcontractor agency-a\texclude\t2026-12-01 to open");

  auto typo = SpecialAdd(ctx_, Special("S9OO12").Contractor("agency-a").Exclude());
  ASSERT_TRUE(typo.ok()) << typo.message();
  const std::string warning = "subscriber S9OO12 appears in no delivery so far; check the id";
  EXPECT_EQ(typo->json["warnings"], Json::array({warning}));
  EXPECT_EQ(typo->text,
            "special request #2\tS9OO12\tcontractor agency-a\texclude\t2026-12-01 to open\n"
            "warning: " +
                warning);
  auto added = AuditEvents("special.add");
  ASSERT_EQ(added.size(), 2u);
  EXPECT_EQ(Json::parse(added[0].details).count("warnings"), 0u);
  EXPECT_EQ(Json::parse(added[1].details)["warnings"], Json::array({warning}));
  EXPECT_EQ(ctx_.store->ListSpecialRequests(std::string("S9OO12"), false)->size(), 1u);
}

}  // namespace
}  // namespace itaku::gateway
