#include "contracts/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace itaku::contracts {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("itaku-config-" + std::to_string(::getpid()) + ".toml"))
                .string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  Config Write(const std::string& text) {
    std::ofstream(path_) << text;
    auto c = Config::Load(path_);
    EXPECT_TRUE(c.ok()) << c.message();
    return std::move(c).value();
  }
  std::string path_;
};

TEST_F(ConfigTest, ReadsEachSectionAndFallsBackForWhatIsNotThere) {
  Config c = Write(
      "[portal]\nlisten = \"127.0.0.1:8443\"\nmax_connections = 64\n"
      "[smtp]\nrequire_tls = true\n");
  EXPECT_EQ(c.String("portal", "listen", "0.0.0.0:443"), "127.0.0.1:8443");
  EXPECT_EQ(c.Int("portal", "max_connections", 256), 64);
  EXPECT_EQ(c.Int("portal", "io_timeout_ms", 30000), 30000);
  EXPECT_TRUE(c.Bool("smtp", "require_tls", false));
  EXPECT_EQ(c.String("requests", "operator_name", "当社"), "当社");
  EXPECT_TRUE(c.status().ok());
}

TEST_F(ConfigTest, AValueOfTheWrongTypeIsNamedNotIgnored) {
  Config c =
      Write("[portal]\nlisten = 8443\nmax_connections = \"many\"\n[smtp]\nrequire_tls = 1\n");
  EXPECT_EQ(c.String("portal", "listen", "fallback"), "fallback");
  EXPECT_EQ(c.status().message(), path_ + ": [portal] listen must be a string");
  EXPECT_EQ(c.Int("portal", "max_connections", 256), 256);
  EXPECT_FALSE(c.Bool("smtp", "require_tls", false));
  EXPECT_EQ(c.status().message(), path_ + ": [portal] listen must be a string");  // the first
}

TEST_F(ConfigTest, NoFileMeansFallbacksAndASyntaxErrorNamesFileAndLine) {
  auto none = Config::Load("");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->String("portal", "listen", "x"), "x");
  std::ofstream(path_) << "[portal]\nlisten = \"a\"\nbroken = = 3\n";
  auto bad = Config::Load(path_);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.message().rfind(path_ + ":3: ", 0), 0u) << bad.message();
  EXPECT_EQ(Config::Load("/nonexistent/itaku.toml").ok(), false);
}

}  // namespace
}  // namespace itaku::contracts
