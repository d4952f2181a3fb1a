// stormgate check: gates A–E and the verdict from traffic logs, histories and the journal (SPEC §5, §6).
#include "app/commands.hpp"
#include "checks/checks.hpp"
#include "core/error.hpp"
#include "net/net.hpp"
#include "scenarios/scenarios.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <unistd.h>

namespace stormgate::app {

namespace {

struct check_flags {
  checks::check_options opts;
  std::string journal, events_url, report_json, report_md, report_junit, report_html;
  bool quiet = false;
};

// Pages through GET …/events?after=S&limit=N into a temporary JSONL file.
core::result<std::string> fetch_events(std::string const& url_text) {
  auto u = net::parse_url(url_text, "--events-url");
  if (!u) return u.error();
  std::string target = u->target;
  if (target.find("/events") == std::string::npos) target = net::join_target(*u, "/api/credits/events");
  auto q = target.find('?');
  if (q != std::string::npos) target.resize(q);
  net::client c("http://" + u->host + ":" + u->port, std::chrono::seconds(10));
  auto path = (std::filesystem::temp_directory_path() / ("stormgate-events-" + std::to_string(::getpid()) + ".jsonl")).string();
  // the file goes again unless the whole journal was fetched
  struct remove_unless_kept {
    std::string const& path;
    bool keep = false;
    ~remove_unless_kept() {
      std::error_code ec;
      if (!keep) std::filesystem::remove(path, ec);
    }
  } guard{path};
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return core::data_error(path, "cannot write the fetched journal");
  std::uint64_t after = 0;
  for (int page = 0; page < 1'000'000; ++page) {
    auto r = c.get(target + "?after=" + std::to_string(after) + "&limit=5000");
    if (!r) return core::unavailable_error("--events-url " + url_text, r.error().what);
    if (r->status != 200)
      return core::unavailable_error("--events-url " + url_text, "answered " + std::to_string(r->status));
    std::uint64_t lines = 0;
    for (char ch : r->body) lines += ch == '\n';
    if (!r->body.empty() && r->body.back() != '\n') ++lines, r->body += '\n';
    out << r->body;
    auto last = r->header("x-stormgate-last-seq");
    std::uint64_t next = after + lines;
    if (!last.empty()) {
      try {
        next = std::stoull(last);
      } catch (...) {
      }
    }
    if (lines == 0 || next <= after) break;
    after = next;
  }
  out.close();
  if (!out) return core::data_error(path, "cannot write the fetched journal");
  guard.keep = true;
  return path;
}

core::result<void> write_file(std::string const& path, std::string const& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return core::usage_error(path, "cannot write the report");
  out << text;
  out.close();
  if (!out) return core::usage_error(path, "cannot write the report");
  return {};
}

int run(check_flags& f) {
  std::string fetched;
  if (!f.journal.empty()) {
    f.opts.journal = f.journal;
  } else if (!f.events_url.empty()) {
    auto p = fetch_events(f.events_url);
    if (!p) throw core::failure(p.error());
    fetched = *p;
    f.opts.journal = fetched;
    f.opts.journal_label = f.events_url;
  }
  f.opts.scenarios = scenarios::check_catalog();
  auto rep = checks::run_check(f.opts);
  if (!fetched.empty()) std::filesystem::remove(fetched);
  if (!rep) throw core::failure(rep.error());
  // a log cut short is checked as far as it goes; said on stderr too, which --quiet leaves
  for (auto const& d : rep->damaged) std::cerr << "stormgate check: warning: " << d << "\n";
  struct out {
    std::string const& path;
    std::string (*render)(checks::check_report const&);
  };
  for (auto const& o : {out{f.report_json, &checks::render_json}, out{f.report_md, &checks::render_markdown},
                        out{f.report_junit, &checks::render_junit}, out{f.report_html, &checks::render_html}}) {
    if (o.path.empty()) continue;
    if (auto w = write_file(o.path, o.render(*rep)); !w) throw core::failure(w.error());
  }
  if (!f.quiet) std::cout << checks::render_matrices(*rep) << std::flush;
  return rep->exit_code();
}

}  // namespace

void add_check_commands(CLI::App& app, int& exit_code) {
  auto f = std::make_shared<check_flags>();
  auto* cmd = app.add_subcommand("check", "Gates A–E, scenario results and the GO / CONDITIONAL / NO-GO verdict from the logs");
  cmd->add_option("--traffic", f->opts.traffic, "traffic log(s) of the proxy, plain or zstd; rotated siblings (x.1.jsonl, x.1.jsonl.zst, …) are read too")
      ->required()
      ->expected(1, -1);
  cmd->add_option("--history", f->opts.history, "history file(s) of the load client (several shards are merged)")->expected(1, -1);
  cmd->add_option("--target", f->opts.target, "target profile: reference, brain or a TOML file")->capture_default_str();
  auto* j = cmd->add_option("--journal", f->journal, "the backend's event journal (JSONL)");
  auto* e = cmd->add_option("--events-url", f->events_url, "the target's /api/credits/events endpoint, read instead of a journal file");
  j->excludes(e);
  cmd->add_option("--report-json", f->report_json, "write the JSON report");
  cmd->add_option("--report-md", f->report_md, "write the Markdown report (LIVE_TEST_REPORT_TEMPLATE)");
  cmd->add_option("--report-junit", f->report_junit, "write a JUnit XML report");
  cmd->add_option("--report-html", f->report_html, "write a self-contained HTML report with charts");
  cmd->add_flag("--quiet", f->quiet, "do not print the matrices");
  cmd->callback([f, &exit_code] { exit_code = run(*f); });
}

}  // namespace stormgate::app
