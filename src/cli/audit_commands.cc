// audit verify | log | checkpoint | prove | verify-proof | public-key
#include <chrono>
#include <ostream>
#include <sstream>

#include "cli/commands.h"
#include "cli/progress.h"
#include "cli/store_access.h"
#include "core/canonical.h"
#include "core/csv_field.h"
#include "core/json.h"
#include "core/merkle.h"
#include "store/audit.h"

namespace trialcore::cli {
namespace {

constexpr char kInclusionFormat[] = "trialcore-inclusion-proof/1";
constexpr char kConsistencyFormat[] = "trialcore-consistency-proof/1";

Value HashList(const std::vector<Hash>& path) {
  Value::Array a;
  for (const auto& h : path) a.emplace_back(ToHex(h));
  return Value(std::move(a));
}

Result<std::vector<std::string>> HashListFrom(const Value* v, const std::string& file) {
  if (!v || v->kind() != Value::Kind::kArray)
    return InvalidArgument(file + ": \"path\" must be an array of hex hashes");
  std::vector<std::string> out;
  for (size_t i = 0; i < v->as_array().size(); ++i) {
    const Value& e = v->as_array()[i];
    if (!e.is_string()) return InvalidArgument(file + ": path element " + std::to_string(i) + " is not a string");
    auto bytes = FromHex(e.as_string());
    if (!bytes.ok()) return bytes.status().WithContext(file + ": path element " + std::to_string(i));
    out.push_back(std::move(bytes).value());
  }
  return out;
}

Result<std::string> StringField(const Value& v, const char* name, const std::string& file) {
  const Value* f = v.Find(name);
  if (!f || !f->is_string()) return InvalidArgument(file + ": field \"" + name + "\" is missing or not a string");
  return f->as_string();
}

Result<Checkpoint> CheckpointField(const Value& v, const char* name, const std::string& file) {
  const Value* f = v.Find(name);
  if (!f) return InvalidArgument(file + ": field \"" + std::string(name) + "\" is missing");
  TC_ASSIGN_OR_RETURN_CTX(Checkpoint c, CheckpointFromValue(*f), file);
  return c;
}

Result<Value> ReadJsonFile(Env* env, const std::string& file) {
  TC_ASSIGN_OR_RETURN(std::string text, env->ReadFileToString(file));
  TC_ASSIGN_OR_RETURN_CTX(Value v, ParseJson(text), file);
  return v;
}

Result<std::string> ReadPublicKey(Env* env, const std::string& file) {
  TC_ASSIGN_OR_RETURN(std::string pem, env->ReadFileToString(file));
  TC_ASSIGN_OR_RETURN_CTX(std::string key, ParsePublicKeyPem(pem), file);
  return key;
}

// Strings as people read them; other values as JSON, so 5.0 and "5.0" differ.
std::string Display(const std::optional<Value>& v) {
  if (!v) return "";
  if (v->is_string()) return v->as_string();
  return ToJson(*v);
}

}  // namespace

Status AuditVerify(const VerifyArgs& args, Context& ctx) {
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(args.db, ctx.env));
  std::optional<std::string> key;
  if (args.public_key_file) {
    TC_ASSIGN_OR_RETURN(key, ReadPublicKey(ctx.env, *args.public_key_file));
  }
  std::vector<Checkpoint> extra;
  for (const auto& file : args.checkpoint_files) {
    TC_ASSIGN_OR_RETURN(Value v, ReadJsonFile(ctx.env, file));
    TC_ASSIGN_OR_RETURN_CTX(Checkpoint c, CheckpointFromValue(v), file);
    extra.push_back(std::move(c));
  }
  std::vector<std::string> studies;
  TC_ASSIGN_OR_RETURN(auto heads, store->Heads());
  if (args.study) {
    TC_ASSIGN_OR_RETURN(std::string s, ChooseStudy(*store, args.db, args.study));
    studies.push_back(s);
  } else {
    for (const auto& h : heads) studies.push_back(h.study);
  }
  for (const auto& c : extra) {
    if (std::find(studies.begin(), studies.end(), c.study) == studies.end()) {
      return NotFound("a checkpoint given is for study " + c.study + ", which the database does not hold");
    }
  }
  auto start = std::chrono::steady_clock::now();
  uint64_t all_events = 0, bytes = 0;
  for (const auto& study : studies) {
    std::vector<Checkpoint> mine;
    for (const auto& c : extra) {
      if (c.study == study) mine.push_back(c);
    }
    uint64_t total = 0;
    for (const auto& h : heads) {
      if (h.study == study) total = h.size;
    }
    Progress bar(ctx, "verifying " + study, total);
    TC_ASSIGN_OR_RETURN(StudyVerification v,
                        VerifyStudy(*store, study, mine, key, [&](uint64_t done) { bar.Update(done); }));
    bar.Done();
    if (v.problem) {
      ctx.out << "FAILED: study " << study << ", event " << v.problem->seq << " (position " << v.problem->study_index
              << "): " << v.problem->what << "\n";
      return DataLoss("the audit trail of " + study + " does not verify");
    }
    ctx.out << "ok  " << study << ": " << v.events << " events, head " << ToHex(v.head) << ", " << v.checkpoints_checked
            << " checkpoint(s) verified\n";
    all_events += v.events;
    bytes += v.bytes;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ctx.out << "OK: " << all_events << " events in " << studies.size() << " stud" << (studies.size() == 1 ? "y" : "ies")
          << " verified (" << bytes << " bytes hashed in " << secs << " s)\n";
  return Status::Ok();
}

Status AuditLog(const AuditLogArgs& args, Context& ctx) {
  if (args.format != "csv" && args.format != "json") {
    return InvalidArgument("--format must be csv or json, not " + args.format);
  }
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(args.db, ctx.env));
  AuditFilter f;
  TC_ASSIGN_OR_RETURN(f.study, ChooseStudy(*store, args.db, args.study));
  f.subject = args.subject;
  f.path_prefix = args.path;
  f.user = args.user;
  if (args.from) {
    TC_ASSIGN_OR_RETURN(f.from_us, ParseTimeMicros(*args.from));
  }
  if (args.to) {
    TC_ASSIGN_OR_RETURN(f.to_us, ParseTimeMicros(*args.to));
  }
  std::string text;
  Value::Array rows;
  if (args.format == "csv") text = "seq,time_utc,user,role,event,stream,path,old_value,new_value,reason,details\n";
  size_t count = 0;
  TC_RETURN_IF_ERROR(ForEachAuditEntry(*store, f, [&](const AuditEntry& a) -> Status {
    ++count;
    Value::Object details = a.details;
    details.erase("set");
    if (args.format == "csv") {
      // Every text field as a spreadsheet may open it safely (CsvSafeField).
      text += std::to_string(a.seq) + "," + FormatTimeMicros(a.time_us) + "," + CsvSafeField(a.actor.user) + "," +
              CsvSafeField(a.actor.role) + "," + CsvSafeField(a.type) + "," + CsvSafeField(a.stream) + "," +
              CsvSafeField(a.path) + "," + CsvSafeField(Display(a.old_value)) + "," +
              CsvSafeField(Display(a.new_value)) + "," + CsvSafeField(a.reason) + "," +
              CsvSafeField(details.empty() ? "" : ToJson(Value(details))) + "\n";
    } else {
      Value::Object o;
      o["seq"] = static_cast<int64_t>(a.seq);
      o["time_utc"] = FormatTimeMicros(a.time_us);
      o["user"] = a.actor.user;
      o["role"] = a.actor.role;
      o["event"] = a.type;
      o["stream"] = a.stream;
      o["path"] = a.path;
      o["old_value"] = a.old_value ? *a.old_value : Value();
      o["new_value"] = a.new_value ? *a.new_value : Value();
      o["reason"] = a.reason;
      o["details"] = details;
      rows.emplace_back(std::move(o));
    }
    return Status::Ok();
  }));
  if (args.format == "json") text = ToJson(Value(std::move(rows)), true) + "\n";
  TC_RETURN_IF_ERROR(WriteOutput(args.out, text, ctx));
  if (args.out) ctx.err << count << " audit trail entries written to " << *args.out << "\n";
  return Status::Ok();
}

Status AuditCheckpoint(const std::string& db, const std::optional<std::string>& study, const std::string& key_path,
                       const std::optional<std::string>& out, Context& ctx) {
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(db, ctx.env));
  TC_ASSIGN_OR_RETURN(std::string s, ChooseStudy(*store, db, study));
  bool created = !ctx.env->FileExists(key_path);
  TC_ASSIGN_OR_RETURN(SigningKey key, SigningKey::LoadOrCreate(ctx.env, key_path));
  if (created) ctx.err << "created signing key " << key_path << " (mode 0600); keep it safe\n";
  TC_ASSIGN_OR_RETURN(Checkpoint c, store->CreateCheckpoint(s, key));
  std::string json = ToJson(CheckpointToValue(c), true) + "\n";
  if (out) {
    TC_RETURN_IF_ERROR(WriteOutput(out, json, ctx));
    ctx.out << "checkpoint of " << c.study << " at " << c.tree_size << " events, root " << ToHex(c.root_hash)
            << ", written to " << *out << "\n";
  } else {
    ctx.out << json;
  }
  return Status::Ok();
}

Status AuditProveInclusion(const std::string& db, uint64_t seq, const std::optional<std::string>& out, Context& ctx) {
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(db, ctx.env));
  TC_ASSIGN_OR_RETURN(InclusionProof p, store->ProveInclusion(seq));
  Value::Object event;
  event["seq"] = static_cast<int64_t>(p.event.seq);
  event["study"] = p.event.study;
  event["stream"] = p.event.stream;
  event["type"] = p.event.type;
  event["time_utc"] = FormatTimeMicros(p.event.time_us);
  event["user"] = p.event.actor.user;
  event["role"] = p.event.actor.role;
  event["reason"] = p.event.reason;
  event["payload"] = p.event.payload;
  Value::Object o;
  o["format"] = kInclusionFormat;
  o["event"] = Value(std::move(event));
  o["record"] = ToHex(p.record);
  o["prev_hash"] = ToHex(p.event.prev_hash);
  o["event_hash"] = ToHex(p.event.hash);
  o["leaf_index"] = static_cast<int64_t>(p.event.study_index);
  o["path"] = HashList(p.path);
  o["checkpoint"] = CheckpointToValue(p.checkpoint);
  TC_RETURN_IF_ERROR(WriteOutput(out, ToJson(Value(std::move(o)), true) + "\n", ctx));
  if (out) ctx.out << "inclusion proof of event " << seq << " written to " << *out << "\n";
  return Status::Ok();
}

Status AuditProveConsistency(const std::string& db, const std::optional<std::string>& study, uint64_t from_size,
                             std::optional<uint64_t> to_size, const std::optional<std::string>& out, Context& ctx) {
  TC_ASSIGN_OR_RETURN(auto store, OpenExisting(db, ctx.env));
  TC_ASSIGN_OR_RETURN(std::string s, ChooseStudy(*store, db, study));
  if (!to_size) {
    TC_ASSIGN_OR_RETURN(auto cps, store->Checkpoints(s));
    if (cps.empty()) return FailedPrecondition("study " + s + " has no checkpoint; run `trialcore audit checkpoint`");
    to_size = cps.back().tree_size;
  }
  TC_ASSIGN_OR_RETURN(ConsistencyProof p, store->ProveConsistency(s, from_size, *to_size));
  Value::Object o;
  o["format"] = kConsistencyFormat;
  o["from"] = CheckpointToValue(p.from);
  o["to"] = CheckpointToValue(p.to);
  o["path"] = HashList(p.path);
  TC_RETURN_IF_ERROR(WriteOutput(out, ToJson(Value(std::move(o)), true) + "\n", ctx));
  if (out) ctx.out << "consistency proof " << from_size << " -> " << *to_size << " written to " << *out << "\n";
  return Status::Ok();
}

Status AuditVerifyProof(const std::string& file, const std::string& public_key_file, Context& ctx) {
  TC_ASSIGN_OR_RETURN(std::string key, ReadPublicKey(ctx.env, public_key_file));
  TC_ASSIGN_OR_RETURN(Value v, ReadJsonFile(ctx.env, file));
  TC_ASSIGN_OR_RETURN(std::string format, StringField(v, "format", file));
  auto failed = [&](const Status& s) {
    ctx.out << "FAILED: " << s.message() << "\n";
    return DataLoss("the proof in " + file + " does not verify");
  };
  if (format == kInclusionFormat) {
    TC_ASSIGN_OR_RETURN(Checkpoint c, CheckpointField(v, "checkpoint", file));
    TC_ASSIGN_OR_RETURN(std::string record_hex, StringField(v, "record", file));
    TC_ASSIGN_OR_RETURN(std::string prev_hex, StringField(v, "prev_hash", file));
    TC_ASSIGN_OR_RETURN(std::string record, FromHex(record_hex));
    auto prev = HashFromHex(prev_hex);
    if (!prev.ok()) return prev.status().WithContext(file + ": prev_hash");
    TC_ASSIGN_OR_RETURN(auto path, HashListFrom(v.Find("path"), file));
    auto event = DecodeEventRecord(record);
    if (!event.ok()) return event.status().WithContext(file + ": record");
    if (Status s = VerifyCheckpoint(c, key); !s.ok()) return failed(s);
    if (event->study != c.study)
      return failed(DataLoss("the event is of study " + event->study + ", the checkpoint of " + c.study));
    Hash event_hash = ChainHash(*prev, record);
    Status incl = VerifyMerkleInclusion(event->study_index, c.tree_size, AsBytes(MerkleLeafHash(AsBytes(event_hash))),
                                        path, AsBytes(c.root_hash));
    if (!incl.ok()) return failed(incl);
    ctx.out << "OK: event " << event->seq << " (" << event->type << " on " << event->stream << " by "
            << event->actor.user << " at " << FormatTimeMicros(event->time_us) << ") is entry " << event->study_index
            << " of the log of " << c.study << " signed at " << FormatTimeMicros(c.time_us) << " with " << c.tree_size
            << " events, root " << ToHex(c.root_hash) << "\n";
    return Status::Ok();
  }
  if (format == kConsistencyFormat) {
    TC_ASSIGN_OR_RETURN(Checkpoint from, CheckpointField(v, "from", file));
    TC_ASSIGN_OR_RETURN(Checkpoint to, CheckpointField(v, "to", file));
    TC_ASSIGN_OR_RETURN(auto path, HashListFrom(v.Find("path"), file));
    if (Status s = VerifyCheckpoint(from, key); !s.ok()) return failed(s);
    if (Status s = VerifyCheckpoint(to, key); !s.ok()) return failed(s);
    if (from.study != to.study) return failed(DataLoss("the checkpoints are of different studies"));
    Status cons =
        VerifyMerkleConsistency(from.tree_size, to.tree_size, path, AsBytes(from.root_hash), AsBytes(to.root_hash));
    if (!cons.ok()) return failed(cons);
    ctx.out << "OK: the log of " << to.study << " signed at " << FormatTimeMicros(to.time_us) << " with "
            << to.tree_size << " events extends the one signed at " << FormatTimeMicros(from.time_us) << " with "
            << from.tree_size << " events: nothing before was altered, removed or reordered\n";
    return Status::Ok();
  }
  return InvalidArgument(file + ": unknown proof format \"" + format + "\" (this trialcore reads " + kInclusionFormat +
                         " and " + kConsistencyFormat + ")");
}

Status AuditPublicKey(const std::string& key_path, const std::optional<std::string>& out, Context& ctx) {
  TC_ASSIGN_OR_RETURN(SigningKey key, SigningKey::Load(ctx.env, key_path));
  TC_RETURN_IF_ERROR(WriteOutput(out, key.PublicKeyPem(), ctx));
  if (out) ctx.out << "public key written to " << *out << "\n";
  return Status::Ok();
}

}  // namespace trialcore::cli
