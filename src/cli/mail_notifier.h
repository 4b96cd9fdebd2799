// The notifier of unblinded contacts as `notify send` and `serve --smtp` set
// it up: the real clock, problems reported on ctx.err.
#pragma once

#include <memory>
#include <string>

#include "cli/commands.h"
#include "notify/notifier.h"

namespace trialcore::cli {

// InvalidArgument names --smtp or --mail-from for a bad URL or address.
Result<std::unique_ptr<notify::Notifier>> MakeNotifier(EventStore* store, const std::string& smtp_url,
                                                       const std::string& mail_from, Context& ctx);

}  // namespace trialcore::cli
