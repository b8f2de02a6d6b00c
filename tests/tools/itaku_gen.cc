// itaku-gen: a deterministic synthetic subscriber export, one column for
// every catalog field, for tests and benchmarks. Every name, address and
// number is made up from small lists and a seeded generator; nothing here
// describes a real person.
//
//   itaku-gen --rows N [--seed S] [--encoding utf-8|cp932] [--header ids|labels]
//             [--bom] [--drawings DIR] [--drawing-every N] [--canary FIELD,...]
//             [--out FILE]
//
// --canary replaces the named fields' values with "CANARY-<field>-<subscriber_id>"
// (house_drawing: only on rows that have a drawing) so that leak tests can grep.
// One row in --drawing-every (default 10, at random) has a house drawing.
// --drawings writes it as a valid one-page A4 PDF named as the house_drawing
// value: a floor plan of lines and rectangles (no text, so no fonts), its
// uncompressed content stream holding the comment line
// "% ITAKU-DRAWING-<subscriber_id>", which tests grep for in the raw bytes.
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "policies/catalog.h"
#include "policies/csv.h"
#include "policies/encoding.h"

namespace {

using itaku::policies::Catalog;
using itaku::policies::CsvWriter;

// splitmix64: tiny, fast, and the same on every platform.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n).
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>((Next() >> 32) * n >> 32); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[Below(static_cast<uint32_t>(v.size()))];
  }

 private:
  uint64_t s_;
};

struct Name {
  const char* kanji;
  const char* kana;     // full-width katakana
  const char* hankaku;  // half-width katakana, as bank accounts spell it
  const char* romaji;
  char gender;  // given names: 'm' or 'f'
};

const std::vector<Name> kSurnames = {
    {"佐藤", "サトウ", "ｻﾄｳ", "sato", 0},
    {"鈴木", "スズキ", "ｽｽﾞｷ", "suzuki", 0},
    {"高橋", "タカハシ", "ﾀｶﾊｼ", "takahashi", 0},
    {"髙橋", "タカハシ", "ﾀｶﾊｼ", "takahashi", 0},
    {"田中", "タナカ", "ﾀﾅｶ", "tanaka", 0},
    {"伊藤", "イトウ", "ｲﾄｳ", "ito", 0},
    {"渡辺", "ワタナベ", "ﾜﾀﾅﾍﾞ", "watanabe", 0},
    {"渡邉", "ワタナベ", "ﾜﾀﾅﾍﾞ", "watanabe", 0},
    {"山本", "ヤマモト", "ﾔﾏﾓﾄ", "yamamoto", 0},
    {"中村", "ナカムラ", "ﾅｶﾑﾗ", "nakamura", 0},
    {"小林", "コバヤシ", "ｺﾊﾞﾔｼ", "kobayashi", 0},
    {"加藤", "カトウ", "ｶﾄｳ", "kato", 0},
    {"吉田", "ヨシダ", "ﾖｼﾀﾞ", "yoshida", 0},
    {"山田", "ヤマダ", "ﾔﾏﾀﾞ", "yamada", 0},
    {"佐々木", "ササキ", "ｻｻｷ", "sasaki", 0},
    {"山口", "ヤマグチ", "ﾔﾏｸﾞﾁ", "yamaguchi", 0},
    {"松本", "マツモト", "ﾏﾂﾓﾄ", "matsumoto", 0},
    {"井上", "イノウエ", "ｲﾉｳｴ", "inoue", 0},
    {"木村", "キムラ", "ｷﾑﾗ", "kimura", 0},
    {"林", "ハヤシ", "ﾊﾔｼ", "hayashi", 0},
    {"斎藤", "サイトウ", "ｻｲﾄｳ", "saito", 0},
    {"清水", "シミズ", "ｼﾐｽﾞ", "shimizu", 0},
    {"山崎", "ヤマザキ", "ﾔﾏｻﾞｷ", "yamazaki", 0},
    {"山﨑", "ヤマザキ", "ﾔﾏｻﾞｷ", "yamazaki", 0},
    {"森", "モリ", "ﾓﾘ", "mori", 0},
    {"池田", "イケダ", "ｲｹﾀﾞ", "ikeda", 0},
    {"橋本", "ハシモト", "ﾊｼﾓﾄ", "hashimoto", 0},
    {"石川", "イシカワ", "ｲｼｶﾜ", "ishikawa", 0},
    {"前田", "マエダ", "ﾏｴﾀﾞ", "maeda", 0},
    {"藤原", "フジワラ", "ﾌｼﾞﾜﾗ", "fujiwara", 0},
};

const std::vector<Name> kGivenNames = {
    {"太郎", "タロウ", "ﾀﾛｳ", "taro", 'm'},
    {"花子", "ハナコ", "ﾊﾅｺ", "hanako", 'f'},
    {"翔太", "ショウタ", "ｼﾖｳﾀ", "shota", 'm'},
    {"美咲", "ミサキ", "ﾐｻｷ", "misaki", 'f'},
    {"健一", "ケンイチ", "ｹﾝｲﾁ", "kenichi", 'm'},
    {"陽子", "ヨウコ", "ﾖｳｺ", "yoko", 'f'},
    {"大輔", "ダイスケ", "ﾀﾞｲｽｹ", "daisuke", 'm'},
    {"由美", "ユミ", "ﾕﾐ", "yumi", 'f'},
    {"誠", "マコト", "ﾏｺﾄ", "makoto", 'm'},
    {"恵子", "ケイコ", "ｹｲｺ", "keiko", 'f'},
    {"蓮", "レン", "ﾚﾝ", "ren", 'm'},
    {"陽菜", "ヒナ", "ﾋﾅ", "hina", 'f'},
    {"浩二", "コウジ", "ｺｳｼﾞ", "koji", 'm'},
    {"直美", "ナオミ", "ﾅｵﾐ", "naomi", 'f'},
    {"拓也", "タクヤ", "ﾀｸﾔ", "takuya", 'm'},
    {"さくら", "サクラ", "ｻｸﾗ", "sakura", 'f'},
    {"和夫", "カズオ", "ｶｽﾞｵ", "kazuo", 'm'},
    {"幸子", "サチコ", "ｻﾁｺ", "sachiko", 'f'},
    {"隆", "タカシ", "ﾀｶｼ", "takashi", 'm'},
    {"明美", "アケミ", "ｱｹﾐ", "akemi", 'f'},
};

struct Town {
  const char* name;     // prefecture + city + town
  const char* postal3;  // first three digits of its postal codes
  const char* area;     // telephone area code
};

const std::vector<Town> kTowns = {
    {"兵庫県姫路市夢前町前之庄", "671", "079"},     {"兵庫県姫路市本町", "670", "079"},
    {"兵庫県姫路市飾磨区細江", "672", "079"},       {"兵庫県神戸市中央区三宮町", "650", "078"},
    {"兵庫県加古川市加古川町寺家町", "675", "079"}, {"兵庫県たつの市龍野町富永", "679", "0791"},
    {"東京都世田谷区桜新町", "154", "03"},          {"東京都千代田区丸の内", "100", "03"},
    {"大阪府大阪市北区梅田", "530", "06"},          {"神奈川県横浜市港北区日吉", "223", "045"},
    {"愛知県名古屋市中区栄", "460", "052"},         {"福岡県福岡市博多区博多駅前", "812", "092"},
    {"北海道札幌市中央区大通西", "060", "011"},     {"京都府京都市左京区吉田本町", "606", "075"},
    {"広島県広島市中区紙屋町", "730", "082"},       {"宮城県仙台市青葉区一番町", "980", "022"},
};

// Some buildings hold a comma or quotes, so the export exercises quoting.
const std::vector<std::string> kBuildings = {
    "",
    "",
    "",
    " ハイツ夢前",
    " コーポさくら",
    " グランドメゾン①棟",
    " メゾン・ド・ソレイユ, ",
    " レジデンス\"ひまわり\"",
    " サンライズ前之庄",
    " ライオンズマンション姫路駅前",
    " パークハウス城南 B棟",
    " エステート書写山",
};

const std::vector<std::string> kOccupations = {
    "会社員",     "公務員",     "自営業", "学生",     "主婦・主夫",
    "無職",       "農業",       "教員",   "会社役員", "パート・アルバイト",
    "医療従事者", "年金受給者",
};

const std::vector<std::string> kServices = {
    "CATV基本",         "CATVデジタル", "BSパック",       "インターネット160M",
    "インターネット1G", "ケーブル電話", "ケーブルスマホ",
};

const std::vector<std::string> kBankCodes = {"0001", "0005", "0009", "0010", "0017",
                                             "0138", "0164", "0190", "1680", "9900"};

const std::vector<std::string> kMailDomains = {"example.com", "example.net", "example.org"};

void AppendNumber(std::string* s, uint64_t n, int width) {
  char buf[24];
  char* end = buf + sizeof(buf);
  char* p = end;
  do {
    *--p = static_cast<char>('0' + n % 10);
    n /= 10;
    --width;
  } while (n != 0 || (width > 0 && p > buf));
  s->append(p, end);
}

// A floor plan for row `row`: outer walls, rooms, doors and windows, drawn
// with lines only. The layout varies with the row number, not the seeded
// generator, so adding drawings leaves every other value as it was.
std::string FloorPlan(const std::string& subscriber_id, int64_t row) {
  const uint64_t h = static_cast<uint64_t>(row) * 0x9E3779B97F4A7C15ull;
  const int split_x = 220 + static_cast<int>(h >> 58) * 4;         // 220..472
  const int split_y = 380 + static_cast<int>((h >> 52) & 63) * 2;  // 380..506
  const int door = 120 + static_cast<int>((h >> 46) & 63);         // 120..183
  std::string c;
  c.append("% ITAKU-DRAWING-").append(subscriber_id).append("\n");
  c.append("% synthetic house drawing: a floor plan, no text\n");
  c.append("q\n0 0 0 RG\n");
  // Outer walls (double line), then the interior walls.
  c.append("4 w\n100 200 395 440 re S\n1 w\n106 206 383 428 re S\n");
  auto line = [&c](int x0, int y0, int x1, int y1) {
    c.append(std::to_string(x0)).append(" ").append(std::to_string(y0)).append(" m ");
    c.append(std::to_string(x1)).append(" ").append(std::to_string(y1)).append(" l S\n");
  };
  c.append("2 w\n");
  line(split_x, 206, split_x, 634);
  line(106, split_y, split_x, split_y);
  line(split_x, 420, 489, 420);
  // Doors: a gap's leaf drawn as a thin diagonal.
  c.append("0.5 w\n");
  line(door, split_y, door + 30, split_y + 30);
  line(split_x, 300, split_x + 30, 330);
  // Windows on the outer walls, and a north arrow.
  c.append("0.2 0.4 0.8 RG\n3 w\n");
  line(150, 640, 210, 640);
  line(495, 480, 495, 560);
  line(100, 260, 100, 320);
  c.append("0 0 0 RG\n1 w\n");
  line(520, 720, 520, 770);
  line(520, 770, 512, 756);
  line(520, 770, 528, 756);
  c.append("Q\n");
  return c;
}

// A one-page A4 PDF around `content`: four objects and a cross-reference
// table whose offsets are the objects' byte positions.
std::string OnePagePdf(const std::string& content) {
  std::string pdf = "%PDF-1.4\n%\xE2\xE3\xCF\xD3\n";
  std::vector<size_t> offsets;
  auto object = [&](const std::string& body) {
    offsets.push_back(pdf.size());
    pdf.append(std::to_string(offsets.size())).append(" 0 obj\n").append(body).append("\nendobj\n");
  };
  object("<< /Type /Catalog /Pages 2 0 R >>");
  object("<< /Type /Pages /Kids [3 0 R] /Count 1 >>");
  object(
      "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << >> "
      "/Contents 4 0 R >>");
  object("<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content +
         "\nendstream");
  const size_t xref = pdf.size();
  pdf.append("xref\n0 ").append(std::to_string(offsets.size() + 1)).append("\n");
  pdf.append("0000000000 65535 f \n");
  for (size_t off : offsets) {
    char entry[21];
    std::snprintf(entry, sizeof(entry), "%010zu 00000 n \n", off);
    pdf.append(entry);
  }
  pdf.append("trailer\n<< /Size ").append(std::to_string(offsets.size() + 1));
  pdf.append(" /Root 1 0 R >>\nstartxref\n").append(std::to_string(xref)).append("\n%%EOF\n");
  return pdf;
}

int Usage(const char* why) {
  std::cerr << "itaku-gen: " << why << "\n"
            << "usage: itaku-gen --rows N [--seed S] [--encoding utf-8|cp932] "
               "[--header ids|labels] [--bom] [--drawings DIR] [--drawing-every N] "
               "[--canary FIELD,...] [--out FILE]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = -1;
  uint64_t seed = 1;
  int64_t drawing_every = 10;
  bool cp932 = false, labels = false, bom = false;
  std::string out_path, drawings_dir;
  std::set<std::string> canary;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--help" || a == "-h") {
      Usage("synthetic subscriber export generator");
      return 0;
    } else if (a == "--bom") {
      bom = true;
    } else if ((v = value()) == nullptr) {
      return Usage(("missing value for " + std::string(a)).c_str());
    } else if (a == "--rows") {
      rows = std::strtoll(v, nullptr, 10);
    } else if (a == "--seed") {
      seed = std::strtoull(v, nullptr, 10);
    } else if (a == "--encoding") {
      if (std::string_view(v) != "utf-8" && std::string_view(v) != "cp932") {
        return Usage("--encoding is utf-8 or cp932");
      }
      cp932 = std::string_view(v) == "cp932";
    } else if (a == "--header") {
      if (std::string_view(v) != "ids" && std::string_view(v) != "labels") {
        return Usage("--header is ids or labels");
      }
      labels = std::string_view(v) == "labels";
    } else if (a == "--drawings") {
      drawings_dir = v;
    } else if (a == "--drawing-every") {
      drawing_every = std::strtoll(v, nullptr, 10);
      if (drawing_every < 1 || drawing_every > 1000000) {
        return Usage("--drawing-every is 1 to 1000000");
      }
    } else if (a == "--canary") {
      std::string list = v;
      for (size_t start = 0; start <= list.size();) {
        size_t comma = list.find(',', start);
        if (comma == std::string::npos) comma = list.size();
        std::string field = list.substr(start, comma - start);
        if (!field.empty()) {
          if (itaku::policies::FindField(field) == nullptr) {
            return Usage(("unknown --canary field " + field).c_str());
          }
          canary.insert(field);
        }
        start = comma + 1;
      }
    } else if (a == "--out") {
      out_path = v;
    } else {
      return Usage(("unknown option " + std::string(a)).c_str());
    }
  }
  if (rows < 0) return Usage("--rows is required");
  if (!drawings_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(drawings_dir, ec);
    if (ec) {
      std::cerr << "itaku-gen: cannot create " << drawings_dir << ": " << ec.message() << "\n";
      return 1;
    }
  }
  if (cp932 && bom) return Usage("--bom is for utf-8 only");

  std::ofstream file;
  std::ostream* out = &std::cout;
  if (!out_path.empty() && out_path != "-") {
    file.open(out_path, std::ios::binary | std::ios::trunc);
    if (!file) return Usage(("cannot open " + out_path).c_str());
    out = &file;
  }
  std::ios::sync_with_stdio(false);

  CsvWriter writer(out);
  std::string encoded;
  auto field = [&](std::string_view utf8) {
    if (!cp932) {
      writer.Field(utf8);
      return;
    }
    if (encoded.size() < utf8.size()) encoded.resize(utf8.size());
    size_t bad = 0;
    char* end = itaku::policies::Utf8ToCp932(utf8, encoded.data(), &bad);
    if (end == nullptr) {
      std::cerr << "itaku-gen: internal error: value not encodable as CP932\n";
      std::exit(1);
    }
    writer.Field(std::string_view(encoded.data(), end - encoded.data()));
  };

  if (bom) writer.Raw("\xEF\xBB\xBF");
  const auto& catalog = Catalog();
  static const char* const kOrder[] = {
      "subscriber_id", "name",         "name_kana",    "postal_code",    "address",
      "phone",         "email",        "birth_date",   "gender",         "occupation",
      "bank_code",     "branch_code",  "account_type", "account_number", "account_holder",
      "services",      "house_drawing"};
  if (catalog.size() != std::size(kOrder)) return Usage("field catalog changed; update itaku-gen");
  for (size_t c = 0; c < catalog.size(); ++c) {
    if (catalog[c].id != kOrder[c]) return Usage("field catalog changed; update itaku-gen");
  }
  for (const auto& f : catalog) field(labels ? f.label : f.id);
  writer.EndRecord();

  Rng rng(seed);
  std::vector<std::string> values(catalog.size());
  static const int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  for (int64_t r = 1; r <= rows; ++r) {
    for (auto& v : values) v.clear();
    const Name& sur = rng.Pick(kSurnames);
    const Name& given = rng.Pick(kGivenNames);
    const Town& town = rng.Pick(kTowns);

    std::string& sid = values[0];
    sid = "S";
    AppendNumber(&sid, static_cast<uint64_t>(r), 8);
    values[1].append(sur.kanji).append("　").append(given.kanji);
    values[2].append(sur.kana).append("　").append(given.kana);
    values[3].append(town.postal3).push_back('-');
    AppendNumber(&values[3], rng.Below(10000), 4);
    std::string& addr = values[4];
    addr.append(town.name);
    const bool kanji_style = rng.Below(2) == 0;  // 1丁目2番3号 or 1-2-3
    AppendNumber(&addr, 1 + rng.Below(9), 1);
    addr.append(kanji_style ? "丁目" : "-");
    AppendNumber(&addr, 1 + rng.Below(30), 1);
    addr.append(kanji_style ? "番" : "-");
    AppendNumber(&addr, 1 + rng.Below(20), 1);
    if (kanji_style) addr.append("号");
    const std::string& building = rng.Pick(kBuildings);
    if (!building.empty()) {
      addr.append(building);
      AppendNumber(&addr, 100 * (1 + rng.Below(9)) + 1 + rng.Below(12), 3);
      addr.append("号室");
    }
    std::string& phone = values[5];
    if (rng.Below(10) < 3) {
      phone.append(rng.Below(2) ? "090-" : "080-");
      AppendNumber(&phone, rng.Below(10000), 4);
    } else {
      // Ten digits in all: area code, exchange, then the four below.
      const int exchange = 6 - static_cast<int>(std::strlen(town.area));
      uint32_t low = 1;
      for (int k = 1; k < exchange; ++k) low *= 10;
      phone.append(town.area).push_back('-');
      AppendNumber(&phone, low + rng.Below(9 * low), exchange);
    }
    phone.push_back('-');
    AppendNumber(&phone, rng.Below(10000), 4);
    values[6].append(given.romaji).push_back('.');
    values[6].append(sur.romaji);
    AppendNumber(&values[6], rng.Below(1000), 1);
    values[6].push_back('@');
    values[6].append(rng.Pick(kMailDomains));
    const int year = 1930 + static_cast<int>(rng.Below(77));
    const int month = 1 + static_cast<int>(rng.Below(12));
    int days = kDaysInMonth[month - 1] + (month == 2 && year % 4 == 0 ? 1 : 0);
    AppendNumber(&values[7], year, 4);
    values[7].push_back('-');
    AppendNumber(&values[7], month, 2);
    values[7].push_back('-');
    AppendNumber(&values[7], 1 + rng.Below(days), 2);
    values[8] = given.gender == 'm' ? "男" : "女";
    values[9] = rng.Pick(kOccupations);
    values[10] = rng.Pick(kBankCodes);
    AppendNumber(&values[11], 1 + rng.Below(899), 3);
    values[12] = rng.Below(10) == 0 ? "当座" : "普通";
    AppendNumber(&values[13], rng.Below(10000000), 7);
    values[14].append(sur.hankaku).append(" ").append(given.hankaku);
    const uint32_t first = rng.Below(static_cast<uint32_t>(kServices.size()));
    const uint32_t more = rng.Below(4);
    for (uint32_t k = 0; k <= more; ++k) {
      if (k > 0) values[15].push_back(';');
      values[15].append(kServices[(first + 3 * k) % kServices.size()]);
    }
    const bool drawing = rng.Below(static_cast<uint32_t>(drawing_every)) == 0;
    if (drawing) values[16] = sid + ".pdf";

    const std::string real_sid = sid;
    for (size_t c = 0; c < catalog.size(); ++c) {
      const std::string id(catalog[c].id);
      if (canary.count(id) == 0) continue;
      if (id == "house_drawing" && !drawing) continue;
      values[c] = "CANARY-" + id + "-" + real_sid;
    }
    if (drawing && !drawings_dir.empty()) {
      std::ofstream d(drawings_dir + "/" + values[16], std::ios::binary | std::ios::trunc);
      d << OnePagePdf(FloorPlan(real_sid, r));
      if (!d) {
        std::cerr << "itaku-gen: cannot write " << drawings_dir << "/" << values[16] << "\n";
        return 1;
      }
    }
    for (const auto& v : values) field(v);
    writer.EndRecord();
  }
  if (!writer.Flush().ok()) {
    std::cerr << "itaku-gen: write error\n";
    return 1;
  }
  return 0;
}
