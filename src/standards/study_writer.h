// A study file from a study built in memory (by an import): YAML that
// study::LoadStudy reads back, written with yaml-cpp's emitter so that ids,
// labels and expressions are quoted wherever YAML needs it.
#pragma once

#include <string>
#include <string_view>

#include "study/study.h"

namespace trialcore::standards {

// Writes the parts an import fills: the study header, code lists (with their
// OIDs), anchor, visit_date, visits, forms (groups, items, checks) and, when
// present, arms and sites. Each line of `header_comment` becomes a leading
// "# " comment. Locations, compiled expressions and the hash are ignored.
std::string WriteStudyYaml(const study::Study& study, std::string_view header_comment = "");

}  // namespace trialcore::standards
