// What a contractor received, read back from the receipts (policy 7): the
// person table on its own (order, fields, deliveries, growth, merging,
// sorting), and ScanReceipts on a real store, read on one connection and
// split over two, which must agree to the last bit.
#include "gateway/detail/receipt_scope.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/gateway/gateway_fixture.h"

namespace itaku::gateway {
namespace {

using detail::PersonTable;
using detail::ReceiptScope;
using ::testing::ElementsAre;

std::vector<std::string> Ids(const PersonTable& t) {
  std::vector<std::string> out;
  for (size_t e = 0; e < t.size(); ++e) out.emplace_back(t.Id(e));
  return out;
}

TEST(PersonTableTest, KeepsPersonsInTheOrderFirstMetWithTheirFieldsAndDeliveries) {
  PersonTable t(true);
  t.Add("S3", 0b001, 10);
  t.Add("S1", 0b010, 10);
  t.Add("S3", 0b100, 10);  // the same delivery twice: listed once
  t.Add("S2", 0b001, 11);
  t.Add("S3", 0b001, 12);
  t.Flush();
  EXPECT_THAT(Ids(t), ElementsAre("S3", "S1", "S2"));
  EXPECT_EQ(t.Fields(0), 0b101u);
  EXPECT_EQ(t.Fields(1), 0b010u);
  EXPECT_THAT(t.Deliveries(0), ElementsAre(10, 12));
  EXPECT_THAT(t.Deliveries(2), ElementsAre(11));
}

TEST(PersonTableTest, WithoutDeliveriesKeepsOnlyFields) {
  PersonTable t(false);
  t.Add("A", 1, 1);
  t.Add("A", 2, 2);
  t.Flush();
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t.Fields(0), 3u);
  EXPECT_TRUE(t.Deliveries(0).empty());
}

TEST(PersonTableTest, GrowsPastWhatWasReservedAndFindsEveryPersonAgain) {
  PersonTable t(false);
  t.Reserve(10);
  const int n = 100000;
  for (int i = 0; i < n; ++i) t.Add("P" + std::to_string(i * 7919 % n), 1, 1);
  for (int i = 0; i < n; ++i) t.Add("P" + std::to_string(i), 2, 2);
  // Ids that share a prefix with others and differ in length.
  t.Add("P1", 4, 3);
  t.Add("P10", 8, 3);
  t.Flush();
  ASSERT_EQ(t.size(), static_cast<size_t>(n));
  uint64_t all = 0;
  for (size_t e = 0; e < t.size(); ++e) all |= t.Fields(e);
  EXPECT_EQ(all, 15u);
  for (size_t e = 0; e < t.size(); ++e) {
    const std::string id(t.Id(e));
    const uint64_t want = 3 | (id == "P1" ? 4 : 0) | (id == "P10" ? 8 : 0);
    ASSERT_EQ(t.Fields(e), want) << id;
  }
}

TEST(PersonTableTest, SortsByIdWhenNotAlreadySorted) {
  PersonTable sorted(false);
  for (const char* id : {"A1", "A2", "B"}) sorted.Add(id, 1, 1);
  sorted.Flush();
  EXPECT_THAT(sorted.SortedById(), ElementsAre(0u, 1u, 2u));
  PersonTable shuffled(false);
  for (const char* id : {"B", "A10", "A2", "A1"}) shuffled.Add(id, 1, 1);
  shuffled.Flush();
  std::vector<std::string> ids;
  for (uint32_t e : shuffled.SortedById()) ids.emplace_back(shuffled.Id(e));
  EXPECT_THAT(ids, ElementsAre("A1", "A10", "A2", "B"));
}

TEST(PersonTableTest, MergingALaterTableAppendsItsDeliveriesAndNewPersons) {
  PersonTable early(true), later(true);
  early.Add("X", 1, 1);
  early.Add("Y", 2, 2);
  later.Add("Z", 4, 3);
  later.Add("X", 8, 3);
  later.Add("X", 8, 4);
  early.Flush();
  later.Flush();
  early.Merge(later);
  EXPECT_THAT(Ids(early), ElementsAre("X", "Y", "Z"));
  EXPECT_EQ(early.Fields(0), 9u);
  EXPECT_THAT(early.Deliveries(0), ElementsAre(1, 3, 4));
  EXPECT_THAT(early.Deliveries(2), ElementsAre(3));
}

class ScanReceiptsTest : public gateway_test::StoreFixture {
 protected:
  ScanReceiptsTest() : StoreFixture("scan", "2026-12-01T00:00:00Z") {}

  int64_t Deliver(const std::string& contractor, const std::string& at, const char* outcome,
                  const std::vector<contracts::ReceiptEntry>& receipts,
                  std::vector<std::string> extra = {}) {
    contracts::DeliveryRecord d;
    d.ordered_by = "tester";
    d.ordered_at = at;
    d.contractor_id = contractor;
    d.profile_id = contractor + "-profile";
    d.profile_version = 1;
    d.transport = contracts::Transport::kMedia;
    d.outcome = *contracts::Parse<contracts::DeliveryOutcome>(outcome);
    d.fields = {"subscriber_id", "name", "phone"};
    d.extra_fields = std::move(extra);
    d.record_count = static_cast<int64_t>(receipts.size());
    d.input_name = "export.csv";
    auto id = ctx_.store->AddDelivery(d);
    EXPECT_TRUE(id.ok()) << id.message();
    EXPECT_TRUE(ctx_.store->AddDeliveryReceipts(*id, receipts).ok());
    return *id;
  }

  ReceiptScope Scan(int64_t parallel_from) {
    auto scope = detail::ScanReceipts(ctx_, "agency-a", "2026-10-01T00:00:00Z",
                                      "2026-11-30T00:00:00Z", true, parallel_from);
    EXPECT_TRUE(scope.ok()) << scope.message();
    return std::move(scope).value();
  }
};

TEST_F(ScanReceiptsTest, OneConnectionAndTwoAgreeOnEveryPersonFieldAndDelivery) {
  // Bits over fields ++ extra: 1 subscriber_id, 2 name, 4 phone, 8 the extra column.
  const int64_t d1 =
      Deliver("agency-a", "2026-10-05T01:00:00Z", "delivered", {{"S3", 7}, {"S1", 7}, {"S2", 3}});
  const int64_t d2 = Deliver("agency-a", "2026-10-20T01:00:00Z", "delivered",
                             {{"S2", 7}, {"S4", -1}}, {"drawing"});
  Deliver("agency-a", "2026-10-21T01:00:00Z", "refused", {});
  Deliver("agency-b", "2026-10-22T01:00:00Z", "delivered", {{"S9", 7}});
  const int64_t d3 =
      Deliver("agency-a", "2026-11-02T01:00:00Z", "delivered", {{"S1", 1}, {"S5", 9}}, {"drawing"});
  Deliver("agency-a", "2026-11-30T01:00:00Z", "delivered", {{"S6", 7}});  // after the period

  const ReceiptScope one = Scan(detail::kScanParallelFrom);
  const ReceiptScope two = Scan(0);
  for (const ReceiptScope* scope : {&one, &two}) {
    const PersonTable& p = scope->persons;
    EXPECT_THAT(scope->names, ElementsAre("subscriber_id", "name", "phone", "drawing"));
    EXPECT_THAT(Ids(p), ElementsAre("S3", "S1", "S2", "S4", "S5"));
    EXPECT_THAT(scope->NamesOf(p.Fields(1)), ElementsAre("subscriber_id", "name", "phone"));
    EXPECT_THAT(scope->NamesOf(p.Fields(3)),
                ElementsAre("subscriber_id", "name", "phone", "drawing"));
    EXPECT_THAT(scope->NamesOf(p.Fields(4)), ElementsAre("subscriber_id", "drawing"));
    EXPECT_THAT(p.Deliveries(1), ElementsAre(d1, d3));
    EXPECT_THAT(p.Deliveries(2), ElementsAre(d1, d2));
    ASSERT_EQ(scope->deliveries.size(), 3u);
    EXPECT_EQ(scope->delivery_fields.at(d1), 7u);
    EXPECT_EQ(scope->delivery_fields.at(d2), 15u);
    EXPECT_EQ(scope->delivery_fields.at(d3), 9u);
  }
  for (size_t e = 0; e < one.persons.size(); ++e) {
    EXPECT_EQ(one.persons.Fields(e), two.persons.Fields(e));
    EXPECT_EQ(one.persons.Deliveries(e), two.persons.Deliveries(e));
  }
}

}  // namespace
}  // namespace itaku::gateway
