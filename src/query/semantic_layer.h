// The semantic layer: measures, dimensions and joins over the warehouse's star schema, declared in
// YAML (warehouse/semantic/semantic_layer.yml), and the compiler from a request (metrics, group-by
// dimensions, filters, order, limit) to one SQL statement.
//
// The compiler never puts a user value into SQL text: names are looked up in the layer (unknown
// ones are errors listing what exists), and every filter value becomes a bound parameter of a
// prepared statement, parsed first by the dimension's declared type (string, integer, date). A
// request that fails validation produces an error and no SQL at all.
//
// Lifecycle: parse()/load()/builtin() once, then compile() any number of times.
// Thread-safety: a SemanticLayer is immutable after creation; compile() may run on any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/duckdb.h"
#include "common/status.h"

namespace hrflow::query {

enum class ValueType { kString, kInteger, kDate };
std::string_view value_type_name(ValueType t);

struct Join {
  std::string name, table, alias, on, description;
  bool left = false;
  std::vector<std::string> requires_joins;  // joins that must come first
};

struct Measure {
  std::string name, sql, description;
  std::vector<std::string> requires_joins;
};

struct Dimension {
  std::string name, sql, description;
  ValueType type = ValueType::kString;
  std::vector<std::string> requires_joins;
  std::vector<std::string> values;  // known values, when fixed (help text, filter lists)
};

enum class FilterOp { kEq, kNe, kLt, kLe, kGt, kGe };
std::string_view filter_op_text(FilterOp op);
Result<FilterOp> parse_filter_op(std::string_view text);

// `dimension op value`; several values with = / != mean IN / NOT IN.
struct Filter {
  std::string dimension;
  FilterOp op = FilterOp::kEq;
  std::vector<std::string> values;
};

// Parse the command-line form: "region=Europe", "activity!=Sit,Sleep", "date>=2024-01-01".
Result<Filter> parse_filter(std::string_view text);

struct OrderBy {
  std::string field;  // a requested metric or dimension
  bool descending = false;
};

// Parse "avg_heart_rate desc" / "activity" / "activity asc".
Result<OrderBy> parse_order(std::string_view text);

struct Request {
  std::vector<std::string> metrics;
  std::vector<std::string> dimensions;  // group by, in output order
  std::vector<Filter> filters;          // AND-ed
  std::vector<OrderBy> order;           // default: the dimensions, ascending
  std::optional<int64_t> limit;
  // Rows must fail at least one of these (besides passing `filters`): the part of a cell that a set of
  // filters removes, which small-cell suppression checks (suppression.h). Not offered to users.
  std::vector<Filter> outside;
};

// A value to bind: strings and dates as text (the SQL casts them), integers as integers.
struct Param {
  ValueType type = ValueType::kString;
  std::string text;
  int64_t integer = 0;
  bool operator==(const Param&) const = default;
};

struct CompiledQuery {
  std::string sql;                   // '?' placeholders, in order of `params`
  std::vector<Param> params;
  std::vector<std::string> columns;  // output column names: dimensions, then metrics
  std::string source;                // the table it reads: the fact table or a rollup
};

// The FROM ... WHERE ... part for a set of needed joins and filters, as compile() builds it. Analyses
// that build on the layer (the activity predictor) wrap a compiled request instead, so that they too
// are answered from a rollup when one fits. `where` is empty or starts with "WHERE".
struct SourceClause {
  std::string from;
  std::string where;
  std::vector<Param> params;
};

inline constexpr int64_t kMaxLimit = 1'000'000;

class SemanticLayer;

// A pre-aggregated table of the fact (the YAML's `rollups`), seen as a layer of its own: the fact's
// joins and dimensions that work on it (those using only the fact columns it keeps, or redeclared for
// it) and the measures it can re-aggregate. Requests it cannot answer go to the fact table.
struct Rollup {
  std::string name, table;
  std::string covers;  // its column counting readings: sums to the fact's row count when up to date
  std::vector<std::string> columns;  // further columns it must have to be used (YAML `columns`)
  std::shared_ptr<const SemanticLayer> layer;
};

class SemanticLayer {
 public:
  // Parse YAML text; `origin` names it in errors (file name).
  static Result<SemanticLayer> parse(std::string_view yaml, std::string_view origin);
  static Result<SemanticLayer> load(const std::filesystem::path& path);
  // The layer compiled into the binary (warehouse/semantic/semantic_layer.yml at build time).
  static Result<SemanticLayer> builtin();
  // builtin(), or <project_dir>/semantic/semantic_layer.yml when a project folder is configured.
  static Result<SemanticLayer> for_project(const std::filesystem::path& project_dir);

  // SQL for `request`, read from the first rollup named in `rollups` (declaration order) that has
  // every metric, dimension and filter it names, else from the fact table. Callers pass the rollups
  // that are up to date (fresh_rollups); with none, the fact table answers everything.
  Result<CompiledQuery> compile(const Request& request, const std::set<std::string>& rollups = {}) const;
  // The declared rollups whose table exists and holds every reading of the fact table now.
  Result<std::set<std::string>> fresh_rollups(db::Connection& conn) const;

  // Validated pieces for composite analyses (same rules as compile()).
  Result<const Dimension*> find_dimension(std::string_view name) const;
  Result<const Measure*> find_measure(std::string_view name) const;
  // `outside`: rows must also fail at least one of these filters (Request::outside).
  Result<SourceClause> source(const std::set<std::string>& joins, const std::vector<Filter>& filters,
                              const std::vector<Filter>& outside = {}) const;

  const std::vector<Measure>& measures() const { return measures_; }
  const std::vector<Dimension>& dimensions() const { return dimensions_; }
  const std::vector<Join>& joins() const { return joins_; }
  const std::string& fact_table() const { return fact_table_; }
  const std::vector<Rollup>& rollups() const { return rollups_; }
  // What a user may ask for, for --help and the dashboard.
  std::string describe() const;

 private:
  Status add_requirements(const std::vector<std::string>& reqs, std::set<std::string>& out) const;
  Result<CompiledQuery> compile_here(const Request& request) const;
  bool answers(const Request& request) const;
  std::string origin_;
  std::string fact_table_, fact_alias_;
  std::vector<Join> joins_;
  std::vector<Measure> measures_;
  std::vector<Dimension> dimensions_;
  std::vector<Rollup> rollups_;
};

}  // namespace hrflow::query
