// The console's HTML, as mustache templates (mstch): every {{value}} is
// HTML-escaped; {{{triple}}} only ever holds HTML the console rendered
// itself (a page's content, a QR code's SVG). No inline script or style:
// the Content-Security-Policy forbids both.
#include <map>
#include <mstch/mstch.hpp>

#include "contracts/base/date.h"
#include "gateway/console/console_impl.h"

namespace itaku::gateway::console {
namespace {

const std::map<std::string, std::string>& Templates() {
  static const std::map<std::string, std::string> k = {
      {"layout", R"(<!doctype html>
<html lang="ja">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{title}} | Itaku 委託先データ授受</title>
<link rel="stylesheet" href="/static/console.css">
<script src="/static/console.js" defer></script>
{{#refresh}}<meta http-equiv="refresh" content="2">{{/refresh}}
</head>
<body>
<a class="skip" href="#main">本文へ移動</a>
<header>
<span class="brand">Itaku <small>委託先データ授受コンソール</small></span>
{{#me}}
<nav aria-label="メニュー">
<a href="/">ダッシュボード</a>
<a href="/contractors">委託先</a>
<a href="/profiles">契約プロファイル</a>
<a href="/deliver">提供</a>
<a href="/media">媒体</a>
<a href="/supervision">委託先管理</a>
<a href="/disposals">返却・廃棄</a>
<a href="/incidents">漏えい等事案</a>
<a href="/history">履歴</a>
<a href="/breach-scope">漏えい範囲</a>
<a href="/requests">申し入れ</a>
<a href="/approvals">承認</a>
<a href="/audit">監査ログ</a>
{{#officer}}<a href="/staff">職員</a>{{/officer}}
</nav>
<div class="me"><span id="me">{{name}}({{role}})</span>
<form method="post" action="/signout"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">サインアウト</button></form>
<form method="post" action="/signout-everywhere"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">すべての端末からサインアウト</button></form>
</div>
{{/me}}
</header>
<main id="main">
<h1>{{title}}</h1>
{{#notice}}<p class="notice" role="status">{{notice}}</p>{{/notice}}
{{{content}}}
</main>
</body>
</html>
)"},
      {"page", R"({{#intro}}<p class="intro">{{intro}}</p>{{/intro}}
{{#get_form}}<form method="get" action="{{action}}" class="form filter">
{{#fields}}<div class="field"><label for="{{id}}">{{label}}</label>{{#select}}<select id="{{id}}" name="{{name}}">{{#options}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{text}}</option>{{/options}}</select>{{/select}}{{#input}}<input id="{{id}}" name="{{name}}" type="{{type}}" value="{{value}}">{{/input}}</div>{{/fields}}
{{#field_error}}<p class="error" role="alert" id="filter-error">{{field_error}}</p>{{/field_error}}
<button type="submit">{{button}}</button></form>{{/get_form}}
{{#sections}}<section class="card" id="{{sid}}"><h2>{{heading}}</h2>{{#note}}<p>{{note}}</p>{{/note}}
{{#has_rows}}{{#table}}<table><thead><tr>{{#columns}}<th scope="col">{{label}}</th>{{/columns}}</tr></thead><tbody>{{#rows}}<tr>{{#cells}}<td class="{{cls}}">{{#href}}<a href="{{href}}">{{text}}</a>{{/href}}{{^href}}{{text}}{{/href}}</td>{{/cells}}</tr>{{/rows}}</tbody></table>{{/table}}{{/has_rows}}
{{^has_rows}}<p class="empty">{{empty}}</p>{{/has_rows}}
{{#pre}}<pre>{{pre}}</pre>{{/pre}}
{{#link}}<p><a href="{{link_href}}">{{link}}</a></p>{{/link}}
</section>{{/sections}}
{{#forms}}<section class="card"{{#sid}} id="{{sid}}"{{/sid}}><h2>{{heading}}</h2>
{{#form_error}}<p class="error" role="alert">{{form_error}}</p>{{/form_error}}
<form method="post" action="{{action}}" class="form"{{#multipart}} enctype="multipart/form-data" data-progress="{{progress}}"{{/multipart}}>
<input type="hidden" name="csrf" value="{{csrf}}">
{{#hidden}}<input type="hidden" name="{{name}}" value="{{value}}">{{/hidden}}
{{#fields}}<div class="field">{{#checks}}<fieldset><legend>{{label}}</legend>{{#options}}<label class="check" for="{{oid}}"><input type="checkbox" id="{{oid}}" name="{{oname}}" value="{{value}}"{{#selected}} checked{{/selected}}> {{text}}</label>{{/options}}</fieldset>{{/checks}}{{^checks}}<label for="{{id}}">{{label}}</label>{{/checks}}{{#select}}<select id="{{id}}" name="{{name}}"{{#multiple}} multiple size="8"{{/multiple}}>{{#options}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{text}}</option>{{/options}}</select>{{/select}}{{#textarea}}<textarea id="{{id}}" name="{{name}}" rows="{{rows}}" cols="80">{{value}}</textarea>{{/textarea}}{{#input}}<input id="{{id}}" name="{{name}}" type="{{type}}" value="{{value}}"{{#multiple}} multiple{{/multiple}}>{{/input}}{{#hint}}<small>{{hint}}</small>{{/hint}}{{#field_error}}<p class="error" role="alert">{{field_error}}</p>{{/field_error}}</div>{{/fields}}
{{#multipart}}<progress id="{{progress}}" class="hidden" value="0" max="1">アップロード中</progress> <span id="{{progress}}-text" role="status"></span>{{/multipart}}
<button type="submit" class="{{button_class}}">{{button}}</button>
</form></section>{{/forms}}
)"},
      {"message",
       R"(<p role="alert" class="error">{{message}}</p>{{#detail}}<p class="detail">{{detail}}</p>{{/detail}}<p><a href="{{back}}{{^back}}/{{/back}}">戻る</a></p>)"},
      {"signin", R"(<form method="post" action="/signin" class="form" novalidate>
<input type="hidden" name="csrf" value="{{csrf}}">
{{#error}}<p class="error" role="alert" id="signin-error">{{error}}</p>{{/error}}
<div class="field"><label for="name">職員名</label><input id="name" name="name" value="{{name}}" autocomplete="username" required autofocus></div>
<div class="field"><label for="password">パスワード</label><input id="password" name="password" type="password" autocomplete="current-password" required></div>
<div class="field"><label for="totp">確認コード(認証アプリの6桁)</label><input id="totp" name="totp" inputmode="numeric" autocomplete="one-time-code" maxlength="12" required></div>
<button type="submit">サインイン</button>
</form>
<p>初めての方は、個人情報保護管理者から受け取った登録コードで <a href="/enrol">初回登録</a> をしてください。</p>
)"},
      {"enrol",
       R"(<p>個人情報保護管理者から受け取った登録コード(1回限り有効)を入力してください。</p>
<form method="post" action="/enrol" class="form">
<input type="hidden" name="csrf" value="{{csrf}}">
<div class="field"><label for="name">職員名</label><input id="name" name="name" value="{{name}}" autocomplete="username" required autofocus></div>
<div class="field"><label for="code">登録コード</label><input id="code" name="code" autocomplete="off" required aria-describedby="code-error">
{{#code_error}}<p class="error" role="alert" id="code-error">{{code_error}}</p>{{/code_error}}</div>
<button type="submit">次へ</button>
</form>
)"},
      {"enrol2", R"(<ol class="steps">
<li>スマートフォンの認証アプリ(Google Authenticator、Microsoft Authenticator など)で次のQRコードを読み取ってください。読み取れない場合は、下のキーを手で入力してください。</li>
</ol>
<figure class="qr">{{{qr}}}<figcaption>キー: <code id="totp-secret">{{secret}}</code></figcaption></figure>
<form method="post" action="/enrol/finish" class="form">
<input type="hidden" name="csrf" value="{{csrf}}">
<input type="hidden" name="name" value="{{name}}">
<input type="hidden" name="code" value="{{code}}">
<div class="field"><label for="password">新しいパスワード(12文字以上)</label><input id="password" name="password" type="password" autocomplete="new-password" required aria-describedby="password-error">
{{#password_error}}<p class="error" role="alert" id="password-error">{{password_error}}</p>{{/password_error}}</div>
<div class="field"><label for="password_again">新しいパスワード(確認)</label><input id="password_again" name="password_again" type="password" autocomplete="new-password" required></div>
<div class="field"><label for="totp">確認コード(認証アプリの6桁)</label><input id="totp" name="totp" inputmode="numeric" autocomplete="one-time-code" maxlength="12" required aria-describedby="totp-error">
{{#totp_error}}<p class="error" role="alert" id="totp-error">{{totp_error}}</p>{{/totp_error}}</div>
<button type="submit">登録する</button>
</form>
)"},
  };
  return k;
}

std::string Escape(const std::string& text) { return HtmlEscape(text); }

mstch::node ToNode(const Json& j) {
  switch (j.type()) {
    case Json::value_t::object: {
      mstch::map m;
      for (auto it = j.begin(); it != j.end(); ++it) m.emplace(it.key(), ToNode(it.value()));
      return m;
    }
    case Json::value_t::array: {
      mstch::array a;
      for (const auto& e : j) a.push_back(ToNode(e));
      return a;
    }
    case Json::value_t::string:
      return j.get<std::string>();
    case Json::value_t::boolean:
      return j.get<bool>();
    case Json::value_t::null:
    case Json::value_t::discarded:
      return std::string();
    default:
      return j.dump();
  }
}

}  // namespace

const std::string& Template(const std::string& name) {
  static const std::string kMissing = "<p>(no template)</p>";
  auto it = Templates().find(name);
  return it == Templates().end() ? kMissing : it->second;
}

std::string Render(const std::string& tmpl, const Json& view) {
  static const bool configured = [] {
    mstch::config::escape = Escape;
    return true;
  }();
  (void)configured;
  return mstch::render(Template(tmpl), ToNode(view));
}

std::string Either(const Json& j, const char* key, const char* other) {
  for (const char* k : {key, other}) {
    if (j.is_object() && j.contains(k) && j[k].is_string() && !j[k].get<std::string>().empty()) {
      return j[k].get<std::string>();
    }
  }
  return "";
}

std::string Overdue(const Json& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const auto& e : list) {
    if (!e.is_string()) continue;
    std::string line = e.get<std::string>();
    for (const auto& [en, ja] :
         {std::pair<std::string, std::string>{"decision overdue since ", "判断の期限超過("},
          {"notice overdue since ", "通知の期限超過("}}) {
      if (line.rfind(en, 0) == 0) line = ja + line.substr(en.size()) + " から)";
    }
    out += (out.empty() ? "" : "、") + line;
  }
  return out;
}

std::string FieldId(const std::string& action, const std::string& name) {
  std::string id = "f";
  for (char c : action + "/" + name) {
    id += std::isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '-';
  }
  return id;
}

std::string RoleLabel(const std::string& role) {
  if (role == "privacy-officer") return "個人情報保護管理者";
  if (role == "operator") return "担当者";
  if (role == "auditor") return "監査担当";
  return role;
}

std::string Jst(const std::string& instant) {
  if (instant.size() == 25 && instant.compare(19, 6, "+09:00") == 0) {
    return instant.substr(0, 10) + " " + instant.substr(11, 5) + " JST";
  }
  return ShowJst(instant);
}

}  // namespace itaku::gateway::console
