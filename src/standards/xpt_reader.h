// Reads the dataset of a SAS transport file (version 5, as FDA receives them;
// version 8 too) through ReadStat, streaming: the description (name, label,
// variables' names, labels, types, lengths and formats) goes to the sink's
// Begin, each observation to Row as it is read, then End.
//
// Character values lose their trailing blanks (SAS pads them) and keep
// their bytes as the file has them (a transport file records no encoding);
// numbers are rounded to SAS's 15 significant digits; a numeric SAS missing
// (., .A-.Z, ._) becomes a missing value. Only the first dataset of a file
// is read (SDTM has one per file). The file is read through the Env.
#pragma once

#include <string>

#include "core/env.h"
#include "standards/dataset.h"

namespace trialcore::standards {

// InvalidArgument naming the file when it is not a SAS transport file, is
// truncated or does not parse; the sink's own errors come back as they are.
Status ReadXpt(Env* env, const std::string& path, DatasetWriter* sink);

}  // namespace trialcore::standards
