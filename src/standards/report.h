// What an import or export read and wrote, and what it could not carry over:
// every command of this library prints one, so a user can check the counts
// against the source ("the report says so", issue 17).
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace trialcore::standards {

struct TransferReport {
  struct Count {
    std::string what;  // "item values", "audit records"
    uint64_t read = 0;
    uint64_t written = 0;
  };
  // Something of the source that has no place in the result, named by where
  // it is in the source (an ODM OID, "dictionary.csv:12"), never dropped
  // silently.
  struct NotCarried {
    std::string where;
    std::string what;
    std::string why;
  };
  std::vector<Count> counts;
  std::vector<NotCarried> not_carried;

  Count& CountOf(const std::string& what);
};

// "item values: 1,204 read, 1,204 written" lines, then "not carried over:"
// and one line per entry.
void PrintReport(const TransferReport& report, std::ostream& out);

}  // namespace trialcore::standards
