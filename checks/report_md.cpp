// --report-md (LIVE_TEST_REPORT_TEMPLATE.md filled with the figures) and the playbook §7 matrices
// printed on stdout. Renders, computes nothing.
#include "checks/detail/evidence.hpp"
#include "core/jsonl.hpp"

#include <sstream>

namespace stormgate::checks {

namespace {

char const* mark(status s) {
  switch (s) {
    case status::pass: return "✅";
    case status::warn: return "⚠️";
    case status::fail: return "❌";
    case status::skip: return "⏭️";
    case status::unknown: return "❓";
  }
  return "";
}

std::string num(boost::json::object const& m, char const* key, int prec = 2) {
  auto v = m.if_contains(key);
  if (!v) return "—";
  auto d = core::as_number(*v);
  return d ? detail::fmt_num(*d, prec) : "—";
}

std::string md_escape(std::string s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n') out += ' ';
    else out += c;
  }
  return out;
}

gate_result const* gate(check_report const& r, gate_id id) {
  auto it = r.gates.find(std::string(key(id)));
  return it == r.gates.end() ? nullptr : &it->second;
}

}  // namespace

std::string render_matrices(check_report const& r) {
  std::ostringstream o;
  o << "Szenario-Matrix\n";
  o << "| Szenario | Status | Throughput | P95 Latency | Invarianten |\n|---|---|---|---|---|\n";
  for (auto const& s : r.scenarios) {
    o << "| " << s.scenario_name << " | " << to_string(s.st) << " | "
      << (s.st == status::skip ? "—" : detail::fmt_num(s.throughput, 1) + " req/s") << " | "
      << (s.st == status::skip ? "—" : detail::fmt_num(s.p95_ms, 1) + " ms") << " | "
      << (s.st == status::skip ? md_escape(s.reason) : s.invariants_passed ? "OK" : md_escape("FAIL: " + s.reason)) << " |\n";
  }
  o << "\nGate-Matrix\n";
  o << "| Gate | Status | Actual | Target | Violations |\n|---|---|---|---|---|\n";
  for (auto const& [id, g] : r.gates)
    o << "| " << id << " — " << g.name << " | " << to_string(g.st) << (g.critical ? " (critical)" : "") << " | " << md_escape(g.figure)
      << " | " << md_escape(g.threshold) << " | " << g.total_violations << " |\n";
  o << "\nVerdict: " << r.overall_status << "\n" << r.recommendation << "\n";
  for (auto const& v : r.verdict_reasons) o << "  - " << v << "\n";
  for (auto const& n : r.notes) o << "note: " << n << "\n";
  return o.str();
}

std::string render_markdown(check_report const& r) {
  std::ostringstream o;
  auto cfg = [&](char const* k) -> std::string {
    auto v = r.test_config.if_contains(k);
    if (!v) return "—";
    if (v->is_string()) return std::string(v->get_string());
    if (auto d = core::as_number(*v)) return detail::fmt_num(*d, *d == std::floor(*d) ? 0 : 2);
    return boost::json::serialize(*v);
  };
  o << "# 🧠 BRAiN Live System Test Report\n\n";
  o << "**Scope:** Credit System (Phasen 7–10) + Event-Sourcing Foundation\n";
  o << "**Testtyp:** Live-Stabilitäts- & Governance-Validierung (stormgate check)\n";
  o << "**Datum:** " << r.timestamp.substr(0, 10) << "\n";
  o << "**Branch / Commit:** " << r.branch << " / " << r.commit << "\n";
  o << "**Tester:** stormgate check\n\n---\n\n";
  o << "## 1️⃣ Executive Summary\n\n**Gesamtstatus:**\n";
  o << "- [" << (r.overall_status == "GO" ? "x" : " ") << "] ✅ GO — System stabil, bereit für nächsten Evolutionsschritt\n";
  o << "- [" << (r.overall_status == "CONDITIONAL" ? "x" : " ") << "] ⚠️ CONDITIONAL — Stabil, aber mit Einschränkungen\n";
  o << "- [" << (r.overall_status == "NO-GO" ? "x" : " ") << "] ❌ NO-GO — Kritische Risiken, weitere Evolution blockiert\n\n";
  o << "**Kurzfazit:**\n" << r.recommendation << "\n\n";
  for (auto const& v : r.verdict_reasons) o << "- " << v << "\n";
  o << "\n---\n\n## 2️⃣ Testumgebung\n\n| Komponente | Status | Bemerkung |\n|---|---|---|\n";
  o << "| Target-Profil | " << cfg("target_profile") << " | |\n";
  o << "| Event Journal | " << (cfg("journal") == "none" ? "⬜ nicht gelesen" : "✅ gelesen") << " | " << md_escape(cfg("journal")) << " |\n";
  for (auto const& i : r.inputs) o << "| Eingabe | ✅ | " << md_escape(i) << " |\n";
  o << "\n---\n\n## 3️⃣ Testparameter\n\n| Parameter | Wert |\n|---|---|\n";
  o << "| Concurrency | " << cfg("concurrency") << " |\n";
  o << "| Testdauer | " << cfg("duration_s") << " s (geplant " << cfg("planned_duration_s") << " s) |\n";
  o << "| Deterministic Seed | " << cfg("seed") << " |\n";
  o << "| Modus | " << cfg("mode") << " |\n";
  o << "| Szenarien | " << md_escape(cfg("scenarios")) << " |\n";
  o << "\n---\n\n## 4️⃣ Getestete Szenarien\n\n| # | Szenario | Ergebnis | Kritische Metriken |\n|---|---|---|---|\n";
  int i = 0;
  for (auto const& s : r.scenarios) {
    std::string m;
    if (s.st == status::skip) m = s.reason;
    else {
      for (auto const& inv : s.invariants) m += std::string(mark(inv.st)) + " " + inv.name + ": " + inv.detail + "; ";
    }
    o << "| " << ++i << " | " << s.scenario_name << " | " << to_string(s.st) << " | " << md_escape(m) << " |\n";
  }
  o << "\n### Fehler nach Phase und Ursache\n\n";
  bool any_error = false;
  for (auto const& s : r.scenarios)
    for (auto const& e : s.errors) {
      if (!any_error) o << "| Phase | Ursache | \n|---|---|\n";
      any_error = true;
      o << "| " << s.scenario_id << " | " << md_escape(e) << " |\n";
    }
  if (!any_error) o << "Keine fehlgeschlagenen Operationen in den Szenarien.\n";
  o << "\nERROR: vom Lauf nicht provoziert (zählt für Gate E); expected: injizierter Fault, fachliche Ablehnung (4xx) oder Neustart.\n";
  o << "\n---\n\n## 5️⃣ Hard Gates Evaluation\n\n";
  for (auto const& [id, g] : r.gates) {
    o << "### Gate " << id << " — " << g.name << "\n\n";
    for (auto const& c : g.checks)
      o << "- [" << (c.st == status::pass ? "x" : " ") << "] " << c.name << " — " << to_string(c.st) << ": " << c.detail << "\n";
    o << "\n**Figure:** " << g.figure << "  \n**Threshold:** " << g.threshold << "  \n";
    o << "**Status:** " << to_string(g.st) << (g.critical ? " (kritisch)" : "") << "\n\n";
    if (!g.violations.empty()) {
      o << "| op | file:line | why |\n|---|---|---|\n";
      for (auto const& v : g.violations)
        o << "| " << md_escape(v.op) << " | " << md_escape(v.file) << (v.line ? ":" + std::to_string(v.line) : "") << " | " << md_escape(v.why) << " |\n";
      if (g.total_violations > g.violations.size())
        o << "\n" << g.violations.size() << " of " << g.total_violations << " violations shown.\n";
      o << "\n";
    }
    for (auto const& n : g.notes) o << "> " << n << "\n";
    o << "\n---\n\n";
  }
  auto e = gate(r, gate_id::E);
  auto d = gate(r, gate_id::D);
  auto b = gate(r, gate_id::B);
  o << "## 6️⃣ Key Metrics (Auszug)\n\n| Metrik | Wert | Grenzwert |\n|---|---|---|\n";
  if (e) {
    o << "| Avg Throughput | " << num(e->metrics, "throughput", 1) << " req/s | — |\n";
    o << "| P95 Latency | " << num(e->metrics, "p95_ms", 1) << " ms | < 500 ms |\n";
    o << "| Memory Peak | " << num(e->metrics, "memory_peak_mb", 1) << " MB | — |\n";
    o << "| Memory Slope | " << num(e->metrics, "memory_slope_mb_per_min", 3) << " MB/min | < 0.1 |\n";
    if (auto pp = e->metrics.if_contains("memory_processes"); pp && pp->is_object())
      for (auto const& [name, m] : pp->get_object())
        if (m.is_object())
          o << "| Memory " << std::string(name) << " | " << num(m.get_object(), "slope_mb_per_min", 3) << " MB/min, peak "
            << num(m.get_object(), "peak_mb", 1) << " MB | < 0.1 MB/min |\n";
    o << "| Unexplained Errors | " << num(e->metrics, "unexplained_errors", 0) << " | 0 |\n";
    o << "| Runtime | " << num(e->metrics, "runtime_s", 0) << " s | ≥ 1800 s |\n";
  }
  if (b) o << "| Balance Drift (max) | " << num(b->metrics, "max_drift") << " | < 0.01 |\n";
  if (d) o << "| EoC Score (CI) | " << num(d->metrics, "ci_min", 3) << " – " << num(d->metrics, "ci_max", 3) << " | 0.3–0.7 |\n";
  o << "\n---\n\n## 7️⃣ Findings & Risiken\n\n### Kritische Findings\n\n";
  int k = 0;
  for (auto const& [id, g] : r.gates)
    if (g.st == status::fail)
      for (auto const& v : g.violations) {
        if (k >= 20) break;
        o << ++k << ". Gate " << id << ": " << v.why << " — `" << v.file << (v.line ? ":" + std::to_string(v.line) : "") << "` (" << v.op << ")\n";
      }
  if (!k) o << "Keine.\n";
  o << "\n### Beobachtungen (nicht kritisch)\n\n";
  for (auto const& n : r.notes) o << "- " << n << "\n";
  for (auto const& [id, g] : r.gates)
    for (auto const& n : g.notes) o << "- Gate " << id << ": " << n << "\n";
  o << "\n---\n\n## 8️⃣ Entscheidungsbewertung\n\n### Phase-Freigabe\n\n";
  bool go = r.overall_status == "GO";
  o << "- Phase 5 (Persistenz / Event Store): " << (go ? "☑ JA ⬜ NEIN" : "⬜ JA ☑ NEIN") << "\n";
  o << "- Phase 6 (Snapshots): ⬜ JA ☑ NEIN\n- Phase 7 (Redis / Distribution): ⬜ JA ☑ NEIN\n- Phase 8 (CQRS-Full): ⬜ JA ☑ NEIN\n\n";
  o << "### Begründung\n\n";
  for (auto const& v : r.verdict_reasons) o << "- " << v << "\n";
  o << "\n---\n\n## 9️⃣ Empfehlung\n\n> \"" << r.recommendation << "\"\n\n**Empfohlene nächste Schritte:**\n\n";
  o << "- [" << (r.overall_status == "CONDITIONAL" ? "x" : " ") << "] Weiter live testen, bis die offenen Punkte der Begründung behoben sind"
    << (r.overall_status == "CONDITIONAL" ? " (" + std::to_string(r.verdict_reasons.size()) + ")" : std::string()) << "\n";
  o << "- [" << (go ? "x" : " ") << "] Phase 5a (Event-Store Persistenz) starten\n";
  o << "- [" << (go ? "x" : " ") << "] Architektur unverändert lassen\n";
  o << "- [" << (r.overall_status == "NO-GO" ? "x" : " ") << "] Kritische Fixes vor Weiterentwicklung\n\n";
  o << "---\n\n**Status:** " << (go ? "☑ ACCEPTED ⬜ CONDITIONAL ⬜ REJECTED" : r.overall_status == "NO-GO" ? "⬜ ACCEPTED ⬜ CONDITIONAL ☑ REJECTED" : "⬜ ACCEPTED ☑ CONDITIONAL ⬜ REJECTED") << "\n\n";
  o << "---\n\n## Appendix A: Detaillierte Metriken\n\n";
  for (auto const& s : r.scenarios) {
    if (s.st == status::skip) continue;
    boost::json::object j{{"scenario", s.scenario_name}, {"duration", s.duration_s}, {"throughput", s.throughput},
                          {"p95_latency", s.p95_ms}, {"metrics", s.metrics}};
    o << "### " << s.scenario_name << "\n\n```json\n" << boost::json::serialize(j) << "\n```\n\n";
  }
  o << "## Appendix B: Invarianten-Prüfung Details\n\n### Balance-Drift Analysis\n\n";
  o << "| Agent ID | Balance (Projection) | Sum(Deltas) | Drift |\n|---|---|---|---|\n";
  if (b)
    if (auto t = b->metrics.if_contains("drift_table"); t && t->is_array())
      for (auto const& row : t->get_array()) {
        auto const& ro = row.get_object();
        o << "| " << boost::json::value_to<std::string>(ro.at("agent_id")) << " | " << num(ro, "balance") << " | [" << num(ro, "sum_deltas_lower")
          << ", " << num(ro, "sum_deltas_upper") << "] | " << num(ro, "drift") << " |\n";
      }
  if (b) o << "\n**Maximaler Drift:** " << num(b->metrics, "max_drift") << (b->st == status::pass ? " ✅" : "") << "\n\n";
  if (auto a = gate(r, gate_id::A)) {
    o << "### Idempotency Check\n\n- **Write exchanges:** " << num(a->metrics, "write_exchanges", 0) << "\n";
    o << "- **Journal events:** " << num(a->metrics, "journal_events", 0) << "\n";
    o << "- **Duplicates Detected:** " << num(a->metrics, "idempotency_violations", 0) << (a->st == status::pass ? " ✅" : "") << "\n\n";
  }
  o << "---\n\n**Report Ende**\n";
  return o.str();
}

}  // namespace stormgate::checks
