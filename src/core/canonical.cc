// Invariant: Decode(Encode(x)) == x, and every byte string Decode accepts is
// the encoding of exactly one value (keys sorted and unique, no trailing bytes).
#include "core/canonical.h"

#include <cstring>
#include <type_traits>

namespace trialcore {
namespace {

enum Tag : uint8_t { kNull = 0, kFalse = 1, kTrue = 2, kInt = 3, kDecimal = 4, kString = 5, kArray = 6, kObject = 7 };
constexpr char kMagic[4] = {'T', 'C', 'E', 'V'};
constexpr int kMaxDepth = 64;

template <int kBytes>
void PutBigEndian(std::string* out, uint64_t v) {
  char buf[kBytes];
  for (int i = kBytes - 1; i >= 0; --i) {
    buf[i] = static_cast<char>(v);
    v >>= 8;
  }
  out->append(buf, kBytes);
}
void PutU32(std::string* out, uint32_t v) { PutBigEndian<4>(out, v); }
void PutU64(std::string* out, uint64_t v) { PutBigEndian<8>(out, v); }
void PutStr(std::string* out, std::string_view s) {
  PutU32(out, static_cast<uint32_t>(s.size()));
  out->append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}
  bool done() const { return pos_ == data_.size(); }
  size_t pos() const { return pos_; }
  std::string_view rest() const { return data_.substr(pos_); }

  // Errors are built out of line, so that the reads below stay small enough
  // to inline: the verifier reads every record of a long log through them.
  [[gnu::cold, gnu::noinline]] Status Fail(std::string what) const {
    return DataLoss("malformed record at byte " + std::to_string(pos_) + ": " + what);
  }
  [[gnu::cold, gnu::noinline]] Status Truncated(size_t n) const {
    return Fail("truncated (needs " + std::to_string(n) + " more bytes)");
  }
  Result<uint64_t> U(int bytes) {
    if (data_.size() - pos_ < static_cast<size_t>(bytes)) [[unlikely]] {
      return Truncated(static_cast<size_t>(bytes));
    }
    uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(data_[pos_++]);
    return v;
  }
  Result<std::string_view> Bytes(size_t n) {
    if (data_.size() - pos_ < n) [[unlikely]] {
      return Truncated(n);
    }
    auto s = data_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  // A `str`: its bytes, checked to be UTF-8, as a view into the data.
  Result<std::string_view> Str() {
    TC_ASSIGN_OR_RETURN(uint64_t len, U(4));
    TC_ASSIGN_OR_RETURN(std::string_view s, Bytes(len));
    if (!IsValidUtf8(s)) return Fail("string is not valid UTF-8");
    return s;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// Stands for the value when only validating: the decoder and the validator
// are one parser, so that a payload the verifier accepts is exactly one the
// decoder accepts, and validating allocates nothing.
struct NoValue {};

template <typename Out>  // Value, or NoValue to only check
Status ReadValue(Reader& r, int depth, Out* out) {
  constexpr bool kBuild = std::is_same_v<Out, Value>;
  (void)out;  // only written when building
  if (depth > kMaxDepth) return r.Fail("values nested deeper than " + std::to_string(kMaxDepth));
  TC_ASSIGN_OR_RETURN(uint64_t tag, r.U(1));
  switch (tag) {
    case kNull:
      if constexpr (kBuild) *out = Value();
      return Status::Ok();
    case kFalse:
    case kTrue:
      if constexpr (kBuild) *out = Value(tag == kTrue);
      return Status::Ok();
    case kInt: {
      TC_ASSIGN_OR_RETURN(uint64_t v, r.U(8));
      if constexpr (kBuild) *out = Value(static_cast<int64_t>(v));
      return Status::Ok();
    }
    case kDecimal: {
      TC_ASSIGN_OR_RETURN(std::string_view text, r.Str());
      if (DecimalTextProblem(text) != nullptr) return r.Fail(Decimal::Parse(text).status().message());
      if constexpr (kBuild) *out = Value(*Decimal::Parse(text));
      return Status::Ok();
    }
    case kString: {
      TC_ASSIGN_OR_RETURN(std::string_view s, r.Str());
      if constexpr (kBuild) *out = Value(std::string(s));
      return Status::Ok();
    }
    case kArray: {
      TC_ASSIGN_OR_RETURN(uint64_t n, r.U(4));
      [[maybe_unused]] std::conditional_t<kBuild, Value::Array, NoValue> a;
      for (uint64_t i = 0; i < n; ++i) {
        Out v;
        TC_RETURN_IF_ERROR(ReadValue(r, depth + 1, &v));
        if constexpr (kBuild) a.push_back(std::move(v));
      }
      if constexpr (kBuild) *out = Value(std::move(a));
      return Status::Ok();
    }
    case kObject: {
      TC_ASSIGN_OR_RETURN(uint64_t n, r.U(4));
      [[maybe_unused]] std::conditional_t<kBuild, Value::Object, NoValue> o;
      std::string_view last;
      for (uint64_t i = 0; i < n; ++i) {
        TC_ASSIGN_OR_RETURN(std::string_view key, r.Str());
        if (i > 0 && !(last < key)) {
          return r.Fail("object keys not in strictly increasing order at \"" + std::string(key) + "\"");
        }
        last = key;
        Out v;
        TC_RETURN_IF_ERROR(ReadValue(r, depth + 1, &v));
        if constexpr (kBuild) o.emplace_hint(o.end(), std::string(key), std::move(v));
      }
      if constexpr (kBuild) *out = Value(std::move(o));
      return Status::Ok();
    }
    default:
      return r.Fail("unknown value tag " + std::to_string(tag));
  }
}

// Advances past one value, checking only its framing.
Status SkipValue(Reader& r, int depth) {
  if (depth > kMaxDepth) return r.Fail("values nested deeper than " + std::to_string(kMaxDepth));
  TC_ASSIGN_OR_RETURN(uint64_t tag, r.U(1));
  switch (tag) {
    case kNull:
    case kFalse:
    case kTrue:
      return Status::Ok();
    case kInt:
      return r.Bytes(8).status();
    case kDecimal:
    case kString: {
      TC_ASSIGN_OR_RETURN(uint64_t len, r.U(4));
      return r.Bytes(len).status();
    }
    case kArray: {
      TC_ASSIGN_OR_RETURN(uint64_t n, r.U(4));
      for (uint64_t i = 0; i < n; ++i) TC_RETURN_IF_ERROR(SkipValue(r, depth + 1));
      return Status::Ok();
    }
    case kObject: {
      TC_ASSIGN_OR_RETURN(uint64_t n, r.U(4));
      for (uint64_t i = 0; i < n; ++i) {
        TC_ASSIGN_OR_RETURN(uint64_t len, r.U(4));
        TC_RETURN_IF_ERROR(r.Bytes(len).status());
        TC_RETURN_IF_ERROR(SkipValue(r, depth + 1));
      }
      return Status::Ok();
    }
    default:
      return r.Fail("unknown value tag " + std::to_string(tag));
  }
}

}  // namespace

Status ForEachMember(std::string_view bytes,
                     const std::function<Status(std::string_view key, std::string_view value_bytes)>& fn) {
  Reader r(bytes);
  TC_ASSIGN_OR_RETURN(uint64_t tag, r.U(1));
  if (tag != kObject) return r.Fail("expected an object");
  TC_ASSIGN_OR_RETURN(uint64_t n, r.U(4));
  for (uint64_t i = 0; i < n; ++i) {
    TC_ASSIGN_OR_RETURN(uint64_t len, r.U(4));
    TC_ASSIGN_OR_RETURN(std::string_view key, r.Bytes(len));
    size_t start = r.pos();
    TC_RETURN_IF_ERROR(SkipValue(r, 1));
    TC_RETURN_IF_ERROR(fn(key, bytes.substr(start, r.pos() - start)));
  }
  if (!r.done()) return r.Fail("trailing bytes after the object");
  return Status::Ok();
}

Result<std::string_view> FindMember(std::string_view object_bytes, std::string_view key) {
  std::string_view found;
  TC_RETURN_IF_ERROR(ForEachMember(object_bytes, [&](std::string_view k, std::string_view v) {
    if (k == key) found = v;
    return Status::Ok();
  }));
  return found;
}

Status EncodeValue(const Value& v, std::string* out) {
  switch (v.kind()) {
    case Value::Kind::kNull:
      out->push_back(kNull);
      break;
    case Value::Kind::kBool:
      out->push_back(v.as_bool() ? kTrue : kFalse);
      break;
    case Value::Kind::kInt:
      out->push_back(kInt);
      PutU64(out, static_cast<uint64_t>(v.as_int()));
      break;
    case Value::Kind::kDecimal:
      out->push_back(kDecimal);
      PutStr(out, v.as_decimal().text());
      break;
    case Value::Kind::kString:
      if (!IsValidUtf8(v.as_string())) return InvalidArgument("string value is not valid UTF-8");
      out->push_back(kString);
      PutStr(out, v.as_string());
      break;
    case Value::Kind::kArray:
      out->push_back(kArray);
      PutU32(out, static_cast<uint32_t>(v.as_array().size()));
      for (const auto& e : v.as_array()) TC_RETURN_IF_ERROR(EncodeValue(e, out));
      break;
    case Value::Kind::kObject:
      out->push_back(kObject);
      PutU32(out, static_cast<uint32_t>(v.as_object().size()));
      for (const auto& [k, e] : v.as_object()) {
        if (!IsValidUtf8(k)) return InvalidArgument("object key is not valid UTF-8");
        PutStr(out, k);
        TC_RETURN_IF_ERROR(EncodeValue(e, out));
      }
      break;
  }
  return Status::Ok();
}

Result<Value> DecodeValue(std::string_view bytes) {
  Reader r(bytes);
  Value v;
  TC_RETURN_IF_ERROR(ReadValue(r, 0, &v));
  if (!r.done()) return r.Fail(std::to_string(r.rest().size()) + " trailing bytes after the value");
  return v;
}

Status ValidateValue(std::string_view bytes) {
  Reader r(bytes);
  NoValue v;
  TC_RETURN_IF_ERROR(ReadValue(r, 0, &v));
  if (!r.done()) return r.Fail(std::to_string(r.rest().size()) + " trailing bytes after the value");
  return Status::Ok();
}

namespace {

// Writers into a buffer already sized for the record: the verifier rebuilds
// every record of a long log, and per-field appends (each with its capacity
// check) cost more than hashing the bytes.
char* WriteBigEndian(char* p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    p[i] = static_cast<char>(v);
    v >>= 8;
  }
  return p + bytes;
}
char* WriteBytes(char* p, std::string_view s) {
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  return p + s.size();
}
char* WriteStr(char* p, std::string_view s) { return WriteBytes(WriteBigEndian(p, s.size(), 4), s); }

}  // namespace

void EncodeEventRecord(const RecordFields& f, std::string_view payload_bytes, std::string* out) {
  constexpr size_t kFixed = 4 + 2 + 8 + 4 + 4 + 8 + 8 + 4 + 8 + 4 + 4 + 4;
  const size_t start = out->size();
  out->resize(start + kFixed + f.study.size() + f.stream.size() + f.type.size() + f.actor_user.size() +
              f.actor_role.size() + f.reason.size() + payload_bytes.size());
  char* p = out->data() + start;
  p = WriteBytes(p, std::string_view(kMagic, 4));
  p = WriteBigEndian(p, kEventFormatVersion, 2);
  p = WriteBigEndian(p, f.seq, 8);
  p = WriteStr(p, f.study);
  p = WriteStr(p, f.stream);
  p = WriteBigEndian(p, f.stream_version, 8);
  p = WriteBigEndian(p, f.study_index, 8);
  p = WriteStr(p, f.type);
  p = WriteBigEndian(p, static_cast<uint64_t>(f.time_us), 8);
  p = WriteStr(p, f.actor_user);
  p = WriteStr(p, f.actor_role);
  p = WriteStr(p, f.reason);
  WriteBytes(p, payload_bytes);
}

void EncodeEventRecord(const Event& e, std::string_view payload_bytes, std::string* out) {
  RecordFields f{e.seq,  e.study,   e.stream,     e.stream_version, e.study_index,
                 e.type, e.time_us, e.actor.user, e.actor.role,     e.reason};
  EncodeEventRecord(f, payload_bytes, out);
}

Result<std::string> EncodeEventRecord(const Event& e) {
  std::string payload;
  TC_RETURN_IF_ERROR(EncodeValue(e.payload, &payload));
  std::string out;
  EncodeEventRecord(e, payload, &out);
  return out;
}

namespace {

// Everything of a record before its payload, as views into it; r is left at
// the payload.
Status ReadRecordFields(Reader& r, RecordFields* f) {
  TC_ASSIGN_OR_RETURN(std::string_view magic, r.Bytes(4));
  if (std::memcmp(magic.data(), kMagic, 4) != 0) return DataLoss("not a trialcore event record (bad magic)");
  TC_ASSIGN_OR_RETURN(uint64_t version, r.U(2));
  if (version != kEventFormatVersion) {
    return Unimplemented("event format version " + std::to_string(version) +
                         " is not known to this trialcore (it reads version " + std::to_string(kEventFormatVersion) +
                         "); upgrade trialcore to read it");
  }
  TC_ASSIGN_OR_RETURN(f->seq, r.U(8));
  TC_ASSIGN_OR_RETURN(f->study, r.Str());
  TC_ASSIGN_OR_RETURN(f->stream, r.Str());
  TC_ASSIGN_OR_RETURN(f->stream_version, r.U(8));
  TC_ASSIGN_OR_RETURN(f->study_index, r.U(8));
  TC_ASSIGN_OR_RETURN(f->type, r.Str());
  TC_ASSIGN_OR_RETURN(uint64_t t, r.U(8));
  f->time_us = static_cast<int64_t>(t);
  TC_ASSIGN_OR_RETURN(f->actor_user, r.Str());
  TC_ASSIGN_OR_RETURN(f->actor_role, r.Str());
  TC_ASSIGN_OR_RETURN(f->reason, r.Str());
  return Status::Ok();
}

template <typename Out>  // Value, or NoValue to only check
Status ReadRecord(std::string_view record, RecordFields* f, Out* payload) {
  Reader r(record);
  TC_RETURN_IF_ERROR(ReadRecordFields(r, f));
  TC_RETURN_IF_ERROR(ReadValue(r, 0, payload));
  if (!r.done()) return r.Fail(std::to_string(r.rest().size()) + " trailing bytes after the payload");
  return Status::Ok();
}

}  // namespace

Result<Event> DecodeEventRecord(std::string_view record) {
  RecordFields f;
  Event e;
  TC_RETURN_IF_ERROR(ReadRecord(record, &f, &e.payload));
  e.seq = f.seq;
  e.study = f.study;
  e.stream = f.stream;
  e.stream_version = f.stream_version;
  e.study_index = f.study_index;
  e.type = f.type;
  e.time_us = f.time_us;
  e.actor.user = f.actor_user;
  e.actor.role = f.actor_role;
  e.reason = f.reason;
  return e;
}

Status ValidateEventRecord(std::string_view record) {
  RecordFields f;
  NoValue payload;
  return ReadRecord(record, &f, &payload);
}

}  // namespace trialcore
