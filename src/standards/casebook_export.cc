#include "standards/casebook_export.h"

#include <algorithm>
#include <set>

#include "capture/blinding.h"
#include "capture/privacy.h"
#include "capture/reads.h"
#include "standards/casebook_pdf.h"
#include "store/audit.h"

namespace trialcore::standards {

namespace {

// What the export's roles may see of a study (capture/blinding.h, privacy.h).
struct View {
  bool blinded = false;
  std::set<std::string> hidden;  // "FORM/ITEM"
  capture::Withheld withheld;    // identifying items, by "FORM/ITEM"
};

View ViewFor(const study::Study& study, const std::vector<std::string>& roles) {
  View view;
  view.blinded = std::any_of(roles.begin(), roles.end(), [](const std::string& r) { return capture::BlindedRole(r); });
  if (view.blinded) {
    for (const study::Form& form : study.forms) {
      for (const study::ItemGroup& group : form.groups) {
        for (const study::Item& item : group.items) {
          if (capture::HiddenItem(study, form.id, item.id)) view.hidden.insert(form.id + "/" + item.id);
        }
      }
    }
  }
  if (!roles.empty()) view.withheld = capture::WithheldFrom(study, roles);
  return view;
}

// The subject as the view may see it: hidden items and the queries on them
// gone, identifying values as disclosed.
capture::SubjectState Visible(const study::Study& study, const View& view, const capture::SubjectState& subject) {
  capture::SubjectState out = subject;
  auto cut = [&](const std::string& form, std::map<std::string, capture::ItemState>& items) {
    for (auto it = items.begin(); it != items.end();) {
      const std::string key = form + "/" + it->first;
      if (view.hidden.contains(key)) {
        it = items.erase(it);
        continue;
      }
      if (auto w = view.withheld.find(key); w != view.withheld.end()) {
        it->second.value = capture::Disclosed(it->second.value, w->second);
      }
      ++it;
    }
  };
  for (auto& [_, visit] : out.visits) {
    for (auto& [form_id, form] : visit.forms) {
      cut(form_id, form.items);
      for (auto& [__, rows] : form.rows) {
        for (auto& [___, row] : rows) cut(form_id, row.items);
      }
    }
  }
  if (view.blinded) std::erase_if(out.queries, [&](const auto& q) { return capture::HiddenQuery(study, q.second); });
  return out;
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    const size_t slash = path.find('/', start);
    out.push_back(path.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) return out;
    start = slash + 1;
  }
}

// The item ("FORM/ITEM") a path below "subject/ID/" is of: VISIT/FORM/ITEM[/x]
// or VISIT/FORM/GROUP/ROW/ITEM[/x]; empty when none.
std::string ItemKey(const std::vector<std::string>& seg) {
  if (seg.size() < 3 || seg[0] == "queries" || seg[0] == "signatures" || seg[0] == "safety_cases") return "";
  const bool row = seg.size() >= 5 && !seg[3].empty() &&
                   std::all_of(seg[3].begin(), seg[3].end(), [](char c) { return c >= '0' && c <= '9'; });
  if (row) return seg[4] == "removed" ? "" : seg[1] + "/" + seg[4];
  return seg[1] + "/" + seg[2];
}

// Whether a path is of a query a blinded reader may not see: numbered as a
// hidden one, or on a hidden item (by the subject's queries).
bool HiddenQueryPath(const study::Study& study, const capture::SubjectState& subject,
                     const std::vector<std::string>& seg) {
  if (seg.size() < 2 || seg[0] != "queries") return false;
  const auto number = capture::ParseQueryNumber(seg[1]);
  if (!number.ok()) return false;
  if (*number > capture::kHiddenQueryBase) return true;
  auto q = subject.queries.find(*number);
  return q != subject.queries.end() && capture::HiddenQuery(study, q->second);
}

// Appends the event's lines the view may see. A reason is withheld when the
// change also covered what the view may not see (it may quote it).
void AddEvent(const study::Study& study, const View& view, const capture::SubjectState& subject,
              const std::string& prefix, const std::vector<AuditEntry>& entries, std::vector<CasebookAuditLine>* out,
              uint64_t* withheld_changes) {
  bool reason_withheld = false;
  std::vector<CasebookAuditLine> lines;
  for (const AuditEntry& e : entries) {
    std::string path = e.path.rfind(prefix, 0) == 0 ? e.path.substr(prefix.size()) : e.path;
    const std::vector<std::string> seg = Split(path);
    const std::string key = ItemKey(seg);
    if ((!key.empty() && view.hidden.contains(key)) || (view.blinded && HiddenQueryPath(study, subject, seg))) {
      reason_withheld = true;
      ++*withheld_changes;
      continue;
    }
    CasebookAuditLine line{e.seq,           e.time_us,   e.actor.user, e.actor.role, e.type,
                           std::move(path), e.old_value, e.new_value,  e.reason};
    if (auto w = key.empty() ? view.withheld.end() : view.withheld.find(key); w != view.withheld.end()) {
      reason_withheld = true;
      if (line.old_value) line.old_value = capture::Disclosed(*line.old_value, w->second);
      if (line.new_value) line.new_value = capture::Disclosed(*line.new_value, w->second);
    }
    lines.push_back(std::move(line));
  }
  for (CasebookAuditLine& line : lines) {
    if (reason_withheld && !line.reason.empty()) {
      line.reason = "(withheld: the change also covered data the export's roles do not see)";
    }
    out->push_back(std::move(line));
  }
}

}  // namespace

Result<TransferReport> ExportCasebooks(EventStore& store, const capture::Capture& capture,
                                       const CasebookExportOptions& options, Env* env, const std::string& dir) {
  const std::shared_ptr<const study::Study> study = capture.study();
  const std::string& study_id = capture.study_id();
  std::set<std::string> sites;
  for (const study::Site& s : study->sites) sites.insert(s.id);
  TC_ASSIGN_OR_RETURN(std::vector<std::string> with_subjects, capture::SitesWithSubjects(&store, study_id));
  sites.insert(with_subjects.begin(), with_subjects.end());
  if (!sites.contains(options.site)) {
    std::string list;
    for (const std::string& s : sites) list += (list.empty() ? "" : ", ") + s;
    return NotFound("study " + study_id + " has no site " + options.site +
                    " (its sites: " + (list.empty() ? "none" : list) + ")");
  }
  TC_RETURN_IF_ERROR(env->CreateDirs(dir));
  const View view = ViewFor(*study, options.roles);
  // The site's subjects from the projection's list, inactivated ones too.
  std::vector<std::string> subjects;
  capture::Viewer everyone;
  everyone.all_sites = true;
  everyone.unblinded_everywhere = true;
  capture::SubjectFilter at_site;
  at_site.site = options.site;
  at_site.with_inactive = true;
  for (size_t offset = 0;;) {
    TC_ASSIGN_OR_RETURN(capture::SubjectPage page,
                        capture::ListSubjects(&store, study_id, everyone, at_site, offset, 1000));
    for (const capture::SubjectSummary& s : page.subjects) subjects.push_back(s.id);
    offset += page.subjects.size();
    if (page.subjects.empty() || offset >= static_cast<size_t>(page.total)) break;
  }
  TransferReport report;
  uint64_t written = 0, forms = 0, audit = 0, signatures = 0, pages = 0, withheld = 0;
  size_t done = 0;
  for (const std::string& id : subjects) {
    // One subject at a time: its state (copied as the view sees it) and trail.
    std::optional<capture::SubjectState> subject;
    TC_RETURN_IF_ERROR(
        capture.ReadSubject(id, [&](const capture::SubjectState& s) { subject = Visible(*study, view, s); }));
    if (options.progress) options.progress(++done, subjects.size());
    if (!subject || subject->site != options.site) continue;
    CasebookInput input;
    input.study = study.get();
    input.subject = &*subject;
    input.hidden_items = view.hidden;
    input.now_us = options.now_us;
    input.generated_by = options.generated_by;
    input.creator = options.creator;
    AuditReader reader(store, study_id, capture::SubjectStream(id));
    const std::string prefix = capture::SubjectStream(id) + "/";
    std::vector<AuditEntry> entries;
    for (;;) {
      TC_ASSIGN_OR_RETURN(bool more, reader.Next(&entries));
      if (!more) break;
      AddEvent(*study, view, *subject, prefix, entries, &input.audit, &withheld);
    }
    const std::string path = dir + "/" + id + ".pdf";
    auto counts = WriteCasebookPdf(input, env, path);
    if (!counts.ok()) return Status(counts.status().code(), path + ": " + counts.status().message());
    ++written;
    forms += counts->forms;
    audit += counts->audit_entries;
    signatures += counts->signatures;
    pages += counts->pages;
  }
  report.CountOf("subjects") = {"subjects", written, written};
  report.CountOf("forms") = {"forms", forms, forms};
  report.CountOf("audit entries") = {"audit entries", audit, audit};
  report.CountOf("signatures") = {"signatures", signatures, signatures};
  report.CountOf("pages") = {"pages", pages, pages};
  if (withheld > 0) {
    report.not_carried.push_back({std::to_string(withheld) + " changes", "unblinded-only items and their queries",
                                  "the casebooks are read as a blinded role"});
  }
  return report;
}

}  // namespace trialcore::standards
