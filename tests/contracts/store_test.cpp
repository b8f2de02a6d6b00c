#include "contracts/store.h"

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace itaku::contracts {
namespace {

using namespace Poco::Data::Keywords;
namespace fs = std::filesystem;

Date D(const char* text) { return *ParseDate(text); }

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "itaku-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (fs::path(dir_) / "registry.db").string();
    store_ = Open();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<Store> Open() {
    auto store = Store::OpenSqlite(path_);
    EXPECT_TRUE(store.ok()) << store.message();
    return store.ok() ? std::move(store).value() : nullptr;
  }

  // A second, raw connection for looking at what the store wrote.
  Poco::Data::Session Raw() {
    Poco::Data::SQLite::Connector::registerConnector();
    return Poco::Data::Session("SQLite", path_);
  }

  void AddContractor(const std::string& id) {
    Contractor c;
    c.id = id;
    c.name = "Agency " + id;
    c.email = id + "@example.jp";
    c.created_at = "2026-03-01T09:00:00Z";
    ASSERT_TRUE(store_->AddContractor(c).ok());
  }

  static ContractProfile Profile(const std::string& source) {
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

  static DeliveryRecord Delivery(const std::string& ordered_at, const std::string& outcome) {
    DeliveryRecord d;
    d.ordered_by = "suzuki";
    d.ordered_at = ordered_at;
    d.contractor_id = "agency-a";
    d.profile_id = "agency-billing";
    d.profile_version = 1;
    d.transport = "sftp";
    d.outcome = outcome;
    d.fields = {"subscriber_id", "name"};
    d.record_count = 0;
    d.input_name = "subscribers.csv";
    return d;
  }

  int64_t AddDeliveryWith(const std::string& ordered_at, const std::string& outcome,
                          const std::vector<std::string>& subscribers) {
    auto id = store_->AddDelivery(Delivery(ordered_at, outcome));
    EXPECT_TRUE(id.ok()) << id.message();
    EXPECT_TRUE(store_->AddDeliverySubscribers(*id, subscribers).ok());
    return *id;
  }

  std::string dir_;
  std::string path_;
  std::unique_ptr<Store> store_;
};

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
  Contractor a;
  a.id = "agency-a";
  a.name = "O'Brien & Sons; DROP TABLE contractor; --";
  a.email = "a@example.jp";
  a.created_at = "2026-03-01T09:00:00Z";
  ASSERT_TRUE(store_->AddContractor(a).ok());

  auto found = store_->FindContractor("agency-a");
  ASSERT_TRUE(found.ok()) << found.message();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->name, "O'Brien & Sons; DROP TABLE contractor; --");
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

  ASSERT_TRUE(store_->SetDeliveryOutcome(*sent_id, "delivered", "", 42, "cafe").ok());
  found = store_->FindDelivery(*sent_id);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->nda_id, std::optional<int64_t>(1));
  EXPECT_EQ((*found)->outcome, "delivered");
  EXPECT_EQ((*found)->record_count, 42);
  EXPECT_EQ((*found)->package_sha256, "cafe");
  EXPECT_EQ((*found)->ordered_by, "suzuki");
  EXPECT_EQ((*found)->ordered_at, "2026-04-03T01:00:00Z");
  EXPECT_EQ((*found)->profile_version, 1);
  EXPECT_EQ((*found)->transport, "sftp");

  EXPECT_FALSE(store_->FindDelivery(999)->has_value());
  EXPECT_EQ(store_->SetDeliveryOutcome(999, "failed", "x", 0, "").message(),
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
  EXPECT_EQ((*history)[0].transport, "sftp");
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
      "agency-a", D("2026-04-01"), D("2026-04-30"),
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
                  ->ForEachReceipt("agency-a", D("2026-04-01"), D("2026-04-01"),
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

}  // namespace
}  // namespace itaku::contracts

namespace itaku::contracts {
namespace {

class StoreMediaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "itaku-store-media-" + std::to_string(::getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto s = Store::OpenSqlite(dir_ + "/itaku.db");
    ASSERT_TRUE(s.ok()) << s.message();
    store_ = std::move(s).value();
    Contractor c;
    c.id = "agency-a";
    c.name = "夢前収納サービス";
    c.created_at = "2026-11-28T00:00:00Z";
    ASSERT_TRUE(store_->AddContractor(c).ok());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  std::string dir_;
  std::unique_ptr<Store> store_;
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
  cert.pem = "PEM-1";
  cert.fingerprint = "SHA256:AA";
  ASSERT_TRUE(store_->PutContractorCertificate(cert).ok());
  cert.pem = "PEM-2";
  cert.fingerprint = "SHA256:BB";
  ASSERT_TRUE(store_->PutContractorCertificate(cert).ok());
  auto found = store_->FindContractorCertificate("agency-a", "package");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(found->value().pem, "PEM-2");
  EXPECT_EQ(found->value().fingerprint, "SHA256:BB");
  EXPECT_FALSE(store_->FindContractorCertificate("agency-a", "portal")->has_value());
  cert.contractor_id = "agency-x";
  EXPECT_EQ(store_->PutContractorCertificate(cert).message(), "unknown contractor agency-x");
}

TEST_F(StoreMediaTest, MediaMoveFromWrittenToDestroyedAndLeaveTheOutstandingList) {
  DeliveryRecord d;
  d.contractor_id = "agency-a";
  d.outcome = "delivered";
  d.transport = "media";
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
  EXPECT_EQ(m.state, "written");
  m.state = "destroyed";
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
  e.host_key = "SHA256:abc";
  e.key_path = "/keys/agency-a";
  e.passphrase_source = "env:AGENCY_KEY_PASS";
  ASSERT_TRUE(store_->PutSftpEndpoint(e).ok());
  e.host_key = "SHA256:def";
  ASSERT_TRUE(store_->PutSftpEndpoint(e).ok());
  auto found = store_->FindSftpEndpoint("agency-a");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ(found->value().host_key, "SHA256:def");
  EXPECT_EQ(found->value().passphrase_source, "env:AGENCY_KEY_PASS");
  EXPECT_FALSE(store_->FindSftpEndpoint("agency-b")->has_value());

  DeliveryRecord d;
  d.contractor_id = "agency-a";
  d.outcome = "delivered";
  auto id = store_->AddDelivery(d);
  ASSERT_TRUE(id.ok());
  for (int n : {2, 1}) {
    DeliveryAttempt a;
    a.delivery_id = *id;
    a.attempt = n;
    a.outcome = n == 1 ? "network-error" : "delivered";
    a.error = n == 1 ? "connection refused" : "";
    ASSERT_TRUE(store_->AddDeliveryAttempt(a).ok());
  }
  auto attempts = store_->ListDeliveryAttempts(*id);
  ASSERT_TRUE(attempts.ok());
  ASSERT_EQ(attempts->size(), 2u);
  EXPECT_EQ((*attempts)[0].outcome, "network-error");
  EXPECT_EQ((*attempts)[1].outcome, "delivered");
  DeliveryAttempt stray;
  stray.delivery_id = 999;
  EXPECT_EQ(store_->AddDeliveryAttempt(stray).message(), "unknown delivery 999");
}

TEST_F(StoreMediaTest, ReceiptsOfInterleavedBatchesStayWithTheirDelivery) {
  Contractor b;
  b.id = "agency-b";
  b.name = "B";
  ASSERT_TRUE(store_->AddContractor(b).ok());
  DeliveryRecord d;
  d.ordered_at = "2026-11-28T00:00:00Z";
  d.outcome = "delivered";
  d.contractor_id = "agency-a";
  const int64_t a_id = *store_->AddDelivery(d);
  d.contractor_id = "agency-b";
  const int64_t b_id = *store_->AddDelivery(d);
  ASSERT_TRUE(store_->AddDeliverySubscribers(a_id, {"S2", "S1"}).ok());
  ASSERT_TRUE(store_->AddDeliverySubscribers(b_id, {"S9"}).ok());
  ASSERT_TRUE(store_->AddDeliverySubscribers(a_id, {"S3"}).ok());
  std::vector<std::string> a_seen, b_seen;
  const Date day = *ParseDate("2026-11-28");
  ASSERT_TRUE(store_
                  ->ForEachReceipt("agency-a", day, day,
                                   [&](const Receipt& r) { a_seen.push_back(r.subscriber_id); })
                  .ok());
  ASSERT_TRUE(store_
                  ->ForEachReceipt("agency-b", day, day,
                                   [&](const Receipt& r) { b_seen.push_back(r.subscriber_id); })
                  .ok());
  EXPECT_EQ(a_seen, (std::vector<std::string>{"S1", "S2", "S3"}));
  EXPECT_EQ(b_seen, (std::vector<std::string>{"S9"}));
}

}  // namespace
}  // namespace itaku::contracts

namespace itaku::contracts {
namespace {

class RequestStoreTest : public StoreTest {};

TEST_F(RequestStoreTest, StaffRoundTripAndDuplicateRefused) {
  ASSERT_TRUE(store_->AddStaff({"鈴木", "privacy-officer", "admin", "2026-12-01T00:00:00Z"}).ok());
  Status again = store_->AddStaff({"鈴木", "operator", "admin", "2026-12-01T00:00:00Z"});
  EXPECT_EQ(again.message(), "staff member 鈴木 already exists");
  auto found = store_->FindStaff("鈴木");
  ASSERT_TRUE(found.ok() && found.value());
  EXPECT_EQ(found.value()->role, "privacy-officer");
  ASSERT_TRUE(store_->RemoveStaff("鈴木").ok());
  EXPECT_FALSE(store_->FindStaff("鈴木").value());
  EXPECT_FALSE(store_->RemoveStaff("鈴木").ok());
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
  r.state = "closed";
  r.justified = true;
  r.decision_reason = "範囲外";
  r.carried_out = false;
  r.close_reason = "契約上必要";
  r.notice_error = "SMTP 127.0.0.1:1: cannot connect";
  ASSERT_TRUE(store_->UpdateCorrectiveRequest(r).ok());
  auto back = store_->FindCorrectiveRequest(r.id);
  ASSERT_TRUE(back.ok() && back.value());
  EXPECT_EQ(back.value()->request_text, r.request_text);
  EXPECT_EQ(back.value()->state, "closed");
  EXPECT_EQ(back.value()->justified, std::optional<bool>(true));
  EXPECT_EQ(back.value()->carried_out, std::optional<bool>(false));
  EXPECT_EQ(back.value()->close_reason, "契約上必要");
  EXPECT_EQ(back.value()->notice_error, r.notice_error);
  EXPECT_EQ(store_->ListCorrectiveRequests(std::string("agency-a"), std::string("closed"))->size(),
            1u);
  EXPECT_EQ(store_->ListCorrectiveRequests(std::nullopt, std::string("notified"))->size(), 0u);
  EXPECT_EQ(store_->ListCorrectiveRequests(std::string("agency-b"), std::nullopt)->size(), 0u);
  EXPECT_FALSE(store_->AddCorrectiveRequest([&] {
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
  s.contractor_id = "agency-a";
  s.kind = "withhold";
  s.fields = {"phone"};
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
}  // namespace itaku::contracts
