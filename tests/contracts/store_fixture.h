// The SQLite store in a fresh temporary folder, shared by the store's tests
// (store_test.cpp: the store itself and the registry; store_records_test.cpp:
// deliveries, media, endpoints and requests).
#pragma once

#include <Poco/Data/SQLite/Connector.h>
#include <Poco/Data/Session.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "contracts/store.h"

namespace itaku::contracts::store_test {

inline Date D(const char* text) { return *ParseDate(text); }

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "itaku-store-XXXXXX").string();
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    path_ = (std::filesystem::path(dir_) / "registry.db").string();
    store_ = Open();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
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

  void AddContractor(const std::string& id, const std::string& name = "") {
    Contractor c;
    c.id = id;
    c.name = name.empty() ? "Agency " + id : name;
    c.email = id + "@example.jp";
    c.created_at = "2026-03-01T09:00:00Z";
    ASSERT_TRUE(store_->AddContractor(c).ok());
  }

  static DeliveryRecord Delivery(const std::string& ordered_at, const std::string& outcome) {
    DeliveryRecord d;
    d.ordered_by = "suzuki";
    d.ordered_at = ordered_at;
    d.contractor_id = "agency-a";
    d.profile_id = "agency-billing";
    d.profile_version = 1;
    d.transport = Transport::kSftp;
    d.outcome = *Parse<DeliveryOutcome>(outcome);
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

}  // namespace itaku::contracts::store_test
