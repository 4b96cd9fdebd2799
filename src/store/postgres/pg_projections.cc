#include "store/postgres/pg_projections.h"

#include <cctype>

namespace trialcore::pg {

std::vector<bool> ParametersUsed(std::string_view sql, size_t count) {
  std::vector<bool> used(count, false);
  char quote = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '-' && i + 1 < sql.size() && sql[i + 1] == '-') {
      i = sql.find('\n', i);
      if (i == std::string_view::npos) break;
    } else if (c == '$' && i + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      size_t n = 0;
      while (i + 1 < sql.size() && std::isdigit(static_cast<unsigned char>(sql[i + 1]))) n = n * 10 + (sql[++i] - '0');
      if (n >= 1 && n <= count) used[n - 1] = true;
    }
  }
  return used;
}

}  // namespace trialcore::pg
