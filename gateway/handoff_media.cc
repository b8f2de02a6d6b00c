// The media, paper and portal handoffs: the delivery is on record
// ("writing") before its package exists, and the package, the medium (or
// the printed sheets) or the publication and the audit event complete it
// together.
#include <filesystem>

#include "contracts/base/files.h"
#include "contracts/base/layout.h"
#include "gateway/handoff.h"

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;

// Recorded as "writing" before the package exists; written under a
// temporary name and renamed when complete; then, in one transaction, the
// outcome, the medium or the publication and the audit event. A package
// whose record could not be completed is removed again and the delivery
// recorded as failed; one left by a daemon that died is found by the
// start-up reconciliation (reconcile.h).
class InTwoSteps : public Handoff {
 public:
  Status Run(PackageJob& job, DeliverResult& result, const RecordFailure& record_failure) override {
    Context& ctx = job.ctx;
    if (Status b = BeginDelivery(job, Suffix()); !b.ok()) return record_failure(b).status();
    const std::string dir = Folder(ctx);
    auto recorded = WriteDeliveryPackage(job, dir, result);
    if (!recorded.ok()) return FailDelivery(ctx, job.rec, recorded.status());
    if (Status a = AfterWrite(*recorded, result); !a.ok()) {
      Discard(*recorded);
      return FailDelivery(ctx, job.rec, a);
    }
    Status s = ctx.store->Transaction([&]() -> Status {
      if (Status f = FinishDelivery(job, contracts::DeliveryOutcome::kDelivered, result); !f.ok()) {
        return f;
      }
      return HandOver(job, *recorded, result);
    });
    if (!s.ok()) {
      // The package must not outlive a record that says it was not made.
      Discard(*recorded);
      return FailDelivery(ctx, job.rec, s);
    }
    if (result.package_path.empty()) result.package_path = recorded->path;
    result.passphrase = job.recipient.recipient.passphrase;
    return Status::Ok();
  }

 protected:
  virtual std::string Suffix() const { return ".zip.p7m"; }
  // Where the package is written.
  virtual std::string Folder(Context& ctx) = 0;
  // Once the package is complete, before its record is: what else this
  // transport needs of it (a failure removes it and fails the delivery).
  virtual Status AfterWrite(const Recorded&, DeliverResult&) { return Status::Ok(); }
  // Removes every copy of a package whose record says it was not made.
  virtual void Discard(const Recorded& recorded) {
    std::error_code ec;
    fs::remove(recorded.path, ec);
  }
  // Inside the transaction, after the package and its record: what this
  // transport records, and the audit event.
  virtual Status HandOver(PackageJob& job, Recorded& recorded, DeliverResult& result) = 0;
};

class Media : public InTwoSteps {
 public:
  explicit Media(std::string out_dir) : out_dir_(std::move(out_dir)) {}

 protected:
  std::string Folder(Context&) override { return out_dir_; }
  Status HandOver(PackageJob& job, Recorded& recorded, DeliverResult&) override {
    contracts::MediaRecord medium;
    medium.delivery_id = job.rec.id;
    medium.package_name = recorded.name;
    if (Status mr = job.ctx.store->AddMediaRecord(medium); !mr.ok()) return mr;
    return job.ctx.audit->Append(job.ctx.actor, "delivery.media",
                                 "delivery:" + std::to_string(job.rec.id), recorded.details);
  }

 private:
  const std::string out_dir_;
};

// Paper: the printable PDF is kept by the daemon in "<db>.d/paper" until
// the printed sheets are handed over (paper handover deletes it, its hash
// stays on the delivery), and a copy goes to the caller's --out folder for
// printing. The delivery counts as received from the moment it is printed;
// its sheets are tracked like a medium (policies/media_rules.h).
class Paper : public InTwoSteps {
 public:
  explicit Paper(std::string out_dir) : out_dir_(std::move(out_dir)) {}

 protected:
  std::string Suffix() const override { return ".pdf"; }
  std::string Folder(Context& ctx) override {
    const std::string dir = StoreLayout(ctx.db_path).Paper();
    std::error_code ec;
    fs::create_directories(dir, ec);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    return dir;
  }
  Status AfterWrite(const Recorded& recorded, DeliverResult& result) override {
    copy_ = (fs::path(out_dir_) / recorded.name).string();
    if (Status c = CopyFileAtomically(recorded.path, copy_); !c.ok()) {
      copy_.clear();  // not ours to remove: whatever is there was there before
      return c;
    }
    result.package_path = copy_;
    return Status::Ok();
  }
  void Discard(const Recorded& recorded) override {
    InTwoSteps::Discard(recorded);
    std::error_code ec;
    if (!copy_.empty()) fs::remove(copy_, ec);
  }
  Status HandOver(PackageJob& job, Recorded& recorded, DeliverResult&) override {
    contracts::MediaRecord sheets;
    sheets.delivery_id = job.rec.id;
    sheets.package_name = recorded.name;
    if (Status mr = job.ctx.store->AddMediaRecord(sheets); !mr.ok()) return mr;
    return job.ctx.audit->Append(job.ctx.actor, "delivery.paper",
                                 "delivery:" + std::to_string(job.rec.id), recorded.details);
  }

 private:
  const std::string out_dir_;
  std::string copy_;  // the caller's copy, once made
};

class Portal : public InTwoSteps {
 public:
  Portal(std::chrono::seconds lifetime, int max_downloads)
      : lifetime_(lifetime), max_downloads_(max_downloads) {}

 protected:
  std::string Folder(Context& ctx) override {
    const std::string dir = StoreLayout(ctx.db_path).Portal();
    std::error_code ec;
    fs::create_directories(dir, ec);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
    return dir;
  }
  Status HandOver(PackageJob& job, Recorded& recorded, DeliverResult& result) override {
    Context& ctx = job.ctx;
    auto id = RandomHex32();
    if (!id.ok()) return id.status();
    contracts::PortalPackageRecord pkg;
    pkg.id = id->substr(0, 32);
    pkg.delivery_id = job.rec.id;
    pkg.contractor_id = job.profile.contractor_id;
    pkg.file_name = recorded.name;
    pkg.path = recorded.path;
    std::error_code size_ec;
    pkg.size = static_cast<int64_t>(fs::file_size(recorded.path, size_ec));
    pkg.sha256 = job.rec.package_sha256;
    pkg.expires_at = FormatUtc(ctx.clock->Now() + lifetime_);
    pkg.max_downloads = max_downloads_;
    pkg.published_by = ctx.actor;
    pkg.published_at = ctx.clock->NowUtc();
    if (Status pp = ctx.store->AddPortalPackage(pkg); !pp.ok()) return pp;
    result.portal_package_id = pkg.id;
    result.portal_expires_at = pkg.expires_at;
    nlohmann::json& details = recorded.details;
    details["portal_package"] = pkg.id;
    details["expires_at"] = pkg.expires_at;
    details["max_downloads"] = pkg.max_downloads;
    return ctx.audit->Append(ctx.actor, "delivery.portal", "delivery:" + std::to_string(job.rec.id),
                             details);
  }

 private:
  const std::chrono::seconds lifetime_;
  const int max_downloads_;
};

}  // namespace

std::unique_ptr<Handoff> MediaHandoff(std::string out_dir) {
  return std::make_unique<Media>(std::move(out_dir));
}

std::unique_ptr<Handoff> PaperHandoff(std::string out_dir) {
  return std::make_unique<Paper>(std::move(out_dir));
}

std::unique_ptr<Handoff> PortalHandoff(std::chrono::seconds lifetime, int max_downloads) {
  return std::make_unique<Portal>(lifetime, max_downloads);
}

}  // namespace itaku::gateway
