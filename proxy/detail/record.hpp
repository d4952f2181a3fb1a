// What the traffic log holds (docs/formats.md). A session fills an exchange_record whose text fields
// point into its own buffers (the request and answers as they were read), and formats it into one
// line when the exchange ends; control and run records are built as JSON.
#pragma once
#include "core/time.hpp"

#include <boost/json/array.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace stormgate::proxy::detail {

// The parts of a record the proxy writes with put overloads of its own (record.cpp).
struct request_part {
  std::vector<std::pair<std::string_view, std::string_view>> const& headers;
  std::optional<std::string_view> body;
};
struct body_part {  // a body: JSON as it came, or {"bytes", "sha256"}
  std::optional<std::string_view> raw;
};
struct attempt_headers {  // the answer's headers the gates read (STORMGATE_ATTEMPT_HEADER_FIELDS)
  std::optional<std::string_view> replayed;
};
struct exchange_record;
struct response_part {
  exchange_record const& x;
};

// The members the writer reads are named by the `src` column of core/record_fields.hpp.
struct attempt_record {
  int n = 0;
  unsigned status = 0;  // 0 when there was no answer
  std::int64_t latency_us = 0;
  std::string error;    // "" when the upstream answered
  std::optional<std::string_view> body;
  std::string replayed;  // its Idempotent-Replayed header, "" when it had none

  std::optional<std::string_view> error_text() const { return nonempty(error); }
  attempt_headers headers() const { return {nonempty(replayed)}; }
  body_part logged_body() const { return {body}; }
  static std::optional<std::string_view> nonempty(std::string_view s) {
    return s.empty() ? std::nullopt : std::optional<std::string_view>(s);
  }
};

struct exchange_record {
  static constexpr int v = 1;
  static constexpr std::string_view kind = "exchange";
  std::string_view id;
  std::string_view route;
  std::uint64_t conn = 0;
  core::sys_us ts{};
  core::sys_us ts_end{};
  std::string_view method;
  std::string_view target;
  std::vector<std::pair<std::string_view, std::string_view>> req_headers;  // lower-case names
  std::optional<std::string_view> req_body;                               // raw, as received
  boost::json::array faults;
  std::vector<attempt_record> upstream;
  bool has_resp = false;
  unsigned resp_status = 0;
  std::optional<std::string_view> resp_body;
  bool resp_is_upstream = false;  // the client got upstream[0]'s answer: resp.body is upstream[0].body
  std::string_view resp_content_type;
  std::string_view resp_replayed;
  std::int64_t latency_us = 0;
  std::string_view outcome;
  std::string error;  // why, for client_error / upstream_error / upstream_timeout

  void clear();  // for the next exchange; the vectors keep their room
  request_part req() const { return {req_headers, req_body}; }
  std::optional<response_part> resp() const {
    return has_resp ? std::optional<response_part>(response_part{*this}) : std::nullopt;
  }
  std::optional<std::string_view> error_text() const { return attempt_record::nonempty(error); }
};

// Appends the record as one JSON line (no newline). A body up to `body_limit` bytes that is JSON is
// logged as that JSON; any other body as {"bytes": n, "sha256": hex}.
void format_exchange(std::string& out, exchange_record const& x, std::size_t body_limit);

}  // namespace stormgate::proxy::detail
