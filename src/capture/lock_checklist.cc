#include "capture/lock_checklist.h"

#include <set>

namespace trialcore::capture {
namespace {

std::string Text(const Value& v) { return v.is_string() ? v.as_string() : ""; }
int64_t Int(const Value& v) { return v.kind() == Value::Kind::kInt ? v.as_int() : 0; }

// One item: its count and its first `listed` rows, from one condition on one
// table. `columns` are subject, visit, form, detail (as SQL expressions).
Status ReadItem(EventStore* store, const std::string& study, const std::string& from_where, const std::string& columns,
                size_t listed, LockCheckItem* item) {
  const std::vector<Value> params{Value(study)};
  TC_RETURN_IF_ERROR(store->QueryProjections("SELECT count(*) " + from_where, params, [&](const ProjectionRow& r) {
    item->count = Int(r[0]);
    return Status::Ok();
  }));
  if (item->count == 0 || listed == 0) return Status::Ok();
  return store->QueryProjections(
      "SELECT " + columns + " " + from_where + " ORDER BY 1, 2, 3 LIMIT " + std::to_string(listed), params,
      [&](const ProjectionRow& r) {
        item->listed.push_back({Text(r[0]), Text(r[1]), Text(r[2]), Text(r[3])});
        return Status::Ok();
      });
}

// Broken signatures of `alias` (cap_signatures) that no later valid one of
// the same scope replaced.
std::string NotSignedAgain(const std::string& alias) {
  return alias + ".broken = 1 AND NOT EXISTS (SELECT 1 FROM cap_signatures t WHERE t.study = " + alias +
         ".study AND t.subject = " + alias + ".subject AND t.visit = " + alias + ".visit AND t.form = " + alias +
         ".form AND t.broken = 0 AND t.number > " + alias + ".number)";
}

}  // namespace

Result<LockChecklist> ReadLockChecklist(EventStore* store, const std::string& study, bool blinded, size_t listed) {
  LockChecklist c;
  auto item = [&](std::string id, std::string title, const std::string& from_where,
                  const std::string& columns) -> Status {
    LockCheckItem it;
    it.id = std::move(id);
    it.title = std::move(title);
    TC_RETURN_IF_ERROR(ReadItem(store, study, from_where, columns, listed, &it));
    c.items.push_back(std::move(it));
    return Status::Ok();
  };
  TC_RETURN_IF_ERROR(item("subjects_on_study", "Subjects still on study or in screening",
                          "FROM cap_subjects WHERE study = $1 AND inactive = 0 AND status IN ('screening', 'enrolled')",
                          "subject, '', '', status"));
  TC_RETURN_IF_ERROR(item("unsigned_casebooks", "Casebooks without a valid signature",
                          "FROM cap_subjects WHERE study = $1 AND inactive = 0 AND status <> 'screen_failed' AND "
                          "casebook_signed = 0",
                          "subject, '', '', status"));
  // A broken signature counts until the same scope is signed again.
  TC_RETURN_IF_ERROR(item("broken_signatures", "Broken signatures not signed again",
                          "FROM cap_signatures s WHERE s.study = $1 AND " + NotSignedAgain("s"),
                          "s.subject, s.visit, s.form, s.meaning"));
  // What the study's SDV plan asks to verify (every entered item without a
  // plan), of subjects not inactivated (screened in error).
  TC_RETURN_IF_ERROR(item("unverified_forms", "Forms with data the verification plan requires not yet verified",
                          "FROM cap_forms WHERE study = $1 AND sdv_pending = 1 AND subject NOT IN "
                          "(SELECT subject FROM cap_subjects WHERE study = $1 AND inactive = 1)",
                          "subject, visit, form, sdv"));
  // Queries on hidden items are counted for those who see them; a blinded
  // caller is told only that some remain.
  TC_RETURN_IF_ERROR(item("unresolved_queries", "Queries still open or answered",
                          std::string("FROM cap_queries WHERE study = $1 AND state IN ('open', 'answered')") +
                              (blinded ? " AND hidden = 0" : ""),
                          "subject, visit, form, item"));
  c.items.back().acceptable = false;
  if (blinded) {
    TC_RETURN_IF_ERROR(store->QueryProjections(
        "SELECT count(*) FROM cap_queries WHERE study = $1 AND state IN ('open', 'answered') AND hidden = 1",
        {Value(study)}, [&](const ProjectionRow& r) {
          c.hidden_queries_unresolved = Int(r[0]) > 0;
          return Status::Ok();
        }));
  }
  TC_RETURN_IF_ERROR(store->QueryProjections("SELECT locked FROM cap_study WHERE study = $1", {Value(study)},
                                             [&](const ProjectionRow& r) {
                                               c.locked = Int(r[0]) != 0;
                                               return Status::Ok();
                                             }));
  return c;
}

Status LockRefusal(const LockChecklist& checklist, const std::map<std::string, std::string>& accepted) {
  for (const auto& [id, reason] : accepted) {
    const LockCheckItem* found = nullptr;
    for (const auto& it : checklist.items) found = it.id == id ? &it : found;
    if (found == nullptr) {
      std::string known;
      for (const auto& it : checklist.items) known += (known.empty() ? "" : ", ") + it.id;
      return InvalidArgument("\"accept\" names \"" + id + "\", which is no item of the lock checklist (" + known + ")");
    }
    if (!found->acceptable) {
      return InvalidArgument(found->title + " cannot be accepted: they must be resolved before database lock");
    }
    if (reason.empty()) return InvalidArgument("accepting \"" + id + "\" needs a reason");
  }
  // The existing rule first, in its words: unresolved queries refuse the lock.
  for (const auto& it : checklist.items) {
    if (it.id == "unresolved_queries" && it.count > 0) {
      return FailedPrecondition(std::to_string(it.count) +
                                " queries are still open or answered; close them before database lock");
    }
  }
  if (checklist.hidden_queries_unresolved) {
    return FailedPrecondition(
        "the unblinded team's queries are not all closed yet; the database cannot be locked before they are");
  }
  std::string outstanding;
  for (const auto& it : checklist.items) {
    if (it.count == 0 || accepted.contains(it.id)) continue;
    outstanding += (outstanding.empty() ? "" : "; ") + it.title + ": " + std::to_string(it.count);
  }
  if (!outstanding.empty()) {
    return FailedPrecondition("the database lock checklist is not complete (" + outstanding +
                              "); resolve each item or accept it with a reason");
  }
  return Status::Ok();
}

std::map<std::string, std::string> AcceptedOutstanding(const LockChecklist& checklist,
                                                       const std::map<std::string, std::string>& accepted) {
  std::map<std::string, std::string> out;
  for (const auto& it : checklist.items) {
    if (it.count == 0) continue;
    if (auto a = accepted.find(it.id); a != accepted.end()) out[it.id] = a->second;
  }
  return out;
}

Result<std::vector<LockEvent>> ReadLockHistory(EventStore* store, const std::string& study) {
  EventFilter f;
  f.study = study;
  f.stream = "study";
  std::vector<LockEvent> out;
  TC_RETURN_IF_ERROR(store->ForEachEvent(f, [&](const Event& e) {
    if (e.type != "study.locked" && e.type != "study.unlocked") return Status::Ok();
    LockEvent l;
    l.locked = e.type == "study.locked";
    l.time_us = e.time_us;
    l.user = e.actor.user;
    l.role = e.actor.role;
    l.reason = e.reason;
    if (const Value* name = e.payload.Find("signer_name"); name != nullptr) l.signer_name = Text(*name);
    if (const Value* a = e.payload.Find("accepted"); a != nullptr && a->is_object()) {
      for (const auto& [id, why] : a->as_object()) l.accepted[id] = Text(why);
    }
    out.push_back(std::move(l));
    return Status::Ok();
  }));
  return out;
}

Result<AwaitingSignature> ReadAwaitingSignature(EventStore* store, const std::string& study, const Viewer& viewer,
                                                size_t listed) {
  // The viewer's sites as parameters after the study's ($1).
  std::vector<Value> params{Value(study)};
  auto sites = [&](const std::string& column) {
    if (viewer.all_sites) return std::string();
    std::string in = " AND " + column + " IN (NULL";
    for (const std::string& site : viewer.sites) {
      params.emplace_back(site);
      in += ", $" + std::to_string(params.size());
    }
    return in + ")";
  };
  const std::string casebooks =
      "SELECT subject, '' AS visit, '' AS form, 'casebook' AS detail FROM cap_subjects "
      "WHERE study = $1 AND status IN ('completed', 'withdrawn') AND casebook_signed = 0" +
      sites("site");
  const std::string broken =
      "SELECT s.subject, s.visit, s.form, 'broken' FROM cap_signatures s WHERE s.study = $1 AND " +
      NotSignedAgain("s") + sites("s.site");
  const std::string all = "(" + casebooks + " UNION ALL " + broken + ") AS awaiting";
  AwaitingSignature out;
  TC_RETURN_IF_ERROR(store->QueryProjections("SELECT count(*) FROM " + all, params, [&](const ProjectionRow& r) {
    out.total = Int(r[0]);
    return Status::Ok();
  }));
  TC_RETURN_IF_ERROR(store->QueryProjections(
      "SELECT subject, visit, form, detail FROM " + all + " ORDER BY 1, 2, 3 LIMIT " + std::to_string(listed), params,
      [&](const ProjectionRow& r) {
        out.listed.push_back({Text(r[0]), Text(r[1]), Text(r[2]), Text(r[3])});
        return Status::Ok();
      }));
  return out;
}

}  // namespace trialcore::capture
