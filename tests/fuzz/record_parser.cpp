// The checker's record parser, differential: a record_parser that learns line shapes (the fast path)
// and one that reads every line with Boost.JSON must agree on every line, on accept or reject and on
// every field the gates read (tests/checks/describe_record.hpp). Each line is read twice by the
// learning parser, so that a line whose shape it has just learnt is also read from that shape.
//   input: byte 0 = the log (traffic, history, journal) and the profile (reference, brain); then
//   lines, one record each
#include "checks/detail/record_parser.hpp"
#include "tests/checks/context.hpp"
#include "tests/checks/describe_record.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace stormgate;
using namespace stormgate::checks::detail;

namespace {

[[noreturn]] void fail(char const* what, std::string_view line, std::string const& a, std::string const& b) {
  std::fprintf(stderr, "record_parser: %s\nline: %.*s\nshapes:   %s\nBoost.JSON: %s\n", what, static_cast<int>(line.size()), line.data(),
               a.c_str(), b.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size < 1) return 0;
  static context const contexts[] = {test::profile_context("reference"), test::profile_context("brain")};
  // the Boost.JSON path keeps nothing from line to line but caches of pure functions (a target's op
  // class, a second's time stamp): one per profile serves every input. The learning one starts fresh,
  // so that an input that breaks it does so alone.
  static record_parser plains[] = {record_parser(contexts[0], false), record_parser(contexts[1], false)};
  auto kind = static_cast<log_kind>(data[0] % 3);
  auto profile = (data[0] / 3) % 2;
  auto const& ctx = contexts[profile];
  auto& plain = plains[profile];
  record_parser shaped(ctx);
  std::string file = "t.jsonl";
  std::string_view in(reinterpret_cast<char const*>(data) + 1, size - 1);
  std::uint64_t n = 0;
  while (!in.empty() && n < 256) {
    auto nl = in.find('\n');
    auto line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
    ++n;
    record a{}, b{};
    std::string ea, eb;
    bool ob = plain.parse(kind, line, {&file, n}, b, eb);
    auto db = test::describe(ob, b, eb);
    for (int pass = 0; pass < 2; ++pass) {
      bool oa = shaped.parse(kind, line, {&file, n}, a, ea);
      auto da = test::describe(oa, a, ea);
      if (oa != ob) fail(oa ? "only the shape path accepts the line" : "only the shape path rejects the line", line, da, db);
      if (da != db) fail("the two paths read the line differently", line, da, db);
    }
  }
  return 0;
}
