// The description of the fields the reader fills (checks/detail/records.hpp), taken at its word: a
// line holding every described field, built from the description, is read alike from a learnt shape
// and by Boost.JSON, and each stored field lands in its member. A field added to the description is
// covered here with no other edit.
#include "checks/detail/record_parser.hpp"
#include "checks/detail/records.hpp"
#include "tests/checks/context.hpp"
#include "tests/checks/describe_record.hpp"
#include "tests/support/catch.hpp"

#include <functional>
#include <set>
#include <string>
#include <vector>

using namespace stormgate;
using namespace stormgate::checks::detail;

namespace {

enum class json_type { string, number, boolean, object, array };

// One row of the description.
struct row {
  char const* name;
  field_level lv;
  std::optional<std::string_view> key;
  json_type type;
  field_level opens = field_level::skip;  // object: its keys' level; array: its objects'
  // a stored field: its member's value in each record part that holds it, as text
  std::function<std::vector<std::string>(record const&)> member;
};

std::string text(std::string_view v) { return std::string(v); }
std::string text(opt_num const& v) { return v ? std::to_string(*v) : "none"; }
std::string text(std::optional<bool> const& v) { return v ? (*v ? "true" : "false") : "none"; }

json_type type_of(std::string_view const*) { return json_type::string; }
json_type type_of(opt_num const*) { return json_type::number; }
json_type type_of(std::optional<bool> const*) { return json_type::boolean; }

// The parts of a record that a target of the description names.
template <class T>
std::vector<T const*> parts(record const& r) {
  if constexpr (std::is_same_v<T, exchange>) return {r.x};
  else if constexpr (std::is_same_v<T, hist_op>) return {r.h};
  else if constexpr (std::is_same_v<T, journal_event>) return {r.e};
  else if constexpr (std::is_same_v<T, answer>) return {r.x && !r.x->upstream.empty() ? &r.x->upstream[0] : nullptr};
  else if constexpr (std::is_same_v<T, fault_applied>) return {r.x && !r.x->faults.empty() ? &r.x->faults[0] : nullptr};
  else if constexpr (std::is_same_v<T, reply>) return {r.x && !r.x->upstream.empty() ? &r.x->upstream[0] : nullptr, r.h};
  else return {};  // line_fields: read into other fields at the end
}

template <class T, class C, class V>
row stored(char const* name, field_level lv, std::optional<std::string_view> key, T*, V C::*m) {
  row r{name, lv, key, type_of(static_cast<V const*>(nullptr))};
  if constexpr (!std::is_same_v<T, line_fields>)
    r.member = [m](record const& rec) {
      std::vector<std::string> out;
      for (auto const* p : parts<T>(rec))
        if (p) out.push_back(text(p->*m));
      return out;
    };
  return r;
}

std::vector<row> description(config::target_profile::field_names const& p) {
  std::vector<row> rows;
#define ROW_store(name, lv, key, target, member) rows.push_back(stored(#name, field_level::lv, key, static_cast<fill::target*>(nullptr), &fill::target::member));
#define ROW_store_or_null(name, lv, key, target, member) ROW_store(name, lv, key, target, member)
#define ROW_string(name, lv, key, target, member) rows.push_back({#name, field_level::lv, key, json_type::string});
#define ROW_number(name, lv, key, target, member) rows.push_back({#name, field_level::lv, key, json_type::number});
#define ROW_boolean(name, lv, key, target, member) rows.push_back({#name, field_level::lv, key, json_type::boolean});
#define ROW_object(name, lv, key, target, member) rows.push_back({#name, field_level::lv, key, json_type::object, field_level::member});
#define ROW_array(name, lv, key, target, member) rows.push_back({#name, field_level::lv, key, json_type::array, field_level::member});
#define ROW_skip(name, lv, key, target, member)
#define ROW(name, lv, key, how, target, member, src) ROW_##how(name, lv, key, target, member)
  STORMGATE_RECORD_FIELDS(ROW)
#undef ROW
  return rows;
}

// The value a line gives a row: a string or number of its own; a few fields take the one value
// that makes the line a record of the kind wanted.
std::string value_of(row const& r, std::size_t i, std::string_view type) {
  std::string_view name = r.name;
  if (name == "kind") return "\"exchange\"";
  if (name == "type") return "\"" + std::string(type) + "\"";
  switch (r.type) {
    case json_type::string: return "\"v-" + std::string(name) + "\"";
    case json_type::number: return std::to_string(i + 1) + ".5";
    default: return "false";
  }
}

// The keys and values of an object at `lv`: every row of that level, each key once.
std::string object_at(std::vector<row> const& rows, field_level lv, std::string_view type, std::set<field_level>& reached) {
  reached.insert(lv);
  std::string out = "{";
  std::set<std::string_view> keys;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto const& r = rows[i];
    if (r.lv != lv || !r.key || !keys.insert(*r.key).second) continue;
    if (out.size() > 1) out += ',';
    out += "\"" + std::string(*r.key) + "\":";
    if (r.type == json_type::object) out += object_at(rows, r.opens, type, reached);
    else if (r.type == json_type::array) out += "[" + object_at(rows, r.opens, type, reached) + "]";
    else out += value_of(r, i, type);
  }
  return out + "}";
}

}  // namespace

TEST_CASE("record fields: every described field is read alike from a shape and by Boost.JSON, into its member", "[checks][record_parser]") {
  auto target = GENERATE(std::string("reference"), std::string("brain"));
  auto ctx = test::profile_context(target);
  auto rows = description(ctx.profile.fields);
  std::string file = "t.jsonl";
  std::set<field_level> reached;
  struct top {
    log_kind kind;
    field_level lv;
    std::string_view type;  // a history record's type
  };
  for (auto [kind, lv, type] : {top{log_kind::traffic, field_level::traffic, ""}, top{log_kind::history, field_level::history, "ok"},
                                top{log_kind::history, field_level::history, "sample"}, top{log_kind::journal, field_level::journal, ""}}) {
    std::set<field_level> in_line;
    auto line = object_at(rows, lv, type, in_line);
    reached.insert(in_line.begin(), in_line.end());
    INFO(line);
    record_parser shaped(ctx), plain(ctx, false);
    record b{};
    std::string eb;
    REQUIRE(plain.parse(kind, line, {&file, 1}, b, eb));
    auto db = test::describe(true, b, eb);
    for (int pass = 0; pass < 2; ++pass) {  // learnt from the line, then read from its shape
      record a{};
      std::string ea;
      REQUIRE(shaped.parse(kind, line, {&file, 1}, a, ea));
      CHECK(test::describe(true, a, ea) == db);
      for (std::size_t i = 0; i < rows.size(); ++i) {
        auto const& r = rows[i];
        if (!r.member || !r.key) continue;
        auto got = r.member(a), want = r.member(b);
        INFO(r.name);
        CHECK(got == want);
        // each stored field of this line holds what the line gave it (under a duplicate key, the
        // value of the row that named it first)
        if (!in_line.count(r.lv)) continue;
        std::string given;
        for (std::size_t j = 0; j < rows.size() && given.empty(); ++j)
          if (rows[j].lv == r.lv && rows[j].key == r.key) given = value_of(rows[j], j, type);
        if (given.front() == '"') given = given.substr(1, given.size() - 2);
        else if (r.type == json_type::number) given = std::to_string(std::stod(given));
        for (auto const& g : got) CHECK(g == given);
      }
    }
    CHECK(shaped.shape_hits() == 1);
  }
  // every level the description names is reached from a record's top
  for (auto const& r : rows) {
    INFO(r.name);
    CHECK(reached.count(r.lv) == 1);
  }
}
