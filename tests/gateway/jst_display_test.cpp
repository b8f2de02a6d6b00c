#include "gateway/records_json.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "gateway/broker.h"
#include "gateway/requests.h"
#include "tests/gateway/gateway_fixture.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// Issue 12: staff work in Japan's time. A delivery at 01:00 on 12-03 in
// Japan is stored as 16:00 UTC on 12-02; what staff read says 12-03.
constexpr char kDeliveredUtc[] = "2026-12-02T16:00:00Z";
constexpr char kDeliveredText[] = "2026-12-03 01:00 JST";
constexpr char kDeliveredJson[] = "2026-12-03T01:00:00+09:00";

TEST(ForPeopleTest, EveryStoredInstantBecomesJapansTimeWithTheOffset) {
  const Json stored = {{"ordered_at", kDeliveredUtc},
                       {"valid_from", "2026-12-03"},
                       {"reason", "sent at 2026-12-02T16:00:00Z"},
                       {"empty", ""},
                       {"records", 2},
                       {"nda_id", nullptr},
                       {"attempts", {{{"started_at", "2026-12-31T15:00:00Z"}}}},
                       {"list", {kDeliveredUtc, "2026-12-02"}}};
  const Json shown = ForPeople(stored);
  EXPECT_EQ(shown, (Json{{"ordered_at", kDeliveredJson},
                         {"valid_from", "2026-12-03"},
                         {"reason", "sent at 2026-12-02T16:00:00Z"},
                         {"empty", ""},
                         {"records", 2},
                         {"nda_id", nullptr},
                         {"attempts", {{{"started_at", "2027-01-01T00:00:00+09:00"}}}},
                         {"list", {kDeliveredJson, "2026-12-02"}}}));
  EXPECT_EQ(ForPeople(Json(kDeliveredUtc)), Json(kDeliveredJson));
  EXPECT_EQ(ForPeople(Json::array()), Json::array());
}

// A media delivery with a passphrase (no certificate, so any fixed day
// works) at 16:00 UTC on 12-02.
class JstDisplayTest : public gateway_test::StoreFixture {
 protected:
  JstDisplayTest() : StoreFixture("jst", kDeliveredUtc) {}

  void Register() override {
    fs::create_directories(dir_ / "usb");
    Write("export.csv",
          "subscriber_id,name,address,phone,account_number,account_holder,services\n"
          "S1,山田太郎,東京都1-1,0312345678,1234567,ヤマダタロウ,TV\n");
    ContractorArgs c;
    c.id = "agency-c";
    c.name = "臨時収納";
    AddContractor(c);
    SignNdaAndImportProfile("agency-c", R"(id = "agency-c-billing"
contractor = "agency-c"
purpose = "billing"
fields = ["subscriber_id", "name", "address", "phone", "account_number", "account_holder", "services"]
transports = ["media"]
valid_from = 2026-04-01
valid_until = 2099-12-31
retention_days = 60
[output]
format = "csv"
encoding = "utf-8"
)");
  }

  int64_t DeliverOnce() {
    DeliverRequest r;
    r.profile_id = "agency-c-billing";
    r.input_path = Path("export.csv");
    r.transport = contracts::Transport::kMedia;
    r.out_dir = Path("usb");
    r.password_recipient = true;
    auto result = Deliver(ctx_, r);
    EXPECT_TRUE(result.ok()) << result.message();
    if (!result.ok()) return 0;
    EXPECT_TRUE(result->allowed());
    return result->record.id;
  }
};

TEST_F(JstDisplayTest, DeliveryShowSaysJapansTimeAndTheStoreKeepsUtc) {
  const int64_t id = DeliverOnce();
  ASSERT_NE(id, 0);
  auto shown = DeliveryShow(ctx_, id);
  ASSERT_TRUE(shown.ok()) << shown.message();
  EXPECT_NE(shown->text.find(std::string("\nordered: ") + kDeliveredText + " by tester\n"),
            std::string::npos)
      << shown->text;
  EXPECT_EQ(ForPeople(shown->json)["ordered_at"], kDeliveredJson);

  auto stored = ctx_.store->FindDelivery(id);
  ASSERT_TRUE(stored.ok() && stored.value().has_value());
  EXPECT_EQ(stored.value()->ordered_at, kDeliveredUtc);
  // The audit trail says what the store says: UTC, never the shown time.
  EXPECT_TRUE(ctx_.store
                  ->ForEachAuditEvent([&](const contracts::AuditEvent& e) {
                    EXPECT_EQ(e.at, kDeliveredUtc) << e.action;
                    EXPECT_EQ(e.details.find("+09:00"), std::string::npos) << e.details;
                    return true;
                  })
                  .ok());
  ExpectAuditIntact();
}

TEST_F(JstDisplayTest, HistorySaysJapansTime) {
  ASSERT_NE(DeliverOnce(), 0);
  auto history = History(ctx_, "S1");
  ASSERT_TRUE(history.ok()) << history.message();
  EXPECT_NE(history->text.find(kDeliveredText), std::string::npos) << history->text;
  EXPECT_EQ(history->text.find(kDeliveredUtc), std::string::npos) << history->text;
  const Json shown = ForPeople(history->json);
  ASSERT_EQ(shown["receipts"].size(), 1u) << shown.dump();
  EXPECT_EQ(shown["receipts"][0]["delivered_at"], kDeliveredJson);
}

}  // namespace
// Issue 12: history names exactly what each subscriber's row carried, and
// the subscriber's requests; ids typed or exported are normalised; days are
// Japan's.
class ExactHistoryTest : public JstDisplayTest {
 protected:
  void Register() override {
    JstDisplayTest::Register();
    // S2's phone is empty in the export; S1's is withheld by request; the
    // third row spells S3 with a full-width letter and spaces.
    Write("export.csv",
          "subscriber_id,name,address,phone,account_number,account_holder,services\n"
          "S1,山田太郎,東京都1-1,0312345678,1234567,ヤマダタロウ,TV\n"
          "S2,佐藤花子,東京都2-2,,7654321,サトウハナコ,TV\n"
          " Ｓ3 ,鈴木一郎,東京都3-3,0399999999,1111111,スズキイチロウ,TV\n");
    SpecialArgs sp;
    sp.subscriber = "S1";
    sp.contractor = "agency-c";
    sp.withhold = {"phone"};
    auto added = SpecialAdd(ctx_, sp);
    ASSERT_TRUE(added.ok()) << added.message();
  }
};

TEST_F(ExactHistoryTest, HistoryListsOnlyTheFieldsEachRowCarriedAndTheRequests) {
  const int64_t id = DeliverOnce();
  ASSERT_NE(id, 0);
  auto s1 = History(ctx_, "S1");
  ASSERT_TRUE(s1.ok()) << s1.message();
  EXPECT_EQ(s1->text, "S1: 1 delivery (the fields each carried)\n  2026-12-03 01:00 JST  delivery " +
                          std::to_string(id) +
                          "  agency-c  media  subscriber_id, name, address, account_number, "
                          "account_holder, services\n"
                          "special requests (policy 6(1)):\n  #1 withhold phone for agency-c from "
                          "2026-12-03");
  EXPECT_EQ(s1->json["receipts"][0]["fields"],
            Json({"subscriber_id", "name", "address", "account_number", "account_holder",
                  "services"}));
  EXPECT_EQ(s1->json["special_requests"].size(), 1u);
  auto s2 = History(ctx_, "S2");
  ASSERT_TRUE(s2.ok());
  EXPECT_EQ(s2->json["receipts"][0]["fields"],
            Json({"subscriber_id", "name", "address", "account_number", "account_holder",
                  "services"}));
  // The export's " Ｓ3 " is S3, and so is what staff type.
  for (const char* typed : {"S3", " S3", "Ｓ3"}) {
    auto s3 = History(ctx_, typed);
    ASSERT_TRUE(s3.ok()) << s3.message();
    EXPECT_EQ(s3->json["subscriber"], "S3");
    ASSERT_EQ(s3->json["receipts"].size(), 1u) << typed;
    EXPECT_EQ(s3->json["receipts"][0]["fields"],
              Json({"subscriber_id", "name", "address", "phone", "account_number",
                    "account_holder", "services"}));
  }
  auto bad = History(ctx_, "S 3");
  EXPECT_FALSE(bad.ok());
  EXPECT_EQ(bad.message(),
            "--subscriber: subscriber id S 3 does not match the configured pattern "
            "[A-Za-z0-9][A-Za-z0-9_-]{0,63}");
}

TEST_F(ExactHistoryTest, BreachScopeDaysAreJapansAndTheCsvNamesWhatEachReceived) {
  ASSERT_NE(DeliverOnce(), 0);  // 2026-12-03 01:00 JST = 12-02 16:00 UTC
  auto on_utc_day = BreachScope(ctx_, "agency-c", "2026-12-02", std::string("2026-12-02"));
  ASSERT_TRUE(on_utc_day.ok()) << on_utc_day.message();
  EXPECT_EQ(on_utc_day->json["subscriber_count"], 0);
  const std::string csv = Path("affected.csv");
  auto on_jst_day = BreachScope(ctx_, "agency-c", "2026-12-03", std::string("2026-12-03"), csv);
  ASSERT_TRUE(on_jst_day.ok()) << on_jst_day.message();
  EXPECT_EQ(on_jst_day->json["subscriber_count"], 3);
  EXPECT_EQ(ReadFile("affected.csv"),
            "subscriber_id,fields,deliveries\r\n"
            "S1,subscriber_id;name;address;account_number;account_holder;services,1\r\n"
            "S2,subscriber_id;name;address;account_number;account_holder;services,1\r\n"
            "S3,subscriber_id;name;address;phone;account_number;account_holder;services,1\r\n");
}

}  // namespace itaku::gateway
