// dbt's node selection grammar: names and globs, +model / model+ / n+model (ancestors and descendants
// to a depth), tag:, path:, source:, config.<key>:, unions (spaces) and intersections (commas),
// --exclude, and tests following their models.
#include "transform/selector.h"

#include <algorithm>
#include <sstream>

namespace hrflow::transform {

namespace {

bool glob_match(const std::string& pattern, const std::string& s) {
  // '*' and '?' only.
  size_t p = 0, k = 0, star = std::string::npos, mark = 0;
  while (k < s.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == s[k])) { ++p; ++k; }
    else if (p < pattern.size() && pattern[p] == '*') { star = p++; mark = k; }
    else if (star != std::string::npos) { p = star + 1; k = ++mark; }
    else return false;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<std::string> split_on(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) { if (!cur.empty()) out.push_back(cur); cur.clear(); }
    else cur += c;
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

std::vector<std::string> split_ws(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

void ancestors(const Project& p, const std::string& id, int depth, std::set<std::string>& out) {
  if (depth == 0) return;
  const Node* n = p.find(id);
  if (!n) return;
  for (const auto& d : n->depends_on) {
    if (out.insert(d).second || depth > 0) ancestors(p, d, depth < 0 ? -1 : depth - 1, out);
  }
}

void descendants(const Project& p, const std::string& id, int depth, std::set<std::string>& out) {
  if (depth == 0) return;
  for (const auto& c : p.children(id)) {
    if (out.insert(c).second || depth > 0) descendants(p, c, depth < 0 ? -1 : depth - 1, out);
  }
}

Result<std::set<std::string>> select_atom(const Project& p, std::string atom) {
  int up = 0, down = 0;  // 0 none, -1 all, n depth
  // n+model / +model
  size_t plus = atom.find('+');
  if (plus != std::string::npos && plus + 1 < atom.size() &&
      std::all_of(atom.begin(), atom.begin() + static_cast<long>(plus), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    up = plus == 0 ? -1 : std::stoi(atom.substr(0, plus));
    atom = atom.substr(plus + 1);
  }
  size_t tail = atom.rfind('+');
  if (tail != std::string::npos) {
    std::string depth = atom.substr(tail + 1);
    if (std::all_of(depth.begin(), depth.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      down = depth.empty() ? -1 : std::stoi(depth);
      atom = atom.substr(0, tail);
    }
  }
  if (atom.empty()) return invalid_argument("empty selector: write a model name, tag:x, path:dir or source:x");
  std::string method, value = atom;
  if (auto colon = atom.find(':'); colon != std::string::npos) {
    method = atom.substr(0, colon);
    value = atom.substr(colon + 1);
  }
  std::set<std::string> hit;
  for (const auto& [id, n] : p.nodes()) {
    bool m = false;
    if (method.empty() || method == "fqn") {
      if (value.find('/') != std::string::npos || value.ends_with(".sql") || value.ends_with(".csv")) {
        m = n.type != NodeType::kSource && (n.path == value || n.path.rfind(value + (value.ends_with("/") ? "" : "/"), 0) == 0);
      } else if (n.type != NodeType::kSource) {
        if (glob_match(value, n.name)) m = true;
        // fqn prefix: "staging" or "project.staging.stg_users"
        auto parts = split_on(value, '.');
        for (size_t start : {size_t{0}, size_t{1}}) {
          if (start + parts.size() > n.fqn.size()) continue;
          bool ok = true;
          for (size_t k = 0; k < parts.size() && ok; ++k) ok = glob_match(parts[k], n.fqn[start + k]);
          if (ok && !(start == 1 && parts.size() == 0)) m = m || (n.type != NodeType::kTest || start + parts.size() == n.fqn.size());
        }
      }
    } else if (method == "tag") {
      auto tags = n.tags();
      m = std::any_of(tags.begin(), tags.end(), [&](const std::string& t) { return glob_match(value, t); });
    } else if (method == "path") {
      std::string v = value;
      while (v.ends_with("/")) v.pop_back();
      m = n.type != NodeType::kSource && (n.path == v || n.path.rfind(v + "/", 0) == 0);
    } else if (method == "source") {
      auto parts = split_on(value, '.');
      m = n.type == NodeType::kSource && glob_match(parts[0], n.source_name) && (parts.size() < 2 || glob_match(parts[1], n.name));
    } else if (method == "resource_type") {
      m = to_string(n.type) == value;
    } else if (method == "config.materialized") {
      m = n.type == NodeType::kModel && n.materialized() == value;
    } else if (method == "test_type") {
      m = n.type == NodeType::kTest && ((value == "generic") == !n.test_name.empty());
    } else if (method == "test_name") {
      m = n.type == NodeType::kTest && glob_match(value, n.test_name);
    } else {
      return invalid_argument("unknown selector method '{}:': use a name, tag:, path:, source:, resource_type:, config.materialized: or test_name:", method);
    }
    if (m) hit.insert(id);
  }
  if (hit.empty()) return hit;
  std::set<std::string> out = hit;
  for (const auto& id : hit) {
    if (up) ancestors(p, id, up, out);
    if (down) descendants(p, id, down, out);
  }
  return out;
}

Result<std::set<std::string>> select_groups(const Project& p, const std::vector<std::string>& groups, bool* any) {
  std::set<std::string> out;
  *any = false;
  for (const auto& g : groups) {
    for (const auto& token : split_ws(g)) {
      *any = true;
      std::set<std::string> acc;
      bool first = true;
      for (const auto& atom : split_on(token, ',')) {
        HRFLOW_ASSIGN_OR_RETURN(auto s, select_atom(p, atom));
        if (first) {
          acc = std::move(s);
          first = false;
        } else {
          std::set<std::string> both;
          std::set_intersection(acc.begin(), acc.end(), s.begin(), s.end(), std::inserter(both, both.begin()));
          acc = std::move(both);
        }
      }
      out.insert(acc.begin(), acc.end());
    }
  }
  return out;
}

}  // namespace

Result<std::set<std::string>> select_nodes(const Project& p, const std::vector<std::string>& select,
                                           const std::vector<std::string>& exclude, bool include_tests) {
  bool any = false;
  HRFLOW_ASSIGN_OR_RETURN(auto chosen, select_groups(p, select, &any));
  if (!any) {
    chosen.clear();
    for (const auto& [id, n] : p.nodes()) chosen.insert(id);
  }
  if (include_tests) {  // tests follow their models ("eager" indirect selection)
    for (const auto& [id, n] : p.nodes()) {
      if (n.type != NodeType::kTest) continue;
      if (std::any_of(n.depends_on.begin(), n.depends_on.end(), [&](const std::string& d) { return chosen.count(d) > 0; }))
        chosen.insert(id);
    }
  }
  bool any_ex = false;
  HRFLOW_ASSIGN_OR_RETURN(auto excluded, select_groups(p, exclude, &any_ex));
  if (include_tests) {
    for (const auto& [id, n] : p.nodes()) {
      if (n.type == NodeType::kTest &&
          std::any_of(n.depends_on.begin(), n.depends_on.end(), [&](const std::string& d) { return excluded.count(d) > 0; }))
        excluded.insert(id);
    }
  }
  for (const auto& id : excluded) chosen.erase(id);
  return chosen;
}

}  // namespace hrflow::transform
