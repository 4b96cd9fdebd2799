// A small MADE-UP dictionary in MedDRA's layout, for the demo study and
// tests: MedDRA is licensed and cannot ship with trialcore.
//
// THE CODES ARE INVENTED FOR THE DEMO (all in 90000000-90999999, which
// MedDRA does not use) AND MUST NEVER BE USED FOR REAL CODING. The term names
// look like MedDRA's English terms so that a demo reads naturally; the
// hierarchy is a simplified likeness, not MedDRA's.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "safety/meddra.h"

namespace trialcore::safety {

// A version number no MedDRA release has had (they run 1.0 to 28.x), in
// MedDRA's N.N form, since ICSRs carry it (E2B(R3) E.i.2.1a, at most four
// characters): a demo case's report validates like a real one.
inline constexpr char kDemoMeddraVersion[] = "90.0";
inline constexpr char kDemoMeddraLanguage[] = "en";

// Version "90.0", language "en": 15 SOCs, and the PTs and LLTs (synonyms,
// spelling variants, some non-current) a demo cardiovascular/metabolic study
// records, each PT with its primary path and some with secondary paths in
// another SOC. MeddraDictionary::Build accepts it.
MeddraTables DemoMeddraTables();

// The text of one table of `tables` ("llt.asc", ..., "meddra_release.asc") as
// MedDRA's ASCII distribution lays it out: the file's '$'-delimited fields,
// every line ending in '$' and LF; fields this library does not read are left
// empty (mdhier.asc repeats the term names). ParseMeddraTable reads it back
// to the same rows. Empty for a name that is not a MedDRA table.
std::string MeddraTableText(const MeddraTables& tables, std::string_view file);

// What ReadMeddraAscii would record had the tables been read from files
// written with MeddraTableText: the nine tables and meddra_release.asc, each
// with the SHA-256 and size of its text. For rows that came from no file (the
// demo dictionary) and are stored with StoreMeddraVersion.
std::vector<MeddraSourceFile> MeddraTablesFiles(const MeddraTables& tables);

}  // namespace trialcore::safety
