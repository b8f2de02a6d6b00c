// itaku: the command line. Parses arguments (CLI11), opens the store, runs
// the command the table in cli_commands.h names, prints text or --json, and turns every
// refusal into one line on stderr, an audit event and a non-zero exit.
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "gateway/audit.h"
#include "gateway/cli_commands.h"
#include "gateway/commands.h"

namespace {

using itaku::Result;
using itaku::Status;
using itaku::gateway::Context;
using itaku::gateway::Output;

std::string DefaultActor() {
  if (const char* a = std::getenv("ITAKU_ACTOR"); a && *a) return a;
  if (const passwd* pw = getpwuid(geteuid())) return pw->pw_name;
  return "unknown";
}

std::string DefaultDb() {
  if (const char* d = std::getenv("ITAKU_DB"); d && *d) return d;
  return "./itaku.db";
}

}  // namespace

int main(int argc, char** argv) {
  // Everything Itaku writes (the store, keys, packages, letters, consent
  // copies) is the operator's alone unless a transport says otherwise.
  ::umask(077);
  CLI::App app{"itaku — contractor data-exchange gateway (委託先への個人情報提供の管理)"};
  app.require_subcommand(1);
  app.fallthrough();
  std::string db = DefaultDb();
  std::string actor = DefaultActor();
  bool json = false;
  app.add_option("--db", db, "store file (default $ITAKU_DB or ./itaku.db)");
  app.add_option("--actor", actor, "acting staff member (default $ITAKU_ACTOR or the OS user)");
  app.add_flag("--json", json, "print JSON for machines");

  itaku::gateway::CommandLine line;
  line.RegisterAll(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  auto fail = [&](const Status& why) {
    std::cerr << "itaku: " << why.message() << "\n";
    if (json) {
      std::cout << nlohmann::json{{"ok", false},
                                  {"error", why.message()},
                                  {"kind", itaku::ToString(why.kind())}}
                       .dump(2)
                << "\n";
    }
    return 1;
  };

  if (line.fields) {
    const Output out = itaku::gateway::Fields();
    std::cout << (json ? out.json.dump(2) : out.text) << "\n";
    return 0;
  }

  Context ctx;
  ctx.actor = actor;
  ctx.db_path = db;
  ctx.clock = std::make_unique<itaku::gateway::SystemClock>();
  if (line.command != "init" && !std::filesystem::exists(db)) {
    return fail(
        Status::NotFound("no store at " + db + " (run: itaku init, or set --db / ITAKU_DB)"));
  }
  auto store = itaku::contracts::Store::OpenSqlite(db);
  if (!store.ok()) return fail(store.status());
  ctx.store = std::move(store).value();
  ctx.audit = std::make_unique<itaku::gateway::AuditTrail>(*ctx.store, *ctx.clock);

  Result<Output> out = line.run(ctx);
  if (!out.ok()) {
    // Every refusal is on record (cli_commands.h: audit_refusals).
    if (line.audit_refusals) {
      Status audited = ctx.audit->Append(ctx.actor, line.command + ".refused", line.command,
                                         {{"reason", out.message()}});
      return fail(
          out.status().WithMessage(itaku::gateway::WithAuditFailure(out.message(), audited)));
    }
    return fail(out.status());
  }
  if (json) {
    std::cout << out->json.dump(2) << "\n";
  } else {
    std::cout << out->text << "\n";
  }
  return 0;
}
