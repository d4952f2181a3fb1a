// run_check: one pass over every input feeds every gate fold and the scenario fold; then the gates
// finish, the scenarios are judged, the verdict is taken.
#include "checks/detail/folds.hpp"
#include "checks/detail/record_parser.hpp"
#include "core/jsonl.hpp"
#include "core/log_file.hpp"
#include "core/time.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <map>
#include <set>

namespace stormgate::checks {

namespace fs = std::filesystem;
using namespace detail;

namespace {

// "dir/traffic.jsonl" -> itself plus "dir/traffic.1.jsonl", "dir/traffic.2.jsonl", … that exist
// ("dir/traffic.jsonl.zst": "dir/traffic.1.jsonl.zst", …).
std::vector<std::string> with_rotations(std::string const& path) {
  std::vector<std::string> out{path};
  for (int i = 1; i < 10000; ++i) {
    auto sib = core::rotated_path(path, i);
    std::error_code ec;
    if (!fs::exists(sib, ec)) break;
    out.push_back(sib);
  }
  return out;
}

// The first record's time stamp (ts), to put rotated files in order; 0 when unknown.
std::int64_t first_ts(std::string const& path) {
  core::line_reader src(path);
  std::string_view line;
  if (!src.ok() || !src.next(line)) return 0;
  auto pos = line.find("\"ts\":\"");
  if (pos == std::string_view::npos) return 0;
  auto end = line.find('"', pos + 6);
  if (end == std::string_view::npos) return 0;
  return core::parse_rfc3339_us(line.substr(pos + 6, end - pos - 6)).value_or(0);
}

std::vector<std::string> expand_traffic(std::vector<std::string> const& given) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (auto const& g : given) {
    if (seen.count(g)) continue;
    auto group = with_rotations(g);
    std::vector<std::pair<std::int64_t, std::string>> keyed;
    for (auto& f : group)
      if (seen.insert(f).second) keyed.emplace_back(first_ts(f), f);
    std::stable_sort(keyed.begin(), keyed.end(), [](auto const& a, auto const& b) {
      return a.first && b.first ? a.first < b.first : false;
    });
    for (auto& [t, f] : keyed) out.push_back(f);
  }
  return out;
}

std::string run_cmd(char const* cmd) {
  std::string out;
  if (FILE* p = ::popen(cmd, "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

struct pass_state {
  context ctx;
  op_book ops;  // the per-op state of gates A and B
  std::vector<std::unique_ptr<gate_fold>> gates;
  std::vector<std::string> gate_errors;
  std::unique_ptr<scenario_fold> scen;
  std::string scen_error;
  check_report report;
  std::deque<std::string> files;
  boost::json::object run_config;
};

// Ops whose minute has passed (every op when `all`) leave the op book, oldest first; each gate
// sees them go.
void retire_ops(pass_state& ps, bool all) {
  ps.ops.evict(all, [&](op_facts& op) {
    for (std::size_t i = 0; i < ps.gates.size(); ++i) {
      if (!ps.gate_errors[i].empty()) continue;
      try {
        ps.gates[i]->retire(op);
      } catch (std::exception const& e) {
        ps.gate_errors[i] = std::string("gate threw retiring an op: ") + e.what();
      }
    }
  });
}

void step_all(pass_state& ps, record const& rec) {
  for (std::size_t i = 0; i < ps.gates.size(); ++i) {
    if (!ps.gate_errors[i].empty()) continue;
    try {
      ps.gates[i]->step(rec);
    } catch (std::exception const& e) {
      ps.gate_errors[i] = std::string("gate threw at ") + (rec.src.file ? *rec.src.file : "") + ":" + std::to_string(rec.src.line) + ": " + e.what();
    }
  }
  if (ps.ops.queued() > 1024) retire_ops(ps, false);
  if (ps.scen_error.empty()) {
    try {
      ps.scen->step(rec);
    } catch (std::exception const& e) {
      ps.scen_error = e.what();
    }
  }
  if ((rec.kind == record_kind::run || rec.kind == record_kind::traffic_run) && rec.run->action == "start" && rec.run->raw &&
      rec.run->raw->is_object()) {
    for (auto const& kv : rec.run->raw->get_object()) {
      auto k = kv.key();
      if (k == "v" || k == "type" || k == "kind" || k == "action" || k == "ts" || k == "routes") continue;
      if (!ps.run_config.contains(k)) ps.run_config[k] = kv.value();
    }
  }
}

// The op book's slot of the next record's op, and those of the ops retired next, start loading
// while the gates fold the record before: the book is large, and each is a cache miss otherwise.
void prefetch_ops(pass_state& ps, record const& rec) {
  if (rec.kind == record_kind::exchange && !rec.x->op_key.empty() && rec.x->effect) ps.ops.prefetch(rec.x->op_hash);
}

// An input cut short, as by a writer killed mid-line: read to its last whole record, and said so.
void damaged(check_report& rep, std::string note) {
  rep.damaged.push_back(note);
  rep.notes.push_back(std::move(note));
}

// Each parser fills its own records: the two take turns, so that the next record's op can be
// prefetched while the gates fold the one before.
using parser_pair = std::array<record_parser, 2>;

core::result<void> read_file(pass_state& ps, parser_pair& parsers, log_kind kind, std::string const& path) {
  ps.files.push_back(path);
  std::string const* name = &ps.files.back();
  core::line_reader src(path);
  if (!src.ok()) return core::data_error(path, std::string("cannot open: ") + std::strerror(errno));
  std::string_view line;
  std::string err;
  std::uint64_t n = 0;
  std::array<record, 2> recs{};
  std::size_t cur = 0;   // the parser and record of the line being read
  bool ahead = false;    // recs[cur ^ 1] is read but not yet stepped
  std::map<std::string, std::uint64_t> ignored;
  bool torn_only = false;  // the file's one line is torn
  auto step_ahead = [&] {
    if (ahead) step_all(ps, recs[cur ^ 1]);
    ahead = false;
  };
  while (src.next(line)) {
    auto& rec = recs[cur];
    if (!parsers[cur].parse(kind, line, {name, src.line_no()}, rec, err)) {
      if (src.torn()) {
        torn_only = n == 0;
        damaged(ps.report, path + ":" + std::to_string(src.line_no()) + ": torn last line ignored (" + err + ")");
        break;
      }
      return core::data_error(path + ":" + std::to_string(src.line_no()), err);
    }
    ++n;
    if (rec.kind == record_kind::summary || rec.kind == record_kind::ignored) {
      if (rec.kind == record_kind::ignored) ++ignored[std::string(rec.ignored_type)];
      step_ahead();  // its line is about to be overwritten: the source keeps only one line back
      continue;
    }
    prefetch_ops(ps, rec);
    step_ahead();
    ahead = true;
    cur ^= 1;
  }
  step_ahead();
  if (!src.error().empty())
    return core::data_error(path + ":" + std::to_string(src.line_no() + 1), "unreadable after line " +
                                                                           std::to_string(src.line_no()) + ": " + src.error());
  if (src.cut())
    damaged(ps.report, path + ": the zstd stream ends inside a frame (its writer did not close it): read to its last whole "
                              "block, after line " + std::to_string(src.line_no()));
  for (auto const& [type, count] : ignored)
    ps.report.notes.push_back(path + ": " + std::to_string(count) + " records of type \"" + type + "\" not read by the checker");
  if (n == 0)
    return core::data_error(path, src.cut()   ? "no records: the zstd stream was cut short before its first whole block"
                                  : torn_only ? "no records: its only line is torn (cut short)"
                                              : "no records: an empty log is not a PASS");
  ps.report.records += n;
  ps.report.inputs.push_back(path + " (" + std::to_string(n) + " records)");
  return {};
}

}  // namespace

core::result<check_report> run_check(check_options const& opts) {
  if (opts.traffic.empty()) return core::usage_error("--traffic", "at least one traffic log is needed");
  if (opts.scenarios.empty()) return core::error{"check_options::scenarios", "no scenarios to judge", core::exit_internal};
  auto profile = config::load_target(opts.target);
  if (!profile) return profile.error();
  pass_state ps;
  ps.ctx.profile = std::move(*profile);
  ps.ctx.has_journal = opts.journal.has_value();
  ps.ctx.has_history = !opts.history.empty();
  ps.gates.push_back(make_gate_a(ps.ctx, ps.ops));
  ps.gates.push_back(make_gate_b(ps.ctx, ps.ops));
  ps.gates.push_back(make_gate_c(ps.ctx));
  ps.gates.push_back(make_gate_d(ps.ctx, &ps.report.charts));
  ps.gates.push_back(make_gate_e(ps.ctx, &ps.report.charts));
  ps.gate_errors.resize(ps.gates.size());
  ps.scen = make_scenarios(ps.ctx, opts.scenarios);

  parser_pair parsers{record_parser(ps.ctx), record_parser(ps.ctx)};
  for (auto const& f : expand_traffic(opts.traffic))
    if (auto r = read_file(ps, parsers, log_kind::traffic, f); !r) return r.error();
  for (auto const& f : opts.history)
    if (auto r = read_file(ps, parsers, log_kind::history, f); !r) return r.error();
  if (opts.journal) {
    auto r = read_file(ps, parsers, log_kind::journal, *opts.journal);
    if (!r) {
      // an empty journal is allowed to be empty only when nothing was written: still an error to say
      return r.error();
    }
  }

  retire_ops(ps, true);
  auto& rep = ps.report;
  for (std::size_t i = 0; i < ps.gates.size(); ++i) {
    gate_result g;
    if (ps.gate_errors[i].empty()) {
      try {
        g = ps.gates[i]->finish();
      } catch (std::exception const& e) {
        ps.gate_errors[i] = std::string("gate threw in finish: ") + e.what();
      }
    }
    if (!ps.gate_errors[i].empty()) {
      g = gate_result{};
      g.id = key(all_gates[i]);
      g.name = label(all_gates[i]);
      g.st = status::unknown;
      g.figure = "unknown";
      g.notes.push_back(ps.gate_errors[i]);
    }
    rep.gates[g.id] = std::move(g);
  }
  if (ps.scen_error.empty()) {
    try {
      rep.scenarios = ps.scen->finish(rep.gates);
    } catch (std::exception const& e) {
      ps.scen_error = e.what();
    }
  }
  if (!ps.scen_error.empty()) rep.notes.push_back("scenario results could not be computed: " + ps.scen_error);
  // fault windows relative to the charts' origin
  auto& ch = rep.charts;
  if (!ch.origin_us && !ch.faults.empty()) ch.origin_us = static_cast<std::int64_t>(ch.faults.front().from_s);
  for (auto& w : ch.faults) {
    w.from_s = (w.from_s - static_cast<double>(ch.origin_us)) / 1e6;
    w.to_s = (w.to_s - static_cast<double>(ch.origin_us)) / 1e6;
  }

  rep.test_config = ps.run_config;
  rep.test_config["target_profile"] = ps.ctx.profile.name;
  rep.test_config["journal"] = opts.journal ? (opts.journal_label.empty() ? *opts.journal : opts.journal_label) : std::string("none");
  boost::json::array in;
  for (auto const& s : rep.inputs) in.push_back(boost::json::value(s));
  rep.test_config["inputs"] = std::move(in);
  if (!ps.ctx.has_journal) rep.notes.push_back("no journal given: journal sub-checks of gates A, B and C are SKIP");
  if (!ps.ctx.has_history) rep.notes.push_back("no history given: scenarios are SKIP, gate E uses traffic latencies");
  decide(rep, opts.scenarios.size());
  stamp(rep);
  return rep;
}

void stamp(check_report& r) {
  r.timestamp = core::now_rfc3339();
  auto env = [](char const* n) -> std::string {
    auto v = std::getenv(n);
    return v ? v : "";
  };
  r.branch = env("GITHUB_REF_NAME");
  r.commit = env("GITHUB_SHA");
  if (r.branch.empty()) r.branch = run_cmd("git rev-parse --abbrev-ref HEAD 2>/dev/null");
  if (r.commit.empty()) r.commit = run_cmd("git rev-parse HEAD 2>/dev/null");
  if (r.branch.empty()) r.branch = "unknown";
  if (r.commit.empty()) r.commit = "unknown";
}

}  // namespace stormgate::checks
