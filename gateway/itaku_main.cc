// itaku: the command line. Parses arguments (CLI11) and sends the command to
// the daemon's staff API, which knows the caller by the socket's peer uid
// (gateway/staff_client.h). Only `init` and `serve`, run by the service
// account that owns the store, and `fields`, which needs no store, run here.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "contracts/base/layout.h"
#include "gateway/audit.h"
#include "gateway/cli_commands.h"
#include "gateway/commands.h"
#include "gateway/records_json.h"
#include "gateway/staff_api.h"
#include "gateway/staff_client.h"

namespace {

using itaku::Result;
using itaku::Status;
using itaku::gateway::Context;
using itaku::gateway::Output;

// Who runs `init` or `serve`: the OS account, as the kernel says.
std::string OsUser() {
  if (const passwd* pw = getpwuid(geteuid())) return pw->pw_name;
  return "uid " + std::to_string(geteuid());
}

std::string FromEnv(const char* name, const std::string& fallback) {
  if (const char* v = std::getenv(name); v && *v) return v;
  return fallback;
}

int Fail(const Status& why, bool json) {
  std::cerr << "itaku: " << why.message() << "\n";
  if (json) {
    std::cout << nlohmann::json{{"ok", false},
                                {"error", why.message()},
                                {"kind", itaku::ToString(why.kind())}}
                     .dump(2)
              << "\n";
  }
  return 1;
}

// init, serve: the service account's own commands, on the store it owns.
int RunLocally(itaku::gateway::CommandLine& line, const std::string& db, bool json) {
  Context ctx;
  ctx.actor = OsUser();
  ctx.db_path = db;
  ctx.clock = std::make_unique<itaku::gateway::SystemClock>();
  if (line.command != "init" && !std::filesystem::exists(db)) {
    return Fail(Status::NotFound("no store at " + db + " (run: itaku init --officer OSUSER)"),
                json);
  }
  auto store = itaku::contracts::Store::OpenSqlite(db);
  if (!store.ok()) return Fail(store.status(), json);
  ctx.store = std::move(store).value();
  // The audit keys live beside the store, never in it (init creates them).
  auto keys = itaku::gateway::AuditKeys::LoadOrCreate(itaku::StoreLayout(db).AuditKeys());
  if (!keys.ok()) return Fail(keys.status(), json);
  ctx.audit = std::make_unique<itaku::gateway::AuditTrail>(*ctx.store, *ctx.clock,
                                                           std::move(keys).value());
  Result<Output> out = line.run(ctx);
  if (!out.ok()) {
    Status audited = ctx.audit->Append(ctx.actor, line.command + ".refused", line.command,
                                       {{"reason", out.message()}});
    return Fail(out.status().WithMessage(itaku::gateway::WithAuditFailure(out.message(), audited)),
                json);
  }
  std::cout << (json ? itaku::gateway::ForPeople(out->json).dump(2) : out->text) << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Everything Itaku writes (the store, keys, packages, letters, consent
  // copies) is the service account's alone unless a transport says otherwise.
  ::umask(077);
  CLI::App app{"itaku — contractor data-exchange gateway (委託先への個人情報提供の管理)"};
  app.require_subcommand(1);
  app.fallthrough();
  std::string socket = FromEnv("ITAKU_SOCKET", itaku::gateway::kDefaultSocket);
  std::string db = FromEnv("ITAKU_DB", "/var/lib/itaku/itaku.db");
  bool json = false;
  app.add_option("--socket", socket,
                 "the daemon's staff API socket (default $ITAKU_SOCKET or " +
                     std::string(itaku::gateway::kDefaultSocket) + ")");
  app.add_option("--db", db,
                 "init and serve only: the store the daemon owns (default $ITAKU_DB or "
                 "/var/lib/itaku/itaku.db)");
  app.add_flag("--json", json, "print JSON for machines");

  itaku::gateway::CommandLine line;
  line.RegisterAll(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  if (line.fields) {
    const Output out = itaku::gateway::Fields();
    std::cout << (json ? out.json.dump(2) : out.text) << "\n";
    return 0;
  }
  line.socket = socket;
  if (line.local) return RunLocally(line, db, json);
  return itaku::gateway::RunThroughDaemon(app, line, socket, json);
}
