// --report-junit: one testcase per scenario and per gate, for CI. FAIL -> <failure> with the
// evidence, SKIP -> <skipped message=…/>. Renders, computes nothing.
#include "checks/detail/evidence.hpp"

#include <sstream>

namespace stormgate::checks {

namespace {

std::string xml(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (c < 0x20 && c != '\n' && c != '\t') out += ' ';
        else out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace

std::string render_junit(check_report const& r) {
  int tests = 0, failures = 0, skipped = 0;
  std::ostringstream body;
  auto testcase = [&](std::string const& classname, std::string const& name, status st, double time_s, std::string const& message,
                      std::string const& text) {
    ++tests;
    body << "    <testcase classname=\"" << xml(classname) << "\" name=\"" << xml(name) << "\" time=\"" << detail::fmt_num(time_s, 3) << "\"";
    if (st == status::pass) {
      body << "/>\n";
      return;
    }
    body << ">\n";
    if (st == status::skip) {
      ++skipped;
      body << "      <skipped message=\"" << xml(message) << "\"/>\n";
    } else if (st == status::fail || st == status::unknown) {
      ++failures;
      body << "      <failure message=\"" << xml(message) << "\" type=\"" << to_string(st) << "\">" << xml(text) << "</failure>\n";
    } else {
      body << "      <system-out>" << xml("WARN: " + message + "\n" + text) << "</system-out>\n";
    }
    body << "    </testcase>\n";
  };
  for (auto const& s : r.scenarios) {
    std::string text;
    for (auto const& i : s.invariants) text += std::string(to_string(i.st)) + " " + i.name + ": " + i.detail + "\n";
    for (auto const& e : s.errors) text += e + "\n";
    testcase("stormgate.scenarios", s.scenario_id, s.st, s.duration_s, s.reason.empty() ? s.scenario_name : s.reason, text);
  }
  for (auto const& [id, g] : r.gates) {
    std::string text = "figure: " + g.figure + "\nthreshold: " + g.threshold + "\n";
    for (auto const& c : g.checks) text += std::string(to_string(c.st)) + " " + c.name + ": " + c.detail + "\n";
    for (auto const& v : g.violations) text += v.op + " " + v.file + (v.line ? ":" + std::to_string(v.line) : "") + " " + v.why + "\n";
    if (g.total_violations > g.violations.size())
      text += std::to_string(g.violations.size()) + " of " + std::to_string(g.total_violations) + " violations shown\n";
    for (auto const& n : g.notes) text += "note: " + n + "\n";
    std::string msg = g.figure;
    if (g.st == status::skip) {
      msg.clear();
      for (auto const& c : g.checks) msg += c.name + ": " + c.detail + "; ";
    }
    testcase("stormgate.gates", "gate " + id + " " + g.name, g.st, 0, msg, text);
  }
  std::ostringstream o;
  o << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o << "<testsuites name=\"stormgate check\" tests=\"" << tests << "\" failures=\"" << failures << "\" skipped=\"" << skipped << "\">\n";
  o << "  <testsuite name=\"stormgate check: " << xml(r.overall_status) << "\" tests=\"" << tests << "\" failures=\"" << failures
    << "\" skipped=\"" << skipped << "\" timestamp=\"" << xml(r.timestamp) << "\">\n";
  o << "    <properties>\n      <property name=\"overall_status\" value=\"" << xml(r.overall_status) << "\"/>\n";
  o << "      <property name=\"recommendation\" value=\"" << xml(r.recommendation) << "\"/>\n";
  o << "      <property name=\"branch\" value=\"" << xml(r.branch) << "\"/>\n      <property name=\"commit\" value=\"" << xml(r.commit) << "\"/>\n";
  o << "    </properties>\n";
  o << body.str();
  o << "  </testsuite>\n</testsuites>\n";
  return o.str();
}

}  // namespace stormgate::checks
