// The store itself (schema, WAL, meta, transactions, the audit rows, two
// connections) and the registry: contractors, NDAs and profiles.
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "tests/contracts/store_fixture.h"

namespace itaku::contracts::store_test {
namespace {

using namespace Poco::Data::Keywords;
namespace fs = std::filesystem;

ContractProfile Profile(const std::string& source) {
  ContractProfile p;
  p.id = "agency-billing";
  p.contractor_id = "agency-a";
  p.purpose = "billing";
  p.fields = {"subscriber_id", "name", "phone"};
  p.transports = {"media", "sftp"};
  p.valid_from = D("2026-04-01");
  p.valid_until = D("2027-03-31");
  p.retention_days = 60;
  p.output_encoding = "cp932";
  p.output_package = "csv";
  p.masks = {{"phone", "last4"}};
  p.source = source;
  p.source_sha256 = "sha-of-" + source;
  p.imported_by = "tanaka";
  p.imported_at = "2026-03-02T10:00:00Z";
  return p;
}

TEST_F(StoreTest, ReopeningAppliesMigrationsOnce) {
  ASSERT_EQ(*store_->SchemaVersion(), Store::kSchemaVersion);
  store_.reset();
  store_ = Open();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(*store_->SchemaVersion(), Store::kSchemaVersion);
  int rows = 0;
  Raw() << "SELECT COUNT(*) FROM schema_migrations", into(rows), now;
  EXPECT_EQ(rows, Store::kSchemaVersion);
}

TEST_F(StoreTest, UsesWriteAheadLog) {
  std::string mode;
  Raw() << "PRAGMA journal_mode", into(mode), now;
  EXPECT_EQ(mode, "wal");
}

TEST_F(StoreTest, DocumentDirSitsBesideTheDatabase) {
  EXPECT_EQ(store_->DocumentDir(), path_ + ".d/documents");
  EXPECT_TRUE(fs::is_directory(store_->DocumentDir()));
}

TEST_F(StoreTest, OpenNamesThePathWhenItFails) {
  const std::string bad = dir_ + "/no-such-dir/registry.db";
  auto store = Store::OpenSqlite(bad);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.message().rfind("cannot open store " + bad + ": ", 0), 0u) << store.message();
  EXPECT_EQ(store.message().find('\n'), std::string::npos);
}

TEST_F(StoreTest, MetaIsSetAndOverwritten) {
  EXPECT_FALSE(store_->GetMeta("audit.head")->has_value());
  ASSERT_TRUE(store_->SetMeta("audit.head", "one").ok());
  ASSERT_TRUE(store_->SetMeta("audit.head", "two").ok());
  EXPECT_EQ(store_->GetMeta("audit.head")->value(), "two");
}

TEST_F(StoreTest, ContractorsAreAddedFoundListedAndSuspended) {
  AddContractor("agency-b");
  const Contractor a{.id = "agency-a",
                     .name = "O'Brien & Sons; DROP TABLE contractor; --",
                     .email = "a@example.jp",
                     .created_at = "2026-03-01T09:00:00Z",
                     .postal_code = "6700011",
                     .address = "兵庫県姫路市'); DROP TABLE contractor; --"};
  ASSERT_TRUE(store_->AddContractor(a).ok());

  auto found = store_->FindContractor("agency-a");
  ASSERT_TRUE(found.ok()) << found.message();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->name, "O'Brien & Sons; DROP TABLE contractor; --");
  EXPECT_EQ((*found)->postal_code, "6700011");
  EXPECT_EQ((*found)->address, "兵庫県姫路市'); DROP TABLE contractor; --");
  EXPECT_EQ((*found)->status, ContractorStatus::kActive);
  EXPECT_EQ((*found)->email, "a@example.jp");
  EXPECT_EQ((*found)->created_at, "2026-03-01T09:00:00Z");
  EXPECT_FALSE(store_->FindContractor("agency-x")->has_value());

  auto list = store_->ListContractors();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "agency-a");
  EXPECT_EQ((*list)[1].id, "agency-b");

  EXPECT_EQ(store_->AddContractor(a).message(), "contractor agency-a already exists");

  ASSERT_TRUE(store_->SetContractorStatus("agency-a", ContractorStatus::kSuspended).ok());
  EXPECT_EQ(store_->FindContractor("agency-a")->value().status, ContractorStatus::kSuspended);
  EXPECT_EQ(store_->SetContractorStatus("agency-x", ContractorStatus::kTerminated).message(),
            "unknown contractor agency-x");
}

TEST_F(StoreTest, NdasAreListedByEndDateThenId) {
  AddContractor("agency-a");
  AddContractor("agency-b");
  Nda nda;
  nda.contractor_id = "agency-a";
  nda.signed_on = D("2026-01-10");
  nda.in_force_from = D("2026-02-01");
  nda.in_force_until = D("2027-01-31");
  nda.signatories = {"山田 太郎", "Jane Roe"};
  nda.document_sha256 = "ab12";
  nda.document_path = "documents/ab12.pdf";
  nda.registered_by = "tanaka";
  nda.registered_at = "2026-01-11T00:00:00Z";
  EXPECT_EQ(*store_->AddNda(nda), 1);
  nda.in_force_until = D("2026-06-30");
  EXPECT_EQ(*store_->AddNda(nda), 2);
  nda.contractor_id = "agency-b";
  EXPECT_EQ(*store_->AddNda(nda), 3);

  auto all = store_->ListNdas(std::nullopt);
  ASSERT_TRUE(all.ok()) << all.message();
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].id, 2);
  EXPECT_EQ((*all)[1].id, 3);
  EXPECT_EQ((*all)[2].id, 1);
  EXPECT_EQ((*all)[2].signatories, (std::vector<std::string>{"山田 太郎", "Jane Roe"}));
  EXPECT_EQ((*all)[2].signed_on, D("2026-01-10"));
  EXPECT_EQ((*all)[2].in_force_from, D("2026-02-01"));
  EXPECT_EQ((*all)[2].in_force_until, D("2027-01-31"));
  EXPECT_EQ((*all)[2].document_sha256, "ab12");
  EXPECT_EQ((*all)[2].document_path, "documents/ab12.pdf");
  EXPECT_EQ((*all)[2].registered_by, "tanaka");
  EXPECT_EQ((*all)[2].registered_at, "2026-01-11T00:00:00Z");

  auto a = store_->ListNdas("agency-a");
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->size(), 2u);
  EXPECT_EQ((*a)[0].id, 2);
  EXPECT_EQ((*a)[1].id, 1);

  nda.contractor_id = "agency-x";
  EXPECT_EQ(store_->AddNda(nda).message(), "unknown contractor agency-x");
}

TEST_F(StoreTest, ProfilesGetANewVersionOnlyWhenTheSourceChanges) {
  AddContractor("agency-a");
  bool created = false;
  EXPECT_EQ(*store_->PutProfile(Profile("v1 text"), &created), 1);
  EXPECT_TRUE(created);
  EXPECT_EQ(*store_->PutProfile(Profile("v1 text"), &created), 1);
  EXPECT_FALSE(created);
  ContractProfile changed = Profile("v2 text");
  changed.fields.push_back("address");
  EXPECT_EQ(*store_->PutProfile(changed, &created), 2);
  EXPECT_TRUE(created);

  auto latest = store_->FindProfile("agency-billing", std::nullopt);
  ASSERT_TRUE(latest.ok()) << latest.message();
  ASSERT_TRUE(latest->has_value());
  const ContractProfile& p = **latest;
  EXPECT_EQ(p.version, 2);
  EXPECT_EQ(p.contractor_id, "agency-a");
  EXPECT_EQ(p.purpose, "billing");
  EXPECT_EQ(p.fields, (std::vector<std::string>{"subscriber_id", "name", "phone", "address"}));
  EXPECT_EQ(p.transports, (std::vector<std::string>{"media", "sftp"}));
  EXPECT_EQ(p.valid_from, D("2026-04-01"));
  EXPECT_EQ(p.valid_until, D("2027-03-31"));
  EXPECT_EQ(p.retention_days, 60);
  EXPECT_EQ(p.output_format, "csv");
  EXPECT_EQ(p.output_encoding, "cp932");
  EXPECT_EQ(p.output_package, "csv");
  EXPECT_EQ(p.masks, (std::map<std::string, std::string>{{"phone", "last4"}}));
  EXPECT_EQ(p.source, "v2 text");
  EXPECT_EQ(p.source_sha256, "sha-of-v2 text");
  EXPECT_EQ(p.imported_by, "tanaka");
  EXPECT_EQ(p.imported_at, "2026-03-02T10:00:00Z");

  auto first = store_->FindProfile("agency-billing", 1);
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->version, 1);
  EXPECT_EQ((*first)->source, "v1 text");
  EXPECT_FALSE(store_->FindProfile("agency-billing", 3)->has_value());
  EXPECT_FALSE(store_->FindProfile("nope", std::nullopt)->has_value());

  // Going back to the first text is a change too: it becomes version 3.
  EXPECT_EQ(*store_->PutProfile(Profile("v1 text"), &created), 3);
  EXPECT_TRUE(created);

  ContractProfile other = Profile("other");
  other.id = "agency-analysis";
  ASSERT_TRUE(store_->PutProfile(other, nullptr).ok());
  auto list = store_->ListProfiles();
  ASSERT_TRUE(list.ok()) << list.message();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, "agency-analysis");
  EXPECT_EQ((*list)[0].version, 1);
  EXPECT_EQ((*list)[1].id, "agency-billing");
  EXPECT_EQ((*list)[1].version, 3);

  ContractProfile stray = Profile("stray");
  stray.contractor_id = "agency-x";
  EXPECT_EQ(store_->PutProfile(stray, &created).message(), "unknown contractor agency-x");
}

TEST_F(StoreTest, TransactionRollsBackWhenTheBodyFails) {
  Status failed = store_->Transaction([&] {
    EXPECT_TRUE(store_->SetMeta("k", "v").ok());
    return Status::Error("changed my mind");
  });
  EXPECT_EQ(failed.message(), "changed my mind");
  EXPECT_FALSE(store_->GetMeta("k")->has_value());

  Status thrown = store_->Transaction([&]() -> Status {
    EXPECT_TRUE(store_->SetMeta("k", "v").ok());
    throw std::runtime_error("boom");
  });
  EXPECT_EQ(thrown.message(), "transaction failed: boom");
  EXPECT_FALSE(store_->GetMeta("k")->has_value());

  ASSERT_TRUE(store_->Transaction([&] { return store_->SetMeta("k", "v"); }).ok());
  EXPECT_EQ(store_->GetMeta("k")->value(), "v");
}

TEST_F(StoreTest, NestedTransactionsCommitWithTheOuterOne) {
  AddContractor("agency-a");
  Status status = store_->Transaction([&] {
    EXPECT_TRUE(store_->SetMeta("outer", "1").ok());
    // Store methods open their own (nested) transactions.
    EXPECT_TRUE(store_->SetContractorStatus("agency-a", ContractorStatus::kSuspended).ok());
    // A failing inner body undoes only its own writes.
    Status inner = store_->Transaction([&] {
      EXPECT_TRUE(store_->SetMeta("inner", "1").ok());
      return Status::Error("inner failed");
    });
    EXPECT_EQ(inner.message(), "inner failed");
    return Status::Ok();
  });
  ASSERT_TRUE(status.ok()) << status.message();
  EXPECT_EQ(store_->GetMeta("outer")->value(), "1");
  EXPECT_FALSE(store_->GetMeta("inner")->has_value());
  EXPECT_EQ(store_->FindContractor("agency-a")->value().status, ContractorStatus::kSuspended);
}

TEST_F(StoreTest, OuterRollbackUndoesCommittedInnerWork) {
  Status status = store_->Transaction([&] {
    EXPECT_TRUE(store_->Transaction([&] { return store_->SetMeta("inner", "1"); }).ok());
    return Status::Error("outer failed");
  });
  EXPECT_EQ(status.message(), "outer failed");
  EXPECT_FALSE(store_->GetMeta("inner")->has_value());
}

TEST_F(StoreTest, AuditEventsAreAppendedAndReadInOrder) {
  EXPECT_FALSE(store_->LastAuditEvent()->has_value());
  for (int64_t seq = 1; seq <= 3; ++seq) {
    AuditEvent e{seq,
                 "2026-04-01T00:00:0" + std::to_string(seq) + "Z",
                 "tanaka",
                 "contractor.add",
                 "agency-a",
                 R"({"n":)" + std::to_string(seq) + "}",
                 "h" + std::to_string(seq - 1),
                 "h" + std::to_string(seq)};
    ASSERT_TRUE(store_->AppendAuditEvent(e).ok());
  }
  auto last = store_->LastAuditEvent();
  ASSERT_TRUE(last.ok() && last->has_value());
  EXPECT_EQ((*last)->seq, 3);
  EXPECT_EQ((*last)->at, "2026-04-01T00:00:03Z");
  EXPECT_EQ((*last)->actor, "tanaka");
  EXPECT_EQ((*last)->action, "contractor.add");
  EXPECT_EQ((*last)->subject, "agency-a");
  EXPECT_EQ((*last)->details, R"({"n":3})");
  EXPECT_EQ((*last)->prev_hash, "h2");
  EXPECT_EQ((*last)->hash, "h3");

  std::vector<int64_t> seqs;
  ASSERT_TRUE(store_
                  ->ForEachAuditEvent([&](const AuditEvent& e) {
                    seqs.push_back(e.seq);
                    return true;
                  })
                  .ok());
  EXPECT_EQ(seqs, (std::vector<int64_t>{1, 2, 3}));

  seqs.clear();
  ASSERT_TRUE(store_
                  ->ForEachAuditEvent([&](const AuditEvent& e) {
                    seqs.push_back(e.seq);
                    return e.seq < 2;
                  })
                  .ok());
  EXPECT_EQ(seqs, (std::vector<int64_t>{1, 2}));

  AuditEvent again = **last;
  EXPECT_EQ(store_->AppendAuditEvent(again).message(), "audit event 3 already exists");
}

TEST_F(StoreTest, WriterWaitsForTheBusyTimeoutThenFails) {
  auto second = Open();
  ASSERT_NE(second, nullptr);
  Status inner;
  double waited = 0;
  ASSERT_TRUE(
      store_
          ->Transaction([&] {
            auto start = std::chrono::steady_clock::now();
            inner = second->SetMeta("k", "blocked");
            waited =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            return Status::Ok();
          })
          .ok());
  EXPECT_EQ(inner.message().rfind("cannot write meta k: ", 0), 0u) << inner.message();
  EXPECT_GE(waited, 4.0);
  EXPECT_TRUE(second->SetMeta("k", "free").ok());
}

TEST_F(StoreTest, TwoStoresShareOneFile) {
  auto second = Open();
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(store_->SetMeta("k", "from first").ok());
  EXPECT_EQ(second->GetMeta("k")->value(), "from first");
}

// An NDA agency-a signed, in force 2026-02-01 to 2027-01-31; its id.
int64_t AddAgencyNda(Store& store) {
  Nda nda;
  nda.contractor_id = "agency-a";
  nda.signed_on = D("2026-01-10");
  nda.in_force_from = D("2026-02-01");
  nda.in_force_until = D("2027-01-31");
  nda.signatories = {"山田 太郎"};
  nda.document_sha256 = "ab12";
  nda.registered_by = "tanaka";
  nda.registered_at = "2026-01-11T00:00:00Z";
  auto id = store.AddNda(nda);
  EXPECT_TRUE(id.ok()) << id.message();
  return id.ok() ? *id : 0;
}

// Corrections, never deletions: the NDA stays, saying who withdrew it, when
// and why.
TEST_F(StoreTest, AnNdaIsWithdrawnOnceAndStaysListed) {
  AddContractor("agency-a");
  const int64_t id = AddAgencyNda(*store_);
  const int64_t other = AddAgencyNda(*store_);
  ASSERT_TRUE(store_->WithdrawNda(id, "2026-12-01T01:00:00Z", "鈴木", "dates entered wrong").ok());
  EXPECT_EQ(store_->WithdrawNda(id, "2026-12-02T01:00:00Z", "佐藤", "again").message(),
            "NDA 1 was already withdrawn on " + ShowJst("2026-12-01T01:00:00Z"));
  EXPECT_EQ(store_->WithdrawNda(99, "2026-12-01T01:00:00Z", "鈴木", "x").message(),
            "unknown NDA 99");
  EXPECT_EQ(store_->WithdrawNda(99, "2026-12-01T01:00:00Z", "鈴木", "x").kind(),
            ErrorKind::kNotFound);

  auto ndas = store_->ListNdas("agency-a");
  ASSERT_TRUE(ndas.ok()) << ndas.message();
  ASSERT_EQ(ndas->size(), 2u);
  EXPECT_EQ((*ndas)[0].id, id);
  EXPECT_EQ((*ndas)[0].withdrawn_at, "2026-12-01T01:00:00Z");
  EXPECT_EQ((*ndas)[0].withdrawn_by, "鈴木");
  EXPECT_EQ((*ndas)[0].withdrawn_reason, "dates entered wrong");
  EXPECT_EQ((*ndas)[0].signatories, std::vector<std::string>{"山田 太郎"});
  EXPECT_EQ((*ndas)[1].id, other);
  EXPECT_EQ((*ndas)[1].withdrawn_at, "");
  EXPECT_EQ((*ndas)[1].withdrawn_by, "");
  EXPECT_EQ((*ndas)[1].withdrawn_reason, "");
}

TEST_F(StoreTest, AnNdaWithdrawnTwiceAtOnceIsAConflict) {
  AddContractor("agency-a");
  const int64_t id = AddAgencyNda(*store_);
  ASSERT_TRUE(store_->WithdrawNda(id, "2026-12-01T01:00:00Z", "鈴木", "first").ok());
  EXPECT_EQ(store_->WithdrawNda(id, "2026-12-01T01:00:01Z", "佐藤", "second").kind(),
            ErrorKind::kConflict);
  EXPECT_EQ(store_->ListNdas(std::nullopt)->front().withdrawn_reason, "first");
}

// The deliveries that may have left under an NDA: delivered, sending or
// writing; not refused, dry runs, failed or cancelled ones, nor another
// NDA's.
TEST_F(StoreTest, DeliveriesByNdaAreThoseThatMayHaveLeft) {
  AddContractor("agency-a");
  const int64_t nda = AddAgencyNda(*store_);
  const int64_t other = AddAgencyNda(*store_);
  std::vector<int64_t> ids;
  for (const char* outcome :
       {"delivered", "refused", "dry-run", "sending", "failed", "writing", "cancelled"}) {
    DeliveryRecord d = Delivery("2026-11-28T00:00:00Z", outcome);
    d.nda_id = nda;
    auto id = store_->AddDelivery(d);
    ASSERT_TRUE(id.ok()) << id.message();
    ids.push_back(*id);
  }
  DeliveryRecord elsewhere = Delivery("2026-11-29T00:00:00Z", "delivered");
  elsewhere.nda_id = other;
  ASSERT_TRUE(store_->AddDelivery(elsewhere).ok());

  auto relied = store_->ListDeliveriesByNda(nda);
  ASSERT_TRUE(relied.ok()) << relied.message();
  ASSERT_EQ(relied->size(), 3u);
  EXPECT_EQ((*relied)[0].id, ids[0]);
  EXPECT_EQ((*relied)[0].outcome, DeliveryOutcome::kDelivered);
  EXPECT_EQ((*relied)[1].id, ids[3]);
  EXPECT_EQ((*relied)[1].outcome, DeliveryOutcome::kSending);
  EXPECT_EQ((*relied)[2].id, ids[5]);
  EXPECT_EQ((*relied)[2].outcome, DeliveryOutcome::kWriting);
  const DeliveryRecord& first = (*relied)[0];
  EXPECT_EQ(first.ordered_by, "suzuki");
  EXPECT_EQ(first.ordered_at, "2026-11-28T00:00:00Z");
  EXPECT_EQ(first.contractor_id, "agency-a");
  EXPECT_EQ(first.profile_id, "agency-billing");
  EXPECT_EQ(first.profile_version, 1);
  EXPECT_EQ(first.nda_id, nda);
  EXPECT_EQ(first.transport, Transport::kSftp);
  EXPECT_EQ(store_->ListDeliveriesByNda(other)->size(), 1u);
  EXPECT_TRUE(store_->ListDeliveriesByNda(99)->empty());
}

// A special request for an id no delivery carried may be a typo.
TEST_F(StoreTest, ASubscriberIsSeenOnceADeliveryCarriedThem) {
  AddContractor("agency-a");
  EXPECT_FALSE(*store_->SubscriberSeen("S90012"));
  AddDeliveryWith("2026-11-28T00:00:00Z", "delivered", {"S90011", "S90012"});
  EXPECT_TRUE(*store_->SubscriberSeen("S90012"));
  EXPECT_FALSE(*store_->SubscriberSeen("S9OO12"));
  EXPECT_FALSE(*store_->SubscriberSeen("S9001"));  // exact, not a prefix
  EXPECT_FALSE(*store_->SubscriberSeen("' OR 1=1 --"));
}

}  // namespace
}  // namespace itaku::contracts::store_test
