// Why an attempt of the load did not end ok: the history's `cause` field (docs/formats.md). The load
// writes it; its progress line and the checker's error table count by it, and tell by it whether a
// failure was provoked by the run or is an error of the target.
#pragma once
#include <string>
#include <string_view>

namespace stormgate::core {

// Provoked by the run, so not an error:
//   "fault <rule>"           the proxy answered for a fault (X-Stormgate-Fault)
//   "rejected <status>"      a definite 4xx refusal (overdraft, already decided, …): a business outcome
//   "restart"                no answer, or a 5xx, while the backend was being restarted on purpose
//   "interrupted"            the run was stopped (Ctrl-C)
//   "<cause> under fault <names>"  a transport failure while the named faults were set
// Errors: "status <n>" (5xx or 408 from the target), "timeout", "reset", "connect", "eof", other words.
// A definite refusal: a 4xx other than 408 (a timeout).
inline bool refused(unsigned status) { return status >= 400 && status < 500 && status != 408; }
// The cause of a non-2xx answer: a refusal ("rejected 409") or an error ("status 503").
inline std::string status_cause(unsigned status) { return (refused(status) ? "rejected " : "status ") + std::to_string(status); }

inline bool cause_explained(std::string_view cause) {
  return cause.starts_with("fault ") || cause.starts_with("rejected ") || cause == "restart" ||
         cause == "interrupted" || cause.find(" under fault ") != std::string_view::npos;
}

}  // namespace stormgate::core
