#include "standards/sdtm_import.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "capture/reads.h"
#include "core/test_env.h"
#include "standards/xpt_reader.h"
#include "store/open_store.h"

namespace trialcore::standards {

namespace {

// A dataset read whole: its variables' names and its rows.
class DatasetRows final : public DatasetWriter {
 public:
  Status Begin(const DatasetDescription& description) override {
    for (size_t i = 0; i < description.variables.size(); ++i) index_[description.variables[i].name] = i;
    return Status::Ok();
  }
  Status Row(std::span<const Cell> values) override {
    auto& row = rows_.emplace_back();
    for (const Cell& v : values) row.push_back(Own(v));
    return Status::Ok();
  }
  Status End() override { return Status::Ok(); }

  size_t size() const { return rows_.size(); }
  // The row's value of a variable; missing when the dataset lacks it.
  const OwnedCell& At(size_t row, const std::string& variable) const {
    static const OwnedCell kMissing;
    auto it = index_.find(variable);
    return it == index_.end() ? kMissing : rows_[row][it->second];
  }
  bool Has(const std::string& variable) const { return index_.count(variable) > 0; }

 private:
  std::map<std::string, size_t> index_;
  std::vector<std::vector<OwnedCell>> rows_;
};

std::string Text(const OwnedCell& c) {
  if (c.kind == Cell::Kind::kText) return c.text;
  if (c.kind != Cell::Kind::kNumber) return "";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", c.number);
  return buf;
}

bool FullDate(std::string_view t) {
  return t.size() == 10 && t[4] == '-' && t[7] == '-' &&
         std::all_of(t.begin(), t.end(), [](char ch) { return (ch >= '0' && ch <= '9') || ch == '-'; });
}

bool PartialDate(std::string_view t) {
  return FullDate(t) || (t.size() == 7 && t[4] == '-' && FullDate(std::string(t) + "-01")) ||
         (t.size() == 4 && std::all_of(t.begin(), t.end(), [](char ch) { return ch >= '0' && ch <= '9'; }));
}

// The item's value from an SDTM value, or why it does not fit.
Result<Value> ItemValue(const study::Study& study, const study::Item& item, const OwnedCell& cell) {
  const std::string text = Text(cell);
  auto refuse = [&](const std::string& why) { return InvalidArgument("\"" + text + "\" " + why); };
  switch (item.type) {
    case study::ItemType::kInteger: {
      int64_t n = 0;
      if (cell.kind == Cell::Kind::kNumber) {
        if (cell.number != std::floor(cell.number) || std::fabs(cell.number) > 9e15)
          return refuse("is not a whole number");
        return Value(static_cast<int64_t>(cell.number));
      }
      const auto r = std::from_chars(text.data(), text.data() + text.size(), n);
      if (r.ec != std::errc() || r.ptr != text.data() + text.size()) return refuse("is not a whole number");
      return Value(n);
    }
    case study::ItemType::kDecimal: {
      auto d = Decimal::Parse(text);
      if (!d.ok()) return refuse("is not a decimal number");
      return Value(*d);
    }
    case study::ItemType::kDate:
      if (!FullDate(text)) return refuse("is not a full date (YYYY-MM-DD)");
      return Value(text);
    case study::ItemType::kPartialDate:
      if (!PartialDate(text)) return refuse("is not a date (YYYY, YYYY-MM or YYYY-MM-DD)");
      return Value(text);
    case study::ItemType::kBoolean:
      if (text == "Y") return Value(true);
      if (text == "N") return Value(false);
      return refuse("is not Y or N");
    case study::ItemType::kChoice:
    case study::ItemType::kMultiChoice: {
      const study::CodeList* cl = study.FindCodeList(item.codelist);
      auto known = [&](const std::string& code) {
        return cl != nullptr &&
               std::any_of(cl->codes.begin(), cl->codes.end(), [&](const study::Code& c) { return c.code == code; });
      };
      if (item.type == study::ItemType::kChoice) {
        if (!known(text)) return refuse("is not a code of " + item.codelist);
        return Value(text);
      }
      Value::Array codes;
      size_t start = 0;
      while (start <= text.size()) {
        size_t comma = text.find(',', start);
        std::string code = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        while (!code.empty() && code.front() == ' ') code.erase(code.begin());
        if (!known(code)) return refuse("is not a list of codes of " + item.codelist);
        codes.push_back(Value(code));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      return Value(std::move(codes));
    }
    case study::ItemType::kText:
      if (item.max_length > 0 && static_cast<int>(text.size()) > item.max_length) {
        return refuse("is longer than " + std::to_string(item.max_length) + " characters");
      }
      return Value(text);
    case study::ItemType::kDateTime:
    case study::ItemType::kTime:
      return Value(text);
    case study::ItemType::kAttachment:
      return refuse("cannot be an attachment");
  }
  return refuse("has no place");
}

struct RowPlan {
  std::string group;
  Value::Object items;
};
struct FormPlan {
  Value::Object items;
  std::vector<RowPlan> rows;
  std::set<std::string> domains;  // whose records filled its own items
};
struct SubjectPlan {
  std::string id, site;
  std::map<std::string, std::map<std::string, FormPlan>> forms;                     // visit -> form
  std::map<std::pair<std::string, std::string>, std::pair<FormPlan*, int>> by_seq;  // (domain, --SEQ) -> row (-1: form)
};

class Planner {
 public:
  Planner(const study::Study& study, const SdtmMapping& mapping, TransferReport& report)
      : study_(study), mapping_(mapping), report_(report) {}

  void NotCarried(const std::string& where, const std::string& what, const std::string& why) {
    // One line per kind of problem and variable, with the first place and a count.
    auto [it, fresh] = kinds_.emplace(what + "|" + why, kinds_.size());
    if (fresh) {
      lines_.push_back({report_.not_carried.size(), 1});
      report_.not_carried.push_back({where, what, why});
    } else {
      ++lines_[it->second].second;
    }
  }
  void FinishReport() {
    for (const auto& [line, count] : lines_) {
      if (count > 1) report_.not_carried[line].where += " and " + std::to_string(count - 1) + " more";
    }
  }

  std::string FirstVisitWith(const std::string& form) const {
    for (const auto& v : study_.visits) {
      if (std::find(v.forms.begin(), v.forms.end(), form) != v.forms.end()) return v.id;
    }
    return "";
  }

  std::string VisitOf(double visitnum) const {
    for (const auto& v : study_.visits) {
      if (VisitNumber(mapping_, study_, v.id) == visitnum) return v.id;
    }
    return "";
  }

  // Puts one value into the plan; false when it does not fit.
  bool Set(Value::Object& into, const std::string& form_id, const std::string& item_id, const OwnedCell& cell,
           const std::string& where, const std::string& variable, bool keep_first) {
    if (cell.kind == Cell::Kind::kMissing || (cell.kind == Cell::Kind::kText && cell.text.empty())) return true;
    const study::Form* form = study_.FindForm(form_id);
    const study::Item* item = form ? form->FindItem(item_id) : nullptr;
    if (item == nullptr) return false;
    if (!item->derive.empty()) {
      NotCarried(where, variable, "derived in the study (" + form_id + "." + item_id + " = " + item->derive + ")");
      return true;
    }
    auto value = ItemValue(study_, *item, cell);
    if (!value.ok()) {
      // Grouped by variable and rule; the first value is named with its place.
      const std::string message(value.status().message());
      const size_t quote_end = message.find("\" ");
      NotCarried(where + ": " + message.substr(0, quote_end + 1), variable,
                 message.substr(quote_end == std::string::npos ? 0 : quote_end + 2) + ", so it does not fit " +
                     form_id + "." + item_id);
      return false;
    }
    if (keep_first && into.count(item_id)) return true;
    into[item_id] = std::move(*value);
    ++values_;
    return true;
  }

  void Record(const SdtmDomain& d, const DatasetRows& rows, size_t r, SubjectPlan& plan, const std::string& file) {
    const std::string where = file + " record " + std::to_string(r + 1) + " (" + Text(rows.At(r, "USUBJID")) + ")";
    std::string visit;
    if (d.visit) {
      const OwnedCell& num = rows.At(r, "VISITNUM");
      visit = num.kind == Cell::Kind::kNumber ? VisitOf(num.number) : "";
      if (visit.empty()) {
        NotCarried(where + ": VISITNUM " + Text(num) + " (" + Text(rows.At(r, "VISIT")) + ")", d.domain + " records",
                   "the study has no visit of their number");
        return;
      }
    } else {
      visit = FirstVisitWith(d.form);
    }
    const study::Visit* at = study_.FindVisit(visit);
    if (at == nullptr || std::find(at->forms.begin(), at->forms.end(), d.form) == at->forms.end()) {
      NotCarried(where + ": " + visit, d.domain + " records", "their visit has no form " + d.form);
      return;
    }
    FormPlan& form = plan.forms[visit][d.form];
    const study::Form* def = study_.FindForm(d.form);
    Value::Object* target = &form.items;
    int row_index = -1;
    if (!d.group.empty()) {
      form.rows.push_back({d.group, {}});
      target = &form.rows.back().items;
      row_index = static_cast<int>(form.rows.size()) - 1;
    } else if (!d.findings()) {
      if (form.domains.count(d.domain)) {
        NotCarried(where, "a second " + d.domain + " record at " + visit, "form " + d.form + " holds one per visit");
        return;
      }
      form.domains.insert(d.domain);
    }
    if (rows.Has(d.domain + "SEQ")) plan.by_seq[{d.domain, Text(rows.At(r, d.domain + "SEQ"))}] = {&form, row_index};
    ++records_carried_[d.domain];
    if (d.findings()) {
      const std::string code = Text(rows.At(r, d.domain + "TESTCD"));
      const auto test =
          std::find_if(d.tests.begin(), d.tests.end(), [&](const SdtmTest& t) { return t.testcd == code; });
      if (test == d.tests.end()) {
        NotCarried(where, d.domain + "TESTCD " + code, "the mapping has no such test");
        return;
      }
      Set(form.items, d.form, test->item, rows.At(r, d.domain + "ORRES"), where, d.domain + "ORRES", false);
    }
    for (const auto& v : d.variables) {
      if (v.source.kind != SdtmSource::Kind::kItem) continue;
      const OwnedCell& cell = rows.At(r, v.variable.name);
      if (!v.source.form.empty()) {  // another form's item: its first visit, first value wins
        const std::string other_visit = FirstVisitWith(v.source.form);
        Set(plan.forms[other_visit][v.source.form].items, v.source.form, v.source.item, cell, where, v.variable.name,
            true);
        continue;
      }
      const study::ItemGroup* group = nullptr;
      if (def == nullptr || def->FindItem(v.source.item, &group) == nullptr) continue;
      Value::Object& into = group != nullptr && group->id == d.group ? *target : form.items;
      Set(into, d.form, v.source.item, cell, where, v.variable.name, d.findings());
    }
  }

  void Supp(const SdtmDomain& d, const DatasetRows& rows, size_t r, std::map<std::string, SubjectPlan>& plans,
            const std::map<std::string, std::string>& subject_of, const std::string& file) {
    const std::string where = file + " record " + std::to_string(r + 1);
    const std::string qnam = Text(rows.At(r, "QNAM"));
    const auto s = std::find_if(d.supp.begin(), d.supp.end(), [&](const SdtmSupp& x) { return x.qnam == qnam; });
    if (s == d.supp.end()) {
      NotCarried(where, "SUPP" + d.domain + " QNAM " + qnam, "the mapping has no such qualifier");
      return;
    }
    auto subject = subject_of.find(Text(rows.At(r, "USUBJID")));
    if (subject == subject_of.end()) return;
    SubjectPlan& plan = plans[subject->second];
    auto at = plan.by_seq.find({d.domain, Text(rows.At(r, "IDVARVAL"))});
    if (at == plan.by_seq.end()) {
      NotCarried(where, "SUPP" + d.domain + " " + qnam, "names no " + d.domain + " record that was carried");
      return;
    }
    auto& [form, row] = at->second;
    Set(row >= 0 ? form->rows[static_cast<size_t>(row)].items : form->items, d.form, s->item, rows.At(r, "QVAL"), where,
        "SUPP" + d.domain + "." + qnam, false);
  }

  uint64_t values() const { return values_; }
  uint64_t carried(const std::string& domain) const {
    auto it = records_carried_.find(domain);
    return it == records_carried_.end() ? 0 : it->second;
  }

 private:
  const study::Study& study_;
  const SdtmMapping& mapping_;
  TransferReport& report_;
  std::map<std::string, size_t> kinds_;             // what|why -> index into lines_
  std::vector<std::pair<size_t, uint64_t>> lines_;  // report line, how many times
  std::map<std::string, uint64_t> records_carried_;
  uint64_t values_ = 0;
};

struct Command {
  Value command;
  Actor actor;
  std::string where;
};

std::vector<Command> CommandsOf(const study::Study& study, const SubjectPlan& plan, const std::string& user) {
  std::vector<Command> out;
  out.push_back({Value::Object{{"op", "subject.screen"}, {"subject", plan.id}, {"site", plan.site}},
                 Actor{user, "coordinator"}, "subject " + plan.id});
  for (const auto& visit : study.visits) {
    auto v = plan.forms.find(visit.id);
    if (v == plan.forms.end()) continue;
    std::vector<std::string> order;
    if (!study.visit_date.form.empty()) order.push_back(study.visit_date.form);  // the visit's date first
    for (const auto& f : visit.forms) {
      if (f != study.visit_date.form) order.push_back(f);
    }
    for (const auto& form_id : order) {
      auto f = v->second.find(form_id);
      if (f == v->second.end() || (f->second.items.empty() && f->second.rows.empty())) continue;
      const study::Form* def = study.FindForm(form_id);
      Value::Object cmd{{"op", "form.save"}, {"subject", plan.id}, {"visit", visit.id}, {"form", form_id}};
      if (!f->second.items.empty()) cmd["items"] = f->second.items;
      if (!f->second.rows.empty()) {
        Value::Array rows;
        for (const auto& r : f->second.rows) {
          if (!r.items.empty()) rows.push_back(Value::Object{{"group", r.group}, {"items", r.items}});
        }
        if (!rows.empty()) cmd["rows"] = std::move(rows);
      }
      const std::string role = def != nullptr && !def->roles.empty() ? def->roles.front() : "coordinator";
      out.push_back({Value(std::move(cmd)), Actor{user, role}, "subject " + plan.id + ", " + visit.id + "/" + form_id});
    }
  }
  return out;
}

Status Run(capture::Capture& capture, const std::vector<Command>& commands) {
  for (const auto& c : commands) {
    auto done = capture.Execute(c.command, c.actor);
    if (!done.ok()) return FailedPrecondition(c.where + ": " + std::string(done.status().message()));
  }
  return Status::Ok();
}

// The dry run: each save is first checked as the site's form would check it,
// and a value the form does not ask for there (its condition is false) is
// taken out and reported; then the save runs. The commands are left as the
// real run must send them.
Status DryRun(capture::Capture& capture, std::vector<Command>& commands, Planner& planner) {
  for (auto& c : commands) {
    Value::Object& cmd = c.command.as_object();
    if (cmd["op"] == Value("form.save") && cmd.count("items")) {
      Value::Object check = cmd;
      check["op"] = "form.check";
      auto checked = capture.Execute(Value(check), c.actor);
      if (!checked.ok()) return FailedPrecondition(c.where + ": " + std::string(checked.status().message()));
      const Value* problems = checked->result.Find("problems");
      for (const Value& p :
           problems && problems->kind() == Value::Kind::kArray ? problems->as_array() : Value::Array{}) {
        const Value* kind = p.Find("check");
        const Value* item = p.Find("item");
        if (kind == nullptr || *kind != Value("visibility") || item == nullptr || !item->is_string()) continue;
        cmd["items"].as_object().erase(item->as_string());
        planner.NotCarried(c.where, item->as_string(), p.Find("message")->as_string());
      }
      if (cmd["items"].as_object().empty()) cmd.erase("items");
      if (!cmd.count("items") && !cmd.count("rows")) continue;
    }
    auto done = capture.Execute(c.command, c.actor);
    if (!done.ok()) return FailedPrecondition(c.where + ": " + std::string(done.status().message()));
  }
  return Status::Ok();
}

// USUBJID -> subject id by the mapping's pattern read backwards.
Result<std::string> SubjectOf(const SdtmMapping& mapping, const std::string& study_id, const std::string& usubjid) {
  std::string pattern = mapping.usubjid;
  for (size_t at; (at = pattern.find("{study}")) != std::string::npos;) pattern.replace(at, 7, study_id);
  const size_t at = pattern.find("{subject}");
  if (at == std::string::npos || pattern.find('{') != at) {
    return FailedPrecondition("the mapping's usubjid \"" + mapping.usubjid +
                              "\" must name {subject} (and no {site} or {number}) to import");
  }
  const std::string prefix = pattern.substr(0, at), suffix = pattern.substr(at + 9);
  if (usubjid.size() <= prefix.size() + suffix.size() || usubjid.compare(0, prefix.size(), prefix) != 0 ||
      usubjid.compare(usubjid.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return InvalidArgument("USUBJID \"" + usubjid + "\" does not follow \"" + mapping.usubjid + "\"");
  }
  return usubjid.substr(prefix.size(), usubjid.size() - prefix.size() - suffix.size());
}

}  // namespace

Result<TransferReport> ImportSdtm(capture::Capture& capture, const SdtmMapping& mapping, Env* env,
                                  const std::string& dir, const SdtmImportOptions& options) {
  const study::Study& study = *capture.study();
  if (!mapping.declared) {
    return FailedPrecondition("study " + capture.study_id() + " declares no sdtm mapping to import by");
  }
  if (options.user.empty()) return InvalidArgument("name the user the import is entered as");
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return InvalidArgument(dir + ": no such directory");
  const auto dm = std::find_if(mapping.domains.begin(), mapping.domains.end(),
                               [](const SdtmDomain& d) { return d.domain == "DM"; });
  if (dm == mapping.domains.end())
    return FailedPrecondition("the study's sdtm mapping has no DM: subjects come from it");

  TransferReport report;
  struct Loaded {
    const SdtmDomain* domain;
    std::string file;
    DatasetRows rows, supp;
    std::string supp_file;
  };
  std::vector<std::unique_ptr<Loaded>> loaded;
  for (const auto& d : mapping.domains) {
    auto l = std::make_unique<Loaded>();
    l->domain = &d;
    l->file = (std::filesystem::path(dir) / DatasetFileName(d.domain, ".xpt")).string();
    if (!std::filesystem::exists(l->file, ec)) {
      report.not_carried.push_back({l->file, d.domain, "no such file"});
      continue;
    }
    TC_RETURN_IF_ERROR(ReadXpt(env, l->file, &l->rows));
    const std::string supp = (std::filesystem::path(dir) / DatasetFileName("SUPP" + d.domain, ".xpt")).string();
    if (!d.supp.empty() && std::filesystem::exists(supp, ec)) {
      TC_RETURN_IF_ERROR(ReadXpt(env, supp, &l->supp));
      l->supp_file = supp;
    }
    loaded.push_back(std::move(l));
  }
  // SV first: each visit's date goes in before its forms.
  std::stable_sort(loaded.begin(), loaded.end(), [](const auto& a, const auto& b) {
    return (a->domain->domain == "DM"   ? 0
            : a->domain->domain == "SV" ? 1
                                        : 2) < (b->domain->domain == "DM"   ? 0
                                                : b->domain->domain == "SV" ? 1
                                                                            : 2);
  });
  if (loaded.empty() || loaded.front()->domain->domain != "DM") {
    return InvalidArgument((std::filesystem::path(dir) / "dm.xpt").string() + ": no such file (subjects come from DM)");
  }

  TC_ASSIGN_OR_RETURN(std::vector<std::string> existing, capture::SubjectIds(capture.store(), capture.study_id()));
  const std::set<std::string> taken(existing.begin(), existing.end());
  std::map<std::string, SubjectPlan> plans;
  std::map<std::string, std::string> subject_of;  // USUBJID -> subject
  const DatasetRows& dm_rows = loaded.front()->rows;
  std::vector<std::string> clashes;
  for (size_t r = 0; r < dm_rows.size(); ++r) {
    const std::string usubjid = Text(dm_rows.At(r, "USUBJID"));
    TC_ASSIGN_OR_RETURN(std::string id, SubjectOf(mapping, study.id, usubjid));
    const std::string site = Text(dm_rows.At(r, "SITEID"));
    if (std::none_of(study.sites.begin(), study.sites.end(), [&](const study::Site& s) { return s.id == site; })) {
      return InvalidArgument(loaded.front()->file + " record " + std::to_string(r + 1) + ": SITEID \"" + site +
                             "\" is not a site of study " + study.id);
    }
    if (taken.count(id)) {
      clashes.push_back(id);
      if (options.skip_existing) continue;  // its records find no subject below, and are reported so
    }
    subject_of[usubjid] = id;
    plans[id].id = id;
    plans[id].site = site;
  }
  if (!clashes.empty() && options.skip_existing) {
    std::string list;
    for (const auto& id : clashes) list += (list.empty() ? "" : ", ") + id;
    report.not_carried.push_back({list, std::to_string(clashes.size()) + " subjects", "already in the study"});
  } else if (!clashes.empty()) {
    std::string list;
    for (size_t i = 0; i < clashes.size() && i < 10; ++i) list += (i ? ", " : "") + clashes[i];
    return FailedPrecondition(std::to_string(clashes.size()) + " subjects of " + loaded.front()->file +
                              " are already in study " + study.id + " (" + list + (clashes.size() > 10 ? ", ..." : "") +
                              "); an import adds subjects, it never changes one (--skip-existing leaves them out)");
  }

  Planner planner(study, mapping, report);
  for (const auto& l : loaded) {
    for (size_t r = 0; r < l->rows.size(); ++r) {
      auto subject = subject_of.find(Text(l->rows.At(r, "USUBJID")));
      if (subject == subject_of.end()) {
        planner.NotCarried(l->file + " record " + std::to_string(r + 1), l->domain->domain + " records",
                           "their subject has no DM record, or is left out");
        continue;
      }
      planner.Record(*l->domain, l->rows, r, plans[subject->second], l->file);
    }
    for (size_t r = 0; r < l->supp.size(); ++r) planner.Supp(*l->domain, l->supp, r, plans, subject_of, l->supp_file);
  }
  std::vector<std::vector<Command>> commands;
  size_t command_count = 0;
  for (const auto& [id, plan] : plans) {
    commands.push_back(CommandsOf(study, plan, options.user));
    command_count += commands.back().size();
  }

  // The dry run: the same commands on an empty in-memory copy of the study.
  {
    MemEnv scratch_env(42, env->NowMicros());
    StoreOpenOptions open;
    open.env = &scratch_env;
    TC_ASSIGN_OR_RETURN(auto scratch, OpenEventStore("/mem/sdtm-import-dry-run.db", open));
    TC_ASSIGN_OR_RETURN(auto dry, capture::Capture::Open(scratch.get(), &scratch_env, capture.study_id()));
    TC_RETURN_IF_ERROR(dry->PublishStudy(capture.study(), Actor{options.user, "study_admin"}).status());
    for (auto& subject : commands) {
      Status status = DryRun(*dry, subject, planner);
      if (!status.ok()) return FailedPrecondition("nothing was imported: " + std::string(status.message()));
    }
    planner.FinishReport();
  }
  size_t done = 0;
  for (const auto& subject : commands) {
    // An empty save (every value taken out) was skipped by the dry run.
    std::vector<Command> left;
    for (const auto& c : subject) {
      const Value* op = c.command.Find("op");
      if (*op == Value("form.save") && !c.command.Find("items") && !c.command.Find("rows")) continue;
      left.push_back(c);
    }
    TC_RETURN_IF_ERROR(Run(capture, left));
    if (options.progress) options.progress(++done, commands.size());
  }

  report.CountOf("subjects") = {"subjects", dm_rows.size(), plans.size()};
  for (const auto& l : loaded) {
    const std::string what = l->domain->domain + " records";
    report.CountOf(what) = {what, l->rows.size(), planner.carried(l->domain->domain)};
  }
  report.CountOf("item values") = {"item values", planner.values(), planner.values()};
  report.CountOf("commands") = {"commands", command_count, command_count};
  return report;
}

}  // namespace trialcore::standards
