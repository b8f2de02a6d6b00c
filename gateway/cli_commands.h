// The CLI's table of commands: each area registers its subcommands with
// CLI11 and says what runs once the store is open; main() only parses,
// opens the store, runs and prints.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gateway/context.h"

namespace itaku::gateway {

class CommandGroup;

class CommandLine {
 public:
  CommandLine();
  ~CommandLine();
  // Registers every command on `app`.
  void RegisterAll(CLI::App& app);

  // Set by the parsed subcommand: its name ("contractor.add") and what it
  // runs with the store open. `fields` needs no store.
  std::string command;
  std::function<Result<Output>(Context&)> run;
  bool fields = false;
  // Whether main() records a failure of `run` as "<command>.refused": every
  // command's refusals are on record, and most leave that to main(). The
  // broker audits its own (with the delivery's details), and audit verify
  // must not extend a trail it found broken.
  bool audit_refusals = true;

 private:
  std::vector<std::unique_ptr<CommandGroup>> groups_;
};

// One area's commands (contractors, deliveries, requests, ...): owns the
// values its options are parsed into.
class CommandGroup {
 public:
  explicit CommandGroup(CommandLine& line) : line_(line) {}
  virtual ~CommandGroup() = default;
  virtual void Register(CLI::App& app) = 0;

 protected:
  static CLI::App* Sub(CLI::App& parent, const std::string& name, const std::string& help);
  // A command that only holds subcommands ("itaku nda add|list").
  static CLI::App* Group(CLI::App& parent, const std::string& name, const std::string& help);
  // When `sub` is the parsed command, `f` runs once the store is open.
  void on(CLI::App* sub, std::string name, std::function<Result<Output>(Context&)> f);
  // The same, for a command that records its own refusals, or must not
  // (see CommandLine::audit_refusals).
  void on_self_audited(CLI::App* sub, std::string name, std::function<Result<Output>(Context&)> f);

 private:
  CommandLine& line_;
};

// The areas, in cli_*.cc.
std::unique_ptr<CommandGroup> RegistryCommands(CommandLine& line);
std::unique_ptr<CommandGroup> ContractorCommandGroup(CommandLine& line);
std::unique_ptr<CommandGroup> DeliveryCommandGroup(CommandLine& line);
std::unique_ptr<CommandGroup> MediaPortalCommandGroup(CommandLine& line);
std::unique_ptr<CommandGroup> StaffSpecialCommandGroup(CommandLine& line);
std::unique_ptr<CommandGroup> RequestCommandGroup(CommandLine& line);

}  // namespace itaku::gateway
