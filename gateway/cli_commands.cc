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

void CommandGroup::Set(std::string name, std::function<Result<Output>(Context&)> f,
                       bool audit_refusals, bool local) {
  line_.command = std::move(name);
  line_.run = std::move(f);
  line_.audit_refusals = audit_refusals;
  line_.local = local;
}

void CommandGroup::on(CLI::App* sub, std::string name, std::function<Result<Output>(Context&)> f) {
  sub->callback([this, name, f] { Set(name, f, true, false); });
}

void CommandGroup::on_local(CLI::App* sub, std::string name,
                            std::function<Result<Output>(Context&)> f) {
  sub->callback([this, name, f] { Set(name, f, true, true); });
}

void CommandGroup::on_self_audited(CLI::App* sub, std::string name,
                                   std::function<Result<Output>(Context&)> f) {
  sub->callback([this, name, f] { Set(name, f, false, false); });
}

nlohmann::json CommandLine::Arguments(const CLI::App& app) {
  nlohmann::json path = nlohmann::json::array(), args = nlohmann::json::array();
  const CLI::App* leaf = &app;
  while (!leaf->get_subcommands().empty()) {
    leaf = leaf->get_subcommands().front();
    path.push_back(leaf->get_name());
  }
  for (const CLI::Option* o : leaf->get_options()) {
    if (o->count() == 0 || o->get_name() == "--help") continue;
    args.push_back({o->get_name(), o->results()});
  }
  return {{"path", path}, {"args", args}};
}

CLI::App* CommandLine::Leaf(CLI::App& app, const nlohmann::json& path) {
  CLI::App* leaf = &app;
  if (!path.is_array() || path.empty()) return nullptr;
  for (const auto& word : path) {
    if (!word.is_string()) return nullptr;
    try {
      leaf = leaf->get_subcommand(word.get<std::string>());
    } catch (const CLI::Error&) {
      return nullptr;
    }
  }
  return leaf;
}

CLI::Option* CommandLine::OptionNamed(CLI::App& leaf, const std::string& name) {
  for (CLI::Option* o : leaf.get_options()) {
    if (o->get_name() == name) return o;
  }
  return nullptr;
}

Result<std::vector<std::string>> CommandLine::Argv(CLI::App& app, const nlohmann::json& a) {
  using R = Result<std::vector<std::string>>;
  if (!a.is_object() || !a.contains("path") || !a.contains("args") || !a["args"].is_array()) {
    return R::Error("arguments must be {\"path\": [...], \"args\": [...]}");
  }
  CLI::App* leaf = Leaf(app, a["path"]);
  if (leaf == nullptr) return R::Error("unknown command " + a["path"].dump());
  std::vector<std::string> argv = a["path"].get<std::vector<std::string>>();
  std::vector<std::string> positional;
  for (const auto& entry : a["args"]) {
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_string() || !entry[1].is_array()) {
      return R::Error("each argument must be [NAME, [VALUE, ...]]");
    }
    const std::string name = entry[0].get<std::string>();
    CLI::Option* o = OptionNamed(*leaf, name);
    if (o == nullptr || name == "--help") return R::Error("unknown argument " + name);
    for (const auto& value : entry[1]) {
      if (!value.is_string()) return R::Error("argument " + name + ": values must be strings");
      const std::string v = value.get<std::string>();
      if (o->get_positional()) {
        positional.push_back(v);
      } else if (v.empty() && o->get_expected_min() > 0) {
        // CLI11 reads "--reason=" as "--reason" and takes the next token
        // as its value ("--", or another option): an empty value is sent
        // as a token of its own, which nothing mistakes for an option.
        argv.push_back(name);
        argv.push_back("");
      } else {
        argv.push_back(name + "=" + v);  // flags too: --dry-run=true
      }
    }
  }
  // Positionals last, after "--": a value that starts with '-' stays a value.
  if (!positional.empty()) argv.push_back("--");
  argv.insert(argv.end(), positional.begin(), positional.end());
  return argv;
}

void CommandLine::RegisterAll(CLI::App& app) {
  CLI::App* fields_cmd =
      app.add_subcommand("fields", "the field catalog (policy 1) and the purposes (2(3))");
  fields_cmd->fallthrough();
  fields_cmd->callback([this] {
    fields = true;
    local = true;
  });
  CLI::App* init =
      app.add_subcommand("init", "create the store (SQLite) and its per-installation secret");
  init->fallthrough();
  init->add_option("--officer", officer_, "the OS user registered as the first privacy officer")
      ->required();
  init->callback([this] {
    command = "init";
    local = true;
    run = [this](Context& c) { return Init(c, officer_); };
  });
  for (auto make :
       {ContractorCommandGroup, RegistryCommands, DeliveryCommandGroup, MediaPortalCommandGroup,
        StaffSpecialCommandGroup, RequestCommandGroup, SupervisionCommandGroup}) {
    groups_.push_back(make(*this));
    groups_.back()->Register(app);
  }
}

}  // namespace itaku::gateway
