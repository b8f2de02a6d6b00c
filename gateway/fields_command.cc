// `itaku fields`: the field catalog (policy 1) and the purposes (2(3)) as
// the policies library holds them, so the reference a reader needs is the
// code's own and never drifts from it.
#include <string>

#include "gateway/commands.h"
#include "policies/catalog.h"

namespace itaku::gateway {

Output Fields() {
  nlohmann::json fields = nlohmann::json::array();
  std::string text = "id\tlabel\tclass\tpurposes\n";
  for (const auto& f : policies::Catalog()) {
    nlohmann::json purposes = nlohmann::json::array();
    std::string names;
    for (const auto& p : policies::Purposes()) {
      for (const auto& id : p.fields) {
        if (id != f.id) continue;
        purposes.push_back(p.id);
        names += (names.empty() ? "" : ",") + std::string(p.id);
      }
    }
    fields.push_back({{"id", f.id},
                      {"label", f.label},
                      {"class", policies::ToString(f.cls)},
                      {"purposes", purposes}});
    text += std::string(f.id) + "\t" + std::string(f.label) + "\t" +
            std::string(policies::ToString(f.cls)) + "\t" + (names.empty() ? "-" : names) + "\n";
  }
  nlohmann::json purposes = nlohmann::json::array();
  text += "\npurpose\tclause\tdescription\n";
  for (const auto& p : policies::Purposes()) {
    purposes.push_back(
        {{"id", p.id}, {"clause", p.clause}, {"description", p.description}, {"fields", p.fields}});
    text +=
        std::string(p.id) + "\t" + std::string(p.clause) + "\t" + std::string(p.description) + "\n";
  }
  text +=
      "\nstatistics receives subscriber_id only as a keyed pseudonym, postal_code only as its "
      "first 3 digits and birth_date only as its year (masks).";
  return Output{{{"fields", fields}, {"purposes", purposes}}, text};
}

}  // namespace itaku::gateway
