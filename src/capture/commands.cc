// Every capture command but form saves: subject status, queries, source data
// verification, freeze and lock, signatures, missed visits, removed rows.
#include <algorithm>

#include "capture/blinding.h"
#include "capture/impl.h"
#include "capture/lock_checklist.h"
#include "capture/reads.h"
#include "capture/sae_reaction.h"

namespace trialcore::capture {

Result<std::string> RequiredText(const Value& cmd, std::string_view field) {
  const Value* v = cmd.Find(field);
  if (v == nullptr || v->is_null()) return InvalidArgument("missing field \"" + std::string(field) + "\"");
  if (!v->is_string()) return InvalidArgument("field \"" + std::string(field) + "\" must be text");
  if (v->as_string().empty()) return InvalidArgument("field \"" + std::string(field) + "\" is empty");
  return v->as_string();
}

std::string OptionalText(const Value& cmd, std::string_view field) {
  const Value* v = cmd.Find(field);
  return v != nullptr && v->is_string() ? v->as_string() : "";
}

Status OnlyFields(const Value& cmd, std::initializer_list<std::string_view> allowed) {
  if (!cmd.is_object()) return InvalidArgument("a command must be a JSON object");
  for (const auto& [k, v] : cmd.as_object()) {
    if (std::find(allowed.begin(), allowed.end(), k) == allowed.end()) {
      std::string list;
      for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
      return InvalidArgument("unknown field \"" + k + "\" (allowed: " + list + ")");
    }
    if (k != "items" && k != "rows" && k != "not_done" && k != "row" && k != "query" && k != "accept" && k != "llt" &&
        k != "submission" && k != "errors" && k != "reporter" && k != "patient" && k != "event" && k != "report" &&
        v.kind() != Value::Kind::kString) {
      return InvalidArgument("field \"" + k + "\" must be text");
    }
  }
  return Status::Ok();
}

Status RequireRole(const Actor& actor, std::initializer_list<std::string_view> roles, std::string_view what) {
  if (std::find(roles.begin(), roles.end(), actor.role) != roles.end()) return Status::Ok();
  std::string list;
  for (auto r : roles) list += (list.empty() ? "" : ", ") + std::string(r);
  return PermissionDenied("role " + (actor.role.empty() ? std::string("(none)") : actor.role) + " may not " +
                          std::string(what) + " (allowed: " + list + ")");
}

Status CheckVisitDateFirst(const study::Study& study, const SubjectState& s, const std::string& visit,
                           const std::string& form) {
  const study::ItemRef& date = study.visit_date;
  if (!study.visit_date_first || form == date.form) return Status::Ok();
  auto inst = study.FindVisitInstance(visit);
  if (!inst.ok()) return Status::Ok();  // the caller names an unknown visit
  const std::vector<std::string>& forms = inst->visit->forms;
  if (std::find(forms.begin(), forms.end(), date.form) == forms.end()) return Status::Ok();
  if (auto v = s.visits.find(visit); v != s.visits.end()) {
    if (auto f = v->second.forms.find(date.form); f != v->second.forms.end()) {
      const ItemState* d = f->second.Find(date.item);
      if (d != nullptr && !d->value.is_null()) return Status::Ok();
    }
  }
  const study::Form* date_form = study.FindForm(date.form);
  const study::Item* date_item = date_form == nullptr ? nullptr : date_form->FindItem(date.item);
  const std::string what = date_item != nullptr ? date_item->label : date.item;
  return FailedPrecondition("enter the visit date first: " + visit + " has no " + what + " yet (form " +
                            (date_form != nullptr ? date_form->name : date.form) +
                            "), and this study takes no other form of a visit before its date");
}

namespace {

// One answer for every command a locked database refuses, saying what ends it.
Status DatabaseLockedError() {
  return FailedPrecondition("the study database is locked; nothing can change until it is unlocked");
}

}  // namespace

Status Capture::Impl::CheckWritable(const SubjectState& s, const std::string& visit, const std::string& form) const {
  switch (WhyReadOnly(state_.locked, s, visit, form)) {
    case ReadOnly::kNone:
      return Status::Ok();
    case ReadOnly::kDatabaseLocked:
      return DatabaseLockedError();
    case ReadOnly::kSubjectInactive:
      return FailedPrecondition("subject " + s.id + " is inactivated (" + s.inactive_reason + ")");
    case ReadOnly::kSubjectLocked:
      return FailedPrecondition("subject " + s.id + " is locked");
    case ReadOnly::kSubjectFrozen:
      return FailedPrecondition("subject " + s.id + " is frozen");
    case ReadOnly::kFormLocked:
      return FailedPrecondition(visit + "/" + form + " is locked");
    case ReadOnly::kFormFrozen:
      return FailedPrecondition(visit + "/" + form + " is frozen");
    case ReadOnly::kVisitMissed:
      return FailedPrecondition("visit " + visit + " is marked missed");
  }
  return Status::Ok();
}

namespace {

const std::initializer_list<std::string_view> kSiteRoles = {"coordinator", "investigator"};
const std::initializer_list<std::string_view> kReviewRoles = {"monitor", "data_manager", "medical_monitor"};
const std::initializer_list<std::string_view> kManagerRoles = {"data_manager", "study_admin"};

// Subject identifiers are pseudonyms such as 701-1015: letters, digits and
// '-', with at least one digit, so that no name can be stored as one.
Status ValidateSubjectId(const std::string& id) {
  bool digit = false, ok = !id.empty() && id.size() <= 32;
  for (char c : id) {
    digit = digit || (c >= '0' && c <= '9');
    ok = ok && ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '-');
  }
  if (!ok || !digit) {
    return InvalidArgument("subject id \"" + id +
                           "\" must be a pseudonym of letters, digits and '-' (at most 32, "
                           "at least one digit), never a name");
  }
  return Status::Ok();
}

}  // namespace

Result<Outcome> Capture::Impl::Execute(const Value& cmd, const Actor& actor) {
  if (!cmd.is_object()) return InvalidArgument("a command must be a JSON object with \"op\"");
  TC_ASSIGN_OR_RETURN(std::string op, RequiredText(cmd, "op"));
  // No catch-up read here: a stale state cannot commit (see Commit).
  if (study_ == nullptr) TC_RETURN_IF_ERROR(CatchUp());
  if (study_ == nullptr)
    return FailedPrecondition("study " + study_id_ + " has no published version; publish it first");
  if (op == "form.save" || op == "form.check") return SaveForm(cmd, actor);
  if (op == "subject.inactivate" || op == "subject.reactivate") return InactivateCommand(op, cmd, actor);
  if (op.starts_with("subject.") && op != "subject.freeze" && op != "subject.unfreeze" && op != "subject.lock" &&
      op != "subject.unlock") {
    return SubjectCommand(op, cmd, actor);
  }
  if (op.starts_with("query.")) return QueryCommand(op, cmd, actor);
  if (op == "sdv.verify") return SdvCommand(cmd, actor);
  if (op.ends_with(".freeze") || op.ends_with(".unfreeze") || op.ends_with(".lock") || op.ends_with(".unlock")) {
    return FreezeLockCommand(op, cmd, actor);
  }
  if (op == "sign") return SignCommand(cmd, actor);
  if (op == "visit.missed") return VisitMissed(cmd, actor);
  if (op == "row.remove") return RemoveRow(cmd, actor);
  if (op == "safety.receive" || op == "safety.update" || op == "safety.import") {
    return DirectCaseCommand(op, cmd, actor);
  }
  if (op == "safety.recode") return SafetyRecodeCommand(cmd, actor);
  if (op.starts_with("safety.")) return SafetyCommand(op, cmd, actor);
  if (op == "ae.code") return AeCodeCommand(cmd, actor);
  return InvalidArgument("unknown op \"" + op + "\" (see doc/capture_commands.md)");
}

Result<Outcome> Capture::Impl::SubjectCommand(const std::string& op, const Value& cmd, const Actor& actor) {
  TC_RETURN_IF_ERROR(RequireRole(actor, kSiteRoles, op));
  Outcome out;
  if (op == "subject.screen") return ScreenSubject(cmd, actor);
  TC_RETURN_IF_ERROR(OnlyFields(cmd, {"op", "subject", "reason"}));
  TC_ASSIGN_OR_RETURN(std::string id, RequiredText(cmd, "subject"));
  TC_ASSIGN_OR_RETURN(const SubjectState* s, FindSubject(id));
  TC_RETURN_IF_ERROR(CheckWritable(*s, "", ""));
  std::string reason = OptionalText(cmd, "reason");
  std::string status, type;
  std::vector<std::string> from;
  Value::Object extra;
  if (op == "subject.enroll") {
    status = "enrolled";
    type = "subject.enrolled";
    from = {"screening"};
    EligibilityResult e = Eligibility(*s);
    if (e.overall != Eligibility::kEligible) return FailedPrecondition("subject " + id + " is " + e.Summary());
    Value::Object crit;
    for (const auto& c : e.criteria) crit[c.id] = c.met == rules::Truth::kTrue;
    extra["criteria"] = crit;
    if (reason.empty()) reason = "eligible: all criteria assessed";
  } else if (op == "subject.screen_fail") {
    status = "screen_failed";
    type = "subject.screen_failed";
    from = {"screening"};
    if (reason.empty()) return FailedPrecondition("a screen failure needs a reason");
  } else if (op == "subject.withdraw") {
    status = "withdrawn";
    type = "subject.withdrawn";
    from = {"screening", "enrolled"};
    if (reason.empty()) return FailedPrecondition("a withdrawal needs a reason");
  } else if (op == "subject.complete") {
    status = "completed";
    type = "subject.completed";
    from = {"enrolled"};
    if (reason.empty()) reason = "study completed";
  } else {
    return InvalidArgument("unknown op \"" + op + "\"");
  }
  if (std::find(from.begin(), from.end(), s->status) == from.end()) {
    return FailedPrecondition("subject " + id + " is " + s->status + "; " + op + " needs it to be " + from[0] +
                              (from.size() > 1 ? " or " + from[1] : ""));
  }
  std::string stream = SubjectStream(id);
  extra["status"] = status;
  extra["set"] = Value::Object{{stream + "/status", status}};
  auto d = Draft(stream, type, actor, reason, extra);
  TC_ASSIGN_OR_RETURN(out.events, Commit(stream, s->version, {d}));
  out.messages.push_back("subject " + id + " is " + status);
  return out;
}

Result<std::string> Capture::Impl::SubjectNumberFor(const std::string& typed, const std::string& site) {
  if (!study_->subject_numbering) {
    if (typed.empty()) return InvalidArgument("missing field \"subject\": this study does not number subjects itself");
    TC_RETURN_IF_ERROR(ValidateSubjectId(typed));
    return typed;
  }
  const study::SubjectNumbering& scheme = *study_->subject_numbering;
  const std::string prefix = scheme.site_prefix ? site + "-" : "";
  auto numbered = [&](int64_t n) {
    std::string digits = std::to_string(n);
    if (digits.size() < static_cast<size_t>(scheme.digits)) digits.insert(0, scheme.digits - digits.size(), '0');
    return prefix + digits;
  };
  if (!typed.empty()) {
    // A number typed by hand (a data migration) must still be one the scheme gives.
    const bool fits = typed.size() == prefix.size() + static_cast<size_t>(scheme.digits) && typed.starts_with(prefix) &&
                      std::all_of(typed.begin() + static_cast<std::ptrdiff_t>(prefix.size()), typed.end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
    if (!fits) {
      return InvalidArgument("subject number \"" + typed + "\" does not follow this study's numbering: " +
                             (scheme.site_prefix ? "the site, '-', then " : "") + std::to_string(scheme.digits) +
                             " digits, such as " + numbered(scheme.first) +
                             " (leave it out and the number is assigned)");
    }
    return typed;
  }
  // The site's sequence goes on from the subjects it has ever had, the
  // inactivated included, so that a number is never given twice; numbers
  // typed by hand may have taken some of the next ones.
  TC_ASSIGN_OR_RETURN(int64_t screened, CountSubjectsAt(store_, study_id_, scheme.site_prefix ? site : ""));
  for (int64_t n = scheme.first + screened;; ++n) {
    std::string id = numbered(n);
    if (id.size() > prefix.size() + static_cast<size_t>(scheme.digits)) {
      return FailedPrecondition("the subject numbers of " + (scheme.site_prefix ? "site " + site : "the study") +
                                " are used up (" + std::to_string(scheme.digits) + " digits)");
    }
    auto existing = FindSubject(id);
    if (existing.status().code() == StatusCode::kNotFound) return id;
    if (!existing.ok()) return existing.status();
  }
}

Result<Outcome> Capture::Impl::ScreenSubject(const Value& cmd, const Actor& actor) {
  TC_RETURN_IF_ERROR(OnlyFields(cmd, {"op", "subject", "site"}));
  TC_ASSIGN_OR_RETURN(std::string site, RequiredText(cmd, "site"));
  if (state_.locked) return DatabaseLockedError();
  if (!study_->sites.empty() &&
      std::none_of(study_->sites.begin(), study_->sites.end(), [&](const study::Site& s) { return s.id == site; })) {
    return NotFound("unknown site " + site);
  }
  const Value* typed = cmd.Find("subject");
  if (typed != nullptr && !typed->is_null() && !typed->is_string())
    return InvalidArgument("field \"subject\" must be text");
  TC_ASSIGN_OR_RETURN(std::string id, SubjectNumberFor(OptionalText(cmd, "subject"), site));
  if (auto existing = FindSubject(id); existing.ok()) {
    return AlreadyExists("subject " + id + " already exists");
  } else if (existing.status().code() != StatusCode::kNotFound) {
    return existing.status();
  }
  std::string stream = SubjectStream(id);
  auto d = Draft(stream, "subject.screened", actor, "",
                 Value::Object{{"subject", id},
                               {"site", site},
                               {"set", Value::Object{{stream + "/status", "screening"}, {stream + "/site", site}}}});
  Outcome out;
  // Two screenings at once may pick the same number: the second commit
  // finds the stream begun and is refused (Aborted: retry).
  TC_ASSIGN_OR_RETURN(out.events, Commit(stream, 0, {d}));
  out.result = Value::Object{{"subject", id}};
  out.messages.push_back("subject " + id + " screened at site " + site);
  return out;
}

Result<Outcome> Capture::Impl::InactivateCommand(const std::string& op, const Value& cmd, const Actor& actor) {
  const bool inactivate = op == "subject.inactivate";
  TC_RETURN_IF_ERROR(RequireRole(actor, {"coordinator", "investigator", "data_manager"},
                                 inactivate ? "inactivate a subject" : "reactivate a subject"));
  TC_RETURN_IF_ERROR(OnlyFields(cmd, {"op", "subject", "reason"}));
  TC_ASSIGN_OR_RETURN(std::string id, RequiredText(cmd, "subject"));
  const std::string reason = OptionalText(cmd, "reason");
  if (reason.empty()) {
    return FailedPrecondition(std::string(inactivate ? "inactivating" : "reactivating") +
                              " a subject needs a reason (kept in the audit trail)");
  }
  TC_ASSIGN_OR_RETURN(const SubjectState* s, FindSubject(id));
  if (state_.locked) return DatabaseLockedError();
  if (s->locked) return FailedPrecondition("subject " + id + " is locked");
  if (s->inactive == inactivate)
    return FailedPrecondition("subject " + id + " is already " + (inactivate ? "inactivated" : "active"));
  if (inactivate) {
    // Its queries would otherwise wait for answers nobody is asked to give
    // and hold the database lock up.
    int unresolved = 0;
    for (const auto& [n, q] : s->queries) unresolved += q.unresolved();
    if (unresolved > 0) {
      return FailedPrecondition("subject " + id + " has " + std::to_string(unresolved) +
                                " open or answered queries; close or cancel them before inactivating it");
    }
  }
  std::string stream = SubjectStream(id);
  auto d = Draft(stream, inactivate ? "subject.inactivated" : "subject.reactivated", actor, reason,
                 Value::Object{{"set", Value::Object{{stream + "/inactive", inactivate}}}});
  Outcome out;
  TC_ASSIGN_OR_RETURN(out.events, Commit(stream, s->version, {d}));
  out.messages.push_back("subject " + id + (inactivate ? " inactivated: " : " reactivated: ") + reason);
  return out;
}

Status Capture::Impl::CheckReasonForChange(const std::string& reason) const {
  const std::vector<std::string>& standard = study_->reasons_for_change;
  if (standard.empty() || reason.empty()) return Status::Ok();
  if (std::find(standard.begin(), standard.end(), reason) != standard.end()) return Status::Ok();
  constexpr std::string_view kOther = "Other: ";
  if (reason.starts_with(kOther) && reason.find_first_not_of(' ', kOther.size()) != std::string::npos) {
    return Status::Ok();
  }
  std::string list;
  for (const auto& r : standard) list += (list.empty() ? "\"" : "; \"") + r + "\"";
  return InvalidArgument("the reason for change must be one of the study's reasons (" + list +
                         ") or \"Other: \" followed by your own words");
}

Result<Outcome> Capture::Impl::QueryCommand(const std::string& op, const Value& cmd, const Actor& actor) {
  Outcome out;
  if (op == "query.open") {
    TC_RETURN_IF_ERROR(RequireRole(actor, kReviewRoles, "raise a query"));
    TC_RETURN_IF_ERROR(OnlyFields(cmd, {"op", "subject", "visit", "form", "item", "group", "row", "message"}));
    TC_ASSIGN_OR_RETURN(std::string id, RequiredText(cmd, "subject"));
    TC_ASSIGN_OR_RETURN(std::string visit, RequiredText(cmd, "visit"));
    TC_ASSIGN_OR_RETURN(std::string form, RequiredText(cmd, "form"));
    TC_ASSIGN_OR_RETURN(std::string item, RequiredText(cmd, "item"));
    TC_ASSIGN_OR_RETURN(std::string message, RequiredText(cmd, "message"));
    TC_ASSIGN_OR_RETURN(const SubjectState* s, FindSubject(id));
    if (state_.locked) return DatabaseLockedError();
    const study::Form* f = study_->FindForm(form);
    const study::ItemGroup* g = nullptr;
    TC_RETURN_IF_ERROR(study_->FindVisitInstance(visit).status());
    // For a blinded role a hidden item does not exist: the same answer as for an unknown one.
    const bool hidden = HiddenItem(*study_, form, item);
    if (f == nullptr || f->FindItem(item, &g) == nullptr || (hidden && BlindedRole(actor.role))) {
      return NotFound("unknown item " + form + "." + item);
    }
    std::string group = OptionalText(cmd, "group");
    int row = 0;
    if (g->repeating) {
      const Value* r = cmd.Find("row");
      if (r == nullptr || r->kind() != Value::Kind::kInt)
        return InvalidArgument(item + " is in a repeating group; give \"row\"");
      group = g->id;
      row = static_cast<int>(r->as_int());
    }
    int n = NextQueryNumber(*s, hidden);
    std::string stream = SubjectStream(id);
    Value::Object p{{"query", static_cast<int64_t>(n)},
                    {"visit", visit},
                    {"form", form},
                    {"item", item},
                    {"message", message},
                    {"set", Value::Object{{stream + "/queries/" + std::to_string(n) + "/state", "open"}}}};
    if (!group.empty()) {
      p["group"] = group;
      p["row"] = static_cast<int64_t>(row);
    }
    TC_ASSIGN_OR_RETURN(out.events, Commit(stream, s->version, {Draft(stream, "query.opened", actor, "", p)}));
    out.result = Value::Object{{"query", static_cast<int64_t>(n)}};
    out.messages.push_back("query " + std::to_string(n) + " opened on " + visit + "/" + form + "/" + item);
    return out;
  }
  TC_RETURN_IF_ERROR(OnlyFields(cmd, {"op", "subject", "query", "message"}));
  TC_ASSIGN_OR_RETURN(std::string id, RequiredText(cmd, "subject"));
  TC_ASSIGN_OR_RETURN(const SubjectState* s, FindSubject(id));
  if (state_.locked) return DatabaseLockedError();
  const Value* qn = cmd.Find("query");
  if (qn == nullptr) return InvalidArgument("\"query\" must be the query's number");
  TC_ASSIGN_OR_RETURN(const int n, QueryNumber(*qn));
  auto qit = s->queries.find(n);
  // For a blinded role a query on a hidden item does not exist.
  if (qit == s->queries.end() || (BlindedRole(actor.role) && HiddenQuery(*study_, qit->second))) {
    return NotFound("subject " + id + " has no query " + std::to_string(n));
  }
  const Query& q = qit->second;
  std::string message = OptionalText(cmd, "message");
  std::string action, state;
  std::vector<QueryState> from;
  if (op == "query.answer") {
    // The pharmacist answers for the unblinded items only they enter.
    TC_RETURN_IF_ERROR(RequireRole(actor, {"coordinator", "investigator", "unblinded_pharmacist"}, "answer a query"));
    action = "answered", state = "answered", from = {QueryState::kOpen};
    if (message.empty()) return InvalidArgument("an answer needs a \"message\"");
  } else if (op == "query.close") {
    TC_RETURN_IF_ERROR(RequireRole(actor, kReviewRoles, "close a query"));
    action = "closed", state = "closed", from = {QueryState::kOpen, QueryState::kAnswered};
  } else if (op == "query.cancel") {
    TC_RETURN_IF_ERROR(RequireRole(actor, kReviewRoles, "cancel a query"));
    action = "cancelled", state = "cancelled", from = {QueryState::kOpen, QueryState::kAnswered};
    if (message.empty()) return InvalidArgument("cancelling a query needs a \"message\" saying why");
  } else if (op == "query.reopen") {
    TC_RETURN_IF_ERROR(RequireRole(actor, kReviewRoles, "re-open a query"));
    action = "reopened", state = "open", from = {QueryState::kAnswered, QueryState::kClosed};
    if (message.empty()) return InvalidArgument("re-opening a query needs a \"message\"");
  } else {
    return InvalidArgument("unknown op \"" + op + "\"");
  }
  if (std::find(from.begin(), from.end(), q.state) == from.end()) {
    return FailedPrecondition("query " + std::to_string(n) + " is " + std::string(QueryStateName(q.state)) +
                              "; it cannot be " + action);
  }
  std::string stream = SubjectStream(id);
  Value::Object p{{"query", static_cast<int64_t>(n)},
                  {"message", message},
                  {"set", Value::Object{{stream + "/queries/" + std::to_string(n) + "/state", state}}}};
  std::string reason = message.empty() ? "query " + action : message;
  TC_ASSIGN_OR_RETURN(out.events, Commit(stream, s->version, {Draft(stream, "query." + action, actor, reason, p)}));
  out.messages.push_back("query " + std::to_string(n) + " " + action);
  return out;
}

Result<Outcome> Capture::Impl::SdvCommand(const Value& cmd, const Actor& actor) {
  TC_RETURN_IF_ERROR(RequireRole(actor, {"monitor"}, "verify source data"));
  TC_RETURN_IF_ERROR(OnlyFields(cmd, {"op", "subject", "visit", "form", "items"}));
  TC_ASSIGN_OR_RETURN(std::string id, RequiredText(cmd, "subject"));
  TC_ASSIGN_OR_RETURN(std::string visit, RequiredText(cmd, "visit"));
  TC_ASSIGN_OR_RETURN(std::string form, RequiredText(cmd, "form"));
  TC_ASSIGN_OR_RETURN(const SubjectState* s, FindSubject(id));
  if (state_.locked) return DatabaseLockedError();
  auto v = s->visits.find(visit);
  const FormState* fs = nullptr;
  if (v != s->visits.end()) {
    auto f = v->second.forms.find(form);
    if (f != v->second.forms.end() && f->second.touched) fs = &f->second;
  }
  if (fs == nullptr) return FailedPrecondition(visit + "/" + form + " has no data to verify");
  const study::Form* def = study_->FindForm(form);
  // A blinded monitor verifies the items they can see, and the answer counts
  // only those: it is the same whatever the hidden items hold.
  const bool blind = BlindedRole(actor.role);
  std::set<std::string> wanted;
  if (const Value* items = cmd.Find("items")) {
    if (items->kind() != Value::Kind::kArray) return InvalidArgument("\"items\" must be a list of item ids");
    for (const Value& i : items->as_array()) {
      if (!i.is_string()) return InvalidArgument("\"items\" must be a list of item ids");
      const study::Item* item = def == nullptr ? nullptr : def->FindItem(i.as_string());
      if (item == nullptr || (blind && HiddenItem(*study_, form, i.as_string()))) {
        return NotFound("unknown item " + form + "." + i.as_string());
      }
      if (!item->derive.empty()) {
        return FailedPrecondition(form + "." + item->id +
                                  " is derived (computed from other items, not copied from a source document): it is "
                                  "not verified");
      }
      wanted.insert(i.as_string());
    }
  }
  // An item whose query awaits the site is not verified until the site has
  // answered: its value may still change. Such items are skipped and named.
  auto open_query = [&](const std::string& group, int row, const std::string& item) -> int {
    for (const auto& [n, q] : s->queries) {
      if (q.state == QueryState::kOpen && q.visit == visit && q.form == form && q.item == item && q.group == group &&
          q.row == row) {
        return n;
      }
    }
    return 0;
  };
  Value::Array list, skipped;
  Value::Object set;
  std::string stream = SubjectStream(id);
  auto add = [&](const std::string& group, int row, const std::string& item, const ItemState& st) {
    if (st.verified || (st.value.is_null() && st.not_done.empty())) return;
    if (!wanted.empty() && !wanted.contains(item)) return;
    if (blind && HiddenItem(*study_, form, item)) return;
    const study::Item* it = def == nullptr ? nullptr : def->FindItem(item);
    if (it != nullptr && !it->derive.empty()) return;
    Value::Object e{{"item", item}};
    if (!group.empty()) {
      e["group"] = group;
      e["row"] = static_cast<int64_t>(row);
    }
    if (int q = open_query(group, row, item)) {
      e["query"] = static_cast<int64_t>(q);
      skipped.emplace_back(std::move(e));
      return;
    }
    list.emplace_back(std::move(e));
    set[ItemPath(id, visit, form, group, row, item) + "/verified"] = true;
  };
  for (const auto& [iid, st] : fs->items) add("", 0, iid, st);
  for (const auto& [gid, rows] : fs->rows) {
    for (const auto& [n, row] : rows) {
      if (row.removed) continue;
      for (const auto& [iid, st] : row.items) add(gid, n, iid, st);
    }
  }
  Outcome out;
  const size_t verified = list.size();
  for (const Value& e : skipped) {
    out.messages.push_back("not verified: " + e.Find("item")->as_string() + " has open query " +
                           std::to_string(e.Find("query")->as_int()));
  }
  if (!list.empty()) {
    auto d = Draft(stream, "sdv.verified", actor, "source data verified",
                   Value::Object{{"visit", visit}, {"form", form}, {"items", list}, {"set", set}});
    TC_ASSIGN_OR_RETURN(out.events, Commit(stream, s->version, {d}));
  }
  std::string done = verified > 0      ? "verified " + std::to_string(verified) + " items on "
                     : skipped.empty() ? "nothing left to verify on "
                                       : "nothing verified on ";
  out.messages.insert(out.messages.begin(), done + visit + "/" + form);
  out.result = Value::Object{{"verified", std::move(list)}, {"skipped", std::move(skipped)}};
  return out;
}

// Database lock and unlock: signed events (the data manager's printed name,
// from their account through the API), the lock only once its checklist
// (capture/lock_checklist.h) is resolved or its items accepted with reasons,
// which the event keeps with the checklist's counts.
Result<Outcome> Capture::Impl::DatabaseLockCommand(bool lock, const Value& cmd, const Actor& actor) {
  TC_RETURN_IF_ERROR(OnlyFields(cmd, {"op", "reason", "accept", "name"}));
  const std::string op = lock ? "study.lock" : "study.unlock";
  std::string reason = OptionalText(cmd, "reason");
  if (!lock && reason.empty()) return FailedPrecondition(op + " needs a reason");
  TC_ASSIGN_OR_RETURN(std::string name, RequiredText(cmd, "name"));
  std::map<std::string, std::string> accepted;
  if (const Value* a = cmd.Find("accept")) {
    if (!a->is_object()) return InvalidArgument("\"accept\" must map checklist items to the reasons they are accepted");
    for (const auto& [id, why] : a->as_object()) {
      if (!why.is_string()) return InvalidArgument("the reason accepting \"" + id + "\" must be text");
      accepted[id] = why.as_string();
    }
  }
  if (!lock && !accepted.empty()) return InvalidArgument("an unlock accepts nothing; give its \"reason\"");
  if (state_.locked == lock)
    return FailedPrecondition(std::string("the study is already ") + (lock ? "locked" : "unlocked"));
  Value::Object payload{{"set", Value::Object{{"study/locked", lock}}}, {"signer_name", name}};
  if (lock) {
    // A blinded role is told only of the queries it can see.
    TC_ASSIGN_OR_RETURN(LockChecklist checklist, ReadLockChecklist(store_, study_id_, BlindedRole(actor.role), 0));
    TC_RETURN_IF_ERROR(LockRefusal(checklist, accepted));
    Value::Object counts, accepts;
    for (const auto& it : checklist.items) counts[it.id] = it.count;
    for (const auto& [id, why] : AcceptedOutstanding(checklist, accepted)) accepts[id] = why;
    payload["checklist"] = counts;
    payload["accepted"] = accepts;
  }
  auto d = Draft("study", lock ? "study.locked" : "study.unlocked", actor, reason.empty() ? "database lock" : reason,
                 payload);
  Outcome out;
  TC_ASSIGN_OR_RETURN(out.events, Commit("study", state_.study_stream_version, {d}));
  out.messages.push_back(lock ? "database locked: all writes stop until it is unlocked" : "database unlocked");
  return out;
}

Result<Outcome> Capture::Impl::FreezeLockCommand(const std::string& op, const Value& cmd, const Actor& actor) {
  TC_RETURN_IF_ERROR(RequireRole(actor, kManagerRoles, op));
  Outcome out;
  std::string reason = OptionalText(cmd, "reason");
  bool undo = op.ends_with(".unfreeze") || op.ends_with(".unlock");
  if (undo && reason.empty()) return FailedPrecondition(op + " needs a reason");
  if (op == "study.lock" || op == "study.unlock") return DatabaseLockCommand(op == "study.lock", cmd, actor);
  if (state_.locked) return DatabaseLockedError();
  std::string kind = op.substr(op.find('.') + 1);  // freeze, unfreeze, lock, unlock
  std::string past = kind == "freeze" ? "frozen" : kind == "unfreeze" ? "unfrozen" : kind + "ed";
  std::string flag = kind.find("freeze") != std::string::npos ? "frozen" : "locked";
  bool on = !undo;
  if (reason.empty()) reason = past;
  if (op.starts_with("subject.")) {
    TC_RETURN_IF_ERROR(OnlyFields(cmd, {"op", "subject", "reason"}));
    TC_ASSIGN_OR_RETURN(std::string id, RequiredText(cmd, "subject"));
    TC_ASSIGN_OR_RETURN(const SubjectState* s, FindSubject(id));
    bool current = flag == "frozen" ? s->frozen : s->locked;
    if (current == on) return FailedPrecondition("subject " + id + " is already " + past);
    std::string stream = SubjectStream(id);
    auto d = Draft(stream, "subject." + past, actor, reason,
                   Value::Object{{"set", Value::Object{{stream + "/" + flag, on}}}});
    TC_ASSIGN_OR_RETURN(out.events, Commit(stream, s->version, {d}));
    out.messages.push_back("subject " + id + " " + past);
    return out;
  }
  if (op.starts_with("form.")) {
    TC_RETURN_IF_ERROR(OnlyFields(cmd, {"op", "subject", "visit", "form", "reason"}));
    TC_ASSIGN_OR_RETURN(std::string id, RequiredText(cmd, "subject"));
    TC_ASSIGN_OR_RETURN(std::string visit, RequiredText(cmd, "visit"));
    TC_ASSIGN_OR_RETURN(std::string form, RequiredText(cmd, "form"));
    TC_ASSIGN_OR_RETURN(const SubjectState* s, FindSubject(id));
    TC_RETURN_IF_ERROR(study_->FindVisitInstance(visit).status());
    if (study_->FindForm(form) == nullptr) return NotFound("unknown form " + form);
    bool current = false;
    if (auto v = s->visits.find(visit); v != s->visits.end()) {
      if (auto f = v->second.forms.find(form); f != v->second.forms.end()) {
        current = flag == "frozen" ? f->second.frozen : f->second.locked;
      }
    }
    if (current == on) return FailedPrecondition(visit + "/" + form + " is already " + past);
    std::string stream = SubjectStream(id);
    auto d = Draft(stream, "form." + past, actor, reason,
                   Value::Object{{"visit", visit},
                                 {"form", form},
                                 {"set", Value::Object{{stream + "/" + visit + "/" + form + "/" + flag, on}}}});
    TC_ASSIGN_OR_RETURN(out.events, Commit(stream, s->version, {d}));
    out.messages.push_back(visit + "/" + form + " of " + id + " " + past);
    return out;
  }
  return InvalidArgument("unknown op \"" + op + "\"");
}

Result<Outcome> Capture::Impl::SignCommand(const Value& cmd, const Actor& actor) {
  TC_RETURN_IF_ERROR(RequireRole(actor, {"investigator"}, "sign"));
  TC_RETURN_IF_ERROR(OnlyFields(cmd, {"op", "subject", "visit", "form", "meaning", "name"}));
  TC_ASSIGN_OR_RETURN(std::string id, RequiredText(cmd, "subject"));
  TC_ASSIGN_OR_RETURN(std::string meaning, RequiredText(cmd, "meaning"));
  TC_ASSIGN_OR_RETURN(std::string name, RequiredText(cmd, "name"));
  if (meaning != "authorship" && meaning != "review" && meaning != "approval") {
    return InvalidArgument("meaning must be authorship, review or approval, not \"" + meaning + "\"");
  }
  std::string visit = OptionalText(cmd, "visit");
  std::string form = OptionalText(cmd, "form");
  if (!form.empty() && visit.empty()) return InvalidArgument("signing a form needs its \"visit\"");
  TC_ASSIGN_OR_RETURN(const SubjectState* s, FindSubject(id));
  TC_RETURN_IF_ERROR(CheckWritable(*s, "", ""));
  if (!visit.empty()) TC_RETURN_IF_ERROR(study_->FindVisitInstance(visit).status());
  if (!form.empty() && study_->FindForm(form) == nullptr) return NotFound("unknown form " + form);
  // A random nonce, hashed with the content and never shown to blinded
  // roles, so that a hash cannot be matched against guessed hidden values.
  uint8_t nonce_bytes[16];
  TC_RETURN_IF_ERROR(env_->RandomBytes(nonce_bytes));
  const std::string nonce = ToHex(std::string_view(reinterpret_cast<const char*>(nonce_bytes), sizeof nonce_bytes));
  std::string hash = SignatureContentHash(*s, visit, form, nonce);
  int n = s->signatures.empty() ? 1 : s->signatures.rbegin()->first + 1;
  std::string stream = SubjectStream(id);
  std::string scope = form.empty() ? (visit.empty() ? "casebook" : "visit " + visit) : visit + "/" + form;
  auto d =
      Draft(stream, "signature.applied", actor, "",
            Value::Object{{"signature", static_cast<int64_t>(n)},
                          {"visit", visit},
                          {"form", form},
                          {"meaning", meaning},
                          {"signer_name", name},
                          {"content_hash", hash},
                          {"nonce", nonce},
                          {"set", Value::Object{{stream + "/signatures/" + std::to_string(n) + "/state", "valid"}}}});
  Outcome out;
  TC_ASSIGN_OR_RETURN(out.events, Commit(stream, s->version, {d}));
  // A blinded signer sees the signature, not a hash of values they cannot see.
  const bool withheld = BlindedRole(actor.role) && ScopeHoldsHidden(*study_, visit, form);
  out.result = Value::Object{{"signature", static_cast<int64_t>(n)}};
  if (!withheld) out.result.as_object()["content_hash"] = hash;
  out.messages.push_back("signed " + scope + " of " + id + " (" + meaning + ") by " + name + " at " +
                         FormatTimeMicros(out.events.back().time_us) + (withheld ? "" : "; SHA-256 " + hash));
  return out;
}

Result<Outcome> Capture::Impl::VisitMissed(const Value& cmd, const Actor& actor) {
  TC_RETURN_IF_ERROR(RequireRole(actor, kSiteRoles, "mark a visit missed"));
  TC_RETURN_IF_ERROR(OnlyFields(cmd, {"op", "subject", "visit", "reason"}));
  TC_ASSIGN_OR_RETURN(std::string id, RequiredText(cmd, "subject"));
  TC_ASSIGN_OR_RETURN(std::string visit, RequiredText(cmd, "visit"));
  TC_ASSIGN_OR_RETURN(std::string reason, RequiredText(cmd, "reason"));
  TC_ASSIGN_OR_RETURN(const SubjectState* s, FindSubject(id));
  TC_RETURN_IF_ERROR(CheckWritable(*s, "", ""));
  TC_RETURN_IF_ERROR(study_->FindVisitInstance(visit).status());
  if (auto v = s->visits.find(visit); v != s->visits.end()) {
    for (const auto& [fid, f] : v->second.forms) {
      if (f.touched) return FailedPrecondition("visit " + visit + " has data on " + fid + "; it cannot be missed");
    }
  }
  std::string stream = SubjectStream(id);
  auto d = Draft(
      stream, "visit.missed", actor, reason,
      Value::Object{
          {"visit", visit}, {"reason", reason}, {"set", Value::Object{{stream + "/" + visit + "/missed", true}}}});
  Outcome out;
  TC_ASSIGN_OR_RETURN(out.events, Commit(stream, s->version, {d}));
  out.messages.push_back("visit " + visit + " of " + id + " marked missed");
  return out;
}

Result<Outcome> Capture::Impl::RemoveRow(const Value& cmd, const Actor& actor) {
  TC_RETURN_IF_ERROR(RequireRole(actor, kSiteRoles, "remove a row"));
  TC_RETURN_IF_ERROR(OnlyFields(cmd, {"op", "subject", "visit", "form", "group", "row", "reason"}));
  TC_ASSIGN_OR_RETURN(std::string id, RequiredText(cmd, "subject"));
  TC_ASSIGN_OR_RETURN(std::string visit, RequiredText(cmd, "visit"));
  TC_ASSIGN_OR_RETURN(std::string form, RequiredText(cmd, "form"));
  TC_ASSIGN_OR_RETURN(std::string group, RequiredText(cmd, "group"));
  TC_ASSIGN_OR_RETURN(std::string reason, RequiredText(cmd, "reason"));
  TC_RETURN_IF_ERROR(CheckReasonForChange(reason));
  const Value* rn = cmd.Find("row");
  if (rn == nullptr || rn->kind() != Value::Kind::kInt) return InvalidArgument("\"row\" must be the row number");
  int row = static_cast<int>(rn->as_int());
  TC_ASSIGN_OR_RETURN(const SubjectState* s, FindSubject(id));
  TC_RETURN_IF_ERROR(CheckWritable(*s, visit, form));
  const RowState* r = nullptr;
  if (auto v = s->visits.find(visit); v != s->visits.end()) {
    if (auto f = v->second.forms.find(form); f != v->second.forms.end()) {
      if (auto g = f->second.rows.find(group); g != f->second.rows.end()) {
        if (auto it = g->second.find(row); it != g->second.end()) r = &it->second;
      }
    }
  }
  if (r == nullptr || r->removed)
    return NotFound(visit + "/" + form + " has no row " + std::to_string(row) + " in " + group);
  std::string stream = SubjectStream(id);
  Value::Object set;
  for (const auto& [iid, st] : r->items) {
    if (!st.value.is_null()) set[ItemPath(id, visit, form, group, row, iid)] = Value();
  }
  set[stream + "/" + visit + "/" + form + "/" + group + "/" + std::to_string(row) + "/removed"] = true;
  std::vector<EventDraft> drafts = {
      Draft(stream, "row.removed", actor, reason,
            Value::Object{
                {"visit", visit}, {"form", form}, {"group", group}, {"row", static_cast<int64_t>(row)}, {"set", set}})};
  Outcome out;
  out.messages.push_back("removed " + group + " row " + std::to_string(row) + " of " + visit + "/" + form);
  // The row's open queries have nothing left to ask about.
  for (const auto& [n, q] : s->queries) {
    if (q.visit != visit || q.form != form || q.group != group || q.row != row) continue;
    if (!q.unresolved()) continue;
    drafts.push_back(
        QueryClosedDraft(id, n, actor, "row removed",
                         "closed automatically: " + group + " row " + std::to_string(row) + " was removed"));
    if (!BlindedRole(actor.role) || !HiddenQuery(*study_, q)) {
      out.messages.push_back("query " + std::to_string(n) + " closed: its row was removed");
    }
  }
  ReactToRemovedRow(*study_, *s, visit, form, group, row, actor, reason, &drafts, &out.messages);
  InvalidateSignatures(*s, actor, &drafts, &out.messages);
  TC_ASSIGN_OR_RETURN(out.events, Commit(stream, s->version, std::move(drafts)));
  return out;
}

}  // namespace trialcore::capture
