#include "sql/values.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>

namespace hrflow::sql {

namespace {

__extension__ typedef __int128 i128;  // DuckDB's HUGEINT and DECIMAL(38) values
__extension__ typedef unsigned __int128 u128;

constexpr int32_t kDaysTo2000 = 10957;                  // 1970-01-01 -> 2000-01-01
constexpr int64_t kMicrosTo2000 = 946684800000000LL;

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

void put_i32(std::string& out, int32_t v) { put_be(out, static_cast<uint32_t>(v), 4); }

uint64_t get_be(const std::string& s) {
  uint64_t v = 0;
  for (unsigned char c : s) v = (v << 8) | c;
  return v;
}

std::string u128_to_string(u128 v) {
  if (v == 0) return "0";
  std::string s;
  while (v > 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(v % 10)));
    v /= 10;
  }
  return std::string(s.rbegin(), s.rend());
}

std::string i128_to_string(i128 v) {
  if (v < 0) return "-" + u128_to_string(static_cast<u128>(-(v + 1)) + 1);
  return u128_to_string(static_cast<u128>(v));
}

i128 hugeint_value(const duckdb_hugeint& h) {
  return (static_cast<i128>(h.upper) << 64) | static_cast<i128>(h.lower);
}

std::string decimal_text(i128 v, uint8_t scale) {
  bool neg = v < 0;
  std::string digits = u128_to_string(neg ? static_cast<u128>(-(v + 1)) + 1 : static_cast<u128>(v));
  if (scale > 0) {
    if (digits.size() <= scale) digits.insert(0, scale - digits.size() + 1, '0');
    digits.insert(digits.size() - scale, ".");
  }
  return neg ? "-" + digits : digits;
}

// PostgreSQL's binary numeric from a plain decimal text ("-12.3400").
void numeric_binary(const std::string& text, std::string& out) {
  bool neg = !text.empty() && text[0] == '-';
  std::string s = neg ? text.substr(1) : text;
  size_t dot = s.find('.');
  std::string ip = dot == std::string::npos ? s : s.substr(0, dot);
  std::string fp = dot == std::string::npos ? "" : s.substr(dot + 1);
  int16_t dscale = static_cast<int16_t>(fp.size());
  while (ip.size() > 1 && ip[0] == '0') ip.erase(0, 1);
  if (ip == "0") ip.clear();
  // Pad to groups of 4 digits around the decimal point.
  ip.insert(0, (4 - ip.size() % 4) % 4, '0');
  fp.append((4 - fp.size() % 4) % 4, '0');
  std::vector<int16_t> groups;
  for (size_t i = 0; i < ip.size(); i += 4) groups.push_back(static_cast<int16_t>(std::stoi(ip.substr(i, 4))));
  int16_t weight = static_cast<int16_t>(static_cast<int>(ip.size() / 4) - 1);
  for (size_t i = 0; i < fp.size(); i += 4) groups.push_back(static_cast<int16_t>(std::stoi(fp.substr(i, 4))));
  // Strip leading and trailing zero groups (weight follows the leading ones).
  size_t first = 0;
  while (first < groups.size() && groups[first] == 0) {
    first++;
    weight--;
  }
  size_t last = groups.size();
  while (last > first && groups[last - 1] == 0) last--;
  if (first == last) weight = 0;
  put_be(out, static_cast<uint16_t>(last - first), 2);
  put_be(out, static_cast<uint16_t>(weight), 2);
  put_be(out, neg && first != last ? 0x4000 : 0x0000, 2);
  put_be(out, static_cast<uint16_t>(dscale), 2);
  for (size_t i = first; i < last; ++i) put_be(out, static_cast<uint16_t>(groups[i]), 2);
}

template <typename F>  // float or double: the shortest text that reads back as the same value
void double_text(F d, std::string& out) {
  if (std::isnan(d)) {
    out += "NaN";
  } else if (std::isinf(d)) {
    out += d > 0 ? "Infinity" : "-Infinity";
  } else {
    fmt::format_to(std::back_inserter(out), "{}", d);
  }
}

void date_text(int32_t days, std::string& out) {
  if (days == 2147483647) {
    out += "infinity";
    return;
  }
  if (days == -2147483647) {
    out += "-infinity";
    return;
  }
  auto d = duckdb_from_date(duckdb_date{days});
  if (d.year > 0) {
    fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02}", d.year, d.month, d.day);
  } else {
    fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02} BC", 1 - d.year, d.month, d.day);
  }
}

void time_text(int64_t micros, std::string& out) {
  int64_t s = micros / 1000000, us = micros % 1000000;
  fmt::format_to(std::back_inserter(out), "{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
  if (us != 0) {
    std::string frac = fmt::format("{:06}", us);
    while (frac.back() == '0') frac.pop_back();
    out += "." + frac;
  }
}

void timestamp_text(int64_t micros, bool tz, std::string& out) {
  if (micros == INT64_MAX) {
    out += "infinity";
    return;
  }
  if (micros == -INT64_MAX) {
    out += "-infinity";
    return;
  }
  int64_t days = micros / 86400000000LL;
  int64_t rest = micros % 86400000000LL;
  if (rest < 0) {
    rest += 86400000000LL;
    days -= 1;
  }
  auto d = duckdb_from_date(duckdb_date{static_cast<int32_t>(days)});
  bool bc = d.year <= 0;
  fmt::format_to(std::back_inserter(out), "{:04}-{:02}-{:02} ", bc ? 1 - d.year : d.year, d.month, d.day);
  time_text(rest, out);
  if (tz) out += "+00";  // sessions run in UTC (ParameterStatus TimeZone)
  if (bc) out += " BC";
}

void interval_text(const duckdb_interval& iv, std::string& out) {
  std::string s;
  auto part = [&](int64_t n, const char* unit, const char* units) {
    if (n == 0) return;
    if (!s.empty()) s += ' ';
    s += fmt::format("{} {}", n, (n == 1 || n == -1) ? unit : units);
  };
  part(iv.months / 12, "year", "years");
  part(iv.months % 12, "mon", "mons");
  part(iv.days, "day", "days");
  if (iv.micros != 0 || s.empty()) {
    if (!s.empty()) s += ' ';
    int64_t m = iv.micros;
    if (m < 0) {
      s += '-';
      m = -m;
    }
    time_text(m, s);
  }
  out += s;
}

void uuid_text(const duckdb_hugeint& h, std::string& out) {
  uint64_t upper = static_cast<uint64_t>(h.upper) ^ (uint64_t(1) << 63);
  std::string hex = fmt::format("{:016x}{:016x}", upper, h.lower);
  out += hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20);
}

bool valid(duckdb_vector vec, uint64_t row) {
  uint64_t* validity = duckdb_vector_get_validity(vec);
  return !validity || duckdb_validity_row_is_valid(validity, row);
}

std::string_view string_at(duckdb_vector vec, uint64_t row) {
  auto* s = static_cast<duckdb_string_t*>(duckdb_vector_get_data(vec)) + row;
  return {duckdb_string_t_data(s), duckdb_string_t_length(*s)};
}

template <typename T>
T at(duckdb_vector vec, uint64_t row) {
  return static_cast<T*>(duckdb_vector_get_data(vec))[row];
}

}  // namespace

int32_t pg_type_of(duckdb_type t) {
  switch (t) {
    case DUCKDB_TYPE_BOOLEAN: return oid::kBool;
    case DUCKDB_TYPE_TINYINT:
    case DUCKDB_TYPE_SMALLINT:
    case DUCKDB_TYPE_UTINYINT: return oid::kInt2;
    case DUCKDB_TYPE_INTEGER:
    case DUCKDB_TYPE_USMALLINT: return oid::kInt4;
    case DUCKDB_TYPE_BIGINT:
    case DUCKDB_TYPE_UINTEGER: return oid::kInt8;
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
    case DUCKDB_TYPE_DECIMAL: return oid::kNumeric;
    case DUCKDB_TYPE_FLOAT: return oid::kFloat4;
    case DUCKDB_TYPE_DOUBLE: return oid::kFloat8;
    case DUCKDB_TYPE_DATE: return oid::kDate;
    case DUCKDB_TYPE_TIME: return oid::kTime;
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS: return oid::kTimestamp;
    case DUCKDB_TYPE_TIMESTAMP_TZ: return oid::kTimestampTz;
    case DUCKDB_TYPE_INTERVAL: return oid::kInterval;
    case DUCKDB_TYPE_UUID: return oid::kUuid;
    case DUCKDB_TYPE_BLOB: return oid::kBytea;
    default: return oid::kText;
  }
}

int32_t pg_type_of(duckdb_logical_type type) { return pg_type_of(duckdb_get_type_id(type)); }

int16_t pg_type_size(int32_t o) {
  switch (o) {
    case oid::kBool: return 1;
    case oid::kInt2: return 2;
    case oid::kInt4:
    case oid::kFloat4:
    case oid::kDate: return 4;
    case oid::kInt8:
    case oid::kFloat8:
    case oid::kTime:
    case oid::kTimestamp:
    case oid::kTimestampTz: return 8;
    case oid::kInterval:
    case oid::kUuid: return 16;
    default: return -1;
  }
}

ColumnEncoder::ColumnEncoder(duckdb_logical_type type) {
  // What encoding needs is read from the type now (nested types get child encoders): nothing is kept.
  id_ = duckdb_get_type_id(type);
  oid_ = pg_type_of(id_);
  if (id_ == DUCKDB_TYPE_VARCHAR) {
    char* alias = duckdb_logical_type_get_alias(type);
    if (alias) {
      if (std::strcmp(alias, "JSON") == 0) oid_ = oid::kJson;
      duckdb_free(alias);
    }
  }
  switch (id_) {
    case DUCKDB_TYPE_DECIMAL:
      width_ = duckdb_decimal_width(type);
      scale_ = duckdb_decimal_scale(type);
      internal_ = duckdb_decimal_internal_type(type);
      break;
    case DUCKDB_TYPE_ENUM: {
      internal_ = duckdb_enum_internal_type(type);
      uint32_t n = duckdb_enum_dictionary_size(type);
      for (uint32_t i = 0; i < n; ++i) {
        char* v = duckdb_enum_dictionary_value(type, i);
        names_.emplace_back(v);
        duckdb_free(v);
      }
      break;
    }
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_MAP: {
      duckdb_logical_type child = duckdb_list_type_child_type(type);
      children_.emplace_back(child);
      duckdb_destroy_logical_type(&child);
      break;
    }
    case DUCKDB_TYPE_ARRAY: {
      duckdb_logical_type child = duckdb_array_type_child_type(type);
      children_.emplace_back(child);
      duckdb_destroy_logical_type(&child);
      width_ = 0;
      names_.push_back(std::to_string(duckdb_array_type_array_size(type)));
      break;
    }
    case DUCKDB_TYPE_STRUCT: {
      idx_t n = duckdb_struct_type_child_count(type);
      for (idx_t i = 0; i < n; ++i) {
        duckdb_logical_type child = duckdb_struct_type_child_type(type, i);
        children_.emplace_back(child);
        duckdb_destroy_logical_type(&child);
        char* name = duckdb_struct_type_child_name(type, i);
        names_.emplace_back(name);
        duckdb_free(name);
      }
      break;
    }
    default: break;
  }
}

ColumnEncoder::~ColumnEncoder() = default;

void ColumnEncoder::text(duckdb_vector vec, uint64_t row, std::string& out) const {
  switch (id_) {
    case DUCKDB_TYPE_BOOLEAN: out += at<bool>(vec, row) ? 't' : 'f'; return;
    case DUCKDB_TYPE_TINYINT: fmt::format_to(std::back_inserter(out), "{}", at<int8_t>(vec, row)); return;
    case DUCKDB_TYPE_SMALLINT: fmt::format_to(std::back_inserter(out), "{}", at<int16_t>(vec, row)); return;
    case DUCKDB_TYPE_INTEGER: fmt::format_to(std::back_inserter(out), "{}", at<int32_t>(vec, row)); return;
    case DUCKDB_TYPE_BIGINT: fmt::format_to(std::back_inserter(out), "{}", at<int64_t>(vec, row)); return;
    case DUCKDB_TYPE_UTINYINT: fmt::format_to(std::back_inserter(out), "{}", at<uint8_t>(vec, row)); return;
    case DUCKDB_TYPE_USMALLINT: fmt::format_to(std::back_inserter(out), "{}", at<uint16_t>(vec, row)); return;
    case DUCKDB_TYPE_UINTEGER: fmt::format_to(std::back_inserter(out), "{}", at<uint32_t>(vec, row)); return;
    case DUCKDB_TYPE_UBIGINT: fmt::format_to(std::back_inserter(out), "{}", at<uint64_t>(vec, row)); return;
    case DUCKDB_TYPE_HUGEINT: out += i128_to_string(hugeint_value(at<duckdb_hugeint>(vec, row))); return;
    case DUCKDB_TYPE_UHUGEINT: {
      auto h = at<duckdb_uhugeint>(vec, row);
      out += u128_to_string((static_cast<u128>(h.upper) << 64) | h.lower);
      return;
    }
    case DUCKDB_TYPE_FLOAT: double_text(at<float>(vec, row), out); return;
    case DUCKDB_TYPE_DOUBLE: double_text(at<double>(vec, row), out); return;
    case DUCKDB_TYPE_DECIMAL: {
      i128 v = 0;
      switch (internal_) {
        case DUCKDB_TYPE_SMALLINT: v = at<int16_t>(vec, row); break;
        case DUCKDB_TYPE_INTEGER: v = at<int32_t>(vec, row); break;
        case DUCKDB_TYPE_BIGINT: v = at<int64_t>(vec, row); break;
        default: v = hugeint_value(at<duckdb_hugeint>(vec, row)); break;
      }
      out += decimal_text(v, scale_);
      return;
    }
    case DUCKDB_TYPE_VARCHAR: out += string_at(vec, row); return;
    case DUCKDB_TYPE_BLOB: {
      auto b = string_at(vec, row);
      out += "\\x";
      for (unsigned char c : b) fmt::format_to(std::back_inserter(out), "{:02x}", c);
      return;
    }
    case DUCKDB_TYPE_DATE: date_text(at<int32_t>(vec, row), out); return;
    case DUCKDB_TYPE_TIME: time_text(at<int64_t>(vec, row), out); return;
    case DUCKDB_TYPE_TIMESTAMP: timestamp_text(at<int64_t>(vec, row), false, out); return;
    case DUCKDB_TYPE_TIMESTAMP_S: timestamp_text(at<int64_t>(vec, row) * 1000000, false, out); return;
    case DUCKDB_TYPE_TIMESTAMP_MS: timestamp_text(at<int64_t>(vec, row) * 1000, false, out); return;
    case DUCKDB_TYPE_TIMESTAMP_NS: timestamp_text(at<int64_t>(vec, row) / 1000, false, out); return;
    case DUCKDB_TYPE_TIMESTAMP_TZ: timestamp_text(at<int64_t>(vec, row), true, out); return;
    case DUCKDB_TYPE_INTERVAL: interval_text(at<duckdb_interval>(vec, row), out); return;
    case DUCKDB_TYPE_UUID: uuid_text(at<duckdb_hugeint>(vec, row), out); return;
    case DUCKDB_TYPE_ENUM: {
      uint64_t i = internal_ == DUCKDB_TYPE_UTINYINT    ? at<uint8_t>(vec, row)
                   : internal_ == DUCKDB_TYPE_USMALLINT ? at<uint16_t>(vec, row)
                                                        : at<uint32_t>(vec, row);
      if (i < names_.size()) out += names_[i];
      return;
    }
    case DUCKDB_TYPE_LIST:
    case DUCKDB_TYPE_MAP:
    case DUCKDB_TYPE_ARRAY: {
      uint64_t offset, length;
      duckdb_vector child;
      if (id_ == DUCKDB_TYPE_ARRAY) {
        length = std::stoull(names_[0]);
        offset = row * length;
        child = duckdb_array_vector_get_child(vec);
      } else {
        auto e = at<duckdb_list_entry>(vec, row);
        offset = e.offset;
        length = e.length;
        child = duckdb_list_vector_get_child(vec);
      }
      out += id_ == DUCKDB_TYPE_MAP ? '{' : '[';
      for (uint64_t i = 0; i < length; ++i) {
        if (i > 0) out += ", ";
        if (!valid(child, offset + i)) {
          out += "NULL";
        } else if (id_ == DUCKDB_TYPE_MAP) {
          duckdb_vector k = duckdb_struct_vector_get_child(child, 0), v = duckdb_struct_vector_get_child(child, 1);
          const ColumnEncoder& entry = children_[0];
          entry.children_[0].text(k, offset + i, out);
          out += '=';
          if (valid(v, offset + i)) {
            entry.children_[1].text(v, offset + i, out);
          } else {
            out += "NULL";
          }
        } else {
          children_[0].text(child, offset + i, out);
        }
      }
      out += id_ == DUCKDB_TYPE_MAP ? '}' : ']';
      return;
    }
    case DUCKDB_TYPE_STRUCT: {
      out += '{';
      for (size_t i = 0; i < children_.size(); ++i) {
        if (i > 0) out += ", ";
        out += "'" + names_[i] + "': ";
        duckdb_vector child = duckdb_struct_vector_get_child(vec, i);
        if (valid(child, row)) {
          children_[i].text(child, row, out);
        } else {
          out += "NULL";
        }
      }
      out += '}';
      return;
    }
    default: out += "(unsupported type)"; return;
  }
}

void ColumnEncoder::binary(duckdb_vector vec, uint64_t row, std::string& out) const {
  switch (id_) {
    case DUCKDB_TYPE_BOOLEAN: out.push_back(at<bool>(vec, row) ? 1 : 0); return;
    case DUCKDB_TYPE_TINYINT: put_be(out, static_cast<uint16_t>(at<int8_t>(vec, row)), 2); return;
    case DUCKDB_TYPE_UTINYINT: put_be(out, at<uint8_t>(vec, row), 2); return;
    case DUCKDB_TYPE_SMALLINT: put_be(out, static_cast<uint16_t>(at<int16_t>(vec, row)), 2); return;
    case DUCKDB_TYPE_USMALLINT: put_be(out, at<uint16_t>(vec, row), 4); return;
    case DUCKDB_TYPE_INTEGER: put_be(out, static_cast<uint32_t>(at<int32_t>(vec, row)), 4); return;
    case DUCKDB_TYPE_UINTEGER: put_be(out, at<uint32_t>(vec, row), 8); return;
    case DUCKDB_TYPE_BIGINT: put_be(out, static_cast<uint64_t>(at<int64_t>(vec, row)), 8); return;
    case DUCKDB_TYPE_FLOAT: {
      float f = at<float>(vec, row);
      uint32_t u;
      std::memcpy(&u, &f, 4);
      put_be(out, u, 4);
      return;
    }
    case DUCKDB_TYPE_DOUBLE: {
      double d = at<double>(vec, row);
      uint64_t u;
      std::memcpy(&u, &d, 8);
      put_be(out, u, 8);
      return;
    }
    case DUCKDB_TYPE_UBIGINT:
    case DUCKDB_TYPE_HUGEINT:
    case DUCKDB_TYPE_UHUGEINT:
    case DUCKDB_TYPE_DECIMAL: {
      std::string t;
      text(vec, row, t);
      numeric_binary(t, out);
      return;
    }
    case DUCKDB_TYPE_BLOB: out += string_at(vec, row); return;
    case DUCKDB_TYPE_DATE: {
      int32_t d = at<int32_t>(vec, row);
      put_i32(out, d == 2147483647 || d == -2147483647 ? d : d - kDaysTo2000);
      return;
    }
    case DUCKDB_TYPE_TIME: put_be(out, static_cast<uint64_t>(at<int64_t>(vec, row)), 8); return;
    case DUCKDB_TYPE_TIMESTAMP:
    case DUCKDB_TYPE_TIMESTAMP_TZ:
    case DUCKDB_TYPE_TIMESTAMP_S:
    case DUCKDB_TYPE_TIMESTAMP_MS:
    case DUCKDB_TYPE_TIMESTAMP_NS: {
      int64_t v = at<int64_t>(vec, row);
      if (id_ == DUCKDB_TYPE_TIMESTAMP_S) v *= 1000000;
      if (id_ == DUCKDB_TYPE_TIMESTAMP_MS) v *= 1000;
      if (id_ == DUCKDB_TYPE_TIMESTAMP_NS) v /= 1000;
      bool infinite = v == INT64_MAX || v == -INT64_MAX;
      put_be(out, static_cast<uint64_t>(infinite ? v : v - kMicrosTo2000), 8);
      return;
    }
    case DUCKDB_TYPE_INTERVAL: {
      auto iv = at<duckdb_interval>(vec, row);
      put_be(out, static_cast<uint64_t>(iv.micros), 8);
      put_i32(out, iv.days);
      put_i32(out, iv.months);
      return;
    }
    case DUCKDB_TYPE_UUID: {
      auto h = at<duckdb_hugeint>(vec, row);
      put_be(out, static_cast<uint64_t>(h.upper) ^ (uint64_t(1) << 63), 8);
      put_be(out, h.lower, 8);
      return;
    }
    default: text(vec, row, out); return;  // text, json, enums, nested: the text bytes
  }
}

Status bind_parameter(duckdb_prepared_statement stmt, uint64_t index, int32_t type_oid, bool binary,
                      const std::string* value) {
  duckdb_state st;
  if (!value) {
    st = duckdb_bind_null(stmt, index);
  } else if (!binary) {
    st = duckdb_bind_varchar_length(stmt, index, value->data(), value->size());
  } else {
    const std::string& v = *value;
    auto need = [&](size_t n) -> Status {
      if (v.size() != n) return invalid_argument("parameter ${}: binary value of {} bytes for type {}", index, v.size(), type_oid);
      return {};
    };
    switch (type_oid) {
      case oid::kBool: HRFLOW_TRY(need(1)); st = duckdb_bind_boolean(stmt, index, v[0] != 0); break;
      case oid::kInt2: HRFLOW_TRY(need(2)); st = duckdb_bind_int16(stmt, index, static_cast<int16_t>(get_be(v))); break;
      case oid::kInt4: HRFLOW_TRY(need(4)); st = duckdb_bind_int32(stmt, index, static_cast<int32_t>(get_be(v))); break;
      case oid::kInt8: HRFLOW_TRY(need(8)); st = duckdb_bind_int64(stmt, index, static_cast<int64_t>(get_be(v))); break;
      case oid::kFloat4: {
        HRFLOW_TRY(need(4));
        uint32_t u = static_cast<uint32_t>(get_be(v));
        float f;
        std::memcpy(&f, &u, 4);
        st = duckdb_bind_float(stmt, index, f);
        break;
      }
      case oid::kFloat8: {
        HRFLOW_TRY(need(8));
        uint64_t u = get_be(v);
        double d;
        std::memcpy(&d, &u, 8);
        st = duckdb_bind_double(stmt, index, d);
        break;
      }
      case oid::kDate:
        HRFLOW_TRY(need(4));
        st = duckdb_bind_date(stmt, index, duckdb_date{static_cast<int32_t>(get_be(v)) + kDaysTo2000});
        break;
      case oid::kTimestamp:
      case oid::kTimestampTz: {
        HRFLOW_TRY(need(8));
        duckdb_timestamp ts{static_cast<int64_t>(get_be(v)) + kMicrosTo2000};
        st = type_oid == oid::kTimestamp ? duckdb_bind_timestamp(stmt, index, ts) : duckdb_bind_timestamp_tz(stmt, index, ts);
        break;
      }
      case oid::kBytea: st = duckdb_bind_blob(stmt, index, v.data(), v.size()); break;
      case oid::kText:
      case oid::kVarchar:
      case oid::kJson:
      case oid::kUnknown:
      case 0: st = duckdb_bind_varchar_length(stmt, index, v.data(), v.size()); break;
      default:
        return invalid_argument("parameter ${}: the binary format of type {} is not supported; send it as text", index,
                                type_oid);
    }
  }
  if (st == DuckDBError) {
    return invalid_argument("parameter ${}: {}", index, duckdb_prepare_error(stmt) ? duckdb_prepare_error(stmt) : "cannot bind");
  }
  return {};
}

}  // namespace hrflow::sql
