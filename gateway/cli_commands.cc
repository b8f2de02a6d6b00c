#include "gateway/cli_commands.h"

#include "gateway/commands.h"

namespace itaku::gateway {

CommandLine::CommandLine() = default;
CommandLine::~CommandLine() = default;

CLI::App* CommandGroup::Sub(CLI::App& parent, const std::string& name, const std::string& help) {
  CLI::App* s = parent.add_subcommand(name, help);
  s->fallthrough();
  return s;
}

CLI::App* CommandGroup::Group(CLI::App& parent, const std::string& name, const std::string& help) {
  CLI::App* group = Sub(parent, name, help);
  group->require_subcommand(1);
  return group;
}

void CommandGroup::on(CLI::App* sub, std::string name, std::function<Result<Output>(Context&)> f) {
  sub->callback([this, name = std::move(name), f = std::move(f)] {
    line_.command = name;
    line_.run = f;
    line_.audit_refusals = true;
  });
}

void CommandGroup::on_self_audited(CLI::App* sub, std::string name,
                                   std::function<Result<Output>(Context&)> f) {
  sub->callback([this, name = std::move(name), f = std::move(f)] {
    line_.command = name;
    line_.run = f;
    line_.audit_refusals = false;
  });
}

void CommandLine::RegisterAll(CLI::App& app) {
  CLI::App* fields_cmd =
      app.add_subcommand("fields", "the field catalog (policy 1) and the purposes (2(3))");
  fields_cmd->fallthrough();
  fields_cmd->callback([this] { fields = true; });
  CLI::App* init =
      app.add_subcommand("init", "create the store (SQLite) and its per-installation secret");
  init->fallthrough();
  init->callback([this] {
    command = "init";
    run = [](Context& c) { return Init(c); };
  });
  for (auto make : {ContractorCommandGroup, RegistryCommands, DeliveryCommandGroup,
                    MediaPortalCommandGroup, StaffSpecialCommandGroup, RequestCommandGroup}) {
    groups_.push_back(make(*this));
    groups_.back()->Register(app);
  }
}

}  // namespace itaku::gateway
