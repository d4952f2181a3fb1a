// The reader of log lines into records (checks/record_parser.cpp).
#pragma once
#include "checks/detail/line_shapes.hpp"
#include "checks/detail/records.hpp"

#include <boost/json/basic_parser.hpp>
#include <boost/json/value.hpp>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace stormgate::checks::detail {

struct context;

enum class log_kind { traffic, history, journal };

// Parses one line of a log into `out`; false + `err` when the line is not a valid record.
class record_parser {
 public:
  // `learn_shapes`: lines of a shape seen before are read from it (line_shapes); off, every line
  // goes through Boost.JSON's streaming parser (the tests compare the two).
  explicit record_parser(context const& ctx, bool learn_shapes = true);
  ~record_parser();
  bool parse(log_kind kind, std::string_view line, source src, record& out, std::string& err);
  std::uint64_t shape_hits() const { return shapes_[0].hits() + shapes_[1].hits() + shapes_[2].hits(); }
  std::uint64_t shape_skips() const { return shapes_[0].skips() + shapes_[1].skips() + shapes_[2].skips(); }
 private:
  class reader;  // the streaming parser's handler: keeps the fields the gates read
  std::unique_ptr<boost::json::basic_parser<reader>> stream_;
  std::array<line_shapes, 3> shapes_;  // by log_kind
  bool learn_shapes_ = true;
  std::optional<boost::json::value> doc_;  // control and run records, and lines only read leniently
  control c_;
  run_marker run_;
  bool read_document(log_kind kind, std::string_view line, std::string& err);
};

}  // namespace stormgate::checks::detail
