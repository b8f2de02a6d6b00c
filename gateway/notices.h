// The texts of the notices of policy 6(3)-(4), in Japanese: the instruction
// to a contractor (委託先への指示) and the outcome notice to the subscriber
// who asked (申出者への結果通知), sent by e-mail (gateway/mail.h) or, when
// there is no e-mail address, printed as a letter for the post (letters.h).
//
// Templates hold {{key}} placeholders. The operator may replace a built-in
// template with a file of its own; RenderTemplate() refuses a template with
// an unknown or unclosed placeholder, so a typo in an edited file is caught
// before anything is sent. Error messages name the template, the file and
// the placeholder, never the values filled in (which hold personal data).
#pragma once

#include <map>
#include <string>

#include "contracts/base/status.h"

namespace itaku::gateway {

struct NoticeTemplate {
  std::string subject;
  std::string body;
};

// Built-in templates, by name:
//   "instruction" — to the contractor: the operator instructs it to change
//     its handling. Placeholders: {{contractor_name}} {{request_id}}
//     {{instruction_text}} {{received_on}} {{operator_name}}.
//   "outcome" — to the subscriber who asked: whether their request was
//     carried out, and the reason when not (policy 6(4)). Placeholders:
//     {{subscriber_name}} {{request_text}} {{received_on}}
//     {{contractor_name}} {{outcome}} (e.g. 対応いたしました /
//     対応いたしませんでした) {{reason}} {{operator_name}}.
// When `override_dir` is not empty and holds "<name>.txt", that file is used
// instead. Its format (UTF-8, LF or CRLF, an optional BOM):
//   件名: <subject>          ("Subject: " and "件名：" are accepted too)
//   <empty line>
//   <body ...>
// Errors: an unknown name without an override file, an unreadable file, or a
// file not in that format (naming the file and the line).
Result<NoticeTemplate> LoadTemplate(const std::string& name, const std::string& override_dir);

// Replaces every {{key}} (spaces inside the braces allowed) in the subject
// and body with values.at(key), in one pass: values are not scanned again.
// An unknown key or a "{{" without "}}" is an error naming the template
// (`name`), the part and line, and the key, e.g.
//   template "outcome": unknown placeholder {{reasn}} in the body, line 12
Result<NoticeTemplate> RenderTemplate(const std::string& name, const NoticeTemplate& t,
                                      const std::map<std::string, std::string>& values);

}  // namespace itaku::gateway
