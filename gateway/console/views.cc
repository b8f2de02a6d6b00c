#include "gateway/console/views.h"

#include <algorithm>

#include "policies/access_rules.h"
#include "policies/catalog.h"

namespace itaku::gateway::console {

Json Cell(const std::string& text, const std::string& href, const std::string& cls) {
  return {{"text", text}, {"href", href}, {"cls", cls}};
}

Json Text(const Json& j) {
  if (j.is_string()) return Cell(Jst(j.get<std::string>()));
  if (j.is_null()) return Cell("");
  if (j.is_array()) return Cell(Joined(j));
  return Cell(j.dump());
}

Json Section(const std::string& heading, const std::string& sid,
             const std::vector<std::string>& columns, const Json& rows, const std::string& empty,
             const std::string& note) {
  Json cols = Json::array();
  for (const auto& c : columns) cols.push_back({{"label", c}});
  Json r = Json::array();
  for (const auto& row : rows) r.push_back({{"cells", row}});
  // Every key the template reads is set, so none is looked up in an outer
  // view by accident (mustache falls back to enclosing contexts).
  return {{"heading", heading},
          {"sid", sid},
          {"columns", cols},
          {"rows", r},
          {"has_rows", !r.empty()},
          {"table", !cols.empty()},
          {"empty", empty},
          {"note", note},
          {"pre", ""},
          {"link", ""},
          {"link_href", ""}};
}

Json Pre(const std::string& heading, const std::string& sid, const std::string& text) {
  Json s = Section(heading, sid, {}, Json::array(), "");
  s["has_rows"] = true;  // no "empty" line: the text is the content
  s["pre"] = text;
  return s;
}

Json Field(const std::string& name, const std::string& label, const std::string& type,
           const std::string& value, const std::string& hint) {
  return {{"id", "f-" + name},        {"name", name},      {"label", label},  {"type", type},
          {"value", value},           {"input", true},     {"select", false}, {"textarea", false},
          {"options", Json::array()}, {"multiple", false}, {"hint", hint},    {"field_error", ""},
          {"checks", false}};
}

Json Select(const std::string& name, const std::string& label,
            const std::vector<std::pair<std::string, std::string>>& options,
            const std::string& selected) {
  Json f = Field(name, label);
  f["input"] = false;
  f["select"] = true;
  for (const auto& [value, text] : options) {
    f["options"].push_back({{"value", value}, {"text", text}, {"selected", value == selected}});
  }
  return f;
}

Json Checks(const std::string& name, const std::string& label,
            const std::vector<std::pair<std::string, std::string>>& options,
            const std::vector<std::string>& checked) {
  Json f = Field(name, label);
  f["input"] = false;
  f["checks"] = true;
  for (const auto& [value, text] : options) {
    const bool on = std::find(checked.begin(), checked.end(), value) != checked.end();
    f["options"].push_back(
        {{"value", value}, {"text", text}, {"selected", on}, {"oname", name}, {"oid", ""}});
  }
  return f;
}

Json TextArea(const std::string& name, const std::string& label, const std::string& value) {
  Json f = Field(name, label, "text", value);
  f["input"] = false;
  f["textarea"] = true;
  f["rows"] = "16";  // a page's form may make it shorter
  return f;
}

Json Form(const std::string& heading, const std::string& action, Json fields,
          const std::string& button, const std::map<std::string, std::string>& hidden,
          bool multipart, const std::string& button_class) {
  Json h = Json::array();
  for (const auto& [k, val] : hidden) h.push_back({{"name", k}, {"value", val}});
  for (auto& f : fields) {
    f["id"] = FieldId(action, f["name"].get<std::string>());
    if (!f.value("checks", false)) continue;
    // Each box its own id, so each label names its box.
    int n = 0;
    for (auto& o : f["options"]) o["oid"] = f["id"].get<std::string>() + "-" + std::to_string(++n);
  }
  return {{"heading", heading},     {"action", action},
          {"fields", fields},       {"hidden", h},
          {"button", button},       {"button_class", button_class},
          {"multipart", multipart}, {"progress", "upload-progress"},
          {"form_error", ""}};
}

Json View(Json sections, Json forms, const std::string& intro) {
  return {{"sections", sections}, {"forms", forms}, {"intro", intro}, {"error_text", ""}};
}

bool May(Visit& v, const std::string& command) {
  const auto access = policies::CommandAccess(command);
  return access && policies::AccessRefusal(command, *access, v.session->staff()->role).empty();
}

std::string Str(const Json& j, const char* key) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return "";
  return j[key].is_string() ? j[key].get<std::string>() : j[key].dump();
}

std::string Joined(const Json& list, bool labels) {
  std::string out;
  if (!list.is_array()) return out;
  for (const auto& e : list) {
    std::string one = e.is_string() ? e.get<std::string>() : e.dump();
    if (labels) one = Label(one);
    out += (out.empty() ? "" : "、") + one;
  }
  return out;
}

std::string Label(const std::string& field) {
  const auto* f = policies::FindField(field);
  return f ? std::string(f->label) : field;
}

}  // namespace itaku::gateway::console
