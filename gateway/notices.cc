#include "gateway/notices.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string_view>

namespace itaku::gateway {
namespace {

namespace fs = std::filesystem;

// Business letters: 御中 to a company, 様 to a person; the 記 ... 以上 block
// sets out the particulars. Signed by the operator's privacy desk.
constexpr std::string_view kInstructionSubject =
    "【ご指示】個人情報の取扱いの改善について（受付番号 {{request_id}}）";
constexpr std::string_view kInstructionBody =
    R"({{contractor_name}} 御中

平素より格別のご高配を賜り、厚く御礼申し上げます。
{{operator_name}} 個人情報窓口でございます。

貴社に業務を委託しております個人情報の取扱いにつきまして、当社の加入者様より
改善のお申し出がございました。当社にて内容を確認いたしました結果、正当なお申し出
であると判断いたしましたので、当社個人情報保護方針 第6条(3)ならびに貴社との
機密保持契約に基づき、下記のとおり取扱いの改善をご指示申し上げます。

記

受付番号：{{request_id}}
受付日：{{received_on}}
ご指示の内容：
{{instruction_text}}

以上

つきましては、速やかにご対応のうえ、対応の結果を当窓口までご回答くださいますよう
お願い申し上げます。お問い合わせの際は、上記の受付番号をお知らせください。

{{operator_name}}
個人情報窓口
)";

constexpr std::string_view kOutcomeSubject =
    "個人情報の取扱いに関するお申し出への対応結果のお知らせ";
constexpr std::string_view kOutcomeBody =
    R"({{subscriber_name}} 様

平素より{{operator_name}}をご利用いただき、誠にありがとうございます。

{{received_on}}にお申し出いただきました、当社の委託先である{{contractor_name}}における
個人情報の取扱いに関するご要望につきまして、当社の対応の結果を下記のとおりご報告
申し上げます。

記

お申し出の内容：
{{request_text}}

対応の結果：{{outcome}}

理由・ご説明：
{{reason}}

以上

このたびはご心配をおかけいたしましたこと、心よりお詫び申し上げます。
本件についてご不明な点がございましたら、下記の窓口までお問い合わせください。

{{operator_name}}
個人情報窓口
)";

bool ValidName(const std::string& name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) return false;
  }
  return true;
}

std::string Trim(std::string_view s) {
  const size_t b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return "";
  const size_t e = s.find_last_not_of(" \t");
  return std::string(s.substr(b, e - b + 1));
}

Result<NoticeTemplate> ParseTemplateFile(const std::string& path, std::string text) {
  auto error = [&](const std::string& what) {
    return Result<NoticeTemplate>::Error("template " + path + ": " + what);
  };
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);  // BOM from Windows editors
  std::string normalized;
  normalized.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') continue;
    normalized.push_back(text[i]);
  }
  const size_t first_end = normalized.find('\n');
  const std::string first = normalized.substr(0, first_end);
  NoticeTemplate t;
  bool found = false;
  for (std::string_view prefix : {"件名:", "件名：", "Subject:"}) {
    if (first.rfind(prefix, 0) == 0) {
      t.subject = Trim(std::string_view(first).substr(prefix.size()));
      found = true;
      break;
    }
  }
  if (!found) return error("line 1 must be \"件名: <subject>\"");
  if (t.subject.empty()) return error("line 1: the subject is empty");
  if (first_end == std::string::npos) return error("no body after the subject");
  const size_t second_end = normalized.find('\n', first_end + 1);
  const std::string second = normalized.substr(first_end + 1, second_end - first_end - 1);
  if (!Trim(second).empty()) return error("line 2 must be empty");
  if (second_end == std::string::npos) return error("no body after the subject");
  t.body = normalized.substr(second_end + 1);
  if (t.body.find_first_not_of(" \t\r\n") == std::string::npos) return error("the body is empty");
  return t;
}

// Substitutes one part (subject or body); `part` names it in errors.
Result<std::string> Render(const std::string& name, const std::string& part,
                           const std::string& text,
                           const std::map<std::string, std::string>& values) {
  auto where = [&](size_t pos) {
    const std::string location = "in the " + part;
    if (part != "body") return location;
    const auto line =
        1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(pos), '\n');
    return location + ", line " + std::to_string(line);
  };
  std::string out;
  out.reserve(text.size() * 2);
  size_t pos = 0;
  while (true) {
    const size_t open = text.find("{{", pos);
    if (open == std::string::npos) {
      out.append(text, pos);
      return out;
    }
    const size_t close = text.find("}}", open + 2);
    const size_t next_open = text.find("{{", open + 2);
    if (close == std::string::npos || (next_open != std::string::npos && next_open < close) ||
        text.find('\n', open) < close) {
      return Result<std::string>::Error("template \"" + name + "\": unclosed placeholder \"{{\" " +
                                        where(open));
    }
    const std::string key = Trim(std::string_view(text).substr(open + 2, close - open - 2));
    const auto it = values.find(key);
    if (it == values.end()) {
      return Result<std::string>::Error("template \"" + name + "\": unknown placeholder {{" + key +
                                        "}} " + where(open));
    }
    out.append(text, pos, open - pos);
    out.append(it->second);
    pos = close + 2;
  }
}

}  // namespace

Result<NoticeTemplate> LoadTemplate(const std::string& name, const std::string& override_dir) {
  if (!ValidName(name)) {
    return Result<NoticeTemplate>::Error("invalid notice template name \"" + name + "\"");
  }
  if (!override_dir.empty()) {
    const fs::path path = fs::path(override_dir) / (name + ".txt");
    std::error_code ec;
    if (fs::exists(path, ec)) {
      std::ifstream in(path, std::ios::binary);
      if (!in.is_open()) {
        return Result<NoticeTemplate>::Error("template " + path.string() +
                                             ": cannot open: " + std::strerror(errno));
      }
      std::ostringstream text;
      text << in.rdbuf();
      if (in.bad())
        return Result<NoticeTemplate>::Error("template " + path.string() + ": cannot read");
      return ParseTemplateFile(path.string(), text.str());
    }
  }
  if (name == "instruction") {
    return NoticeTemplate{std::string(kInstructionSubject), std::string(kInstructionBody)};
  }
  if (name == "outcome") {
    return NoticeTemplate{std::string(kOutcomeSubject), std::string(kOutcomeBody)};
  }
  return Status::NotFound("unknown notice template \"" + name +
                          "\" (built in: instruction, outcome)");
}

Result<NoticeTemplate> RenderTemplate(const std::string& name, const NoticeTemplate& t,
                                      const std::map<std::string, std::string>& values) {
  auto subject = Render(name, "subject", t.subject, values);
  if (!subject.ok()) return subject.status();
  auto body = Render(name, "body", t.body, values);
  if (!body.ok()) return body.status();
  NoticeTemplate out{std::move(subject).value(), std::move(body).value()};
  // A subject is one header line.
  for (char& c : out.subject) {
    if (c == '\r' || c == '\n' || c == '\t') c = ' ';
  }
  return out;
}

}  // namespace itaku::gateway
