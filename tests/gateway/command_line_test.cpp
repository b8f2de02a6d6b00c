// The staff API's arguments as the CLI parses them (CommandLine::Argv): an
// empty value stays empty instead of taking the next token, and a value
// that looks like an option stays a value.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "gateway/cli_commands.h"

namespace itaku::gateway {
namespace {

using ::testing::ElementsAre;

// [[NAME, [VALUE]], ...more]: the staff API's arguments.
nlohmann::json Arg(const std::string& name, const std::string& value,
                   nlohmann::json more = nlohmann::json::array()) {
  more.insert(more.begin(), nlohmann::json::array({name, nlohmann::json::array({value})}));
  return more;
}

// Parses `args` for `path` as the daemon does; the argv it built.
std::vector<std::string> Parsed(const nlohmann::json& path, const nlohmann::json& args,
                                CommandLine& line) {
  CLI::App app;
  line.RegisterAll(app);
  nlohmann::json request = nlohmann::json::object();
  request["path"] = path;
  request["args"] = args;
  auto argv = CommandLine::Argv(app, request);
  EXPECT_TRUE(argv.ok()) << argv.message();
  std::vector<std::string> reversed(argv->rbegin(), argv->rend());
  app.parse(reversed);
  return *argv;
}

TEST(CommandLineTest, AnEmptyValueStaysEmptyAndTakesNothingAfterIt) {
  CommandLine line;
  const auto argv = Parsed(nlohmann::json::array({"contract", "withdraw"}),
                           Arg("id", "2", Arg("--reason", "")), line);
  EXPECT_THAT(argv, ElementsAre("contract", "withdraw", "--reason", "", "--", "2"));
  EXPECT_EQ(line.command, "contract.withdraw");
}

TEST(CommandLineTest, AValueThatLooksLikeAnOptionStaysAValue) {
  CommandLine line;
  const auto argv = Parsed(nlohmann::json::array({"contract", "withdraw"}),
                           Arg("id", "-3", Arg("--reason", "--id=9")), line);
  EXPECT_THAT(argv, ElementsAre("contract", "withdraw", "--reason=--id=9", "--", "-3"));
}

}  // namespace
}  // namespace itaku::gateway
