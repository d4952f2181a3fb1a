// What the traffic log holds (docs/formats.md): exchange records filled by sessions, serialised on
// the writer thread; control and run records built as JSON.
#pragma once
#include "core/time.hpp"

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace stormgate::proxy::detail {

struct attempt_record {
  int n = 0;
  unsigned status = 0;  // 0 when there was no answer
  std::int64_t latency_us = 0;
  std::string error;    // "" when the upstream answered
  std::optional<std::string> body;
};

struct exchange_record {
  std::string id;
  std::string route;
  std::uint64_t conn = 0;
  core::sys_us ts{};
  core::sys_us ts_end{};
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> req_headers;  // lower-case names
  std::optional<std::string> req_body;                          // raw, as received
  boost::json::array faults;
  std::vector<attempt_record> upstream;
  bool has_resp = false;
  unsigned resp_status = 0;
  std::optional<std::string> resp_body;
  bool resp_is_upstream = false;  // the client got upstream[0]'s answer: resp.body is upstream[0].body
  std::string resp_content_type;
  std::string resp_replayed;
  std::int64_t latency_us = 0;
  std::string outcome;
  std::string error;  // why, for client_error / upstream_error / upstream_timeout
};

using log_record = std::variant<exchange_record, boost::json::object>;

}  // namespace stormgate::proxy::detail
