// PostgreSQL SQL text as clients send it: split into statements (quotes, dollar quotes, comments and
// E'' escapes respected), the leading keywords that decide who answers a statement, and the rewrites
// that let DuckDB run what PostgreSQL clients send about the catalog (pg_catalog.-qualified names
// that DuckDB lacks, OPERATOR(pg_catalog.~), COLLATE pg_catalog.default, ::regclass and friends).
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hrflow::sql {

// Statements of a query string, trimmed, without their semicolons; empty statements dropped.
std::vector<std::string> split_statements(std::string_view sql);
// The first `n` words (letters, digits, _) outside comments, lower-cased ("declare", "c", "cursor").
std::vector<std::string> leading_words(std::string_view sql, size_t n);
// The text after the first `words` words (and their whitespace/comments), e.g. the query of EXPLAIN.
std::string_view after_words(std::string_view sql, size_t words);
// Catalog rewrites outside string literals (see the file comment).
std::string rewrite_for_duckdb(std::string_view sql);
// The value of a SET statement's right-hand side, unquoted ('UTC' -> UTC, "a", b -> a, b).
std::string unquote_setting(std::string_view value);

}  // namespace hrflow::sql
