#include "query/suppression.h"

#include <algorithm>
#include <charconv>
#include <map>

namespace hrflow::query {

namespace {

constexpr const char* kPeople = "people";
// Filtered dimensions beyond this make the differencing checks (n + 2^n - 1 statements) too costly.
constexpr size_t kMaxFilteredDimensions = 8;

// The cell of a row: its first `dimensions` values (NULL distinct from every text).
std::string cell_key(const std::vector<std::optional<std::string>>& row, size_t dimensions) {
  std::string key;
  for (size_t i = 0; i < dimensions; ++i) {
    key += row[i] ? *row[i] : std::string("\x1e");
    key += '\x1f';
  }
  return key;
}

int64_t to_int(const std::optional<std::string>& v) {
  if (!v) return 0;
  int64_t n = 0;
  std::from_chars(v->data(), v->data() + v->size(), n);
  return n;
}

// Cells of `request`'s dimensions in which a filter isolates fewer than k people (rule 2).
Result<std::set<std::string>> isolated_by_filters(db::Connection& conn, const SemanticLayer& layer, const Request& request,
                                                  const std::set<std::string>& rollups, int64_t k, int64_t& statements) {
  std::set<std::string> out;
  const std::set<std::string> grouped(request.dimensions.begin(), request.dimensions.end());
  // A filter on a grouped dimension selects whole cells and removes nothing from a shown one: it stays in
  // every check. The others are grouped by dimension (date >= and date <= are one condition).
  std::vector<Filter> kept;
  std::vector<std::string> dims;
  std::map<std::string, std::vector<Filter>> by_dim;
  for (const auto& f : request.filters) {
    if (grouped.count(f.dimension)) {
      kept.push_back(f);
      continue;
    }
    if (!by_dim.count(f.dimension)) dims.push_back(f.dimension);
    by_dim[f.dimension].push_back(f);
  }
  if (dims.empty()) return out;
  if (dims.size() > kMaxFilteredDimensions) {
    return invalid_argument("with small-cell suppression at most {} dimensions outside the group-by can be filtered ({} are)",
                            kMaxFilteredDimensions, dims.size());
  }
  const size_t d = request.dimensions.size();
  auto flag = [&](const Request& check, size_t people_column) -> Status {
    HRFLOW_ASSIGN_OR_RETURN(CompiledQuery q, layer.compile(check, rollups));
    HRFLOW_ASSIGN_OR_RETURN(Table t, execute(conn, q));
    ++statements;
    for (const auto& row : t.rows) {
      if (to_int(row[people_column]) < k) out.insert(cell_key(row, d));
    }
    return {};
  };
  auto filters_except = [&](uint32_t dropped) {
    std::vector<Filter> fs = kept, outside;
    for (size_t i = 0; i < dims.size(); ++i) {
      auto& target = (dropped >> i) & 1u ? outside : fs;
      target.insert(target.end(), by_dim[dims[i]].begin(), by_dim[dims[i]].end());
    }
    return std::pair{fs, outside};
  };
  // Every value a filter selects holds at least k people of the cell: then two requests whose filters
  // on a dimension select different values differ by whole values, each of k people or more.
  for (size_t i = 0; i < dims.size(); ++i) {
    // One value selected with `=`: its part of the cell is the cell, which rule 1 checks already.
    const auto& fs = by_dim[dims[i]];
    if (std::any_of(fs.begin(), fs.end(), [](const Filter& f) { return f.op == FilterOp::kEq && f.values.size() == 1; })) continue;
    Request check;
    check.metrics = {kPeople};
    check.dimensions = request.dimensions;
    check.dimensions.push_back(dims[i]);
    check.filters = request.filters;
    HRFLOW_TRY(flag(check, d + 1));
  }
  // What any set of filtered dimensions removes from the cell (rows passing the other filters, failing
  // at least one of the set) comes from no one or at least k people: the request without them differs
  // from this one by no one or by k people at least.
  for (uint32_t set = 1; set < (1u << dims.size()); ++set) {
    Request check;
    check.metrics = {kPeople};
    check.dimensions = request.dimensions;
    std::tie(check.filters, check.outside) = filters_except(set);
    HRFLOW_TRY(flag(check, d));
  }
  return out;
}

// Compare two values of a column for ORDER BY: numbers as numbers, text as bytes (DuckDB's default
// collation); NULL is handled by the caller.
int compare_values(const std::string& a, const std::string& b, bool numeric) {
  if (numeric) {
    double x = std::strtod(a.c_str(), nullptr), y = std::strtod(b.c_str(), nullptr);
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

}  // namespace

std::string reason_small(int64_t k) { return fmt::format("fewer than {} people", k); }
std::string reason_difference(int64_t k) {
  return fmt::format("a filter would single out fewer than {} people by difference", k);
}
std::string reason_complement() { return "hidden so that totals cannot reveal a smaller hidden cell"; }

void apply_cell_rules(const Table& table, size_t dimensions, const std::vector<int64_t>& people, int64_t k,
                      std::vector<std::string>& hidden) {
  const size_t n = table.rows.size();
  hidden.resize(n);
  for (size_t r = 0; r < n; ++r) {
    if (hidden[r].empty() && people[r] < k) hidden[r] = reason_small(k);
  }
  if (dimensions == 0) return;
  // Lines: for each dimension, the cells that share the values of all the others.
  std::vector<std::vector<size_t>> lines;
  for (size_t d = 0; d < dimensions; ++d) {
    std::map<std::string, std::vector<size_t>> by_rest;
    for (size_t r = 0; r < n; ++r) {
      std::string key;
      for (size_t i = 0; i < dimensions; ++i) {
        if (i == d) continue;
        key += table.rows[r][i] ? *table.rows[r][i] : std::string("\x1e");
        key += '\x1f';
      }
      by_rest[key].push_back(r);
    }
    for (auto& [key, rows] : by_rest) lines.push_back(std::move(rows));
  }
  std::vector<std::vector<size_t>> lines_of(n);  // the lines each row is in (one per dimension)
  for (size_t l = 0; l < lines.size(); ++l) {
    for (size_t r : lines[l]) lines_of[r].push_back(l);
  }
  auto has_hidden = [&](size_t l) {
    return std::any_of(lines[l].begin(), lines[l].end(), [&](size_t r) { return !hidden[r].empty(); });
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t l = 0; l < lines.size(); ++l) {
      size_t count = 0;
      int64_t together = 0;
      for (size_t r : lines[l]) {
        if (hidden[r].empty()) continue;
        ++count;
        together += people[r];
      }
      if (count == 0 || (count >= 2 && together >= k)) continue;
      // The complement: a visible cell whose other lines already hide one (closing a rectangle rather
      // than opening a new line), else the smallest.
      std::optional<size_t> best;
      size_t best_score = 0;
      for (size_t r : lines[l]) {
        if (!hidden[r].empty()) continue;
        size_t score = 0;
        for (size_t other : lines_of[r]) score += other != l && has_hidden(other);
        if (!best || score > best_score || (score == best_score && people[r] < people[*best])) {
          best = r;
          best_score = score;
        }
      }
      if (!best) continue;
      hidden[*best] = reason_complement();
      changed = true;
    }
  }
}

Result<Answer> answer(db::Connection& conn, const SemanticLayer& layer, const Request& request,
                      const std::set<std::string>& rollups, int64_t min_cell_users) {
  Answer a;
  a.min_cell_users = min_cell_users;
  HRFLOW_ASSIGN_OR_RETURN(CompiledQuery asked, layer.compile(request, rollups));  // errors as without suppression
  if (min_cell_users <= 1) {
    HRFLOW_ASSIGN_OR_RETURN(a.table, execute(conn, asked));
    a.source = asked.source;
    a.statements = 1;
    return a;
  }
  const int64_t k = min_cell_users;
  // The cells with their people, in dimension order; order and limit are applied after suppression, so
  // that neither a hidden cell's rank nor a cut line can tell about it.
  Request cells = request;
  cells.order.clear();
  cells.limit.reset();
  auto people_at = std::find(cells.metrics.begin(), cells.metrics.end(), kPeople);
  const bool people_asked = people_at != cells.metrics.end();
  if (!people_asked) cells.metrics.push_back(kPeople);
  const size_t d = request.dimensions.size();
  const size_t people_column = d + static_cast<size_t>(std::find(cells.metrics.begin(), cells.metrics.end(), kPeople) - cells.metrics.begin());
  HRFLOW_ASSIGN_OR_RETURN(CompiledQuery q, layer.compile(cells, rollups));
  HRFLOW_ASSIGN_OR_RETURN(Table t, execute(conn, q));
  a.source = q.source;
  a.statements = 1;
  HRFLOW_ASSIGN_OR_RETURN(auto isolated, isolated_by_filters(conn, layer, request, rollups, k, a.statements));

  std::vector<int64_t> people;
  std::vector<std::string> hidden(t.rows.size());
  for (size_t r = 0; r < t.rows.size(); ++r) {
    people.push_back(to_int(t.rows[r][people_column]));
    if (people.back() < k) {
      hidden[r] = reason_small(k);
    } else if (isolated.count(cell_key(t.rows[r], d))) {
      hidden[r] = reason_difference(k);
    }
  }
  apply_cell_rules(t, d, people, k, hidden);

  // The answer: the requested columns, measures withheld where hidden, and why.
  Table& out = a.table;
  std::vector<size_t> keep;
  for (size_t c = 0; c < t.columns.size(); ++c) {
    if (c != people_column || people_asked) keep.push_back(c);
  }
  for (size_t c : keep) {
    out.columns.push_back(t.columns[c]);
    out.numeric.push_back(t.numeric[c]);
  }
  out.columns.push_back(kSuppressedColumn);
  out.numeric.push_back(false);
  for (size_t r = 0; r < t.rows.size(); ++r) {
    std::vector<std::optional<std::string>> row;
    for (size_t c : keep) row.push_back(c < d || hidden[r].empty() ? std::move(t.rows[r][c]) : std::nullopt);
    row.push_back(hidden[r].empty() ? std::nullopt : std::optional<std::string>(hidden[r]));
    if (!hidden[r].empty()) ++a.hidden;
    out.rows.push_back(std::move(row));
  }
  if (!request.order.empty()) {
    std::vector<std::pair<size_t, bool>> keys;  // column, descending
    for (const auto& o : request.order) {
      auto it = std::find(out.columns.begin(), out.columns.end(), o.field);
      if (it != out.columns.end()) keys.emplace_back(static_cast<size_t>(it - out.columns.begin()), o.descending);
    }
    std::stable_sort(out.rows.begin(), out.rows.end(), [&](const auto& x, const auto& y) {
      for (const auto& [c, desc] : keys) {
        if (x[c] == y[c]) continue;
        if (!x[c] || !y[c]) return static_cast<bool>(x[c]);  // NULLS LAST either way
        int cmp = compare_values(*x[c], *y[c], out.numeric[c]);
        if (cmp != 0) return desc ? cmp > 0 : cmp < 0;
      }
      return false;
    });
  }
  if (request.limit && out.rows.size() > static_cast<size_t>(*request.limit)) out.rows.resize(static_cast<size_t>(*request.limit));
  return a;
}

}  // namespace hrflow::query
