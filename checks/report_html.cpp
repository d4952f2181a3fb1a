// --report-html: one self-contained page (no external assets): verdict, scenario and gate matrices,
// inline SVG charts (latency percentiles, throughput, memory with its least-squares trend, fault
// windows shaded) and the evidence tables. Renders, computes nothing.
#include "checks/detail/evidence.hpp"

#include <algorithm>
#include <sstream>

namespace stormgate::checks {

namespace {

std::string esc(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

char const* css_class(status s) {
  switch (s) {
    case status::pass: return "pass";
    case status::warn: return "warn";
    case status::fail: return "fail";
    case status::skip: return "skip";
    default: return "unknown";
  }
}

struct line {
  std::string label, color;
  std::vector<std::pair<double, double>> pts;
  bool dashed = false;
};

std::string chart(std::string const& title, std::string const& unit, std::vector<line> const& lines,
                  std::vector<series::window> const& windows) {
  constexpr double W = 860, H = 240, ml = 60, mr = 20, mt = 28, mb = 36;
  double x0 = 1e300, x1 = -1e300, y1 = 0;
  for (auto const& l : lines)
    for (auto const& [x, y] : l.pts) {
      x0 = std::min(x0, x), x1 = std::max(x1, x), y1 = std::max(y1, y);
    }
  std::ostringstream o;
  o << "<figure><svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << W << " " << H << "\" width=\"" << W << "\" height=\"" << H
    << "\" role=\"img\"><title>" << esc(title) << "</title>";
  o << "<text x=\"" << ml << "\" y=\"18\" class=\"t\">" << esc(title) << "</text>";
  if (x0 > x1) {
    o << "<text x=\"" << W / 2 << "\" y=\"" << H / 2 << "\" text-anchor=\"middle\" class=\"muted\">no data</text></svg></figure>";
    return o.str();
  }
  if (x1 <= x0) x1 = x0 + 1;
  if (y1 <= 0) y1 = 1;
  y1 *= 1.1;
  auto X = [&](double x) { return ml + (x - x0) / (x1 - x0) * (W - ml - mr); };
  auto Y = [&](double y) { return H - mb - y / y1 * (H - mt - mb); };
  for (auto const& w : windows) {
    double a = std::max(w.from_s, x0), b = std::min(w.to_s, x1);
    if (b <= a) continue;
    o << "<rect x=\"" << X(a) << "\" y=\"" << mt << "\" width=\"" << X(b) - X(a) << "\" height=\"" << H - mt - mb
      << "\" class=\"fault\"><title>" << esc(w.name + " (" + w.kind + " on " + w.route + ")") << "</title></rect>";
  }
  o << "<line x1=\"" << ml << "\" y1=\"" << H - mb << "\" x2=\"" << W - mr << "\" y2=\"" << H - mb << "\" class=\"axis\"/>";
  o << "<line x1=\"" << ml << "\" y1=\"" << mt << "\" x2=\"" << ml << "\" y2=\"" << H - mb << "\" class=\"axis\"/>";
  for (int i = 0; i <= 4; ++i) {
    double y = y1 * i / 4;
    o << "<text x=\"" << ml - 6 << "\" y=\"" << Y(y) + 4 << "\" text-anchor=\"end\" class=\"tick\">" << detail::fmt_num(y, y1 < 10 ? 2 : 0) << "</text>";
    double x = x0 + (x1 - x0) * i / 4;
    o << "<text x=\"" << X(x) << "\" y=\"" << H - mb + 16 << "\" text-anchor=\"middle\" class=\"tick\">" << detail::fmt_num(x, 0) << " s</text>";
  }
  o << "<text x=\"12\" y=\"" << mt - 8 << "\" class=\"tick\">" << esc(unit) << "</text>";
  double lx = ml + 10;
  for (auto const& l : lines) {
    if (l.pts.empty()) continue;
    o << "<polyline fill=\"none\" stroke=\"" << l.color << "\" stroke-width=\"1.6\"" << (l.dashed ? " stroke-dasharray=\"6 4\"" : "") << " points=\"";
    for (auto const& [x, y] : l.pts) o << detail::fmt_num(X(x), 1) << "," << detail::fmt_num(Y(y), 1) << " ";
    o << "\"/>";
    if (l.label.empty()) continue;  // a further piece of a line already in the legend
    o << "<rect x=\"" << lx << "\" y=\"" << H - 12 << "\" width=\"10\" height=\"3\" fill=\"" << l.color << "\"/><text x=\"" << lx + 14
      << "\" y=\"" << H - 8 << "\" class=\"tick\">" << esc(l.label) << "</text>";
    lx += 30 + 7 * static_cast<double>(l.label.size());
  }
  if (!windows.empty())
    o << "<rect x=\"" << lx << "\" y=\"" << H - 16 << "\" width=\"10\" height=\"10\" class=\"fault\"/><text x=\"" << lx + 14 << "\" y=\"" << H - 8
      << "\" class=\"tick\">fault window</text>";
  o << "</svg></figure>";
  return o.str();
}

}  // namespace

std::string render_html(check_report const& r) {
  std::ostringstream o;
  auto const& ch = r.charts;
  o << "<!DOCTYPE html>\n<html lang=\"de\"><head><meta charset=\"utf-8\"><title>stormgate check: " << esc(r.overall_status) << "</title>\n<style>\n"
    << "body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}"
    << "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top;font-size:14px}"
    << ".pass{background:#d9f2d9}.warn{background:#fff1c2}.fail{background:#f8d0d0}.skip{background:#e8e8e8}.unknown{background:#e0d0f0}"
    << ".verdict{font-size:28px;font-weight:bold;padding:8px 16px;display:inline-block}"
    << ".GO{background:#3a3}.CONDITIONAL{background:#e6b800}.NO-GO{background:#c33;color:#fff}"
    << "svg .t{font-size:14px;font-weight:bold}svg .tick{font-size:11px;fill:#555}svg .axis{stroke:#888}svg .fault{fill:#f33;fill-opacity:.15}"
    << ".muted{fill:#999;color:#999}figure{margin:1em 0}code{font-size:13px}\n</style></head><body>\n";
  o << "<h1>stormgate check</h1>\n<p><span class=\"verdict " << esc(r.overall_status) << "\">" << esc(r.overall_status) << "</span></p>\n";
  o << "<blockquote>" << esc(r.recommendation) << "</blockquote>\n<ul>";
  for (auto const& v : r.verdict_reasons) o << "<li>" << esc(v) << "</li>";
  o << "</ul>\n<p>" << esc(r.timestamp) << " · branch <code>" << esc(r.branch) << "</code> · commit <code>" << esc(r.commit) << "</code> · "
    << r.records << " records</p>\n";

  o << "<h2>Szenario-Matrix</h2>\n<table><tr><th>Szenario</th><th>Status</th><th>Throughput</th><th>P95 Latency</th><th>Invarianten</th></tr>\n";
  for (auto const& s : r.scenarios) {
    o << "<tr class=\"" << css_class(s.st) << "\"><td>" << esc(s.scenario_name) << "</td><td>" << to_string(s.st) << "</td><td>"
      << (s.st == status::skip ? "—" : detail::fmt_num(s.throughput, 1) + " req/s") << "</td><td>"
      << (s.st == status::skip ? "—" : detail::fmt_num(s.p95_ms, 1) + " ms") << "</td><td>";
    if (s.st == status::skip) o << esc(s.reason);
    for (auto const& i : s.invariants) o << "<div class=\"" << css_class(i.st) << "\">" << esc(i.name) << ": " << esc(i.detail) << "</div>";
    o << "</td></tr>\n";
  }
  o << "</table>\n<h2>Failed ops by phase and cause</h2>\n";
  {
    bool any = false;
    for (auto const& s : r.scenarios)
      for (auto const& e : s.errors) {
        if (!any) o << "<table><tr><th>phase</th><th>f and cause</th></tr>";
        any = true;
        o << "<tr class=\"" << (e.starts_with("ERROR") ? "fail" : "skip") << "\"><td>" << esc(s.scenario_id) << "</td><td>" << esc(e) << "</td></tr>";
      }
    o << (any ? "</table>" : "<p>No failed ops in the scenarios.</p>")
      << "<p class=\"muted\">ERROR: not provoked by the run (counted by gate E); expected: an injected fault, a refusal (4xx) or a restart. "
         "The soak's errors are gate E's evidence.</p>\n";
  }
  o << "<h2>Gate-Matrix</h2>\n<table><tr><th>Gate</th><th>Status</th><th>Actual</th><th>Target</th><th>Sub-checks</th></tr>\n";
  for (auto const& [id, g] : r.gates) {
    o << "<tr class=\"" << css_class(g.st) << "\"><td>" << esc(id) << " — " << esc(g.name) << "</td><td>" << to_string(g.st)
      << (g.critical ? " (critical)" : "") << "</td><td>" << esc(g.figure) << "</td><td>" << esc(g.threshold) << "</td><td>";
    for (auto const& c : g.checks) o << "<div class=\"" << css_class(c.st) << "\">" << esc(c.name) << ": " << esc(c.detail) << "</div>";
    o << "</td></tr>\n";
  }
  o << "</table>\n<h2>Charts</h2>\n";
  std::vector<line> lat{{"p50", "#2a7", {}}, {"p95", "#e80", {}}, {"p99", "#c22", {}}};
  std::vector<line> thr{{"ops/s", "#36c", {}}};
  for (auto const& s : ch.slices) {
    if (!s.ops) continue;
    double t = s.t_s + s.width_s / 2;
    lat[0].pts.emplace_back(t, s.p50_ms);
    lat[1].pts.emplace_back(t, s.p95_ms);
    lat[2].pts.emplace_back(t, s.p99_ms);
    thr[0].pts.emplace_back(t, static_cast<double>(s.ops) / s.width_s);
  }
  o << chart("Latency percentiles over time", "ms", lat, ch.faults) << "\n";
  o << chart("Throughput", "ops/s", thr, ch.faults) << "\n";
  // one chart per sampled process: its RSS and its trend over each segment the slope was fitted in
  for (auto const& m : ch.memory) {
    std::vector<line> mem{{"RSS", "#639", {}}};
    for (auto const& p : m.points) mem[0].pts.emplace_back(p.t_s, p.mb);
    for (std::size_t i = 0; i < m.trend.size(); ++i) {
      auto const& sg = m.trend[i];
      mem.push_back({i ? std::string() : "least-squares trend " + detail::fmt_num(m.slope_mb_per_min, 3) + " MB/min", "#000",
                     {{sg.from_s, std::max(0.0, sg.from_mb)}, {sg.to_s, std::max(0.0, sg.to_mb)}}, true});
    }
    o << chart("Memory (" + m.process + " RSS)", "MB", mem, ch.faults) << "\n";
  }
  if (!ch.faults.empty()) {
    o << "<h3>Fault windows</h3><table><tr><th>fault</th><th>route</th><th>action</th><th>from</th><th>to</th></tr>";
    for (auto const& w : ch.faults)
      o << "<tr><td>" << esc(w.name) << "</td><td>" << esc(w.route) << "</td><td>" << esc(w.kind) << "</td><td>" << detail::fmt_num(w.from_s, 1)
        << " s</td><td>" << detail::fmt_num(w.to_s, 1) << " s</td></tr>";
    o << "</table>\n";
  }
  o << "<h2>Evidence</h2>\n";
  for (auto const& [id, g] : r.gates) {
    o << "<h3>Gate " << esc(id) << " — " << esc(g.name) << ": " << to_string(g.st) << "</h3>\n";
    if (g.violations.empty()) o << "<p>No violations.</p>\n";
    else {
      o << "<table><tr><th>op</th><th>file:line</th><th>why</th></tr>";
      for (auto const& v : g.violations)
        o << "<tr><td><code>" << esc(v.op) << "</code></td><td><code>" << esc(v.file) << (v.line ? ":" + std::to_string(v.line) : "")
          << "</code></td><td>" << esc(v.why) << "</td></tr>";
      o << "</table>";
      if (g.total_violations > g.violations.size()) o << "<p>" << g.violations.size() << " of " << g.total_violations << " shown.</p>";
      o << "\n";
    }
    for (auto const& n : g.notes) o << "<p class=\"muted\">" << esc(n) << "</p>\n";
  }
  if (!r.notes.empty()) {
    o << "<h2>Notes</h2><ul>";
    for (auto const& n : r.notes) o << "<li>" << esc(n) << "</li>";
    o << "</ul>\n";
  }
  o << "<h2>Inputs</h2><ul>";
  for (auto const& i : r.inputs) o << "<li><code>" << esc(i) << "</code></li>";
  o << "</ul>\n</body></html>\n";
  return o.str();
}

}  // namespace stormgate::checks
