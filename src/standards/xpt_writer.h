// SDTM datasets as SAS transport files, version 5 (what FDA accepts), written
// through ReadStat one row at a time.
//
// ReadStat silently truncates what does not fit version 5, so the writer
// checks the limits itself before anything is written, and refuses with an
// error naming the dataset, the variable and the row:
//   - dataset and variable names: 1 to 8 characters, uppercase letters,
//     digits and underscore, starting with a letter;
//   - dataset and variable labels: at most 40 characters;
//   - character variables: a length of 1 to 200 bytes, and no value longer
//     than 200 bytes or than the variable's length;
//   - names, labels and values in ASCII only: FDA's rule; a non-ASCII value
//     is refused, named, never transliterated or dropped;
//   - display formats: a name of at most 8 characters.
// Numeric values are doubles; a missing numeric value is SAS's missing (.);
// a missing character value is blank. Dates stay character ISO 8601, as SDTM
// keeps them.
#pragma once

#include <memory>
#include <string>

#include "core/env.h"
#include "standards/dataset.h"

namespace trialcore::standards {

inline constexpr size_t kXptMaxNameLength = 8;
inline constexpr size_t kXptMaxLabelLength = 40;
inline constexpr size_t kXptMaxValueBytes = 200;

// OK, or InvalidArgument naming the dataset and the variable that break a
// limit above (every check that needs no row).
Status CheckXptDescription(const DatasetDescription& description);

// Writes "<path>.tmp" and renames it over path at End(); an error at any
// point removes the temporary file. The rows are counted, never kept.
std::unique_ptr<DatasetWriter> NewXptWriter(Env* env, std::string path);

}  // namespace trialcore::standards
