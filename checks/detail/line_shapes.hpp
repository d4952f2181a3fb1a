// Line shapes: the proxy, the load client and the journal write a handful of record layouts over and
// over, with other values each time. A line's shape is what stays: its bytes outside the scalar
// values (braces, keys, colons, commas, white space) and the kind of each scalar. Once a line has
// been read by Boost.JSON, its shape is learnt; a later line of that shape is read by comparing
// those bytes and scanning its scalars, and the reader is handed, from the shape, only the tokens
// it keeps: no tokenizing, and no key lookup for what the reader drops.
//
// A line is taken only when it is valid JSON that Boost.JSON reads into the same tokens: its bytes
// outside the scalars are those of a line Boost.JSON took, its strings hold printable ASCII and no
// escape, its numbers follow JSON's grammar and, where the reader keeps one, are converted with
// Boost.JSON 1.81's own arithmetic where that is one exact IEEE operation, else by Boost.JSON's
// parser itself. Any other line is left to Boost.JSON.
#pragma once
#include <boost/json/error.hpp>
#include <boost/json/string_view.hpp>

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stormgate::checks::detail {

// What a handler found for a key (checks/record_parser.cpp): line_shapes only hands it back.
struct key_fields;

class line_shapes {
 public:
  // Reads `line` into `h` when it has a known shape: calls `begin()` (the reader's start), then
  // hands `h` the tokens it keeps, and returns true. False, with `h` untouched: not a known shape.
  template <class Handler, class Begin>
  bool read(std::string_view line, Handler& h, Begin&& begin);

  // Learns the shape of `line`, which Boost.JSON has just read strictly into `h`. To learn it, `h`
  // (after `begin()`) is fed the shape's tokens, to tell which it keeps, and then reads the line
  // again from the new shape. True: `h` holds the line's record (read again, or left as it was when
  // nothing is learnt); false: `h` was fed the shape but could not read the line from it, and the
  // caller reads the line again.
  template <class Handler, class Begin>
  bool learn(std::string_view line, Handler& h, Begin&& begin);

  std::uint64_t hits() const { return hits_; }
  // Shapes passed over without a compare: the part of the line that ruled them out had failed another.
  std::uint64_t skips() const { return skips_; }

  static constexpr std::size_t max_shapes = 16;
  static constexpr std::size_t max_line = 16384;  // longer lines are not learnt

 private:
  enum class scalar : std::uint8_t { string, number, atom };  // atom: true, false or null
  struct slot {
    std::uint32_t literal_end;  // the shape's bytes before this scalar end here
    scalar kind;
    bool kept = false;  // the reader is handed its value
  };
  // A key the reader found (Handler::key_found) and its value are one step once learnt: a field of
  // a scalar, or a field whose object or array the reader enters.
  // A field whose value the reader only stores, in a member of the record (Handler::string_member,
  // number_member), is stored there straight.
  enum class token : std::uint8_t {
    object_begin, object_end, array_begin, array_end, key, value,
    string_field, number_field, atom_field, object_field, array_field, string_store, number_store
  };
  struct step {
    token t;
    std::uint32_t at = 0, size = 0;  // key: in `keys`; value, scalar field or store: `at` is the slot
    key_fields const* found = nullptr;  // a field: what the reader found for its key
    union {                             // a store: where the value goes
      std::string_view* string;
      std::optional<double>* number;
    } member{nullptr};
  };
  struct shape {
    std::string literals;      // every byte outside the scalars, in order, and 16 NULs after them
    std::uint32_t size = 0;    // the bytes of `literals` before the NULs
    std::vector<slot> slots;   // the scalars; the last literal bytes run to `size`
    std::vector<step> steps;   // learnt: every token; then: the tokens the reader keeps
    std::string keys;
    std::uint64_t uses = 0;
    std::uint8_t id = 0;  // its row and column in common_: stays while the shape is kept
  };
  // A scalar of the line being matched: its text (a string's without quotes), and a kept number's value.
  struct value {
    std::string_view text;
    double number = 0;
  };

  std::vector<shape> shapes_;
  std::vector<value> values_;
  // common_[a][b]: the leading scalars shapes a and b share, with the bytes before each and whether
  // the reader keeps it
  std::array<std::array<std::uint16_t, max_shapes>, max_shapes> common_{};
  std::uint64_t hits_ = 0, misses_ = 0, skips_ = 0;
  std::uint32_t learn_every_ = 1;  // learns one miss in this many: more when learnt shapes go unused

  static bool tokenize(std::string_view line, shape& s);
  // Whether `line` has the shape `s`, its scalars before `from` (and the bytes before them) being
  // known to match; else `failed_at` is the scalar at or before which it fails (the slot count
  // when it fails after the last).
  bool match(shape const& s, std::string_view line, std::size_t from, std::size_t& failed_at);
  static std::uint16_t common(shape const& a, shape const& b);
  static std::size_t skip(std::vector<step> const& steps, std::size_t i);

  template <class Handler>
  std::size_t prune(shape& s, std::vector<step>& kept, std::size_t i, Handler& h) const;
  template <class Handler>
  void replay(shape const& s, Handler& h) const;
  static void fuse(shape const& s, std::vector<step>& kept, std::size_t key);
};

// ---- templates ---------------------------------------------------------------------------------

template <class Handler, class Begin>
bool line_shapes::read(std::string_view line, Handler& h, Begin&& begin) {
  // After a shape fails at scalar k, another that shares its first `common` scalars with it (and
  // the bytes before them) is skipped when common > k, as it fails there too; else it is matched
  // from scalar `common` on, the line's bytes up to there being those already matched.
  shape const* failed = nullptr;
  std::size_t failed_at = 0;
  for (std::size_t i = 0; i < shapes_.size(); ++i) {
    auto const& s = shapes_[i];
    std::size_t from = 0;
    if (failed) {
      from = common_[failed->id][s.id];
      if (from > failed_at) {
        ++skips_;
        continue;
      }
    }
    if (!match(s, line, from, failed_at)) {
      failed = &s;
      continue;
    }
    ++shapes_[i].uses;
    ++hits_;
    if (i > 0 && shapes_[i].uses > shapes_[i - 1].uses) std::swap(shapes_[i], shapes_[i - 1]), --i;
    begin();
    replay(shapes_[i], h);
    return true;
  }
  ++misses_;
  return false;
}

template <class Handler, class Begin>
bool line_shapes::learn(std::string_view line, Handler& h, Begin&& begin) {
  if (misses_ % learn_every_ != 0) return true;
  shape s;
  if (line.size() > max_line || !tokenize(line, s)) return true;
  // The reader, fed the line's tokens, tells which it keeps: those depend on keys and nesting
  // alone, which every line of the shape shares.
  begin();
  std::vector<step> kept;
  kept.reserve(s.steps.size());
  prune(s, kept, 0, h);
  s.steps = std::move(kept);
  if (shapes_.size() == max_shapes) {
    // the least used goes; when it was never used, shapes come and go: learn less often
    std::size_t least = 0;
    for (std::size_t i = 1; i < shapes_.size(); ++i)
      if (shapes_[i].uses < shapes_[least].uses) least = i;
    if (shapes_[least].uses == 0 && learn_every_ < 64) learn_every_ *= 2;
    else if (shapes_[least].uses > 0) learn_every_ = 1;
    s.id = shapes_[least].id;
    shapes_.erase(shapes_.begin() + static_cast<std::ptrdiff_t>(least));
  } else {
    s.id = static_cast<std::uint8_t>(shapes_.size());
  }
  for (auto const& o : shapes_) common_[s.id][o.id] = common_[o.id][s.id] = common(s, o);
  shapes_.push_back(std::move(s));
  std::size_t failed_at;
  if (!match(shapes_.back(), line, 0, failed_at)) return false;  // not expected: the shape is the line's own
  begin();
  replay(shapes_.back(), h);
  return true;
}

// The tokens from steps[i] (a value) on that the reader keeps, fed to it as they are kept: an
// object or array it drops, and the value of a key it does not read, are left out whole.
template <class Handler>
std::size_t line_shapes::prune(shape& s, std::vector<step>& kept, std::size_t i, Handler& h) const {
  boost::json::error_code ec;
  auto const& st = s.steps[i];
  switch (st.t) {
    case token::object_begin:
    case token::array_begin: {
      bool object = st.t == token::object_begin;
      kept.push_back(st);
      object ? h.on_object_begin(ec) : h.on_array_begin(ec);
      auto end = skip(s.steps, i) - 1;  // the closing token
      if (h.reading_keys()) {
        for (auto j = i + 1; j < end;) {
          if (!object) {
            j = prune(s, kept, j, h);
            continue;
          }
          auto const& k = s.steps[j];
          boost::json::string_view key(s.keys.data() + k.at, k.size);
          h.on_key(key, key.size(), ec);
          if (h.wanted()) {
            auto at = kept.size();
            kept.push_back(k);
            kept[at].found = h.key_found();
            j = prune(s, kept, j + 1, h);
            if (kept[at].found) {
              fuse(s, kept, at);
              auto& f = kept[at];
              if (f.t == token::string_field && (f.member.string = h.string_member(f.found))) f.t = token::string_store;
              if (f.t == token::number_field && (f.member.number = h.number_member(f.found))) f.t = token::number_store;
            }
          } else {
            j = skip(s.steps, j + 1);
          }
        }
      }
      kept.push_back(s.steps[end]);
      object ? h.on_object_end(0, ec) : h.on_array_end(0, ec);
      return end + 1;
    }
    case token::value: {
      auto& sl = s.slots[st.at];
      sl.kept = true;
      kept.push_back(st);
      // a stand-in of the same kind: what the reader keeps does not hang on scalar values
      if (sl.kind == scalar::string) h.on_string({}, 0, ec);
      else if (sl.kind == scalar::number) h.on_double(0, {}, ec);
      else h.on_null(ec);
      return i + 1;
    }
    default: return i + 1;  // not reached: a key or closing token is read with its container
  }
}

template <class Handler>
void line_shapes::replay(shape const& s, Handler& h) const {
  boost::json::error_code ec;
  auto const* values = values_.data();  // in a local: the compiler cannot tell the stores below leave it
  for (auto const& st : s.steps) {
    switch (st.t) {
      case token::string_store: *st.member.string = values[st.at].text; break;
      case token::number_store: *st.member.number = values[st.at].number; break;
      case token::string_field: h.on_found_string(st.found, values[st.at].text); break;
      case token::number_field: h.on_found_number(st.found, values[st.at].number); break;
      case token::atom_field: {
        auto c = values[st.at].text[0];
        if (c == 'n') h.on_found_null(st.found);
        else h.on_found_bool(st.found, c == 't');
        break;
      }
      case token::object_field: h.on_found_object(st.found); break;
      case token::array_field: h.on_found_array(st.found); break;
      case token::object_begin: h.on_object_begin(ec); break;
      case token::object_end: h.on_object_end(0, ec); break;
      case token::array_begin: h.on_array_begin(ec); break;
      case token::array_end: h.on_array_end(0, ec); break;
      case token::key: h.on_key({s.keys.data() + st.at, st.size}, st.size, ec); break;
      case token::value: {
        auto const& v = values[st.at];
        switch (s.slots[st.at].kind) {
          case scalar::string: h.on_string({v.text.data(), v.text.size()}, v.text.size(), ec); break;
          case scalar::number: h.on_double(v.number, {v.text.data(), v.text.size()}, ec); break;
          case scalar::atom:
            if (v.text[0] == 'n') h.on_null(ec);
            else h.on_bool(v.text[0] == 't', ec);
            break;
        }
        break;
      }
    }
  }
}

}  // namespace stormgate::checks::detail
