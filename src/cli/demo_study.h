// The demo study CDISCPILOT01 (studies/cdiscpilot01.yaml), built into the binary.
#pragma once

namespace trialcore::cli {

const char* DemoStudyYaml();
inline constexpr char kDemoStudyName[] = "studies/cdiscpilot01.yaml (built in)";

}  // namespace trialcore::cli
