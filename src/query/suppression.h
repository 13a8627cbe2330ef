// Small-cell suppression: every answer of the semantic layer hides the cells (rows) that would tell
// about fewer than `min_cell_users` people, directly, through the totals of the same chart, or by
// differencing against another filtered request. The rules, their reasons and their limits are in
// src/query/README.md ("De-identified answers"); in short, a cell's measures are withheld when
//   1. it holds fewer than k distinct people (measure `people`), or
//   2. a filter of the request could isolate a small group in it by difference: a value that a filter on a
//      dimension not grouped by selects holds 1..k-1 people of the cell; or the rows that a set of the
//      filtered dimensions removes from the cell (they pass the other filters) come from 1..k-1 people; or
//   3. complementary suppression: in a line of the answer (the cells that share every dimension value
//      but one; one dimension: all cells), the hidden cells number fewer than two or hold fewer than k
//      people together, so the line's total (a request with one dimension fewer) minus its visible
//      cells would give them away: the line's smallest visible cell is hidden too, until every line is safe.
// Hidden rows keep their dimension values; their measures are NULL and a `suppressed` column says why.
//
// Thread-safety: free functions, reentrant; a Connection belongs to one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "common/duckdb.h"
#include "common/status.h"
#include "query/semantic_layer.h"
#include "query/table.h"

namespace hrflow::query {

inline constexpr int64_t kDefaultMinCellUsers = 11;  // the setting query.min_cell_users
inline constexpr const char* kSuppressedColumn = "suppressed";

// Why a cell is hidden: the text of the `suppressed` column.
std::string reason_small(int64_t k);        // "fewer than 11 people"
std::string reason_difference(int64_t k);   // a filter isolates a small group
std::string reason_complement();            // hidden with a smaller cell of the same line

struct Answer {
  Table table;
  std::string source;     // the table the cells were read from
  int64_t min_cell_users = 1;
  int64_t hidden = 0;     // rows hidden
  int64_t statements = 0; // SQL statements run (the answer and its differencing checks)
};

// Answer `request` from the fact table or one of `rollups` (SemanticLayer::compile), with the rules
// above for k = min_cell_users; k <= 1 answers without suppression (and without the `suppressed`
// column). Order and limit apply after suppression, hidden cells (NULL measures) last.
Result<Answer> answer(db::Connection& conn, const SemanticLayer& layer, const Request& request,
                      const std::set<std::string>& rollups, int64_t min_cell_users);

// Rules 1 and 3 on a grouped table (rows = cells): `dimensions` columns first, then `metrics` columns;
// `people[r]` the people of row r; `hidden[r]` a reason already (rule 2) or empty. Fills `hidden` with
// every row to withhold. Exposed for tests.
void apply_cell_rules(const Table& table, size_t dimensions, const std::vector<int64_t>& people, int64_t k,
                      std::vector<std::string>& hidden);

}  // namespace hrflow::query
