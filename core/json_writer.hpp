// The one writer of a log line's objects: the proxy's exchange records, the load's history ops and
// their nested objects are written member by member with it, straight into the line. The records'
// writers are generated from their field description (core/record_fields.hpp): each written row is
// `put(writer, key, record.src)`, and the member's type picks how it is written:
//   std::string_view, std::string   a string, escaped, invalid UTF-8 repaired (append_json_string)
//   an integer                      a number
//   core::sys_us                    an RFC 3339 string (core/time.hpp)
//   raw_json                        JSON text as it is
//   std::optional<T>                T, or the key left out when empty
// A record's own types (a request part, a list of attempts) have put overloads of their own, found
// by argument-dependent lookup.
#pragma once
#include "core/time.hpp"

#include <concepts>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace stormgate::core {

class json_object_writer {
 public:
  explicit json_object_writer(std::string& out) : out_(&out) { out_->push_back('{'); }
  // Writes `"k":` after a comma unless it is the first member, and gives the line for the value.
  // Keys are the description's literals: written as they are, not escaped.
  std::string& key(std::string_view k);
  void close() { out_->push_back('}'); }
  std::string& out() { return *out_; }

 private:
  std::string* out_;
  bool first_ = true;
};

// Appends `s` as a JSON string literal, escaped; bytes that are not UTF-8 become U+FFFD, so that
// whatever a peer sent, the line stays JSON that any parser reads.
void append_json_string(std::string& out, std::string_view s);
void append_int(std::string& out, std::int64_t v);

struct raw_json {  // JSON text already written (a body, a value built elsewhere)
  std::string_view text;
};

inline void put(json_object_writer& o, std::string_view k, std::string_view v) { append_json_string(o.key(k), v); }
inline void put(json_object_writer& o, std::string_view k, std::string const& v) { put(o, k, std::string_view(v)); }
template <std::integral I>
  requires(!std::same_as<I, bool>)
void put(json_object_writer& o, std::string_view k, I v) {
  append_int(o.key(k), static_cast<std::int64_t>(v));
}
inline void put(json_object_writer& o, std::string_view k, bool v) { o.key(k).append(v ? "true" : "false"); }
void put(json_object_writer& o, std::string_view k, sys_us t);
inline void put(json_object_writer& o, std::string_view k, raw_json v) { o.key(k).append(v.text); }
// The writer's own type is kept, so that a record's put overloads (found by ADL) take *v.
template <std::derived_from<json_object_writer> W, class T>
void put(W& o, std::string_view k, std::optional<T> const& v) {
  if (v) put(o, k, *v);
}

}  // namespace stormgate::core
