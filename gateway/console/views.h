// Building blocks of the console's pages as the "page" template reads them
// (templates.cc): sections with tables or text, and forms. Plain JSON, so a
// page handler states what it shows and never writes HTML itself.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "gateway/console/console_impl.h"

namespace itaku::gateway::console {

// A table cell: text, optionally a link and a CSS class.
Json Cell(const std::string& text, const std::string& href = "", const std::string& cls = "");
// A command's value as a cell: instants in JST, lists joined with "、".
Json Text(const Json& value);
// A section with a table (`columns` × `rows`, each row an array of cells),
// or `empty` when there are no rows.
Json Section(const std::string& heading, const std::string& sid,
             const std::vector<std::string>& columns, const Json& rows, const std::string& empty,
             const std::string& note = "");
// A section holding preformatted text.
Json Pre(const std::string& heading, const std::string& sid, const std::string& text);
Json Field(const std::string& name, const std::string& label, const std::string& type = "text",
           const std::string& value = "", const std::string& hint = "");
Json Select(const std::string& name, const std::string& label,
            const std::vector<std::pair<std::string, std::string>>& options,
            const std::string& selected = "");
// Checkboxes, one per option (value, text); those in `checked` ticked. The
// form sends each ticked value under `name`.
Json Checks(const std::string& name, const std::string& label,
            const std::vector<std::pair<std::string, std::string>>& options,
            const std::vector<std::string>& checked = {});
Json TextArea(const std::string& name, const std::string& label, const std::string& value = "");
// A POST form; its fields' ids are made unique on the page (FieldId).
Json Form(const std::string& heading, const std::string& action, Json fields,
          const std::string& button, const std::map<std::string, std::string>& hidden = {},
          bool multipart = false, const std::string& button_class = "");
// The "page" template's view.
Json View(Json sections, Json forms = Json::array(), const std::string& intro = "");

// Whether the visit's member may run `command` (policies/access_rules.h):
// a form for a step they may not take is not shown.
bool May(Visit& v, const std::string& command);
// A string value of a command's JSON ("" when absent or null; numbers as
// written).
std::string Str(const Json& j, const char* key);
// A list joined with "、"; field ids as their Japanese labels when `labels`.
std::string Joined(const Json& list, bool labels = false);
// A field id's Japanese label from the catalog (the id when unknown).
std::string Label(const std::string& field);

}  // namespace itaku::gateway::console
