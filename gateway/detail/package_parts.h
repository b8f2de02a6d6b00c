// What every package writer shares: the receipts of a delivery recorded on
// a thread of their own as the records stream past, where the house
// drawing column is, and what a writer hands back.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "contracts/base/status.h"
#include "contracts/store.h"
#include "gateway/audit.h"
#include "gateway/package_builder.h"
#include "policies/projector.h"

namespace itaku::gateway::detail {

constexpr size_t kSubscriberBatch = 10000;

// Records the receipts of a delivery on a thread of its own, so that
// SQLite's index work overlaps projection and deflate instead of stalling
// them. At most kMaxQueued batches wait, so memory stays flat. Each batch
// is sorted by subscriber id (the index then grows in key order), digested
// in that order and stored in it, so the digest matches the store's order.
// The store is touched only by this thread while it runs (the caller's
// thread is busy deflating), and Finish() joins it before anyone else uses
// the store.
class SubscriberRecorder {
 public:
  SubscriberRecorder(contracts::Store& store, int64_t delivery_id)
      : store_(store), delivery_id_(delivery_id), thread_([this] { Run(); }) {}
  ~SubscriberRecorder() { Finish(); }
  SubscriberRecorder(const SubscriberRecorder&) = delete;
  SubscriberRecorder& operator=(const SubscriberRecorder&) = delete;

  // Adds one receipt; hands a full batch to the thread. Returns the
  // thread's first error, if any.
  Status Add(std::string_view subscriber_id, int64_t carried) {
    batch_.push_back({std::string(subscriber_id), carried});
    if (batch_.size() < kSubscriberBatch) return Status::Ok();
    return Flush();
  }

  // Hands over the last batch, waits for the thread, returns its status.
  Status Finish() {
    if (thread_.joinable()) {
      Flush();
      {
        std::lock_guard lock(mu_);
        done_ = true;
      }
      cv_.notify_all();
      thread_.join();
    }
    std::lock_guard lock(mu_);
    return error_;
  }

  // After Finish(): how many receipts were stored and their digest.
  int64_t count() const { return digest_.count(); }
  std::string Digest() { return digest_.count() == 0 ? std::string() : digest_.Finish(); }

 private:
  static constexpr size_t kMaxQueued = 4;

  Status Flush() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return queue_.size() < kMaxQueued || !error_.ok(); });
    if (!error_.ok()) return error_;
    if (!batch_.empty()) queue_.push_back(std::move(batch_));
    batch_.clear();
    cv_.notify_all();
    return Status::Ok();
  }

  void Run() {
    for (;;) {
      std::vector<contracts::ReceiptEntry> receipts;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty() || done_; });
        if (queue_.empty()) return;
        receipts = std::move(queue_.front());
        queue_.pop_front();
      }
      cv_.notify_all();
      std::sort(receipts.begin(), receipts.end(),
                [](const auto& a, const auto& b) { return a.subscriber_id < b.subscriber_id; });
      Status s = store_.AddDeliveryReceipts(delivery_id_, receipts);
      if (s.ok()) {
        for (const auto& r : receipts) digest_.Add(r.subscriber_id, r.carried);
      } else {
        std::lock_guard lock(mu_);
        if (error_.ok()) error_ = s;
        queue_.clear();
        cv_.notify_all();
      }
    }
  }

  contracts::Store& store_;
  const int64_t delivery_id_;
  std::vector<contracts::ReceiptEntry> batch_;  // filled by the producer only
  ReceiptsDigest digest_;                       // the thread's until Finish()
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::vector<contracts::ReceiptEntry>> queue_;
  bool done_ = false;
  Status error_;
  std::thread thread_;  // last: starts after everything above exists
};

// The output column of house_drawing (fields ++ extra_fields), or 64 when
// the package has none. A drawing counts as sent only when its file went
// into the package.
inline size_t HouseDrawingColumn(const policies::ProjectionSpec& spec) {
  size_t i = 0;
  for (const auto* list : {&spec.fields, &spec.extra_fields}) {
    for (const std::string& f : *list) {
      if (f == "house_drawing") return i;
      ++i;
    }
  }
  return 64;
}

// The projector's callback of a package that carries house drawings: each
// record's drawing judged as the record passes, as the dry run judges it (a
// drawing that cannot go stops the delivery before any is read) and listed
// in `drawings` (subscriber, file); its receipt recorded with the fields it
// carried, the drawing only when one goes with the record.
inline policies::RecordFactsCallback ReceiptsAndDrawings(
    PackageJob& job, SubscriberRecorder& recorder,
    std::vector<std::pair<std::string, std::string>>& drawings) {
  const size_t drawing_bit = HouseDrawingColumn(job.spec);
  return [&job, &recorder, &drawings, drawing_bit](const policies::RecordFacts& r) -> Status {
    uint64_t carried = r.carried;
    if (job.drawings != nullptr && !r.house_drawing.empty()) {
      if (Status d = job.drawings->Check(r.subscriber_id, r.house_drawing); !d.ok()) return d;
      drawings.emplace_back(r.subscriber_id, r.house_drawing);
    } else if (drawing_bit < 64) {
      // The cell named a file, but no drawing went with the record.
      carried &= ~(uint64_t{1} << drawing_bit);
    }
    return recorder.Add(r.subscriber_id, static_cast<int64_t>(carried));
  };
}

// What a package writer hands back to WriteDeliveryPackage.
struct PackageWritten {
  std::string path;  // the package under its final name
  std::vector<std::string> withheld;
  std::vector<int64_t> special_requests;  // that shaped it
  size_t drawings = 0;
  int64_t formula_guarded = 0;  // cells the formula guard neutralised
  nlohmann::json recipient;
  int pages = 0;               // paper: the PDF's pages
  std::string printed_sha256;  // paper: of the printed rows, as the slip shows it
};

// The printable PDF of a paper delivery (policy 6(2) 紙), written as
// `dir`/`name` (paper_builder.cc): the records streamed through the
// projector into a private temporary CSV (receipts recorded as they pass,
// drawings judged), then laid out page by page (transports/paper_pdf.h).
Result<PackageWritten> WritePaperPackage(PackageJob& job, const std::string& dir,
                                         const std::string& name);

}  // namespace itaku::gateway::detail
