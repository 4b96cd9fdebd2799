// The capture service: loading state from the log, committing events,
// publishing and migrating study versions, and the read side (eligibility,
// visit schedule, form status).
#include "capture/capture.h"

#include <algorithm>
#include <cstdlib>

#include "capture/blinding.h"
#include "capture/impl.h"
#include "core/canonical.h"

namespace trialcore::capture {

std::string_view WindowStatusName(WindowStatus s) {
  switch (s) {
    case WindowStatus::kNotDue:
      return "not due";
    case WindowStatus::kDue:
      return "due";
    case WindowStatus::kOverdue:
      return "overdue";
    case WindowStatus::kInWindow:
      return "in window";
    case WindowStatus::kEarly:
      return "early";
    case WindowStatus::kLate:
      return "late";
    case WindowStatus::kMissed:
      return "missed";
    case WindowStatus::kUnscheduled:
      return "unscheduled";
  }
  return "?";
}

std::string_view FormStatusName(FormStatus s) {
  switch (s) {
    case FormStatus::kNotStarted:
      return "not started";
    case FormStatus::kInProgress:
      return "in progress";
    case FormStatus::kComplete:
      return "complete";
  }
  return "?";
}

std::string EligibilityResult::Summary() const {
  std::string reasons;
  for (const auto& c : criteria) {
    std::string why;
    if (c.met == rules::Truth::kUnknown) why = c.id + " cannot be assessed yet";
    if (c.inclusion && c.met == rules::Truth::kFalse) why = c.id + " not met";
    if (!c.inclusion && c.met == rules::Truth::kTrue) why = c.id + " applies";
    if (!why.empty()) reasons += (reasons.empty() ? "" : ", ") + why;
  }
  switch (overall) {
    case Eligibility::kEligible:
      return "eligible";
    case Eligibility::kNotEligible:
      return "not eligible: " + reasons;
    case Eligibility::kIncomplete:
      return "eligibility incomplete: " + reasons;
  }
  return "";
}

bool Capture::MigrationPlan::blocked() const {
  return std::any_of(issues.begin(), issues.end(), [](const MigrationIssue& i) { return i.blocking; });
}

// ---- Binder ----

std::vector<std::string> VisitInstancesInOrder(const study::Study& study, const SubjectState& subject) {
  std::map<std::string, size_t> order;
  for (size_t i = 0; i < study.visits.size(); ++i) order[study.visits[i].id] = i;
  std::vector<std::pair<std::pair<size_t, int>, std::string>> keyed;
  for (const auto& [id, v] : subject.visits) {
    auto inst = study.FindVisitInstance(id);
    if (!inst.ok()) continue;  // a visit of an earlier version, no longer in the schedule
    keyed.push_back({{order[inst->visit->id], inst->occurrence}, id});
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<std::string> out;
  for (auto& k : keyed) out.push_back(std::move(k.second));
  return out;
}

std::vector<std::string> SplitKey(const std::string& key) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t dot = key.find('.', start);
    parts.push_back(key.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return parts;
    start = dot + 1;
  }
}

Binder::Binder(const study::Study& study, const SubjectState& subject, std::string visit, std::string form,
               const RowState* row, std::string row_group, int64_t now_us)
    : study_(study),
      subject_(subject),
      visit_(std::move(visit)),
      form_(std::move(form)),
      row_(row),
      row_group_(std::move(row_group)),
      now_us_(now_us) {}

const Value* Binder::FindValue(const std::string& key) const {
  std::vector<std::string> p = SplitKey(key);
  auto in_form = [&](const std::string& visit, const std::string& form, const std::string& item) -> const Value* {
    auto v = subject_.visits.find(visit);
    if (v == subject_.visits.end()) return nullptr;
    auto f = v->second.forms.find(form);
    if (f == v->second.forms.end()) return nullptr;
    const ItemState* it = f->second.Find(item);
    return it == nullptr || it->value.is_null() ? nullptr : &it->value;
  };
  if (p.size() == 3) return in_form(p[0], p[1], p[2]);
  const std::string& form = p[0];
  const std::string& item = p[1];
  if (row_ != nullptr && form == form_) {
    const study::Form* f = study_.FindForm(form);
    const study::ItemGroup* g = nullptr;
    if (f != nullptr && f->FindItem(item, &g) != nullptr && g->id == row_group_) {
      auto it = row_->items.find(item);
      return it == row_->items.end() || it->second.value.is_null() ? nullptr : &it->second.value;
    }
  }
  if (!visit_.empty()) {
    auto v = study_.FindVisitInstance(visit_);
    if (v.ok() && std::find(v->visit->forms.begin(), v->visit->forms.end(), form) != v->visit->forms.end()) {
      return in_form(visit_, form, item);
    }
  }
  const std::vector<std::string>& visits = VisitOrder();
  for (auto v = visits.rbegin(); v != visits.rend(); ++v) {
    if (const Value* found = in_form(*v, form, item)) return found;
  }
  return nullptr;
}

const std::map<int, RowState>* Binder::FindRows(const std::string& group_key) const {
  std::vector<std::string> p = SplitKey(group_key);
  auto in_form = [&](const std::string& visit, const std::string& form,
                     const std::string& group) -> const std::map<int, RowState>* {
    auto v = subject_.visits.find(visit);
    if (v == subject_.visits.end()) return nullptr;
    auto f = v->second.forms.find(form);
    if (f == v->second.forms.end()) return nullptr;
    auto g = f->second.rows.find(group);
    return g == f->second.rows.end() ? nullptr : &g->second;
  };
  if (p.size() == 3) return in_form(p[0], p[1], p[2]);
  if (!visit_.empty()) {
    auto v = study_.FindVisitInstance(visit_);
    if (v.ok() && std::find(v->visit->forms.begin(), v->visit->forms.end(), p[0]) != v->visit->forms.end()) {
      return in_form(visit_, p[0], p[1]);
    }
  }
  const std::vector<std::string>& visits = VisitOrder();
  for (auto v = visits.rbegin(); v != visits.rend(); ++v) {
    if (const auto* rows = in_form(*v, p[0], p[1])) return rows;
  }
  return nullptr;
}

const std::vector<std::string>& Binder::VisitOrder() const {
  if (!visit_order_) visit_order_ = VisitInstancesInOrder(study_, subject_);
  return *visit_order_;
}

rules::RValue Binder::Convert(const Value* v, rules::Type type) {
  if (v == nullptr || v->is_null()) return rules::RValue::Null();
  switch (v->kind()) {
    case Value::Kind::kBool:
      return rules::RValue::Bool(v->as_bool());
    case Value::Kind::kInt:
      return rules::RValue::Number(static_cast<double>(v->as_int()));
    case Value::Kind::kDecimal:
      return rules::RValue::Number(std::strtod(v->as_decimal().text().c_str(), nullptr));
    case Value::Kind::kArray: {
      std::string joined;
      for (const Value& c : v->as_array()) {
        if (!joined.empty()) joined += '\x1f';
        if (c.is_string()) joined += c.as_string();
      }
      scratch_.push_back(std::move(joined));
      return rules::RValue::Text(scratch_.back());
    }
    case Value::Kind::kString: {
      auto r = rules::ParseValue(type, v->as_string());
      return r.ok() ? *r : rules::RValue::Null();
    }
    default:
      return rules::RValue::Null();
  }
}

rules::Bindings Binder::Bind(const rules::Expression& e) {
  scalars_.clear();
  for (size_t i = 0; i < e.scalars().size(); ++i) {
    scalars_.push_back(Convert(FindValue(e.scalars()[i]), e.scalar_types()[i]));
  }
  tables_.clear();
  for (const rules::TableRef& ref : e.tables()) {
    rules::Table t;
    t.columns = ref.column_keys.size();
    const std::vector<rules::Type>& types = ref.column_types;
    std::vector<std::string> items;
    for (const auto& key : ref.column_keys) items.push_back(SplitKey(key).back());
    if (const auto* rows = FindRows(ref.group)) {
      for (const auto& [n, row] : *rows) {
        if (row.removed) continue;
        ++t.rows;
        for (size_t c = 0; c < items.size(); ++c) {
          auto it = row.items.find(items[c]);
          t.cells.push_back(Convert(it == row.items.end() ? nullptr : &it->second.value, types[c]));
        }
      }
    }
    tables_.push_back(std::move(t));
  }
  return rules::Bindings{scalars_, tables_, now_us_};
}

// ---- Loading and committing ----

namespace {
// The lock under which this thread decides a command: Commit releases it
// while the store appends, so that commands on other subjects share fsyncs.
thread_local std::unique_lock<std::mutex>* t_deciding = nullptr;
}  // namespace

Capture::Capture(EventStore* store, Env* env, std::string study_id)
    : impl_(std::make_shared<Impl>(store, env, std::move(study_id))) {}

Result<std::unique_ptr<Capture>> Capture::Open(EventStore* store, Env* env, const std::string& study_id) {
  TC_RETURN_IF_ERROR(ValidateStudyId(study_id));
  std::unique_ptr<Capture> c(new Capture(store, env, study_id));
  TC_RETURN_IF_ERROR(c->impl_->Load());
  return c;
}

Status Capture::Impl::Load() {
  std::lock_guard lock(mu_);
  return CatchUp();
}

Status Capture::Impl::CatchUp() {
  EventFilter filter;
  filter.study = study_id_;
  filter.after_seq = last_seq_;
  TC_RETURN_IF_ERROR(store_->ForEachEvent(filter, [&](const Event& e) {
    Status applied = Apply(e);
    last_seq_ = e.seq;
    return applied;
  }));
  state_.study_id = study_id_;
  // Apply loaded each version as it came; this only catches a failed load.
  if (study_ == nullptr && !state_.source.empty()) {
    TC_RETURN_IF_ERROR(LoadStudyVersion());
  }
  return Status::Ok();
}

Status Capture::Impl::Apply(const Event& e) {
  if (e.stream == "study") {
    std::string hash_before = state_.content_hash;
    ApplyEvent(state_, e);
    if (state_.content_hash != hash_before) return LoadStudyVersion();
    return Status::Ok();
  }
  if (!e.stream.starts_with("subject/")) {
    ApplyEvent(state_, e);
    return Status::Ok();
  }
  auto it = state_.subjects.find(e.stream.substr(8));
  uint64_t before = it == state_.subjects.end() ? 0 : it->second.version;
  ApplyEvent(state_, e);
  SubjectState& s = state_.subjects[e.stream.substr(8)];
  if (s.version > before && (study_ == nullptr || !HiddenEvent(*study_, s, e))) ++s.blinded_version;
  return Status::Ok();
}

Status Capture::Impl::CatchUpForRead() {
  int64_t now = env_->NowMicros();
  if (now - last_read_catchup_us_ < 20'000) return Status::Ok();
  last_read_catchup_us_ = now;
  return CatchUp();
}

Status Capture::Impl::LoadStudyVersion() {
  std::vector<study::StudyError> errors;
  auto loaded = study::LoadStudy(state_.source, "study " + study_id_ + " version " + state_.version, &errors,
                                 study::LoadOptions{.published = true});
  if (!loaded.ok()) return DataLoss("the published study definition no longer loads: " + loaded.status().message());
  study_ = *loaded;
  dependents_.clear();
  auto note = [&](const std::string& reader, const rules::Expression& e) {
    for (const auto& key : e.scalars()) {
      auto p = SplitKey(key);
      dependents_[p[p.size() - 2]].insert(reader);
    }
    for (const auto& t : e.tables()) {
      auto p = SplitKey(t.group);
      dependents_[p[p.size() - 2]].insert(reader);
    }
  };
  for (const study::Form& f : study_->forms) {
    for (const study::Check& c : f.checks) {
      if (c.expr) note(f.id, *c.expr);
    }
    for (const study::ItemGroup& g : f.groups) {
      for (const study::Item& it : g.items) {
        if (it.derive_expr) note(f.id, *it.derive_expr);
        if (it.visible_expr) note(f.id, *it.visible_expr);
      }
    }
  }
  for (auto& [form, readers] : dependents_) readers.erase(form);
  return Status::Ok();
}

Result<std::vector<Event>> Capture::Impl::Commit(const std::string& stream, uint64_t expected_version,
                                                 std::vector<EventDraft> drafts) {
  AppendRequest req;
  req.study = study_id_;
  req.events = std::move(drafts);
  req.expected_versions[stream] = static_cast<int64_t>(expected_version);
  // Every command was decided on the study's state as this process knows it
  // (lock, version in force): if another process changed that, the append
  // aborts, the state catches up and the command is decided again.
  if (stream != "study") req.expected_versions["study"] = static_cast<int64_t>(state_.study_stream_version);
  // The decision is made; while the store appends (and waits for its fsync,
  // shared with concurrent commands) others may decide theirs. The expected
  // versions make any overlap on the same subject lose and retry.
  std::unique_lock<std::mutex>* held = t_deciding != nullptr && t_deciding->mutex() == &mu_ ? t_deciding : nullptr;
  if (held != nullptr) held->unlock();
  auto appended = store_->Append(req);
  if (held != nullptr) held->lock();
  if (!appended.ok()) {
    if (appended.status().code() == StatusCode::kAborted) {
      // Another writer got in first: take its events in, and let the caller
      // decide again on the new state. The conflicting streams are read in
      // full, since a concurrent writer in this process may have appended
      // below last_seq_ without having applied its events yet.
      TC_RETURN_IF_ERROR(CatchUp());
      for (const std::string& s : {stream, std::string("study")}) {
        EventFilter f;
        f.study = study_id_;
        f.stream = s;
        TC_RETURN_IF_ERROR(store_->ForEachEvent(f, [&](const Event& e) { return Apply(e); }));
      }
      return Aborted(stream + " was changed by someone else at the same time; nothing was saved, please retry");
    }
    return appended.status();
  }
  for (const Event& e : *appended) {
    TC_RETURN_IF_ERROR(Apply(e));
    last_seq_ = std::max(last_seq_, e.seq);
  }
  return appended;
}

// ---- Publishing and migration ----

Result<Outcome> Capture::PublishStudy(std::shared_ptr<const study::Study> s, const Actor& actor) {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu_);
  TC_RETURN_IF_ERROR(m.CatchUp());
  TC_RETURN_IF_ERROR(RequireRole(actor, {"study_admin", "data_manager", "system_admin"}, "publish a study"));
  if (s->id != m.study_id_) {
    return InvalidArgument("the file defines study " + s->id + ", not " + m.study_id_);
  }
  std::string hash = ToHex(s->content_hash);
  Outcome out;
  if (hash == m.state_.content_hash) {
    out.messages.push_back("study " + s->id + " version " + s->version + " is already published (" + hash + ")");
    return out;
  }
  if (!m.state_.content_hash.empty()) {
    if (s->version == m.state_.version) {
      return FailedPrecondition("version " + s->version +
                                " is already published with different content; give the "
                                "amendment a new version number");
    }
    if (!m.state_.subjects.empty()) {
      return FailedPrecondition("study " + s->id + " has " + std::to_string(m.state_.subjects.size()) +
                                " subjects; publish version " + s->version +
                                " as an amendment with `trialcore study migrate --to FILE` after a --dry-run");
    }
  }
  EventDraft d;
  d.stream = "study";
  d.type = "study.published";
  d.actor = actor;
  d.reason = m.state_.version.empty() ? "" : "new version " + s->version + " before any subject";
  d.payload = Value::Object{{"version", s->version},
                            {"content_hash", hash},
                            {"source", s->source},
                            {"title", s->title},
                            {"set", Value::Object{{"study/version", s->version}, {"study/content_hash", hash}}}};
  TC_ASSIGN_OR_RETURN(out.events, m.Commit("study", m.state_.study_stream_version, {d}));
  out.messages.push_back("published study " + s->id + " version " + s->version + " (" + hash + ")");
  return out;
}

Result<Capture::MigrationPlan> Capture::PlanMigration(std::shared_ptr<const study::Study> to) const {
  Impl& m = *impl_;
  std::lock_guard lock(m.mu_);
  if (m.study_ == nullptr) return FailedPrecondition("study " + m.study_id_ + " has no published version yet");
  if (to->id != m.study_id_) return InvalidArgument("the file defines study " + to->id + ", not " + m.study_id_);
  MigrationPlan plan;
  plan.from_version = m.state_.version;
  plan.to_version = to->version;
  plan.changes = study::DiffStudies(*m.study_, *to);
  plan.subjects = m.state_.subjects.size();
  if (to->version == m.state_.version) {
    plan.issues.push_back(
        {"", "study", "the new definition keeps version " + to->version + "; give it a new one", true});
  }
  auto check_value = [&](const std::string& subject, const std::string& where, const study::Item& old_item,
                         const study::Item* new_item, const Value& v) {
    if (v.is_null()) return;
    if (new_item == nullptr) {
      plan.issues.push_back({subject, where, "holds data but the item is removed", true});
      return;
    }
    if (new_item->type != old_item.type) {
      plan.issues.push_back({subject, where,
                             "type changes from " + std::string(study::ItemTypeName(old_item.type)) + " to " +
                                 std::string(study::ItemTypeName(new_item->type)) + " and the item holds data",
                             true});
      return;
    }
    if (!new_item->codelist.empty()) {
      const study::CodeList* cl = to->FindCodeList(new_item->codelist);
      auto has = [&](const std::string& code) {
        return cl != nullptr &&
               std::any_of(cl->codes.begin(), cl->codes.end(), [&](const study::Code& c) { return c.code == code; });
      };
      std::vector<std::string> codes;
      if (v.is_string()) codes.push_back(v.as_string());
      if (v.kind() == Value::Kind::kArray) {
        for (const Value& c : v.as_array()) {
          if (c.is_string()) codes.push_back(c.as_string());
        }
      }
      for (const auto& c : codes) {
        if (!has(c)) plan.issues.push_back({subject, where, "holds code " + c + ", removed from its code list", true});
      }
    }
  };
  for (const auto& [sid, s] : m.state_.subjects) {
    for (const auto& [vid, visit] : s.visits) {
      auto new_instance = to->FindVisitInstance(vid);
      const study::Visit* new_visit = new_instance.ok() ? new_instance->visit : nullptr;
      for (const auto& [fid, form] : visit.forms) {
        const study::Form* old_form = m.study_->FindForm(fid);
        const study::Form* new_form = to->FindForm(fid);
        bool has_data = false;
        auto each = [&](const std::string& group, int row, const std::string& item_id, const ItemState& st) {
          if (!st.value.is_null()) has_data = true;
          const study::Item* oi = old_form ? old_form->FindItem(item_id) : nullptr;
          const study::Item* ni = new_form ? new_form->FindItem(item_id) : nullptr;
          if (oi == nullptr) return;
          std::string where =
              vid + "/" + fid + "/" + (group.empty() ? "" : group + "/" + std::to_string(row) + "/") + item_id;
          check_value(sid, where, *oi, ni, st.value);
        };
        for (const auto& [iid, st] : form.items) each("", 0, iid, st);
        for (const auto& [gid, rows] : form.rows) {
          for (const auto& [n, row] : rows) {
            if (row.removed) continue;
            for (const auto& [iid, st] : row.items) each(gid, n, iid, st);
          }
        }
        if (has_data && (new_visit == nullptr ||
                         std::find(new_visit->forms.begin(), new_visit->forms.end(), fid) == new_visit->forms.end())) {
          plan.issues.push_back({sid, vid + "/" + fid,
                                 "holds data but the new version no longer collects this form at this visit", true});
        }
        // New required items make complete forms incomplete: not blocking,
        // but the sites must be told.
        if (new_form != nullptr && form.touched) {
          for (const auto& g : new_form->groups) {
            if (g.repeating) continue;
            for (const auto& it : g.items) {
              if (it.required && (old_form == nullptr || old_form->FindItem(it.id) == nullptr ||
                                  !old_form->FindItem(it.id)->required)) {
                const ItemState* st = form.Find(it.id);
                if (st == nullptr || st->value.is_null()) {
                  plan.issues.push_back(
                      {sid, vid + "/" + fid + "/" + it.id, "new required item, to be entered", false});
                }
              }
            }
          }
        }
      }
    }
  }
  return plan;
}

Result<Outcome> Capture::Migrate(std::shared_ptr<const study::Study> to, const Actor& actor,
                                 const std::string& reason) {
  TC_RETURN_IF_ERROR(RequireRole(actor, {"study_admin", "data_manager", "system_admin"}, "migrate a study"));
  if (reason.empty()) return FailedPrecondition("a migration needs a reason (the amendment it implements)");
  TC_ASSIGN_OR_RETURN(MigrationPlan plan, PlanMigration(to));
  if (plan.blocked()) {
    size_t n = std::count_if(plan.issues.begin(), plan.issues.end(), [](const auto& i) { return i.blocking; });
    const MigrationIssue* first = nullptr;
    for (const auto& i : plan.issues) {
      if (i.blocking) {
        first = &i;
        break;
      }
    }
    return FailedPrecondition(std::to_string(n) + " stored values would no longer fit version " + to->version +
                              "; first: subject " + first->subject + " " + first->where + " " + first->problem +
                              " (see --dry-run); nothing was changed");
  }
  Impl& m = *impl_;
  std::lock_guard lock(m.mu_);
  std::string hash = ToHex(to->content_hash);
  Value::Array changes;
  for (const auto& c : plan.changes) changes.push_back(c.ToString());
  Value::Array pending;
  for (const auto& i : plan.issues) pending.push_back(i.subject + " " + i.where + ": " + i.problem);
  EventDraft d;
  d.stream = "study";
  d.type = "study.migrated";
  d.actor = actor;
  d.reason = reason;
  d.payload = Value::Object{{"version", to->version},
                            {"from_version", plan.from_version},
                            {"content_hash", hash},
                            {"source", to->source},
                            {"changes", changes},
                            {"to_enter", pending},
                            {"subjects", static_cast<int64_t>(plan.subjects)},
                            {"set", Value::Object{{"study/version", to->version}, {"study/content_hash", hash}}}};
  Outcome out;
  TC_ASSIGN_OR_RETURN(out.events, m.Commit("study", m.state_.study_stream_version, {d}));
  out.messages.push_back("migrated study " + m.study_id_ + " from version " + plan.from_version + " to " + to->version +
                         ": " + std::to_string(plan.changes.size()) + " changes, " + std::to_string(plan.subjects) +
                         " subjects, " + std::to_string(pending.size()) + " new required values to enter");
  return out;
}

// ---- Reads ----

Result<Outcome> Capture::Execute(const Value& command, const Actor& actor, std::optional<uint64_t> expected_version) {
  std::unique_lock lock(impl_->mu_);
  t_deciding = &lock;
  struct Release {
    ~Release() { t_deciding = nullptr; }
  } release;
  if (expected_version) {
    TC_RETURN_IF_ERROR(impl_->CatchUp());
    const Value* subject = command.Find("subject");
    if (subject != nullptr && subject->is_string()) {
      auto it = impl_->state_.subjects.find(subject->as_string());
      // The version the actor's role reads (capture/blinding.h).
      uint64_t now = it == impl_->state_.subjects.end() ? 0 : SubjectVersion(it->second, BlindedRole(actor.role));
      if (now != *expected_version) {
        return Aborted("subject " + subject->as_string() + " changed since you read it (version " +
                       std::to_string(*expected_version) + ", now " + std::to_string(now) +
                       "); reload and enter your change again");
      }
    }
  }
  auto r = impl_->Execute(command, actor);
  // Lost a race with another writer on the same subject: its events are in
  // now, so decide again (someone made progress each time; bounded anyway).
  for (int retry = 0; retry < 50 && !r.ok() && r.status().code() == StatusCode::kAborted; ++retry) {
    r = impl_->Execute(command, actor);
  }
  return r;
}

std::shared_ptr<const study::Study> Capture::study() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->study_;
}

int64_t Capture::NowMicros() const { return impl_->env_->NowMicros(); }

StudyState Capture::Snapshot() const {
  std::lock_guard lock(impl_->mu_);
  Status caught_up = impl_->CatchUpForRead();
  (void)caught_up;  // on a read error the last state known is still a consistent one
  return impl_->state_;
}

Result<SubjectState> Capture::Subject(const std::string& id) const {
  SubjectState copy;
  TC_RETURN_IF_ERROR(ReadSubject(id, [&](const SubjectState& s) { copy = s; }));
  return copy;
}

EligibilityResult Capture::Impl::Eligibility(const SubjectState& s) const {
  EligibilityResult r;
  Binder binder(*study_, s, "", "", nullptr, "", env_->NowMicros());
  bool unknown = false, failed = false;
  for (const study::Criterion& c : study_->eligibility) {
    CriterionResult cr{c.id, c.inclusion, c.expr ? binder.Test(*c.expr) : rules::Truth::kUnknown};
    if (cr.met == rules::Truth::kUnknown) unknown = true;
    if (c.inclusion && cr.met == rules::Truth::kFalse) failed = true;
    if (!c.inclusion && cr.met == rules::Truth::kTrue) failed = true;
    r.criteria.push_back(cr);
  }
  r.overall = failed ? Eligibility::kNotEligible : unknown ? Eligibility::kIncomplete : Eligibility::kEligible;
  return r;
}

Status Capture::ReadSubject(const std::string& id, const std::function<void(const SubjectState&)>& fn) const {
  std::lock_guard lock(impl_->mu_);
  TC_RETURN_IF_ERROR(impl_->CatchUpForRead());
  auto it = impl_->state_.subjects.find(id);
  if (it == impl_->state_.subjects.end()) return NotFound("no subject " + id + " in study " + impl_->study_id_);
  fn(it->second);
  return Status::Ok();
}

Result<SubjectState> Capture::SubjectAsOf(const std::string& id, int64_t until_us) const {
  std::shared_ptr<const study::Study> definition = study();
  EventFilter f;
  f.study = impl_->study_id_;
  f.stream = SubjectStream(id);
  f.until_time_us = until_us;
  StudyState then;
  TC_RETURN_IF_ERROR(impl_->store_->ForEachEvent(f, [&](const Event& e) {
    ApplyEvent(then, e);
    SubjectState& s = then.subjects[id];
    // Judged by the version in force now: the as-of view is read today.
    if (definition == nullptr || !HiddenEvent(*definition, s, e)) ++s.blinded_version;
    return Status::Ok();
  }));
  auto it = then.subjects.find(id);
  if (it == then.subjects.end()) return NotFound("subject " + id + " did not exist yet at that time");
  return it->second;
}

Result<EligibilityResult> Capture::CheckEligibility(const std::string& subject) const {
  std::lock_guard lock(impl_->mu_);
  TC_RETURN_IF_ERROR(impl_->CatchUpForRead());
  if (impl_->study_ == nullptr) return FailedPrecondition("study " + impl_->study_id_ + " is not published");
  auto it = impl_->state_.subjects.find(subject);
  if (it == impl_->state_.subjects.end()) return NotFound("no subject " + subject);
  return impl_->Eligibility(it->second);
}

Result<std::vector<VisitSchedule>> Capture::Schedule(const std::string& subject) const {
  std::lock_guard lock(impl_->mu_);
  TC_RETURN_IF_ERROR(impl_->CatchUpForRead());
  const Impl& m = *impl_;
  if (m.study_ == nullptr) return FailedPrecondition("study " + m.study_id_ + " is not published");
  auto sit = m.state_.subjects.find(subject);
  if (sit == m.state_.subjects.end()) return NotFound("no subject " + subject);
  const SubjectState& s = sit->second;
  const study::Study& st = *m.study_;
  auto date_of = [&](const std::string& visit, const study::ItemRef& ref) -> std::optional<int64_t> {
    auto v = s.visits.find(visit);
    if (v == s.visits.end()) return std::nullopt;
    auto f = v->second.forms.find(ref.form);
    if (f == v->second.forms.end()) return std::nullopt;
    const ItemState* it = f->second.Find(ref.item);
    if (it == nullptr || !it->value.is_string()) return std::nullopt;
    auto days = rules::ParseDateDays(it->value.as_string());
    return days.ok() ? std::optional<int64_t>(*days) : std::nullopt;
  };
  // The anchor is the first value of its item in schedule order (it is
  // usually collected once, at randomization or baseline).
  const std::vector<std::string> order = VisitInstancesInOrder(st, s);
  std::optional<int64_t> anchor;
  for (const auto& id : order) {
    if (auto d = date_of(id, st.anchor)) {
      anchor = d;
      break;
    }
  }
  int64_t today = m.env_->NowMicros() / rules::kMicrosPerDay;
  std::vector<VisitSchedule> out;
  auto judge = [&](const study::Visit& v, const std::string& id, std::optional<int> day) {
    VisitSchedule vs;
    vs.visit = id;
    vs.actual_day = date_of(id, st.visit_date);
    auto vstate = s.visits.find(id);
    bool missed = vstate != s.visits.end() && vstate->second.missed;
    if (v.unscheduled) {
      vs.status = WindowStatus::kUnscheduled;
    } else if (missed) {
      vs.status = WindowStatus::kMissed;
    } else if (anchor && day) {
      // Day 1 is the anchor date; there is no day 0.
      int64_t planned = *anchor + (*day > 0 ? *day - 1 : *day);
      vs.planned_day = planned;
      if (vs.actual_day) {
        int64_t a = *vs.actual_day;
        vs.status = a < planned - v.window_before  ? WindowStatus::kEarly
                    : a > planned + v.window_after ? WindowStatus::kLate
                                                   : WindowStatus::kInWindow;
      } else {
        vs.status = today > planned + v.window_after     ? WindowStatus::kOverdue
                    : today >= planned - v.window_before ? WindowStatus::kDue
                                                         : WindowStatus::kNotDue;
      }
    } else if (vs.actual_day) {
      vs.status = WindowStatus::kInWindow;  // before the anchor exists, screening visits are judged by the site
    }
    out.push_back(vs);
  };
  for (const auto& v : st.visits) {
    if (v.unscheduled) {
      // Every occurrence that happened, or the visit once when none has.
      bool any = false;
      for (const auto& id : order) {
        auto inst = st.FindVisitInstance(id);
        if (inst.ok() && inst->visit == &v) {
          judge(v, id, std::nullopt);
          any = true;
        }
      }
      if (!any) judge(v, v.id, std::nullopt);
      continue;
    }
    std::vector<int> days = study::PlannedDays(v);
    for (size_t k = 0; k < days.size(); ++k) judge(v, study::VisitInstanceId(v, static_cast<int>(k) + 1), days[k]);
  }
  return out;
}

Result<FormStatus> Capture::StatusOfForm(const std::string& subject, const std::string& visit,
                                         const std::string& form) const {
  std::lock_guard lock(impl_->mu_);
  const Impl& m = *impl_;
  if (m.study_ == nullptr) return FailedPrecondition("study " + m.study_id_ + " is not published");
  const study::Form* f = m.study_->FindForm(form);
  if (f == nullptr) return NotFound("unknown form " + form);
  auto sit = m.state_.subjects.find(subject);
  if (sit == m.state_.subjects.end()) return NotFound("no subject " + subject);
  auto v = sit->second.visits.find(visit);
  if (v == sit->second.visits.end()) return FormStatus::kNotStarted;
  auto fs = v->second.forms.find(form);
  if (fs == v->second.forms.end() || !fs->second.touched) return FormStatus::kNotStarted;
  Binder binder(*m.study_, sit->second, visit, form, nullptr, "", m.env_->NowMicros());
  for (const auto& g : f->groups) {
    if (g.repeating) continue;
    for (const auto& it : g.items) {
      if (!it.required || !it.derive.empty()) continue;
      if (it.visible_expr && binder.Test(*it.visible_expr) == rules::Truth::kFalse) continue;
      const ItemState* st = fs->second.Find(it.id);
      if (st == nullptr || (st->value.is_null() && st->not_done.empty())) return FormStatus::kInProgress;
    }
  }
  return FormStatus::kComplete;
}

std::string SignatureContentHash(const SubjectState& s, const std::string& visit, const std::string& form,
                                 const std::string& nonce) {
  // Canonical encoding of every value in scope, keyed by path: what the
  // signer saw, and nothing else; with the signature's nonce when it has one
  // (signatures made before nonces hash without the key).
  Value::Object content;
  content["subject"] = s.id;
  if (!nonce.empty()) content["nonce"] = nonce;
  for (const auto& [vid, v] : s.visits) {
    if (!visit.empty() && vid != visit) continue;
    for (const auto& [fid, f] : v.forms) {
      if (!form.empty() && fid != form) continue;
      for (const auto& [iid, it] : f.items) {
        content[vid + "/" + fid + "/" + iid] = it.value;
        if (!it.not_done.empty()) content[vid + "/" + fid + "/" + iid + "/not_done"] = it.not_done;
      }
      for (const auto& [gid, rows] : f.rows) {
        for (const auto& [n, row] : rows) {
          if (row.removed) continue;
          for (const auto& [iid, it] : row.items) {
            content[vid + "/" + fid + "/" + gid + "/" + std::to_string(n) + "/" + iid] = it.value;
          }
        }
      }
    }
  }
  std::string bytes;
  Status st = EncodeValue(content, &bytes);
  (void)st;  // a payload built from stored values always encodes
  return ToHex(Sha256(bytes));
}

}  // namespace trialcore::capture
