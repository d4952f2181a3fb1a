// Line shapes: learning a shape from a line Boost.JSON took, and matching a line against one.
#include "checks/detail/line_shapes.hpp"
#include "core/jsonl.hpp"

#include <boost/json/basic_parser_impl.hpp>

#if defined(__SSE2__)
#include <emmintrin.h>  // x86-64's baseline: 16 bytes at a time; elsewhere the loops below do it all
#endif

#include <algorithm>
#include <array>
#include <cstring>

namespace stormgate::checks::detail {

namespace {

// Bytes a string scalar of a shape may hold: ASCII from 0x20 up but the quote and the backslash.
constexpr std::array<bool, 256> plain_table() {
  std::array<bool, 256> t{};
  for (int c = 0x20; c < 0x80; ++c) t[static_cast<std::size_t>(c)] = c != '"' && c != '\\';
  return t;
}
constexpr auto plain = plain_table();

// memcmp(a, b, n) == 0 for the few bytes between two scalars, inline: 8, 4, then 1 byte at a time.
[[gnu::always_inline]] inline bool same_words(char const* a, char const* b, std::size_t n) {
  auto word = [&](auto w) {
    decltype(w) x, y;
    std::memcpy(&x, a, sizeof x);
    std::memcpy(&y, b, sizeof y);
    a += sizeof x, b += sizeof y, n -= sizeof x;
    return x == y;
  };
  while (n >= 8)
    if (!word(std::uint64_t{})) return false;
  if (n >= 4 && !word(std::uint32_t{})) return false;
  for (; n; --n)
    if (*a++ != *b++) return false;
  return true;
}

// The same, 16 bytes at a time where `room` (the bytes readable from a) allows: a shorter run is
// one compare, its bytes past n masked off. b is a shape's literals, readable 16 bytes past n.
[[gnu::always_inline]] inline bool same(char const* a, char const* b, std::size_t n, std::size_t room) {
#if defined(__SSE2__)
  while (n && room >= 16) {
    auto x = _mm_loadu_si128(reinterpret_cast<__m128i const*>(a));
    auto y = _mm_loadu_si128(reinterpret_cast<__m128i const*>(b));
    auto differ = ~static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(x, y))) & 0xffffu;
    if (n < 16) return (differ & ((1u << n) - 1)) == 0;
    if (differ) return false;
    a += 16, b += 16, n -= 16, room -= 16;
  }
#endif
  return same_words(a, b, n);
}

// The first byte from p that a plain string may not hold (the closing quote, if all is well), or end.
char const* string_end(char const* p, char const* end) {
#if defined(__SSE2__)
  auto const quote = _mm_set1_epi8('"'), backslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    auto v = _mm_loadu_si128(reinterpret_cast<__m128i const*>(p));
    // signed: bytes from 0x80 up are negative, so below 0x20 too
    auto stop = _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    if (auto m = _mm_movemask_epi8(stop)) return p + __builtin_ctz(static_cast<unsigned>(m));
    p += 16;
  }
#endif
  while (p < end && plain[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

bool digit(char c) { return c >= '0' && c <= '9'; }

// The first byte from p that is not a digit, or end. (Numbers are short: 8 bytes at a time with
// bit tricks measured slower.)
[[gnu::always_inline]] inline char const* digits_end(char const* p, char const* end) {
  while (p < end && digit(*p)) ++p;
  return p;
}

// The end of the JSON number from p, or null when it breaks the grammar.
[[gnu::always_inline]] inline char const* number_end(char const* p, char const* end) {
  if (p < end && *p == '-') ++p;
  if (p == end || !digit(*p)) return nullptr;
  p = *p == '0' ? p + 1 : digits_end(p + 1, end);
  if (p < end && *p == '.') {
    auto q = digits_end(p + 1, end);
    if (q == p + 1) return nullptr;
    p = q;
  }
  if (p < end && (*p == 'e' || *p == 'E')) {
    if (++p < end && (*p == '+' || *p == '-')) ++p;
    auto q = digits_end(p, end);
    if (q == p) return nullptr;
    p = q;
  }
  return p;
}

// The exact powers of ten of a double, as Boost.JSON's table holds them.
constexpr double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                            1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

// The value of a JSON number (already scanned by number_end) as Boost.JSON 1.81 computes it, where
// that is one exact IEEE operation: an integer of up to 18 digits (int64 to double), or a mantissa
// below 2^53 over or times a power of ten up to 10^22 (Boost.JSON's dec_to_float). False elsewhere,
// and where the digits before and after the point are more than 18, leading zeros and all.
bool number_value(std::string_view t, double& out) {
  auto p = t.data(), end = p + t.size();
  bool neg = *p == '-';
  if (neg) ++p;
  auto int_end = digits_end(p, end);
  bool point = int_end < end && *int_end == '.';
  auto frac = point ? int_end + 1 : int_end;
  auto frac_end = point ? digits_end(frac, end) : int_end;
  if ((int_end - p) + (frac_end - frac) > 18) return false;
  std::uint64_t mant = 0;
  for (; p < int_end; ++p) mant = mant * 10 + static_cast<std::uint64_t>(*p - '0');
  for (p = frac; p < frac_end; ++p) mant = mant * 10 + static_cast<std::uint64_t>(*p - '0');
  int exp = 0;
  bool has_exp = p < end;
  if (has_exp) {
    ++p;
    bool eneg = *p == '-';
    if (*p == '+' || *p == '-') ++p;
    if (end - p > 4) return false;
    for (; p < end; ++p) exp = exp * 10 + (*p - '0');
    if (eneg) exp = -exp;
  }
  if (!point && !has_exp) {  // Boost.JSON's int64
    auto i = static_cast<std::int64_t>(mant);
    out = static_cast<double>(neg ? -i : i);
    return true;
  }
  if (mant > 9007199254740991ull) return false;  // 2^53 - 1: past it Boost.JSON stops adding digits
  int e = exp - static_cast<int>(frac_end - frac);
  if (e < -22 || e > 22) return false;
  double x = static_cast<double>(mant);
  if (neg) x = -x;
  out = e < 0 ? x / pow10[-e] : x * pow10[e];
  return true;
}

// A number's value from Boost.JSON's own parser, for the numbers number_value leaves: the handler
// keeps what the record reader would (every number as a double).
struct number_reader : core::json_accept_all {
  double value = 0;
  bool on_int64(std::int64_t i, sv, ec&) {
    value = static_cast<double>(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, sv, ec&) {
    value = static_cast<double>(u);
    return true;
  }
  bool on_double(double d, sv, ec&) {
    value = d;
    return true;
  }
};

bool boost_number(std::string_view t, double& out) {
  thread_local boost::json::basic_parser<number_reader> parser(boost::json::parse_options{});
  parser.reset();
  boost::json::error_code ec;
  auto used = parser.write_some(false, t.data(), t.size(), ec);
  if (ec || used != t.size()) return false;
  out = parser.handler().value;
  return true;
}

}  // namespace

// Splits a line Boost.JSON took into literal bytes, scalars and tokens. False: the line holds what
// a shape does not (an escape, a byte that is not printable ASCII outside white space).
bool line_shapes::tokenize(std::string_view line, shape& s) {
  struct open {
    bool object;
    bool key_next;
  };
  std::vector<open> stack;
  auto add_slot = [&](scalar k) {
    s.slots.push_back({static_cast<std::uint32_t>(s.literals.size()), k});
    s.steps.push_back({token::value, static_cast<std::uint32_t>(s.slots.size() - 1)});
  };
  std::size_t i = 0, n = line.size();
  while (i < n) {
    char c = line[i];
    switch (c) {
      case ' ':
      case '\t':
      case '\r':
      case '\n':
      case ':':
        s.literals += c;
        ++i;
        break;
      case ',':
        s.literals += c;
        if (!stack.empty() && stack.back().object) stack.back().key_next = true;
        ++i;
        break;
      case '{':
      case '[':
        s.literals += c;
        stack.push_back({c == '{', c == '{'});
        s.steps.push_back({c == '{' ? token::object_begin : token::array_begin});
        ++i;
        break;
      case '}':
      case ']':
        s.literals += c;
        if (stack.empty()) return false;
        stack.pop_back();
        s.steps.push_back({c == '}' ? token::object_end : token::array_end});
        ++i;
        break;
      case '"': {
        auto j = i + 1;
        while (j < n && plain[static_cast<unsigned char>(line[j])]) ++j;
        if (j == n || line[j] != '"') return false;  // an escape or a byte outside printable ASCII
        if (!stack.empty() && stack.back().object && stack.back().key_next) {
          s.literals.append(line.substr(i, j + 1 - i));
          s.steps.push_back({token::key, static_cast<std::uint32_t>(s.keys.size()), static_cast<std::uint32_t>(j - i - 1)});
          s.keys.append(line.substr(i + 1, j - i - 1));
          stack.back().key_next = false;
        } else {
          s.literals += '"';
          add_slot(scalar::string);  // the closing quote is the scalar's
        }
        i = j + 1;
        break;
      }
      case 't':
      case 'n':
        add_slot(scalar::atom);
        i += 4;
        break;
      case 'f':
        add_slot(scalar::atom);
        i += 5;
        break;
      default: {
        auto e = number_end(line.data() + i, line.data() + n);
        if (!e) return false;
        add_slot(scalar::number);
        i = static_cast<std::size_t>(e - line.data());
      }
    }
  }
  s.size = static_cast<std::uint32_t>(s.literals.size());
  s.literals.append(16, '\0');  // read 16 bytes at a time (same)
  return stack.empty() && !s.steps.empty();
}

// Whether `line` has the shape `s`; its scalars go to values_.
bool line_shapes::match(shape const& s, std::string_view line, std::size_t from, std::size_t& failed_at) {
  auto p = line.data(), end = p + line.size();
  auto lit = s.literals.data();
  std::uint32_t at = 0;
  if (values_.size() < s.slots.size()) values_.resize(s.slots.size());
  // in locals: the compiler cannot tell that the stores below leave them as they are
  auto* values = values_.data();
  auto const* slots = s.slots.data();
  auto const count = s.slots.size();
  auto fail = [&](std::size_t k) {  // told once, not stored on every scalar
    failed_at = k;
    return false;
  };
  if (from > 0) {  // the line up to the end of scalar from - 1 has been matched
    auto const& v = values[from - 1];
    p = v.text.data() + v.text.size() + (slots[from - 1].kind == scalar::string);
    at = slots[from - 1].literal_end;
  }
  for (std::size_t k = from; k < count; ++k) {
    auto const& sl = slots[k];
    auto n = sl.literal_end - at;
    if (static_cast<std::size_t>(end - p) < n || !same(p, lit + at, n, static_cast<std::size_t>(end - p))) return fail(k);
    p += n;
    at = sl.literal_end;
    auto& v = values[k];
    switch (sl.kind) {
      case scalar::string: {
        auto q = string_end(p, end);
        if (q == end || *q != '"') return fail(k);
        v.text = {p, static_cast<std::size_t>(q - p)};
        p = q + 1;
        break;
      }
      case scalar::number: {
        auto q = number_end(p, end);
        if (!q) return fail(k);
        v.text = {p, static_cast<std::size_t>(q - p)};
        if (sl.kept && !number_value(v.text, v.number) && !boost_number(v.text, v.number)) return fail(k);
        p = q;
        break;
      }
      case scalar::atom: {
        auto left = static_cast<std::size_t>(end - p);
        if (left >= 4 && (std::memcmp(p, "true", 4) == 0 || std::memcmp(p, "null", 4) == 0)) {
          v.text = {p, 4};
        } else if (left >= 5 && std::memcmp(p, "false", 5) == 0) {
          v.text = {p, 5};
        } else {
          return fail(k);
        }
        p += v.text.size();
        break;
      }
    }
  }
  failed_at = count;
  auto n = s.size - at;
  return static_cast<std::size_t>(end - p) == n && same(p, lit + at, n, n);
}

// The leading scalars of a and b that are alike: the same kind, kept or not alike, and the same
// shape bytes before each.
std::uint16_t line_shapes::common(shape const& a, shape const& b) {
  std::size_t k = 0, n = std::min(a.slots.size(), b.slots.size());
  for (; k < n; ++k) {
    auto const &x = a.slots[k], &y = b.slots[k];
    if (x.literal_end != y.literal_end || x.kind != y.kind || x.kept != y.kept) break;
  }
  // and the shape bytes before each are the same: those before the first byte that differs
  auto bytes = std::min(a.size, b.size);
  auto alike = static_cast<std::size_t>(std::mismatch(a.literals.begin(), a.literals.begin() + bytes, b.literals.begin()).first - a.literals.begin());
  while (k > 0 && a.slots[k - 1].literal_end > alike) --k;
  return static_cast<std::uint16_t>(k);
}

// The key at kept[key], found by the reader, and the step after it, its value's, become one step.
void line_shapes::fuse(shape const& s, std::vector<step>& kept, std::size_t key) {
  auto& k = kept[key];
  auto const& v = kept[key + 1];
  switch (v.t) {
    case token::value: {
      auto kind = s.slots[v.at].kind;
      k.t = kind == scalar::string ? token::string_field : kind == scalar::number ? token::number_field : token::atom_field;
      k.at = v.at;
      break;
    }
    case token::object_begin: k.t = token::object_field; break;
    case token::array_begin: k.t = token::array_field; break;
    default: return;  // not reached: a key's value is one of those
  }
  k.size = 0;
  kept.erase(kept.begin() + static_cast<std::ptrdiff_t>(key) + 1);
}

// The step after the value at steps[i] (an object or array with all it holds).
std::size_t line_shapes::skip(std::vector<step> const& steps, std::size_t i) {
  if (steps[i].t != token::object_begin && steps[i].t != token::array_begin) return i + 1;
  std::size_t depth = 0;
  for (;; ++i) {
    auto t = steps[i].t;
    if (t == token::object_begin || t == token::array_begin) ++depth;
    else if ((t == token::object_end || t == token::array_end) && --depth == 0) return i + 1;
  }
}

}  // namespace stormgate::checks::detail
