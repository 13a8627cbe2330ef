#include "sql/sql_text.h"

#include <cctype>

namespace hrflow::sql {

namespace {

bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '$'; }

// Length of the quoted literal, identifier, dollar-quoted string or comment starting at `i`, or 0.
size_t skip_quoted(std::string_view s, size_t i) {
  char c = s[i];
  if (c == '\'' || c == '"') {
    bool escapes = c == '\'' && i > 0 && (s[i - 1] == 'E' || s[i - 1] == 'e') && (i < 2 || !word_char(s[i - 2]));
    size_t j = i + 1;
    while (j < s.size()) {
      if (escapes && s[j] == '\\') {
        j += 2;
        continue;
      }
      if (s[j] == c) {
        if (j + 1 < s.size() && s[j + 1] == c) {
          j += 2;
          continue;
        }
        return j + 1 - i;
      }
      j++;
    }
    return s.size() - i;
  }
  if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
    size_t e = s.find('\n', i);
    return (e == std::string_view::npos ? s.size() : e) - i;
  }
  if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
    int depth = 0;
    size_t j = i;
    while (j + 1 < s.size()) {
      if (s[j] == '/' && s[j + 1] == '*') {
        depth++;
        j += 2;
      } else if (s[j] == '*' && s[j + 1] == '/') {
        depth--;
        j += 2;
        if (depth == 0) return j - i;
      } else {
        j++;
      }
    }
    return s.size() - i;
  }
  if (c == '$' && (i == 0 || !word_char(s[i - 1]))) {
    size_t j = i + 1;
    while (j < s.size() && (std::isalnum(static_cast<unsigned char>(s[j])) || s[j] == '_')) j++;
    if (j < s.size() && s[j] == '$' && !(j > i + 1 && std::isdigit(static_cast<unsigned char>(s[i + 1])))) {
      std::string_view tag = s.substr(i, j - i + 1);
      size_t end = s.find(tag, j + 1);
      return (end == std::string_view::npos ? s.size() : end + tag.size()) - i;
    }
  }
  return 0;
}

bool is_comment(std::string_view s, size_t i) {
  return i + 1 < s.size() && ((s[i] == '-' && s[i + 1] == '-') || (s[i] == '/' && s[i + 1] == '*'));
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) b++;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) e--;
  return std::string(s.substr(b, e - b));
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals_at(std::string_view s, size_t i, std::string_view word) {
  if (i + word.size() > s.size()) return false;
  for (size_t k = 0; k < word.size(); ++k) {
    if (std::tolower(static_cast<unsigned char>(s[i + k])) != word[k]) return false;
  }
  return true;
}

}  // namespace

std::vector<std::string> split_statements(std::string_view sql) {
  std::vector<std::string> out;
  size_t start = 0, i = 0;
  bool has_content = false;
  while (i < sql.size()) {
    if (size_t q = skip_quoted(sql, i); q > 0) {
      if (!is_comment(sql, i)) has_content = true;
      i += q;
      continue;
    }
    if (sql[i] == ';') {
      if (has_content) out.push_back(trim(sql.substr(start, i - start)));
      start = i + 1;
      has_content = false;
    } else if (!std::isspace(static_cast<unsigned char>(sql[i]))) {
      has_content = true;
    }
    i++;
  }
  if (has_content) out.push_back(trim(sql.substr(start)));
  return out;
}

std::vector<std::string> leading_words(std::string_view sql, size_t n) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < sql.size() && out.size() < n) {
    if (is_comment(sql, i)) {
      i += skip_quoted(sql, i);
    } else if (sql[i] == '"') {  // a quoted identifier is one word, kept as written
      size_t q = skip_quoted(sql, i);
      out.push_back(unquote_setting(sql.substr(i, q)));
      i += q;
    } else if (word_char(sql[i])) {
      size_t b = i;
      while (i < sql.size() && word_char(sql[i])) i++;
      out.push_back(lower(sql.substr(b, i - b)));
    } else if (std::isspace(static_cast<unsigned char>(sql[i])) || sql[i] == '(') {
      i++;
    } else {
      break;
    }
  }
  return out;
}

std::string_view after_words(std::string_view sql, size_t words) {
  size_t i = 0, seen = 0;
  while (i < sql.size()) {
    if (is_comment(sql, i)) {
      i += skip_quoted(sql, i);
    } else if (std::isspace(static_cast<unsigned char>(sql[i]))) {
      i++;
    } else if (seen < words && sql[i] == '"') {
      i += skip_quoted(sql, i);
      seen++;
    } else if (seen < words && word_char(sql[i])) {
      while (i < sql.size() && word_char(sql[i])) i++;
      seen++;
    } else {
      break;
    }
  }
  return sql.substr(i);
}

// Catalog queries of psql that DuckDB reads differently, rewritten as they are (only in text that
// names pg_catalog, so users' queries are never touched).
std::string targeted_rewrites(std::string_view sql) {
  static const std::pair<std::string_view, std::string_view> kRewrites[] = {
      // \d TABLE, publications: a set-returning function's alias used as its value.
      {"WHERE attrelid = pr.prrelid AND attnum = prattrs[s])", "WHERE attrelid = pr.prrelid AND attnum = prattrs[s.generate_series])"},
  };
  std::string s(sql);
  if (s.find("pg_catalog") == std::string::npos) return s;
  for (const auto& [from, to] : kRewrites) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  }
  return s;
}

std::string rewrite_for_duckdb(std::string_view sql) {
  std::string text = targeted_rewrites(sql);
  std::string_view s = text;
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    if (size_t q = skip_quoted(s, i); q > 0) {
      // 'name'::regclass (and regtype, regproc, regnamespace): a name looked up in the catalog.
      if (s[i] == '\'') {
        size_t j = i + q;
        while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) j++;
        if (iequals_at(s, j, "::")) {
          size_t k = j + 2;
          while (k < s.size() && std::isspace(static_cast<unsigned char>(s[k]))) k++;
          if (iequals_at(s, k, "pg_catalog.")) k += 11;
          bool done = false;
          for (std::string_view type : {"regclass", "regtype", "regprocedure", "regproc", "regnamespace"}) {
            if (iequals_at(s, k, type) && (k + type.size() == s.size() || !word_char(s[k + type.size()]))) {
              out += "hrflow_";
              out += type;
              out += '(';
              out.append(s.substr(i, q));
              out += ')';
              i = k + type.size();
              done = true;
              break;
            }
          }
          if (done) continue;
        }
      }
      out.append(s.substr(i, q));
      i += q;
      continue;
    }
    bool word_start = i == 0 || !word_char(s[i - 1]);
    // PostgreSQL's ~ (and !~, ~*, !~*) finds the pattern anywhere; DuckDB's matches the whole text: a
    // literal pattern is wrapped so that the whole-text match finds it anywhere ('^pg_' stays anchored).
    // (Patterns given as parameters or expressions keep DuckDB's whole-text meaning.)
    if (s[i] == '~' || (s[i] == '!' && i + 1 < s.size() && s[i + 1] == '~')) {
      size_t j = s[i] == '!' ? i + 2 : i + 1;
      bool prev_tilde = i > 0 && s[i - 1] == '~';
      if (j < s.size() && s[j] == '*') j++;
      if (!prev_tilde && (j >= s.size() || s[j] != '~')) {
        size_t k = j;
        while (k < s.size() && std::isspace(static_cast<unsigned char>(s[k]))) k++;
        if (k < s.size() && s[k] == '\'' && (k == 0 || (s[k - 1] != 'E' && s[k - 1] != 'e'))) {
          size_t q = skip_quoted(s, k);
          if (q >= 2 && s[k + q - 1] == '\'') {
            bool nocase = s[j - 1] == '*';  // ~* has no DuckDB operator: the (?i) flag instead
            out.append(s.substr(i, j - i - (nocase ? 1 : 0)));
            out += nocase ? " '(?is).*(?:" : " '(?s).*(?:";
            out.append(s.substr(k + 1, q - 2));
            out += ").*'";
            i = k + q;
            continue;
          }
        }
      }
    }
    // OPERATOR(pg_catalog.~) -> ~ (psql anchors these patterns, '^(name)$', so whole-text matching is the same)
    if (word_start && iequals_at(s, i, "operator(")) {
      size_t close = s.find(')', i);
      if (close != std::string_view::npos) {
        std::string_view op = s.substr(i + 9, close - i - 9);
        if (size_t dot = op.rfind('.'); dot != std::string_view::npos) op = op.substr(dot + 1);
        out += ' ';
        out += trim(op);
        out += ' ';
        i = close + 1;
        continue;
      }
    }
    // COLLATE pg_catalog.default / COLLATE "default": PostgreSQL's default collation is DuckDB's.
    if (word_start && iequals_at(s, i, "collate")) {
      size_t j = i + 7;
      while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) j++;
      if (iequals_at(s, j, "pg_catalog.default")) {
        i = j + 18;
        continue;
      }
      if (iequals_at(s, j, "\"default\"")) {
        i = j + 9;
        continue;
      }
    }
    // pg_catalog.name -> name: the missing catalog objects are temporary macros and views on each
    // connection, found through the search path; DuckDB's own pg_catalog objects still resolve.
    if (word_start && iequals_at(s, i, "pg_catalog.")) {
      i += 11;
      continue;
    }
    // information_schema._pg_* helper functions (JDBC) are temporary macros too.
    if (word_start && iequals_at(s, i, "information_schema._pg_")) {
      i += 19;
      continue;
    }
    if (word_start && iequals_at(s, i, "\"pg_catalog\".")) {
      i += 13;
      continue;
    }
    out += s[i];
    i++;
  }
  return out;
}

std::string unquote_setting(std::string_view value) {
  std::string v = trim(value);
  std::string out;
  size_t i = 0;
  while (i < v.size()) {
    char c = v[i];
    if (c == '\'' || c == '"') {
      size_t j = i + 1;
      while (j < v.size()) {
        if (v[j] == c && j + 1 < v.size() && v[j + 1] == c) {
          out += c;
          j += 2;
          continue;
        }
        if (v[j] == c) break;
        out += v[j++];
      }
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

}  // namespace hrflow::sql
