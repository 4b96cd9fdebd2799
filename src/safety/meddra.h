// A MedDRA dictionary of one version: every LLT with its PT, and every PT with
// all its HLT/HLGT/SOC paths (multi-axial) and the primary one marked. It is an
// immutable value: built once from rows (MeddraTables), whether the rows came
// from the ASCII distribution (LoadMeddraAscii) or, later, from stored rows.
//
// Thread safety: a built MeddraDictionary is never modified; any number of
// threads may read it at once.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace trialcore {
class Env;
}

namespace trialcore::safety {

// The rows of the nine MedDRA tables, as plain values. `line` is where the
// row was read (1-based; 0 when the row did not come from a file) and is
// named in errors together with MeddraTables::source.
struct MeddraTables {
  struct Named {  // soc.asc, hlgt.asc, hlt.asc
    uint32_t code = 0;
    std::string name;
    std::string abbrev;  // soc.asc only
    uint32_t line = 0;
  };
  struct PtRow {  // pt.asc
    uint32_t code = 0;
    std::string name;
    uint32_t soc = 0;  // pt_soc_code, the primary SOC; 0 when the field is empty
    uint32_t line = 0;
  };
  struct LltRow {  // llt.asc
    uint32_t code = 0;
    std::string name;
    uint32_t pt = 0;
    bool current = true;  // llt_currency Y
    uint32_t line = 0;
  };
  struct Link {  // hlt_pt.asc, hlgt_hlt.asc, soc_hlgt.asc: (parent, child)
    uint32_t parent = 0, child = 0;
    uint32_t line = 0;
  };
  struct HierRow {  // mdhier.asc
    uint32_t pt = 0, hlt = 0, hlgt = 0, soc = 0;
    bool primary = false;  // primary_soc_fg Y
    uint32_t line = 0;
  };

  std::string version;   // "27.1"
  std::string language;  // "English"
  // Where the rows came from, for errors: a directory ("DIR/llt.asc:12: ...");
  // empty names rows by table and number instead ("llt.asc row 12: ...").
  std::string source;
  std::vector<Named> socs, hlgts, hlts;
  std::vector<PtRow> pts;
  std::vector<LltRow> llts;
  std::vector<Link> hlt_pt, hlgt_hlt, soc_hlgt;
  std::vector<HierRow> mdhier;
};

struct MeddraLlt {
  uint32_t code = 0;
  std::string name;
  uint32_t pt = 0;
  bool current = true;
};

// One way up from a PT: HLT, HLGT, SOC codes.
struct MeddraPath {
  uint32_t hlt = 0, hlgt = 0, soc = 0;
  bool primary = false;
  bool operator==(const MeddraPath&) const = default;
};

struct MeddraPt {
  uint32_t code = 0;
  std::string name;
  std::vector<MeddraPath> paths;  // all of them, the primary first
  const MeddraPath& primary() const { return paths.front(); }
};

struct MeddraGroup {  // an HLT, HLGT or SOC
  uint32_t code = 0;
  std::string name;
  std::string abbrev;  // SOCs only
};

class MeddraDictionary {
 public:
  // Checks the rows and builds the dictionary. InvalidArgument, naming the
  // table and line, when a code appears twice, an LLT names an unknown PT, a
  // hierarchy row names an unknown term or a link the link tables lack, a PT
  // has no primary SOC path (or two), or pt.asc's pt_soc_code disagrees
  // with mdhier's primary path.
  static Result<MeddraDictionary> Build(MeddraTables tables);

  const std::string& version() const { return version_; }
  const std::string& language() const { return language_; }

  // Sorted by code.
  std::span<const MeddraLlt> llts() const { return llts_; }
  std::span<const MeddraPt> pts() const { return pts_; }

  // nullptr when the code is not in this version.
  const MeddraLlt* FindLlt(uint32_t code) const;
  const MeddraPt* FindPt(uint32_t code) const;
  const MeddraGroup* FindHlt(uint32_t code) const;
  const MeddraGroup* FindHlgt(uint32_t code) const;
  const MeddraGroup* FindSoc(uint32_t code) const;

 private:
  MeddraDictionary() = default;
  std::string version_, language_;
  std::vector<MeddraLlt> llts_;
  std::vector<MeddraPt> pts_;
  std::vector<MeddraGroup> hlts_, hlgts_, socs_;
};

struct MeddraLoadOptions {
  // The version when the directory has no meddra_release.asc. When both are
  // there they must agree (FailedPrecondition otherwise).
  std::string version;
  std::string language = "English";  // likewise
};

// A file of the distribution as it was read: what `meddra load` records, so
// that anyone can later show which copy of the dictionary the coding used.
struct MeddraSourceFile {
  std::string name;    // "llt.asc"
  std::string sha256;  // hex, of the bytes as they are on disk
  uint64_t bytes = 0;
  bool operator==(const MeddraSourceFile&) const = default;
};

struct MeddraAsciiRead {
  MeddraTables tables;
  std::vector<MeddraSourceFile> files;  // in the order they were read
};

// Reads the distribution's rows and its files' digests, checking each row's
// fields but not yet the whole (Build does that); errors as LoadMeddraAscii's.
Result<MeddraAsciiRead> ReadMeddraAscii(Env* env, const std::string& dir, const MeddraLoadOptions& options = {});

// Reads MedDRA's ASCII distribution (MedAscii) from dir: llt.asc, pt.asc,
// hlt.asc, hlgt.asc, soc.asc, hlt_pt.asc, hlgt_hlt.asc, soc_hlgt.asc,
// mdhier.asc and, when present, meddra_release.asc (version$language$$$$).
// Lines end in '$' and CRLF or LF; files in UTF-8 are kept, others are read
// as Latin-1 (MedDRA's English and Western European files) and converted to
// UTF-8. Errors name the file and line: a missing file (NotFound), a wrong
// field count, a code that is not a number, an empty name, an llt_currency or
// primary_soc_fg other than Y/N (InvalidArgument), and what Build() checks.
Result<MeddraDictionary> LoadMeddraAscii(Env* env, const std::string& dir, const MeddraLoadOptions& options = {});

// Exposed for tests and for stored rows: parses one file's text as the named
// table ("llt.asc", ...) into tables. `where` prefixes errors.
Status ParseMeddraTable(std::string_view file, std::string_view text, const std::string& where, MeddraTables* tables);

}  // namespace trialcore::safety
