// The streaming multipart parser: the same body cut into chunks at every
// possible place gives the same parts; malformed bodies are refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gateway/console/multipart.h"

namespace itaku::gateway::console {
namespace {

struct Seen {
  std::vector<std::string> names, filenames, bodies;
  std::vector<bool> files;
};

MultipartParser Parser(Seen* seen, const std::string& boundary = "XyZ") {
  MultipartParser::Callbacks c;
  c.begin = [seen](const std::string& name, const std::string& filename, bool is_file) {
    seen->names.push_back(name);
    seen->filenames.push_back(filename);
    seen->files.push_back(is_file);
    seen->bodies.emplace_back();
    return Status::Ok();
  };
  c.data = [seen](const char* d, size_t n) {
    seen->bodies.back().append(d, n);
    return Status::Ok();
  };
  c.end = [] { return Status::Ok(); };
  return MultipartParser(boundary, c);
}

const std::string kBody =
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"csrf\"\r\n\r\n"
    "tok\r\n"
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"export\"; filename=\"請求.csv\"\r\n"
    "Content-Type: text/csv\r\n\r\n"
    "id,name\r\n--X,\r\n--XyY\r\n\r\n--Xy\r\n"
    "--XyZ\r\n"
    "content-disposition: form-data; name=\"drawings\"; filename=\"\"\r\n\r\n"
    "\r\n"
    "--XyZ--\r\n";

TEST(MultipartTest, EveryChunkingGivesTheSameParts) {
  for (size_t cut = 0; cut <= kBody.size(); ++cut) {
    for (size_t step : {size_t{1}, size_t{3}, size_t{7}, kBody.size()}) {
      Seen seen;
      auto p = Parser(&seen);
      ASSERT_TRUE(p.Feed(kBody.data(), cut).ok());
      for (size_t at = cut; at < kBody.size(); at += step) {
        ASSERT_TRUE(p.Feed(kBody.data() + at, std::min(step, kBody.size() - at)).ok());
      }
      ASSERT_TRUE(p.Finish().ok()) << cut << "/" << step;
      ASSERT_EQ(seen.names, (std::vector<std::string>{"csrf", "export", "drawings"}));
      EXPECT_EQ(seen.bodies[0], "tok");
      // Text that looks like a delimiter but is not one stays in the file.
      EXPECT_EQ(seen.bodies[1], "id,name\r\n--X,\r\n--XyY\r\n\r\n--Xy");
      EXPECT_EQ(seen.bodies[2], "");
      EXPECT_EQ(seen.filenames[1], "請求.csv");
      EXPECT_EQ(seen.files, (std::vector<bool>{false, true, true}));
    }
  }
}

TEST(MultipartTest, TruncatedOrMalformedBodiesAreRefused) {
  Seen seen;
  auto cut = Parser(&seen);
  ASSERT_TRUE(cut.Feed(kBody.data(), kBody.size() - 10).ok());
  EXPECT_EQ(cut.Finish().message(), "malformed multipart body");
  Seen seen2;
  auto nameless = Parser(&seen2);
  const std::string bad = "--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--\r\n";
  EXPECT_EQ(nameless.Feed(bad.data(), bad.size()).message(), "malformed multipart body");
  Seen seen3;
  auto garbage = Parser(&seen3);
  const std::string after = "--XyZ!!";  // neither CRLF nor "--" after a boundary
  EXPECT_FALSE(garbage.Feed(after.data(), after.size()).ok());
}

TEST(MultipartTest, ACallbackRefusalStopsTheParse) {
  MultipartParser::Callbacks c;
  c.begin = [](const std::string&, const std::string&, bool) { return Status::Error("no files"); };
  c.data = [](const char*, size_t) { return Status::Ok(); };
  c.end = [] { return Status::Ok(); };
  MultipartParser p("XyZ", c);
  EXPECT_EQ(p.Feed(kBody.data(), kBody.size()).message(), "no files");
}

TEST(MultipartTest, HeaderParametersQuotedOrNot) {
  bool found = false;
  EXPECT_EQ(HeaderParameter("multipart/form-data; boundary=----abc", "boundary", &found),
            "----abc");
  EXPECT_TRUE(found);
  EXPECT_EQ(HeaderParameter(R"( form-data; name="a\"b"; filename="x.csv")", "name", &found),
            "a\"b");
  EXPECT_EQ(HeaderParameter(" form-data; name=\"a\"", "filename", &found), "");
  EXPECT_FALSE(found);
}

}  // namespace
}  // namespace itaku::gateway::console
