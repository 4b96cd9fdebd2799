// The projection rule: how each capture event changes the state. Replaying a
// study's events through ApplyEvent from nothing gives its current state.
#include "capture/state.h"

#include <tuple>

namespace trialcore::capture {

std::string_view QueryStateName(QueryState s) {
  switch (s) {
    case QueryState::kOpen:
      return "open";
    case QueryState::kAnswered:
      return "answered";
    case QueryState::kClosed:
      return "closed";
    case QueryState::kCancelled:
      return "cancelled";
  }
  return "?";
}

std::optional<QueryState> QueryStateNamed(std::string_view name) {
  for (QueryState s : kQueryStates) {
    if (QueryStateName(s) == name) return s;
  }
  return std::nullopt;
}

const ItemState* FormState::Find(const std::string& item) const {
  auto it = items.find(item);
  return it == items.end() ? nullptr : &it->second;
}

std::string_view ReadOnlyName(ReadOnly r) {
  switch (r) {
    case ReadOnly::kNone:
      return "";
    case ReadOnly::kDatabaseLocked:
      return "database_locked";
    case ReadOnly::kSubjectInactive:
      return "subject_inactive";
    case ReadOnly::kSubjectLocked:
      return "subject_locked";
    case ReadOnly::kSubjectFrozen:
      return "subject_frozen";
    case ReadOnly::kFormLocked:
      return "form_locked";
    case ReadOnly::kFormFrozen:
      return "form_frozen";
    case ReadOnly::kVisitMissed:
      return "visit_missed";
  }
  return "?";
}

ReadOnly WhyReadOnly(bool database_locked, const SubjectState& subject, const std::string& visit,
                     const std::string& form) {
  if (database_locked) return ReadOnly::kDatabaseLocked;
  if (subject.inactive) return ReadOnly::kSubjectInactive;
  if (subject.locked) return ReadOnly::kSubjectLocked;
  if (subject.frozen) return ReadOnly::kSubjectFrozen;
  if (visit.empty()) return ReadOnly::kNone;
  auto v = subject.visits.find(visit);
  if (v == subject.visits.end()) return ReadOnly::kNone;
  if (!form.empty()) {
    if (auto f = v->second.forms.find(form); f != v->second.forms.end()) {
      if (f->second.locked) return ReadOnly::kFormLocked;
      if (f->second.frozen) return ReadOnly::kFormFrozen;
    }
  }
  return v->second.missed ? ReadOnly::kVisitMissed : ReadOnly::kNone;
}

std::string SubjectStream(const std::string& subject) { return "subject/" + subject; }

const RowState* FindRow(const SubjectState& s, const std::string& visit, const std::string& form,
                        const std::string& group, int row) {
  auto v = s.visits.find(visit);
  if (v == s.visits.end()) return nullptr;
  auto f = v->second.forms.find(form);
  if (f == v->second.forms.end()) return nullptr;
  auto g = f->second.rows.find(group);
  if (g == f->second.rows.end()) return nullptr;
  auto r = g->second.find(row);
  return r == g->second.end() ? nullptr : &r->second;
}

std::string SafetyCaseId(const std::string& subject, int number) { return subject + "-SAE" + std::to_string(number); }

std::string ItemPath(const std::string& subject, const std::string& visit, const std::string& form,
                     const std::string& group, int row, const std::string& item) {
  std::string p = SubjectStream(subject) + "/" + visit + "/" + form;
  if (!group.empty()) p += "/" + group + "/" + std::to_string(row);
  return p + "/" + item;
}

namespace {

std::string Str(const Value& payload, std::string_view key) {
  const Value* v = payload.Find(key);
  return v != nullptr && v->is_string() ? v->as_string() : "";
}

// Str without the copy, for keys of the state's maps: a save's every change
// is looked up so, and a replay applies millions.
const std::string& StrRef(const Value& payload, std::string_view key) {
  static const std::string kEmpty;
  const Value* v = payload.Find(key);
  return v != nullptr && v->is_string() ? v->as_string() : kEmpty;
}

int Int(const Value& payload, std::string_view key) {
  const Value* v = payload.Find(key);
  return v != nullptr && v->kind() == Value::Kind::kInt ? static_cast<int>(v->as_int()) : 0;
}

bool Bool(const Value& payload, std::string_view key) {
  const Value* v = payload.Find(key);
  return v != nullptr && v->kind() == Value::Kind::kBool && v->as_bool();
}

std::vector<std::string> Strings(const Value& payload, std::string_view key) {
  std::vector<std::string> out;
  const Value* v = payload.Find(key);
  if (v == nullptr || v->kind() != Value::Kind::kArray) return out;
  for (const Value& x : v->as_array()) {
    if (x.is_string()) out.push_back(x.as_string());
  }
  return out;
}

// The item a change names, in the form the event is about (found once per
// event, not per change).
ItemState* Target(FormState& f, const Value& change) {
  f.touched = true;
  const std::string& group = StrRef(change, "group");
  const std::string& item = StrRef(change, "item");
  if (group.empty()) return &f.items[item];
  return &f.rows[group][Int(change, "row")].items[item];
}

}  // namespace

void ApplyEvent(StudyState& state, const Event& e) {
  const Value& p = e.payload;
  const std::string& t = e.type;
  // Idempotent and ordered per stream: an event is applied once, by the
  // writer that appended it or by a catch-up read, whichever comes first.
  if (e.stream == "study") {
    if (e.stream_version <= state.study_stream_version) return;
    state.study_stream_version = e.stream_version;
    if (t == "study.published" || t == "study.migrated") {
      state.version = Str(p, "version");
      state.content_hash = Str(p, "content_hash");
      state.source = Str(p, "source");
    } else if (t == "study.locked") {
      state.locked = true;
    } else if (t == "study.unlocked") {
      state.locked = false;
    }
    return;
  }
  if (!e.stream.starts_with("subject/")) return;
  ApplySubjectEvent(state.subjects[e.stream.substr(8)], e);
}

void ApplySubjectEvent(SubjectState& s, const Event& e) {
  if (e.stream_version <= s.version) return;
  const Value& p = e.payload;
  const std::string& t = e.type;
  // A subject's stream is "subject/<id>"; compared, not copied, per event.
  if (std::string_view(e.stream).substr(8) != s.id) s.id = e.stream.substr(8);
  const std::string& id = s.id;
  s.version = e.stream_version;
  const std::string& visit = StrRef(p, "visit");
  const std::string& form = StrRef(p, "form");
  if (t == "form.saved") {
    if (!s.last_event_saved) s.last_saves.clear();
    s.last_saves.emplace_back(e.stream_version, e.seq);
  }
  s.last_event_saved = t == "form.saved";
  if (t == "subject.screened") {
    s.site = Str(p, "site");
    s.status = "screening";
  } else if (t == "subject.enrolled" || t == "subject.screen_failed" || t == "subject.withdrawn" ||
             t == "subject.completed") {
    s.status = Str(p, "status");
  } else if (t == "form.saved") {
    FormState& saved = s.visits[visit].forms[form];
    if (saved.first_saved_us == 0) saved.first_saved_us = e.time_us;
    if (const Value* changes = p.Find("changes")) {
      for (const Value& c : changes->as_array()) {
        ItemState* item = Target(saved, c);
        const Value* v = c.Find("value");
        item->value = v != nullptr ? *v : Value();
        item->not_done = Str(c, "not_done");
        item->verified = false;
        item->seq = e.seq;
      }
    }
  } else if (t == "row.removed") {
    RowState& row = s.visits[visit].forms[form].rows[Str(p, "group")][Int(p, "row")];
    row.removed = true;
    for (auto& [name, item] : row.items) {
      item.value = Value();
      item.verified = false;
      item.seq = e.seq;
    }
  } else if (t == "visit.missed") {
    s.visits[visit].missed = true;
    s.visits[visit].missed_reason = Str(p, "reason");
  } else if (t == "sdv.verified") {
    if (const Value* items = p.Find("items")) {
      FormState& f = s.visits[visit].forms[form];
      for (const Value& c : items->as_array()) Target(f, c)->verified = true;
    }
  } else if (t == "form.frozen" || t == "form.unfrozen") {
    s.visits[visit].forms[form].frozen = t == "form.frozen";
  } else if (t == "form.locked" || t == "form.unlocked") {
    s.visits[visit].forms[form].locked = t == "form.locked";
  } else if (t == "subject.frozen" || t == "subject.unfrozen") {
    s.frozen = t == "subject.frozen";
  } else if (t == "subject.locked" || t == "subject.unlocked") {
    s.locked = t == "subject.locked";
  } else if (t == "subject.inactivated" || t == "subject.reactivated") {
    s.inactive = t == "subject.inactivated";
    s.inactive_reason = s.inactive ? e.reason : "";
  } else if (t.starts_with("query.")) {
    int n = Int(p, "query");
    Query& q = s.queries[n];
    std::string action = t.substr(6);
    if (action == "opened") {
      q.number = n;
      q.subject = id;
      q.visit = visit;
      q.form = form;
      q.item = Str(p, "item");
      q.group = Str(p, "group");
      q.row = Int(p, "row");
      q.check = Str(p, "check");
      q.state = QueryState::kOpen;
      if (!q.check.empty() && !s.last_saves.empty()) {
        // "save" names the trigger by its stream version (since it was
        // written); older events: the last save of their command.
        std::tie(q.triggering_save_version, q.triggering_save_seq) = s.last_saves.back();
        if (const Value* save = p.Find("save"); save != nullptr && save->kind() == Value::Kind::kInt) {
          for (const auto& [version, seq] : s.last_saves) {
            if (static_cast<int64_t>(version) == save->as_int()) {
              q.triggering_save_version = version;
              q.triggering_save_seq = seq;
            }
          }
        }
      }
    } else if (action == "answered") {
      q.state = QueryState::kAnswered;
    } else if (action == "closed") {
      q.state = QueryState::kClosed;
    } else if (action == "cancelled") {
      q.state = QueryState::kCancelled;
    } else if (action == "reopened") {
      q.state = QueryState::kOpen;
    }
    q.thread.push_back({action, Str(p, "message"), e.actor, e.time_us});
  } else if (t == "signature.applied") {
    int n = Int(p, "signature");
    Signature& sig = s.signatures[n];
    sig.number = n;
    sig.visit = visit;
    sig.form = form;
    sig.meaning = Str(p, "meaning");
    sig.content_hash = Str(p, "content_hash");
    sig.nonce = Str(p, "nonce");
    sig.signer = e.actor;
    sig.signer_name = Str(p, "signer_name");
    sig.time_us = e.time_us;
  } else if (t == "signature.invalidated") {
    s.signatures[Int(p, "signature")].broken = true;
  } else if (t == "ae.coded" || t == "ae.uncoded") {
    RowState& r = s.visits[visit].forms[form].rows[Str(p, "group")][Int(p, "row")];
    if (t == "ae.coded") {
      r.coding = CodingOf(e);
    } else {
      r.coding.reset();
    }
  } else if (t.starts_with("safety.case.")) {
    ApplySafetyCaseEvent(s.cases[Int(p, "case_number")], e);
  }
}

SafetyCoding CodingOf(const Event& e) {
  const Value& p = e.payload;
  SafetyCoding k;
  k.verbatim = Str(p, "verbatim");
  k.meddra_version = Str(p, "meddra_version");
  k.meddra_language = Str(p, "meddra_language");
  k.method = Str(p, "method");
  auto term = [&](const char* level, uint32_t* code, std::string* name) {
    const Value* v = p.Find(level);
    if (v == nullptr || !v->is_object()) return;
    *code = static_cast<uint32_t>(Int(*v, "code"));
    *name = Str(*v, "name");
  };
  term("llt", &k.llt, &k.llt_name);
  term("pt", &k.pt, &k.pt_name);
  term("hlt", &k.hlt, &k.hlt_name);
  term("hlgt", &k.hlgt, &k.hlgt_name);
  term("soc", &k.soc, &k.soc_name);
  k.by = e.actor;
  k.time_us = e.time_us;
  return k;
}

void ApplySafetyCaseEvent(SafetyCase& c, const Event& e) {
  const Value& p = e.payload;
  const std::string& t = e.type;
  if (t == "safety.case.opened") {
    c.number = Int(p, "case_number");
    c.visit = Str(p, "visit");
    c.form = Str(p, "form");
    c.group = Str(p, "group");
    c.row = Int(p, "row");
    c.aware_us = e.time_us;
    c.updated_us = e.time_us;
    c.version_aware_us = e.time_us;
  } else if (t == "safety.case.followup") {
    c.updated_us = e.time_us;
    ++c.followups;
    // New information on an approved version is the next version's start.
    if (c.approved_version == c.version) {
      ++c.version;
      c.version_aware_us = e.time_us;
    }
  } else if (t == "safety.case.nullification_proposed") {
    c.updated_us = e.time_us;
    c.nullification_proposed = true;
  } else if (t == "safety.case.triaged") {
    c.triaged = true;
    c.valid = Bool(p, "valid");
    c.missing = Strings(p, "missing");
    c.duplicate_of = Str(p, "duplicate_of");
  } else if (t == "safety.case.coded") {
    c.coding = CodingOf(e);
  } else if (t == "safety.case.assessed") {
    SafetyAssessment& a = c.assessment.emplace();
    a.version = Int(p, "version");
    a.sponsor_causality = Str(p, "sponsor_causality");
    a.expectedness = Str(p, "expectedness");
    a.rsi_document = Str(p, "rsi_document");
    a.study_version = Str(p, "study_version");
    a.comment = Str(p, "comment");
    a.by = e.actor;
    a.time_us = e.time_us;
  } else if (t == "safety.case.approved") {
    c.approved_version = Int(p, "version");
    c.approved_by = e.actor;
    c.approved_us = e.time_us;
  } else if (t == "safety.case.submitted") {
    SafetySubmission& sub = c.submissions.emplace_back();
    sub.number = Int(p, "submission");
    sub.version = Int(p, "version");
    sub.destination = Str(p, "destination");
    sub.batch_number = Str(p, "batch_number");
    sub.message_id = Str(p, "message_id");
    sub.safety_report_id = Str(p, "safety_report_id");
    sub.file_sha256 = Str(p, "file_sha256");
    sub.nullification = Bool(p, "nullification");
    sub.by = e.actor;
    sub.time_us = e.time_us;
  } else if (t == "safety.case.acknowledged") {
    const int n = Int(p, "submission");
    for (SafetySubmission& sub : c.submissions) {
      if (sub.number != n) continue;
      sub.ack = Str(p, "ack");
      sub.ack_code = Str(p, "code");
      sub.ack_errors = Strings(p, "errors");
      sub.ack_us = e.time_us;
    }
  } else if (t == "safety.case.nullified") {
    c.nullified = true;
    c.nullification_reason = e.reason;
  } else if (t == "safety.case.unblinded") {
    c.unblinded = true;
  }
}

}  // namespace trialcore::capture
