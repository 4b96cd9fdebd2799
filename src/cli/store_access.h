// Opening a store and choosing a study, with the messages a person needs.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "cli/commands.h"
#include "store/event_store.h"

namespace trialcore::cli {

// Who holds the store open: a command that reads as much as it needs and
// exits, or a server whose memory must stay bounded however long it runs.
enum class StoreUse { kCommand, kServer };
// Opens an existing database; NotFound says how to create one.
Result<std::unique_ptr<EventStore>> OpenExisting(const std::string& db, Env* env, StoreUse use = StoreUse::kCommand);
// Opens the database, making it when it does not exist.
Result<std::unique_ptr<EventStore>> OpenOrCreate(const std::string& db, Env* env);
// The study named, or the only one in the database; errors name db, the
// database's path.
Result<std::string> ChooseStudy(EventStore& store, const std::string& db, const std::optional<std::string>& study);
// Writes to the file atomically, or to ctx.out when no file is given.
Status WriteOutput(const std::optional<std::string>& file, const std::string& text, Context& ctx);

}  // namespace trialcore::cli
