#include "cli/store_access.h"

#include <cstdlib>
#include <ostream>

#include "store/open_store.h"

namespace trialcore::cli {

Result<std::unique_ptr<EventStore>> OpenExisting(const std::string& db, Env* env, StoreUse use) {
  const std::string how_to_create = " (create the demo one with `trialcore demo --db " + db + "`)";
  if (!IsPostgresUrl(db) && !env->FileExists(db)) return NotFound("database " + db + " does not exist" + how_to_create);
  StoreOpenOptions o;
  o.env = env;
  o.create_if_missing = false;
  o.bounded_memory = use == StoreUse::kServer;
  auto store = OpenEventStore(db, o);
  if (store.status().code() == StatusCode::kNotFound) return NotFound(store.status().message() + how_to_create);
  return store;
}

Result<std::unique_ptr<EventStore>> OpenOrCreate(const std::string& db, Env* env) {
  StoreOpenOptions o;
  o.env = env;
  return OpenEventStore(db, o);
}

Result<std::string> ChooseStudy(EventStore& store, const std::string& db, const std::optional<std::string>& study) {
  TC_ASSIGN_OR_RETURN_CTX(auto heads, store.Heads(), "listing the studies of " + db);
  if (study) {
    TC_RETURN_IF_ERROR(ValidateStudyId(*study));
    for (const auto& h : heads) {
      if (h.study == *study) return *study;
    }
    return NotFound("database " + db + " has no study " + *study);
  }
  // The system's logs (users and logins, MedDRA) are chosen only by name.
  std::erase_if(heads, [](const StudyHead& h) { return IsSystemLog(h.study); });
  if (heads.empty()) return NotFound("database " + db + " has no study yet");
  if (heads.size() > 1) {
    std::string names;
    for (const auto& h : heads) names += (names.empty() ? "" : ", ") + h.study;
    return InvalidArgument("database " + db + " holds studies " + names + ": choose one with --study");
  }
  return heads[0].study;
}

Status WriteOutput(const std::optional<std::string>& file, const std::string& text, Context& ctx) {
  if (!file) {
    ctx.out << text;
    return Status::Ok();
  }
  return ctx.env->WriteFileAtomically(*file, text).WithContext("writing " + *file);
}

std::string DefaultKeyPath() {
  if (const char* k = std::getenv("TRIALCORE_KEY"); k && *k) return k;
  if (const char* home = std::getenv("HOME"); home && *home) return std::string(home) + "/.trialcore/signing-key.pem";
  return ".trialcore-signing-key.pem";
}

}  // namespace trialcore::cli
