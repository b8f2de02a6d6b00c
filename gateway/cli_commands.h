// The CLI's table of commands: each area registers its subcommands with
// CLI11 and says what runs once the store is open; main() only parses,
// opens the store, runs and prints.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
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
  // Commands the CLI runs itself rather than through the daemon's staff
  // API: `init` and `serve` (the service account's), `fields` (no store).
  bool local = false;
  // The staff API's socket (serve listens on it).
  std::string socket;

  // Options that name a file or folder the caller reads (an export, an NDA
  // scan, a certificate): the CLI sends their content, and the daemon runs
  // the command on its own copy; it never opens a path a caller names.
  bool IsInput(const CLI::Option* option) const { return inputs_.count(option) > 0; }
  // Options that name a folder the caller receives files in (--out): the
  // daemon writes into a folder of its own and the CLI fetches the files.
  bool IsOutput(const CLI::Option* option) const { return outputs_.count(option) > 0; }
  void MarkInput(const CLI::Option* option) { inputs_.insert(option); }
  // Input options that may also carry a word instead of a file (a
  // checkpoint code): the CLI sends a value naming no file as it is, the
  // daemon passes on a word without '/', and the command opens only values
  // with one (its own copies).
  bool IsWordAllowed(const CLI::Option* option) const { return words_.count(option) > 0; }
  void MarkWordAllowed(const CLI::Option* option) { words_.insert(option); }
  void MarkOutput(const CLI::Option* option) { outputs_.insert(option); }
  // Output options that name one file rather than a folder (--subscribers-
  // csv): the daemon writes it in a folder of its own under the same name,
  // and the CLI fetches it into the file's folder, refusing to overwrite.
  bool IsOutputFile(const CLI::Option* option) const { return output_files_.count(option) > 0; }
  void MarkOutputFile(const CLI::Option* option) { output_files_.insert(option); }

  // The parsed command's arguments as the staff API carries them:
  // {"path": ["contractor", "add"], "args": [[NAME, [VALUE, ...]], ...]},
  // NAME an option's first long name ("--cert") or a positional's name.
  static nlohmann::json Arguments(const CLI::App& app);
  // The leaf subcommand `path` names, or nullptr.
  static CLI::App* Leaf(CLI::App& app, const nlohmann::json& path);
  // The option of `leaf` an Arguments() NAME names, or nullptr.
  static CLI::Option* OptionNamed(CLI::App& leaf, const std::string& name);
  // The argv that parses back to `arguments` (after "itaku").
  static Result<std::vector<std::string>> Argv(CLI::App& app, const nlohmann::json& arguments);

 private:
  std::vector<std::unique_ptr<CommandGroup>> groups_;
  std::set<const CLI::Option*> inputs_, outputs_, words_, output_files_;
  std::string officer_;
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
  // Makes `name` the parsed command (for a callback of its own).
  void Set(std::string name, std::function<Result<Output>(Context&)> f, bool audit_refusals,
           bool local);
  // A command the CLI runs itself (CommandLine::local).
  void on_local(CLI::App* sub, std::string name, std::function<Result<Output>(Context&)> f);
  // See CommandLine::IsInput / IsOutput.
  CLI::Option* Input(CLI::Option* option) {
    line_.MarkInput(option);
    return option;
  }
  CLI::Option* InputOrWord(CLI::Option* option) {
    line_.MarkInput(option);
    line_.MarkWordAllowed(option);
    return option;
  }
  CLI::Option* OutputFile(CLI::Option* option) {
    line_.MarkOutput(option);
    line_.MarkOutputFile(option);
    return option;
  }
  CLI::Option* OutputFolder(CLI::Option* option) {
    line_.MarkOutput(option);
    return option;
  }
  const CommandLine& line() const { return line_; }

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
std::unique_ptr<CommandGroup> SupervisionCommandGroup(CommandLine& line);

}  // namespace itaku::gateway
