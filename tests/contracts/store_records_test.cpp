// What the store keeps of deliveries (receipts, history, media, SFTP
// endpoints and attempts, certificates) and of subscribers' requests.
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "tests/contracts/store_fixture.h"

namespace itaku::contracts::store_test {
namespace {

using namespace Poco::Data::Keywords;

TEST_F(StoreTest, DeliveriesAreStoredAndUpdated) {
  AddContractor("agency-a");
  Nda nda;
  nda.contractor_id = "agency-a";
  ASSERT_TRUE(store_->AddNda(nda).ok());

  DeliveryRecord refused = Delivery("2026-04-02T01:00:00Z", "refused");
  refused.reason = "no NDA in force; transport paper not allowed";
  auto refused_id = store_->AddDelivery(refused);
  ASSERT_TRUE(refused_id.ok()) << refused_id.message();
  DeliveryRecord sent = Delivery("2026-04-03T01:00:00Z", "dry-run");
  sent.nda_id = 1;
  auto sent_id = store_->AddDelivery(sent);
  ASSERT_TRUE(sent_id.ok());
  EXPECT_EQ(*sent_id, *refused_id + 1);

  auto found = store_->FindDelivery(*refused_id);
  ASSERT_TRUE(found.ok() && found->has_value()) << found.message();
  EXPECT_EQ((*found)->reason, "no NDA in force; transport paper not allowed");
  EXPECT_FALSE((*found)->nda_id.has_value());
  EXPECT_EQ((*found)->fields, (std::vector<std::string>{"subscriber_id", "name"}));
  EXPECT_EQ((*found)->input_name, "subscribers.csv");

  ASSERT_TRUE(
      store_->SetDeliveryOutcome(*sent_id, DeliveryOutcome::kDelivered, "", 42, "cafe").ok());
  found = store_->FindDelivery(*sent_id);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->nda_id, std::optional<int64_t>(1));
  EXPECT_EQ((*found)->outcome, DeliveryOutcome::kDelivered);
  EXPECT_EQ((*found)->record_count, 42);
  EXPECT_EQ((*found)->package_sha256, "cafe");
  EXPECT_EQ((*found)->ordered_by, "suzuki");
  EXPECT_EQ((*found)->ordered_at, "2026-04-03T01:00:00Z");
  EXPECT_EQ((*found)->profile_version, 1);
  EXPECT_EQ((*found)->transport, Transport::kSftp);

  EXPECT_FALSE(store_->FindDelivery(999)->has_value());
  EXPECT_EQ(store_->SetDeliveryOutcome(999, DeliveryOutcome::kFailed, "x", 0, "").message(),
            "unknown delivery 999");
  EXPECT_EQ(store_->AddDeliverySubscribers(999, {"s1"}).message(), "unknown delivery 999");
}

TEST_F(StoreTest, HistoryListsOnlyDeliveredReceiptsOldestFirst) {
  AddContractor("agency-a");
  int64_t late = AddDeliveryWith("2026-05-01T00:00:00Z", "delivered", {"s1", "s2"});
  AddDeliveryWith("2026-04-01T00:00:00Z", "refused", {"s1"});
  AddDeliveryWith("2026-04-02T00:00:00Z", "dry-run", {"s1"});
  AddDeliveryWith("2026-04-03T00:00:00Z", "failed", {"s1"});
  int64_t early = AddDeliveryWith("2026-04-04T00:00:00Z", "delivered", {"s1"});

  auto history = store_->History("s1");
  ASSERT_TRUE(history.ok()) << history.message();
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].delivery_id, early);
  EXPECT_EQ((*history)[0].delivered_at, "2026-04-04T00:00:00Z");
  EXPECT_EQ((*history)[0].subscriber_id, "s1");
  EXPECT_EQ((*history)[0].contractor_id, "agency-a");
  EXPECT_EQ((*history)[0].profile_id, "agency-billing");
  EXPECT_EQ((*history)[0].profile_version, 1);
  EXPECT_EQ((*history)[0].transport, Transport::kSftp);
  EXPECT_EQ((*history)[0].fields, (std::vector<std::string>{"subscriber_id", "name"}));
  EXPECT_EQ((*history)[1].delivery_id, late);
  EXPECT_TRUE(store_->History("s9")->empty());
}

TEST_F(StoreTest, ForEachReceiptFiltersByUtcDateInclusiveAndOutcome) {
  AddContractor("agency-a");
  AddContractor("agency-b");
  AddDeliveryWith("2026-03-31T23:59:59Z", "delivered", {"before"});
  int64_t first = AddDeliveryWith("2026-04-01T00:00:00Z", "delivered", {"s2", "s1"});
  AddDeliveryWith("2026-04-15T12:00:00Z", "refused", {"refused"});
  AddDeliveryWith("2026-04-15T12:00:00Z", "failed", {"failed"});
  int64_t last = AddDeliveryWith("2026-04-30T23:59:59Z", "delivered", {"s3"});
  AddDeliveryWith("2026-05-01T00:00:00Z", "delivered", {"after"});
  DeliveryRecord other = Delivery("2026-04-10T00:00:00Z", "delivered");
  other.contractor_id = "agency-b";
  auto other_id = store_->AddDelivery(other);
  ASSERT_TRUE(store_->AddDeliverySubscribers(*other_id, {"other"}).ok());

  std::vector<std::pair<int64_t, std::string>> seen;
  Status status = store_->ForEachReceipt(
      "agency-a", "2026-04-01T00:00:00Z", "2026-05-01T00:00:00Z",
      [&](const Receipt& r) { seen.emplace_back(r.delivery_id, r.subscriber_id); });
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(seen, (std::vector<std::pair<int64_t, std::string>>{
                      {first, "s1"}, {first, "s2"}, {last, "s3"}}));
}

TEST_F(StoreTest, ForEachReceiptStreamsPastOneBatch) {
  AddContractor("agency-a");
  std::vector<std::string> ids;
  for (int i = 0; i < 2500; ++i) ids.push_back("sub-" + std::to_string(10000 + i));
  AddDeliveryWith("2026-04-01T00:00:00Z", "delivered", ids);
  std::vector<std::string> seen;
  ASSERT_TRUE(store_
                  ->ForEachReceipt("agency-a", "2026-04-01T00:00:00Z", "2026-04-02T00:00:00Z",
                                   [&](const Receipt& r) { seen.push_back(r.subscriber_id); })
                  .ok());
  EXPECT_EQ(seen, ids);
}

TEST_F(StoreTest, AddsAMillionSubscribersToOneDelivery) {
  AddContractor("agency-a");
  auto id = store_->AddDelivery(Delivery("2026-04-01T00:00:00Z", "delivered"));
  ASSERT_TRUE(id.ok());
  std::vector<std::string> ids;
  ids.reserve(1000000);
  // Not in index order: a real input file is sorted by anything but id.
  for (int64_t i = 0; i < 1000000; ++i) {
    ids.push_back("S" + std::to_string(40000000 + i * 7919 % 1000000));
  }
  auto start = std::chrono::steady_clock::now();
  Status status = store_->AddDeliverySubscribers(*id, ids);
  auto elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(status.ok()) << status.message();
  RecordProperty("seconds", std::to_string(elapsed));
  std::printf("AddDeliverySubscribers(1,000,000): %.2f s\n", elapsed);
  int rows = 0;
  Raw() << "SELECT COUNT(*) FROM delivery_subscriber", into(rows), now;
  EXPECT_EQ(rows, 1000000);
  EXPECT_LT(elapsed, 30.0);
}

// One contractor, agency-a, registered.
class StoreMediaTest : public StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    AddContractor("agency-a", "夢前収納サービス");
  }
};

TEST_F(StoreMediaTest, UpdateContractorRewritesNameAndEmail) {
  Contractor c = *store_->FindContractor("agency-a").value();
  c.name = "夢前収納";
  c.email = "it@agency-a.example";
  ASSERT_TRUE(store_->UpdateContractor(c).ok());
  EXPECT_EQ(store_->FindContractor("agency-a")->value().email, "it@agency-a.example");
  c.id = "agency-x";
  EXPECT_EQ(store_->UpdateContractor(c).message(), "unknown contractor agency-x");
}

TEST_F(StoreMediaTest, ANewCertificateReplacesTheOldOne) {
  ContractorCertificate cert;
  cert.contractor_id = "agency-a";
  for (const auto& [pem, fingerprint] :
       {std::pair{"PEM-1", "SHA256:AA"}, std::pair{"PEM-2", "SHA256:BB"}}) {
    cert.pem = pem;
    cert.fingerprint = fingerprint;
    ASSERT_TRUE(store_->PutContractorCertificate(cert).ok());
  }
  auto found = store_->FindContractorCertificate("agency-a", "package");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(found->value().pem, "PEM-2");
  EXPECT_EQ(found->value().fingerprint, "SHA256:BB");
  EXPECT_FALSE(store_->FindContractorCertificate("agency-a", "portal")->has_value());
  cert.contractor_id = "agency-x";
  EXPECT_EQ(store_->PutContractorCertificate(cert).message(), "unknown contractor agency-x");
}

// A package never handed over, cancelled, is no longer outstanding.
TEST_F(StoreMediaTest, ACancelledMediumIsNotOutstanding) {
  DeliveryRecord d = Delivery("2026-11-28T00:00:00Z", "delivered");
  d.transport = Transport::kMedia;
  auto id = store_->AddDelivery(d);
  ASSERT_TRUE(id.ok()) << id.message();
  MediaRecord m;
  m.delivery_id = *id;
  m.package_name = "agency-a-1.zip.p7m";
  ASSERT_TRUE(store_->AddMediaRecord(m).ok());
  m.state = MediaState::kCancelled;
  m.closed_at = "2026-11-28T02:00:00Z";
  m.closed_by = "sato";
  ASSERT_TRUE(store_->UpdateMediaRecord(m).ok());
  EXPECT_TRUE(store_->ListMediaRecords(true)->empty());
  auto all = store_->ListMediaRecords(false);
  ASSERT_TRUE(all.ok()) << all.message();
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].state, MediaState::kCancelled);
  EXPECT_EQ((*all)[0].closed_by, "sato");
}

TEST_F(StoreMediaTest, MediaMoveFromWrittenToDestroyedAndLeaveTheOutstandingList) {
  DeliveryRecord d = Delivery("2026-11-28T00:00:00Z", "delivered");
  d.transport = Transport::kMedia;
  auto first = store_->AddDelivery(d);
  auto second = store_->AddDelivery(d);
  ASSERT_TRUE(first.ok() && second.ok());
  for (int64_t id : {*first, *second}) {
    MediaRecord m;
    m.delivery_id = id;
    m.package_name = "agency-a-" + std::to_string(id) + ".zip.p7m";
    ASSERT_TRUE(store_->AddMediaRecord(m).ok());
  }
  MediaRecord m = *store_->FindMediaRecord(*first).value();
  EXPECT_EQ(m.state, MediaState::kWritten);
  m.state = MediaState::kDestroyed;
  m.closed_by = "sato";
  ASSERT_TRUE(store_->UpdateMediaRecord(m).ok());
  auto outstanding = store_->ListMediaRecords(true);
  ASSERT_TRUE(outstanding.ok());
  ASSERT_EQ(outstanding->size(), 1u);
  EXPECT_EQ((*outstanding)[0].delivery_id, *second);
  EXPECT_EQ(store_->ListMediaRecords(false)->size(), 2u);
  EXPECT_FALSE(store_->AddMediaRecord(m).ok());  // one medium per delivery
  m.delivery_id = 999;
  EXPECT_EQ(store_->UpdateMediaRecord(m).message(), "delivery 999 has no medium on record");
  EXPECT_EQ(store_->AddMediaRecord(m).message(), "unknown delivery 999");
}

TEST_F(StoreMediaTest, SftpEndpointIsReplacedAndAttemptsAreKeptInOrder) {
  SftpEndpointRecord e;
  e.contractor_id = "agency-a";
  e.url = "sftp://agency@127.0.0.1:2222/inbox";
  e.key_path = "/keys/agency-a";
  e.passphrase_source = "env:AGENCY_KEY_PASS";
  for (const char* pin : {"SHA256:abc", "SHA256:def"}) {
    e.host_key = pin;
    ASSERT_TRUE(store_->PutSftpEndpoint(e).ok());
  }
  auto found = store_->FindSftpEndpoint("agency-a");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(found->value().host_key, "SHA256:def");
  EXPECT_EQ(found->value().passphrase_source, "env:AGENCY_KEY_PASS");
  EXPECT_FALSE(store_->FindSftpEndpoint("agency-b")->has_value());

  auto id = store_->AddDelivery(Delivery("2026-11-28T00:00:00Z", "delivered"));
  ASSERT_TRUE(id.ok());
  for (int n : {2, 1}) {
    DeliveryAttempt a;
    a.delivery_id = *id;
    a.attempt = n;
    a.outcome = n == 1 ? AttemptOutcome::kNetworkError : AttemptOutcome::kDelivered;
    a.error = n == 1 ? "connection refused" : "";
    ASSERT_TRUE(store_->AddDeliveryAttempt(a).ok());
  }
  auto attempts = store_->ListDeliveryAttempts(*id);
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].outcome, AttemptOutcome::kNetworkError);
  EXPECT_EQ((*attempts)[1].outcome, AttemptOutcome::kDelivered);
  DeliveryAttempt stray;
  stray.delivery_id = 999;
  EXPECT_EQ(store_->AddDeliveryAttempt(stray).message(), "unknown delivery 999");
}

TEST_F(StoreMediaTest, ReceiptsOfInterleavedBatchesStayWithTheirDelivery) {
  AddContractor("agency-b", "B");
  DeliveryRecord d = Delivery("2026-11-28T00:00:00Z", "delivered");
  const int64_t a_id = *store_->AddDelivery(d);
  d.contractor_id = "agency-b";
  const int64_t b_id = *store_->AddDelivery(d);
  ASSERT_TRUE(store_->AddDeliverySubscribers(a_id, {"S2", "S1"}).ok());
  ASSERT_TRUE(store_->AddDeliverySubscribers(b_id, {"S9"}).ok());
  ASSERT_TRUE(store_->AddDeliverySubscribers(a_id, {"S3"}).ok());
  std::vector<std::string> a_seen, b_seen;
  const std::string day = "2026-11-28T00:00:00Z", next = "2026-11-29T00:00:00Z";
  ASSERT_TRUE(store_
                  ->ForEachReceipt("agency-a", day, next,
                                   [&](const Receipt& r) { a_seen.push_back(r.subscriber_id); })
                  .ok());
  ASSERT_TRUE(store_
                  ->ForEachReceipt("agency-b", day, next,
                                   [&](const Receipt& r) { b_seen.push_back(r.subscriber_id); })
                  .ok());
  EXPECT_EQ(a_seen, (std::vector<std::string>{"S1", "S2", "S3"}));
  EXPECT_EQ(b_seen, (std::vector<std::string>{"S9"}));
}

class RequestStoreTest : public StoreTest {};

TEST_F(RequestStoreTest, StaffRoundTripAndDuplicateRefused) {
  ASSERT_TRUE(store_
                  ->AddStaff({"鈴木", StaffRole::kPrivacyOfficer, "admin", "2026-12-01T00:00:00Z",
                              "suzuki", 1001})
                  .ok());
  Status again = store_->AddStaff(
      {"鈴木", StaffRole::kOperator, "admin", "2026-12-01T00:00:00Z", "other", 1002});
  EXPECT_EQ(again.message(), "staff member 鈴木 already exists");
  Status same_uid = store_->AddStaff(
      {"佐藤", StaffRole::kOperator, "admin", "2026-12-01T00:00:00Z", "suzuki", 1001});
  EXPECT_EQ(same_uid.kind(), ErrorKind::kConflict);
  auto found = store_->FindStaff("鈴木");
  ASSERT_TRUE(found.ok() && found.value());
  EXPECT_EQ(found.value()->role, StaffRole::kPrivacyOfficer);
  auto by_uid = store_->FindStaffByUid(1001);
  ASSERT_TRUE(by_uid.ok() && by_uid.value());
  EXPECT_EQ(by_uid.value()->name, "鈴木");
  EXPECT_EQ(by_uid.value()->os_user, "suzuki");
  EXPECT_FALSE(store_->FindStaffByUid(1002).value());
  ASSERT_TRUE(store_->RemoveStaff("鈴木").ok());
  EXPECT_FALSE(store_->FindStaff("鈴木").value());
  EXPECT_FALSE(store_->RemoveStaff("鈴木").ok());
}

TEST_F(RequestStoreTest, ProposalIsDecidedOnce) {
  Proposal p;
  p.command = "profile.import";
  p.subject = "profile:agency-billing";
  p.args = R"({"path":["profile","import"],"args":[]})";
  p.changes = R"([{"item":"field bank_code","from":null,"to":"sent"}])";
  p.proposed_by = "tanaka";
  p.proposed_at = "2026-12-01T00:00:00Z";
  p.expires_at = "2026-12-08T00:00:00Z";
  auto id = store_->AddProposal(p);
  ASSERT_TRUE(id.ok()) << id.message();
  auto pending = store_->ListProposals(true);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ(pending->front().changes, p.changes);
  p.id = id.value();
  p.state = ProposalState::kApproved;
  p.decided_by = "suzuki";
  ASSERT_TRUE(store_->DecideProposal(p).ok());
  p.state = ProposalState::kRejected;
  Status twice = store_->DecideProposal(p);
  EXPECT_EQ(twice.kind(), ErrorKind::kConflict);
  EXPECT_EQ(twice.message(), "proposal " + std::to_string(p.id) + " is already approved");
  EXPECT_TRUE(store_->ListProposals(true)->empty());
  EXPECT_EQ(store_->FindProposal(p.id).value()->decided_by, "suzuki");
}

TEST_F(RequestStoreTest, CorrectiveRequestKeepsEveryField) {
  AddContractor("agency-a");
  CorrectiveRequest r;
  r.subscriber_id = "S90001";
  r.contractor_id = "agency-a";
  r.channel = "phone";
  r.request_text = "夜間の督促電話をやめてほしい";
  r.received_at = "2026-12-01T01:00:00Z";
  r.received_by = "窓口";
  auto id = store_->AddCorrectiveRequest(r);
  ASSERT_TRUE(id.ok()) << id.message();
  r.id = id.value();
  r.state = RequestState::kClosed;
  r.justified = true;
  r.decision_reason = "範囲外";
  r.carried_out = false;
  r.close_reason = "契約上必要";
  r.notice_error = "SMTP 127.0.0.1:1: cannot connect";
  ASSERT_TRUE(store_->UpdateCorrectiveRequest(r).ok());
  auto back = store_->FindCorrectiveRequest(r.id);
  ASSERT_TRUE(back.ok() && back.value());
  EXPECT_EQ(back.value()->request_text, r.request_text);
  EXPECT_EQ(back.value()->state, RequestState::kClosed);
  EXPECT_EQ(back.value()->justified, std::optional<bool>(true));
  EXPECT_EQ(back.value()->carried_out, std::optional<bool>(false));
  EXPECT_EQ(back.value()->close_reason, "契約上必要");
  EXPECT_EQ(back.value()->notice_error, r.notice_error);
  EXPECT_EQ(store_->ListCorrectiveRequests(std::string("agency-a"), RequestState::kClosed)->size(),
            1u);
  EXPECT_EQ(store_->ListCorrectiveRequests(std::nullopt, RequestState::kNotified)->size(), 0u);
  EXPECT_EQ(store_->ListCorrectiveRequests(std::string("agency-b"), std::nullopt)->size(), 0u);
  EXPECT_FALSE(store_
                   ->AddCorrectiveRequest([&] {
                     CorrectiveRequest other = r;
                     other.contractor_id = "nobody";
                     return other;
                   }())
                   .ok());
}

TEST_F(RequestStoreTest, SpecialRequestsListAndEnd) {
  AddContractor("agency-a");
  SpecialRequest s;
  s.subscriber_id = "S1";
  s.fields = {"phone"};
  s.contractor_id = "agency-a";
  s.kind = SpecialKind::kWithhold;
  s.valid_from = *ParseDate("2026-12-01");
  s.valid_until = ParseDate("2027-03-31");
  auto id = store_->AddSpecialRequest(s);
  ASSERT_TRUE(id.ok()) << id.message();
  s.id = id.value();
  SpecialRequest p = s;
  p.subscriber_id = "S2";
  p.contractor_id.clear();
  p.purpose = "billing";
  p.valid_until.reset();
  ASSERT_TRUE(store_->AddSpecialRequest(p).ok());
  EXPECT_EQ(store_->ListSpecialRequests(std::nullopt, false)->size(), 2u);
  EXPECT_EQ(store_->ListSpecialRequests(std::string("S1"), false)->size(), 1u);
  s.ended_at = "2026-12-05T00:00:00Z";
  s.ended_by = "鈴木";
  ASSERT_TRUE(store_->UpdateSpecialRequest(s).ok());
  EXPECT_EQ(store_->ListSpecialRequests(std::string("S1"), false)->size(), 0u);
  auto all = store_->ListSpecialRequests(std::string("S1"), true);
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ(all->front().fields, std::vector<std::string>{"phone"});
  EXPECT_EQ(FormatDate(*all->front().valid_until), "2027-03-31");
  EXPECT_EQ(all->front().ended_by, "鈴木");
  auto open = store_->ListSpecialRequests(std::string("S2"), false);
  ASSERT_EQ(open->size(), 1u);
  EXPECT_FALSE(open->front().valid_until.has_value());
  EXPECT_EQ(open->front().purpose, "billing");
}

}  // namespace
}  // namespace itaku::contracts::store_test
