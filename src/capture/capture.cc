// The capture service: loading state from the log, committing events,
// publishing and migrating study versions, and the read side (eligibility,
// visit schedule, form status).
#include "capture/capture.h"

#include <algorithm>
#include <cstdlib>
#include <tuple>

#include "capture/blinding.h"
#include "capture/impl.h"
#include "capture/reads.h"
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
// The subjects the command being decided on this thread works on (FindSubject):
// held, so that they stay as read while the lock is released for an append.
thread_local std::map<std::string, std::shared_ptr<const SubjectState>>* t_working = nullptr;

// Sets the thread's working set for one command.
class WorkingSet {
 public:
  WorkingSet() : outer_(t_working) { t_working = &subjects_; }
  ~WorkingSet() { t_working = outer_; }
  WorkingSet(const WorkingSet&) = delete;
  WorkingSet& operator=(const WorkingSet&) = delete;

 private:
  std::map<std::string, std::shared_ptr<const SubjectState>>* outer_;
  std::map<std::string, std::shared_ptr<const SubjectState>> subjects_;
};
}  // namespace

std::shared_ptr<const SubjectState> SubjectCache::Get(const std::string& id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return nullptr;
  recency_.splice(recency_.begin(), recency_, it->second.used);
  return it->second.subject;
}

namespace {

// Heap bytes beyond an object's own size, roughly as malloc counts them: a
// string past its inline buffer, the nodes of a std::map.
constexpr size_t kMapNode = 48;  // links, colour and the allocation's header
size_t HeapOf(const std::string& s) { return s.capacity() > 15 ? s.capacity() + 1 + 16 : 0; }
size_t HeapOf(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kString:
      return HeapOf(v.as_string());
    case Value::Kind::kDecimal:
      return HeapOf(v.as_decimal().text());
    case Value::Kind::kArray: {
      size_t n = v.as_array().capacity() * sizeof(Value) + 16;
      for (const Value& e : v.as_array()) n += HeapOf(e);
      return n;
    }
    case Value::Kind::kObject: {
      size_t n = 0;
      for (const auto& [k, e] : v.as_object())
        n += kMapNode + sizeof(std::string) + sizeof(Value) + HeapOf(k) + HeapOf(e);
      return n;
    }
    default:
      return 0;
  }
}
size_t HeapOf(const ItemState& it) { return HeapOf(it.value) + HeapOf(it.not_done); }
size_t HeapOf(const std::map<std::string, ItemState>& items) {
  size_t n = 0;
  for (const auto& [id, it] : items) n += kMapNode + sizeof(std::string) + sizeof(ItemState) + HeapOf(id) + HeapOf(it);
  return n;
}
size_t HeapOf(const Actor& a) { return HeapOf(a.user) + HeapOf(a.role); }

size_t RowMapBytes(const RowMap& rows) {
  size_t n = sizeof(RowMap);
  for (const auto& [key, row] : rows) {
    n += kMapNode + sizeof(key) + sizeof(row) + HeapOf(key.first) + HeapOf(key.second) +
         row.capacity() * sizeof(Value) + 16;
    for (const Value& v : row) n += HeapOf(v);
  }
  return n;
}

}  // namespace

size_t SubjectCacheBytes(const SubjectState& s) {
  size_t n = sizeof(SubjectState) + HeapOf(s.id) + HeapOf(s.site) + HeapOf(s.status);
  for (const auto& [vid, visit] : s.visits) {
    n += kMapNode + sizeof(std::string) + sizeof(VisitState) + HeapOf(vid) + HeapOf(visit.missed_reason);
    for (const auto& [fid, form] : visit.forms) {
      n += kMapNode + sizeof(std::string) + sizeof(FormState) + HeapOf(fid) + HeapOf(form.items);
      for (const auto& [gid, rows] : form.rows) {
        n += kMapNode + sizeof(std::string) + sizeof(rows) + HeapOf(gid);
        for (const auto& [row, r] : rows) n += kMapNode + sizeof(int) + sizeof(RowState) + HeapOf(r.items);
      }
    }
  }
  for (const auto& [number, q] : s.queries) {
    n += kMapNode + sizeof(int) + sizeof(Query) + HeapOf(q.subject) + HeapOf(q.visit) + HeapOf(q.form) +
         HeapOf(q.item) + HeapOf(q.group) + HeapOf(q.check) + q.thread.capacity() * sizeof(QueryMessage);
    for (const QueryMessage& m : q.thread) n += HeapOf(m.action) + HeapOf(m.message) + HeapOf(m.actor);
  }
  for (const auto& [number, sig] : s.signatures) {
    n += kMapNode + sizeof(int) + sizeof(Signature) + HeapOf(sig.visit) + HeapOf(sig.form) + HeapOf(sig.meaning) +
         HeapOf(sig.content_hash) + HeapOf(sig.nonce) + HeapOf(sig.signer) + HeapOf(sig.signer_name);
  }
  return n;
}

size_t SubjectCache::BytesOf(const Entry& e) {
  // The entry's key, list node and hash node, with what they point to.
  return SubjectCacheBytes(*e.subject) + (e.rows ? RowMapBytes(*e.rows) : 0) + 2 * (sizeof(std::string) + 32) +
         2 * HeapOf(e.subject->id) + sizeof(Entry);
}

void SubjectCache::Trim() {
  while (entries_.size() > 1 && (entries_.size() > capacity_ || bytes_ > max_bytes_)) {
    auto it = entries_.find(recency_.back());
    bytes_ -= it->second.bytes;
    entries_.erase(it);
    recency_.pop_back();
  }
}

void SubjectCache::Put(std::shared_ptr<const SubjectState> subject, std::shared_ptr<const RowMap> rows,
                       const study::Study* rows_of) {
  auto it = entries_.find(subject->id);
  if (it != entries_.end()) {
    if (it->second.subject->version <= subject->version) {
      const bool same = it->second.subject->version == subject->version;
      it->second.subject = std::move(subject);
      // Rows known for this version stay unless new ones come.
      if (rows != nullptr || !same) {
        it->second.rows = std::move(rows);
        it->second.rows_of = rows_of;
      }
      bytes_ -= it->second.bytes;
      it->second.bytes = BytesOf(it->second);
      bytes_ += it->second.bytes;
    }
    recency_.splice(recency_.begin(), recency_, it->second.used);
    Trim();
    return;
  }
  std::string id = subject->id;
  recency_.push_front(id);
  Entry e{std::move(subject), std::move(rows), rows_of, recency_.begin()};
  e.bytes = BytesOf(e);
  bytes_ += e.bytes;
  entries_.emplace(std::move(id), std::move(e));
  Trim();
}

std::shared_ptr<const RowMap> SubjectCache::Rows(const std::string& id, uint64_t version,
                                                 const study::Study* rows_of) const {
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second.subject->version != version || it->second.rows_of != rows_of) {
    return nullptr;
  }
  return it->second.rows;
}

void SubjectCache::Erase(const std::string& id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  bytes_ -= it->second.bytes;
  recency_.erase(it->second.used);
  entries_.erase(it);
}

const study::Study* VersionInForce(const StudyVersions& versions, uint64_t seq) {
  const study::Study* in_force = nullptr;
  for (const auto& [from, version] : versions) {
    if (from < seq) in_force = version.get();
  }
  return in_force;
}

Result<std::shared_ptr<const study::Study>> LoadPublishedStudy(const std::string& study_id, const StudyState& state) {
  std::vector<study::StudyError> errors;
  auto loaded = study::LoadStudy(state.source, "study " + study_id + " version " + state.version, &errors,
                                 study::LoadOptions{.published = true});
  if (!loaded.ok()) return DataLoss("the published study definition no longer loads: " + loaded.status().message());
  return std::shared_ptr<const study::Study>(*loaded);
}

void ApplyCounted(SubjectState& s, const Event& e, const study::Study* in_force) {
  uint64_t before = s.version;
  ApplySubjectEvent(s, e);
  if (s.version > before && (in_force == nullptr || !HiddenEvent(*in_force, s, e))) ++s.blinded_version;
}

Capture::Capture(EventStore* store, Env* env, std::string study_id, const CaptureOptions& options)
    : impl_(std::make_shared<Impl>(store, env, std::move(study_id), options)) {}

Result<std::unique_ptr<Capture>> Capture::Open(EventStore* store, Env* env, const std::string& study_id,
                                               const CaptureOptions& options) {
  TC_RETURN_IF_ERROR(ValidateStudyId(study_id));
  TC_RETURN_IF_ERROR(EnsureProjections(store));
  std::unique_ptr<Capture> c(new Capture(store, env, study_id, options));
  TC_RETURN_IF_ERROR(c->impl_->Load());
  return c;
}

Status Capture::Impl::Load() {
  std::lock_guard lock(mu_);
  state_.study_id = study_id_;
  // Only the study's own stream: subjects are read when a command or a page
  // needs them. The log is followed from its end.
  TC_ASSIGN_OR_RETURN(uint64_t last, store_->LastSeq());
  EventFilter f;
  f.study = study_id_;
  f.stream = "study";
  TC_RETURN_IF_ERROR(store_->ForEachEvent(f, [&](const Event& e) { return ApplyStudyEvent(e); }));
  last_seq_ = last;
  return CatchUp();
}

Status Capture::Impl::CatchUp() {
  EventFilter filter;
  filter.study = study_id_;
  filter.after_seq = last_seq_;
  return store_->ForEachEvent(filter, [&](const Event& e) -> Status {
    last_seq_ = e.seq;
    if (e.stream == "study") return ApplyStudyEvent(e);
    if (!e.stream.starts_with("subject/")) return Status::Ok();
    // This process's own commits are in the cache already; anything newer
    // than the cached state came from another process: read it again.
    std::string id = e.stream.substr(8);
    if (auto cached = cache_.Get(id); cached != nullptr && cached->version < e.stream_version) cache_.Erase(id);
    return Status::Ok();
  });
}

Status Capture::Impl::ApplyStudyEvent(const Event& e) {
  std::string hash_before = state_.content_hash;
  ApplyEvent(state_, e);
  if (state_.content_hash == hash_before) return Status::Ok();
  TC_ASSIGN_OR_RETURN(study_, LoadPublishedStudy(study_id_, state_));
  versions_.emplace_back(e.seq, study_);
  dependents_.clear();
  auto note = [&](const std::string& reader, const rules::Expression& ex) {
    for (const auto& key : ex.scalars()) {
      auto p = SplitKey(key);
      dependents_[p[p.size() - 2]].insert(reader);
    }
    for (const auto& t : ex.tables()) {
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

Status Capture::Impl::CatchUpForRead() {
  int64_t now = env_->NowMicros();
  if (now - last_read_catchup_us_ < Capture::kReadFollowLagUs) return Status::Ok();
  last_read_catchup_us_ = now;
  return CatchUp();
}

Status Capture::Impl::CatchUpNow() {
  std::lock_guard lock(mu_);
  last_read_catchup_us_ = env_->NowMicros();
  return CatchUp();
}

Result<SubjectState> Capture::Impl::ReplaySubject(const std::string& id, const StudyVersions& versions,
                                                  std::optional<int64_t> until_us) const {
  EventFilter f;
  f.study = study_id_;
  f.stream = SubjectStream(id);
  f.until_time_us = until_us;
  SubjectState s;
  TC_RETURN_IF_ERROR(store_->ForEachEvent(f, [&](const Event& e) {
    ApplyCounted(s, e, VersionInForce(versions, e.seq));
    return Status::Ok();
  }));
  if (s.version == 0) return NotFound("no subject " + id + " in study " + study_id_);
  return s;
}

Result<std::shared_ptr<const SubjectState>> Capture::Impl::LoadSubjectLocked(const std::string& id) {
  if (auto cached = cache_.Get(id)) return cached;
  TC_ASSIGN_OR_RETURN(SubjectState s, ReplaySubject(id, versions_, std::nullopt));
  auto loaded = std::make_shared<const SubjectState>(std::move(s));
  cache_.Put(loaded);
  return cache_.Get(id);
}

Result<std::shared_ptr<const SubjectState>> Capture::Impl::LoadSubject(const std::string& id) {
  StudyVersions versions;
  uint64_t followed = 0;
  {
    std::lock_guard lock(mu_);
    TC_RETURN_IF_ERROR(CatchUpForRead());
    if (auto cached = cache_.Get(id)) return cached;
    versions = versions_;
    followed = last_seq_;
  }
  // Replayed without the lock: other subjects' reads and commands go on.
  TC_ASSIGN_OR_RETURN(SubjectState s, ReplaySubject(id, versions, std::nullopt));
  auto loaded = std::make_shared<const SubjectState>(std::move(s));
  std::lock_guard lock(mu_);
  // A catch-up meanwhile may have passed over this subject's newer events
  // (it drops only cached subjects): then this state is answered, not kept.
  if (last_seq_ == followed) cache_.Put(loaded);
  return loaded;
}

Result<const SubjectState*> Capture::Impl::FindSubject(const std::string& id) {
  if (t_working == nullptr) return Internal("a command's subject was read outside a command");
  if (auto it = t_working->find(id); it != t_working->end()) return it->second.get();
  TC_ASSIGN_OR_RETURN(auto current, LoadSubjectLocked(id));
  return t_working->emplace(id, std::move(current)).first->second.get();
}

namespace {

// Stands for the seq of a batch's i-th event while it is not stored yet
// (kUnstored + i): above any real one.
constexpr uint64_t kUnstored = uint64_t{1} << 62;

// Gives the items a batch changed the seq of the stored events they stand
// for: cheaper than applying the events to a fresh copy of the state.
void StampStoredSeqs(SubjectState& s, const std::vector<Event>& stored) {
  auto stamped = [&](uint64_t& seq) {
    if (seq >= kUnstored && seq - kUnstored < stored.size()) seq = stored[seq - kUnstored].seq;
  };
  auto stamp = [&](ItemState& item) { stamped(item.seq); };
  for (auto& [n, q] : s.queries) stamped(q.triggering_save_seq);
  for (auto& [version, seq] : s.last_saves) stamped(seq);
  for (auto& [vid, visit] : s.visits) {
    for (auto& [fid, form] : visit.forms) {
      for (auto& [id, item] : form.items) stamp(item);
      for (auto& [group, rows] : form.rows) {
        for (auto& [n, row] : rows) {
          for (auto& [id, item] : row.items) stamp(item);
        }
      }
    }
  }
}

}  // namespace

Result<std::vector<Event>> Capture::Impl::Commit(const std::string& stream, uint64_t expected_version,
                                                 std::vector<EventDraft> drafts, const DirectCase* case_before) {
  AppendRequest req;
  req.study = study_id_;
  req.events = std::move(drafts);
  req.expected_versions[stream] = static_cast<int64_t>(expected_version);
  // Every command was decided on the study's state as this process knows it
  // (lock, version in force): if another process changed that, the append
  // aborts, the state catches up and the command is decided again.
  if (stream != "study") req.expected_versions["study"] = static_cast<int64_t>(state_.study_stream_version);
  const bool subject_stream = stream.starts_with("subject/");
  const bool case_stream = IsDirectCaseStream(stream);
  const std::string subject_id = subject_stream ? stream.substr(8) : "";
  // The state the rows are computed from: the working copy decided on (an
  // empty one for a new subject), moved forward by the stored events inside
  // the append's transaction.
  // (The working set is this thread's, and this thread waits in Append while
  // the projector runs: the entry stays put.)
  static const SubjectState kNewSubject;
  const SubjectState* before_ptr = &kNewSubject;
  if (subject_stream && t_working != nullptr) {
    if (auto it = t_working->find(subject_id); it != t_working->end()) before_ptr = it->second.get();
  }
  if (subject_stream && before_ptr == &kNewSubject && expected_version != 0) {
    return Internal("a command committed to subject " + subject_id + " without reading it first");
  }
  const SubjectState& before = *before_ptr;
  auto after = std::make_shared<SubjectState>();
  std::shared_ptr<const study::Study> in_force = study_;
  // The rows before, as the subject's last commit in this process left them
  // (else computed from the state before, inside the projector).
  std::shared_ptr<const RowMap> before_rows =
      subject_stream && before.version > 0 ? cache_.Rows(subject_id, before.version, in_force.get()) : nullptr;
  std::shared_ptr<const RowMap> after_rows;
  // Whether the last call was given the events before they were stored
  // (store/projection.h): their seq is not known yet.
  bool unsequenced = false;
  req.project = [&](const std::vector<Event>& stored, ProjectionWriter& writer) -> Status {
    unsequenced = stored.front().seq == 0;
    if (subject_stream) {
      *after = before;
      for (size_t i = 0; i < stored.size(); ++i) {
        if (!unsequenced) {
          ApplyCounted(*after, stored[i], in_force.get());
          continue;
        }
        Event e = stored[i];
        e.seq = kUnstored + i;
        ApplyCounted(*after, e, in_force.get());
      }
      if (before_rows == nullptr) {
        before_rows = std::make_shared<const RowMap>(SubjectRows(study_id_, in_force.get(), before));
      }
      after_rows = std::make_shared<const RowMap>(SubjectRows(study_id_, in_force.get(), *after));
      return WriteRowChanges(*before_rows, *after_rows, writer);
    }
    if (case_stream) {
      // A direct case is read whole for each of its (few) commands: its rows
      // before and after come from its events.
      DirectCase after_case = case_before != nullptr ? *case_before : DirectCase{};
      const RowMap rows_before = DirectCaseRows(study_id_, in_force.get(), after_case);
      for (size_t i = 0; i < stored.size(); ++i) ApplyDirectCaseEvent(after_case, stored[i]);
      return WriteRowChanges(rows_before, DirectCaseRows(study_id_, in_force.get(), after_case), writer);
    }
    // The subjects' rows stay those of the version they were computed under
    // until RewriteStudyProjections writes the new version's (a first
    // publication has no subjects, so its rows are current at once).
    StudyState study_after = state_;
    for (const Event& e : stored) ApplyEvent(study_after, e);
    const std::string& rows_hash = state_.content_hash.empty() ? study_after.content_hash : state_.content_hash;
    return writer.Put("cap_study", StudyRow(study_id_, study_after, rows_hash));
  };
  // The decision is made; while the store appends (and waits for its fsync,
  // shared with concurrent commands) others may decide theirs. The expected
  // versions make any overlap on the same subject lose and retry.
  std::unique_lock<std::mutex>* held = t_deciding != nullptr && t_deciding->mutex() == &mu_ ? t_deciding : nullptr;
  if (held != nullptr) held->unlock();
  auto appended = store_->Append(req);
  if (held != nullptr) held->lock();
  if (!appended.ok()) {
    if (appended.status().code() == StatusCode::kAborted) {
      // Another writer got in first: read the subject again, take in the
      // study's own events, and let the caller decide again.
      if (subject_stream) {
        cache_.Erase(subject_id);
        if (t_working != nullptr) t_working->erase(subject_id);
      }
      TC_RETURN_IF_ERROR(CatchUp());
      return Aborted(stream + " was changed by someone else at the same time; nothing was saved, please retry");
    }
    return appended.status();
  }
  if (subject_stream) {
    // The state keeps each item's seq: that of the event as stored.
    if (unsequenced) StampStoredSeqs(*after, *appended);
    if (t_working != nullptr) (*t_working)[subject_id] = after;
    cache_.Put(std::move(after), std::move(after_rows), in_force.get());
  } else if (!case_stream) {
    for (const Event& e : *appended) TC_RETURN_IF_ERROR(ApplyStudyEvent(e));
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
    TC_ASSIGN_OR_RETURN(size_t subjects, CountSubjects(m.store_, m.study_id_));
    if (subjects > 0) {
      return FailedPrecondition("study " + s->id + " has " + std::to_string(subjects) + " subjects; publish version " +
                                s->version +
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
  const bool republished = !m.state_.content_hash.empty();
  TC_ASSIGN_OR_RETURN(out.events, m.Commit("study", m.state_.study_stream_version, {d}));
  // A new version before any subject: rows of a subject screened meanwhile
  // (by another thread or process) are judged by it too.
  if (republished) TC_RETURN_IF_ERROR(RewriteStudyProjections(m.store_, m.study_id_).status());
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
  TC_ASSIGN_OR_RETURN(std::vector<std::string> ids, SubjectIds(m.store_, m.study_id_));
  plan.subjects = ids.size();
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
  // Each subject in turn, replayed without the cache (a plan reads them all).
  for (const std::string& sid : ids) {
    TC_ASSIGN_OR_RETURN(SubjectState s, m.ReplaySubject(sid, m.versions_, std::nullopt));
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
  // Every subject's forms, visits and queries are judged by the new version
  // from now on: their rows are written again from the log.
  TC_RETURN_IF_ERROR(RewriteStudyProjections(m.store_, m.study_id_).status());
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
  WorkingSet working;
  if (expected_version) {
    TC_RETURN_IF_ERROR(impl_->CatchUp());
    const Value* subject = command.Find("subject");
    if (subject != nullptr && subject->is_string()) {
      auto current = impl_->LoadSubjectLocked(subject->as_string());
      if (!current.ok() && current.status().code() != StatusCode::kNotFound) return current.status();
      // The version the actor's role reads (capture/blinding.h).
      uint64_t now = current.ok() ? SubjectVersion(**current, BlindedRole(actor.role)) : 0;
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

Result<SubjectState> Capture::Subject(const std::string& id) const {
  TC_ASSIGN_OR_RETURN(auto s, impl_->LoadSubject(id));
  return *s;
}

bool Capture::DatabaseLocked() const {
  std::lock_guard lock(impl_->mu_);
  return impl_->state_.locked;
}

EventStore* Capture::store() const { return impl_->store_; }
ReadCache* Capture::read_cache() const { return &impl_->read_cache_; }
std::pair<size_t, size_t> Capture::CachedSubjects() const {
  std::lock_guard lock(impl_->mu_);
  return {impl_->cache_.size(), impl_->cache_.bytes()};
}
const std::string& Capture::study_id() const { return impl_->study_id_; }

namespace {

// Where a criterion is answered: the forms its condition reads ("FORM.ITEM"
// or "VISIT.FORM.ITEM"), each at the visit the subject entered it (the last
// in schedule order, as the condition reads it) or else the first visit that
// collects it. For a criterion not yet answerable, the first with no data.
std::pair<std::string, std::string> AnsweringForm(const study::Study& study, const SubjectState& s,
                                                  const rules::Expression& e, const std::vector<std::string>& order,
                                                  bool unknown) {
  std::vector<std::string> keys = e.scalars();
  for (const rules::TableRef& t : e.tables()) keys.insert(keys.end(), t.column_keys.begin(), t.column_keys.end());
  std::pair<std::string, std::string> first;
  for (const std::string& key : keys) {
    std::vector<std::string> parts = SplitKey(key);
    if (parts.size() < 2) continue;
    const std::string& form = parts[parts.size() - 2];
    if (study.FindForm(form) == nullptr) continue;
    std::string visit = parts.size() > 2 ? parts[0] : "";
    bool entered = false;
    for (const std::string& v : order) {
      if (!visit.empty() && v != visit) continue;
      auto vs = s.visits.find(v);
      if (vs == s.visits.end()) continue;
      auto fs = vs->second.forms.find(form);
      if (fs != vs->second.forms.end() && fs->second.touched) {
        visit = v;
        entered = true;
      }
    }
    if (visit.empty()) {
      for (const study::Visit& v : study.visits) {
        if (std::find(v.forms.begin(), v.forms.end(), form) != v.forms.end()) {
          visit = v.id;
          break;
        }
      }
    }
    if (visit.empty()) continue;
    if (first.first.empty()) first = {visit, form};
    if (unknown && !entered) return {visit, form};
  }
  return first;
}

}  // namespace

EligibilityResult Capture::Impl::Eligibility(const SubjectState& s) const {
  EligibilityResult r;
  Binder binder(*study_, s, "", "", nullptr, "", env_->NowMicros());
  bool unknown = false, failed = false;
  const std::vector<std::string> order = VisitInstancesInOrder(*study_, s);
  for (const study::Criterion& c : study_->eligibility) {
    CriterionResult cr{c.id, c.inclusion, c.expr ? binder.Test(*c.expr) : rules::Truth::kUnknown, c.text, "", ""};
    if (c.expr) {
      std::tie(cr.visit, cr.form) = AnsweringForm(*study_, s, *c.expr, order, cr.met == rules::Truth::kUnknown);
    }
    if (cr.met == rules::Truth::kUnknown) unknown = true;
    if (c.inclusion && cr.met == rules::Truth::kFalse) failed = true;
    if (!c.inclusion && cr.met == rules::Truth::kTrue) failed = true;
    r.criteria.push_back(cr);
  }
  r.overall = failed ? Eligibility::kNotEligible : unknown ? Eligibility::kIncomplete : Eligibility::kEligible;
  return r;
}

Status Capture::SeeAllCommits() const { return impl_->CatchUpNow(); }

Status Capture::ReadSubject(const std::string& id, const std::function<void(const SubjectState&)>& fn) const {
  TC_ASSIGN_OR_RETURN(auto s, impl_->LoadSubject(id));
  fn(*s);  // the state is immutable: read without any lock
  return Status::Ok();
}

Result<SubjectState> Capture::SubjectAsOf(const std::string& id, int64_t until_us) const {
  std::shared_ptr<const study::Study> definition = study();
  // Judged by the version in force now: the as-of view is read today.
  StudyVersions now_in_force;
  if (definition != nullptr) now_in_force.emplace_back(0, definition);
  auto then = impl_->ReplaySubject(id, now_in_force, until_us);
  if (!then.ok() && then.status().code() == StatusCode::kNotFound) {
    return NotFound("subject " + id + " did not exist yet at that time");
  }
  return then;
}

Result<EligibilityResult> Capture::CheckEligibility(const std::string& subject) const {
  std::shared_ptr<const study::Study> definition = study();
  if (definition == nullptr) return FailedPrecondition("study " + impl_->study_id_ + " is not published");
  TC_ASSIGN_OR_RETURN(auto s, impl_->LoadSubject(subject));
  std::lock_guard lock(impl_->mu_);
  return impl_->Eligibility(*s);
}

Result<std::vector<VisitSchedule>> Capture::Schedule(const std::string& subject) const {
  std::shared_ptr<const study::Study> definition = study();
  if (definition == nullptr) return FailedPrecondition("study " + impl_->study_id_ + " is not published");
  TC_ASSIGN_OR_RETURN(auto s, impl_->LoadSubject(subject));
  return ScheduleOf(PlanVisits(*definition, *s), impl_->env_->NowMicros() / rules::kMicrosPerDay);
}

std::vector<VisitSchedule> ScheduleOf(const std::vector<PlannedVisit>& plan, int64_t today) {
  std::vector<VisitSchedule> out;
  for (const PlannedVisit& p : plan) {
    VisitSchedule vs;
    vs.visit = p.visit;
    vs.planned_day = p.planned_day;
    vs.actual_day = p.actual_day;
    if (p.unscheduled) {
      vs.status = WindowStatus::kUnscheduled;
    } else if (p.missed) {
      vs.status = WindowStatus::kMissed;
    } else if (p.planned_day) {
      const int64_t planned = *p.planned_day;
      if (p.actual_day) {
        const int64_t a = *p.actual_day;
        vs.status = a < planned - p.window_before  ? WindowStatus::kEarly
                    : a > planned + p.window_after ? WindowStatus::kLate
                                                   : WindowStatus::kInWindow;
      } else {
        vs.status = today > planned + p.window_after     ? WindowStatus::kOverdue
                    : today >= planned - p.window_before ? WindowStatus::kDue
                                                         : WindowStatus::kNotDue;
      }
    } else if (p.actual_day) {
      vs.status = WindowStatus::kInWindow;  // before the anchor exists, screening visits are judged by the site
    }
    out.push_back(vs);
  }
  return out;
}

Result<FormStatus> Capture::StatusOfForm(const std::string& subject, const std::string& visit,
                                         const std::string& form) const {
  std::shared_ptr<const study::Study> definition = study();
  if (definition == nullptr) return FailedPrecondition("study " + impl_->study_id_ + " is not published");
  const study::Form* f = definition->FindForm(form);
  if (f == nullptr) return NotFound("unknown form " + form);
  TC_ASSIGN_OR_RETURN(auto s, impl_->LoadSubject(subject));
  return StatusOfFormIn(*definition, *s, visit, *f, impl_->env_->NowMicros());
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
