// Errors as values, and the exit codes every subcommand shares (SPEC §6).
#pragma once
#include <boost/system/result.hpp>
#include <stdexcept>
#include <string>
#include <utility>

namespace stormgate::core {

// Exit codes of SPEC §6.
enum exit_code : int {
  exit_go = 0,
  exit_no_go = 1,
  exit_conditional = 2,
  exit_usage = 64,        // usage or config error
  exit_data = 65,         // unreadable input (log, journal)
  exit_unavailable = 69,  // target or dependency unavailable
  exit_internal = 70,
};

// An error names where it happened ("proxy.toml:14:9 faults.slow.probability",
// "traffic.jsonl:20311", "--concurrency") and what is wrong.
struct error {
  std::string where;
  std::string what;
  int code = exit_usage;  // the exit code this error maps to when it reaches main

  error() = default;
  error(std::string where_, std::string what_, int code_ = exit_usage)
      : where(std::move(where_)), what(std::move(what_)), code(code_) {}

  std::string message() const { return where.empty() ? what : where + ": " + what; }
};

// Thrown only to carry an `error` out of deep parsing code up to main (never out of a handler).
struct failure : std::runtime_error {
  core::error err;
  explicit failure(core::error e) : std::runtime_error(e.message()), err(std::move(e)) {}
};

[[noreturn]] inline void throw_exception_from_error(error const& e, boost::source_location const&) {
  throw failure(e);
}

template <class T>
using result = boost::system::result<T, error>;

inline error usage_error(std::string where, std::string what) { return {std::move(where), std::move(what), exit_usage}; }
inline error data_error(std::string where, std::string what) { return {std::move(where), std::move(what), exit_data}; }
inline error unavailable_error(std::string where, std::string what) {
  return {std::move(where), std::move(what), exit_unavailable};
}

}  // namespace stormgate::core
