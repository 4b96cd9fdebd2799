// Writing XML and SVG: text and attribute values with &, <, > and " escaped.
#pragma once

#include <string>
#include <string_view>

namespace trialcore {

std::string XmlEscape(std::string_view text);

}  // namespace trialcore
