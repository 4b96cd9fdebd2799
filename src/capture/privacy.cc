#include "capture/privacy.h"

#include <algorithm>

namespace trialcore::capture {

study::Disclosure DisclosureTo(const study::Item& item, const std::vector<std::string>& roles) {
  if (item.identifying.empty()) return study::Disclosure::kFull;
  if (roles.empty()) return study::Disclosure::kHidden;
  study::Disclosure strictest = study::Disclosure::kFull;
  for (const std::string& role : roles) {
    auto it = item.identifying.find(role);
    if (it != item.identifying.end()) strictest = std::max(strictest, it->second);
  }
  return strictest;
}

Value Disclosed(const Value& value, study::Disclosure disclosure) {
  switch (disclosure) {
    case study::Disclosure::kFull:
      return value;
    case study::Disclosure::kYearOnly: {
      // Dates, partial dates and date-times all start with the year.
      if (!value.is_string()) return Value();
      const std::string& text = value.as_string();
      if (text.size() < 4 || !std::all_of(text.begin(), text.begin() + 4, [](char c) { return c >= '0' && c <= '9'; }))
        return Value();
      return text.substr(0, 4);
    }
    case study::Disclosure::kHidden:
      return Value();
  }
  return Value();
}

Withheld WithheldFrom(const study::Study& study, const std::vector<std::string>& roles) {
  Withheld out;
  for (const auto& form : study.forms) {
    for (const auto& group : form.groups) {
      for (const auto& item : group.items) {
        if (auto d = DisclosureTo(item, roles); d != study::Disclosure::kFull) out[form.id + "/" + item.id] = d;
      }
    }
  }
  return out;
}

}  // namespace trialcore::capture
