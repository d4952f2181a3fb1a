#include "run/run.hpp"

#include "config/config.hpp"
#include "core/error.hpp"
#include "core/subprocess.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace stormgate::run {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::atomic<int> g_interrupts{0};
extern "C" void on_signal(int) { g_interrupts.fetch_add(1); }

void say(bool quiet, std::string const& s) {
  if (!quiet) std::fprintf(stderr, "stormgate run: %s\n", s.c_str());
}

// A free loopback port for a process that must be told its port up front (the backend, which the
// proxy's credits route points at before it starts).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (fd >= 0) ::close(fd);
    throw core::failure(core::unavailable_error("run", "no free loopback port"));
  }
  int port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

std::string shell_quote(std::string const& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The processes of one run, stopped in reverse order of start (proxy after load, so the traffic
// log holds every exchange; backend and KARMA last).
struct fleet {
  std::string exe = core::self_exe();
  fs::path out;
  std::vector<std::pair<std::string, std::unique_ptr<core::child_process>>> procs;

  core::child_process& start(std::string const& name, std::vector<std::string> args, bool echo = false,
                             bool inherit_stderr = false) {
    core::spawn_options o;
    o.stderr_path = inherit_stderr ? "" : (out / (name + ".log")).string();
    o.inherit_stderr = inherit_stderr;
    o.echo_stdout = echo;
    procs.emplace_back(name, std::make_unique<core::child_process>(exe, std::move(args), o));
    return *procs.back().second;
  }

  std::string listening(core::child_process& p, std::string const& name, std::string const& proc_name) {
    auto url = p.listening(name, 30s);
    if (!url) {
      throw core::failure(core::unavailable_error(
          proc_name, "did not start (see " + (out / (proc_name + ".log")).string() + "):\n" + p.stderr_text()));
    }
    return *url;
  }

  void stop(std::string const& name) {
    for (auto& [n, p] : procs)
      if (n == name) p->stop(10s);
  }

  ~fleet() {
    for (auto it = procs.rbegin(); it != procs.rend(); ++it) it->second->stop(10s);
  }
};

}  // namespace

int run(run_options const& o) {
  auto profile = config::load_target(o.target);
  if (!profile) throw core::failure(profile.error());
  bool reference = o.base_url.empty();
  if (reference && profile->name != "reference")
    throw core::failure(core::usage_error("--base-url", "target '" + profile->name +
                                                            "' is external: give its --base-url"));
  if (!reference && !o.defect.empty())
    throw core::failure(core::usage_error("--defect", "defects are planted in the reference backend only"));

  fleet f;
  f.out = fs::absolute(o.out_dir);
  fs::create_directories(f.out);
  // The proxy's and the load's logs are zstd streams, or plain JSONL with --plain-logs.
  char const* traffic_name = o.plain_logs ? "traffic.jsonl" : "traffic.jsonl.zst";
  char const* history_name = o.plain_logs ? "history.jsonl" : "history.jsonl.zst";
  // A fresh run: the previous run's logs in this folder would be read as part of this one.
  for (auto const& e : fs::directory_iterator(f.out)) {
    auto n = e.path().filename().string();
    if (n.rfind("traffic", 0) == 0 || n.rfind("history.jsonl", 0) == 0 || n == "credits.jsonl" || n == "backend.pid")
      fs::remove(e.path());
  }
  auto path = [&f](char const* name) { return (f.out / name).string(); };

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  std::string credits_url, admin_url, restart_command = o.restart_command;
  std::vector<std::string> watch;  // the load samples these processes' memory (gate E)
  if (reference) {
    say(o.quiet, "starting the KARMA stub, the proxy and the reference backend in " + f.out.string());
    auto& karma = f.start("karma", {"karma", "--listen", "127.0.0.1:0", "--seed", std::to_string(o.seed)});
    auto karma_url = f.listening(karma, "karma", "karma");
    int backend_port = free_port();
    std::string backend_url = "http://127.0.0.1:" + std::to_string(backend_port);
    auto& proxy = f.start("proxy", {"proxy", "--route", "credits=127.0.0.1:0->" + backend_url, "--route",
                                    "karma=127.0.0.1:0->" + karma_url, "--admin", "127.0.0.1:0", "--traffic-log",
                                    path(traffic_name), "--seed", std::to_string(o.seed)});
    credits_url = f.listening(proxy, "route:credits", "proxy");
    auto proxy_karma_url = f.listening(proxy, "route:karma", "proxy");
    admin_url = f.listening(proxy, "admin", "proxy");
    watch = {"--watch-pid", "proxy=" + std::to_string(proxy.pid()), "--watch-pid", "karma=" + std::to_string(karma.pid()),
             "--watch-pid-file", "backend=" + path("backend.pid")};
    std::vector<std::string> backend_args{"backend", "--listen", "127.0.0.1:" + std::to_string(backend_port),
                                          "--journal", path("credits.jsonl"), "--karma-url", proxy_karma_url};
    if (!o.defect.empty()) backend_args.insert(backend_args.end(), {"--defect", o.defect});
    auto& backend = f.start("backend", backend_args);
    f.listening(backend, "backend", "backend");
    {
      std::ofstream(path("backend.pid")) << backend.pid() << "\n";
    }
    // crash_replay: a real crash (SIGKILL) and a fresh start on the same journal and port.
    std::string cmd = shell_quote(f.exe);
    for (std::size_t i = 0; i < backend_args.size(); ++i) cmd += " " + shell_quote(backend_args[i]);
    std::ofstream script(path("restart-backend.sh"));
    script << "#!/bin/sh\n# Crashes the backend of this run (SIGKILL) and starts it again on the same journal.\n"
           << "pid=$(cat " << shell_quote(path("backend.pid")) << ")\n"
           << "kill -9 \"$pid\" 2>/dev/null\n"
           // gone or a zombie (our parent reaps it later): its sockets and journal are closed
           << "for i in $(seq 1 100); do\n"
           << "  state=$(sed 's/.*) //; s/ .*//' /proc/\"$pid\"/stat 2>/dev/null)\n"
           << "  [ -z \"$state\" ] || [ \"$state\" = Z ] && break\n"
           << "  sleep 0.05\n"
           << "done\n"
           // its own session: no process group of the load's or the run's takes it down
           << "setsid nohup " << cmd << " >/dev/null 2>>" << shell_quote(path("backend.log")) << " &\n"
           << "echo $! > " << shell_quote(path("backend.pid")) << "\n";
    script.close();
    fs::permissions(path("restart-backend.sh"), fs::perms::owner_all, fs::perm_options::add);
    restart_command = "sh " + shell_quote(path("restart-backend.sh"));
  } else {
    say(o.quiet, "starting the proxy in front of " + o.base_url);
    auto& proxy = f.start("proxy", {"proxy", "--route", "credits=127.0.0.1:0->" + o.base_url, "--admin",
                                    "127.0.0.1:0", "--traffic-log", path(traffic_name), "--seed",
                                    std::to_string(o.seed)});
    credits_url = f.listening(proxy, "route:credits", "proxy");
    admin_url = f.listening(proxy, "admin", "proxy");
    watch = {"--watch-pid", "proxy=" + std::to_string(proxy.pid())};
  }

  std::vector<std::string> load_args{"load",        "--target",     o.target,
                                     "--base-url",  credits_url,    "--admin-url",
                                     admin_url,     "--history",    path(history_name),
                                     "--seed",      std::to_string(o.seed), "--concurrency",
                                     std::to_string(o.concurrency), "--duration", std::to_string(o.duration_s)};
  if (o.scenario.empty()) load_args.push_back("--full");
  else load_args.insert(load_args.end(), {"--scenario", o.scenario});
  // The reference backend's soak runs open loop at a fixed rate per connection unless --rate says
  // otherwise: a closed loop's volume grows with the machine's speed (this 2-core machine serves
  // ~8 000 ops/s, whose journal alone is ~4.5 GB in 30 minutes), a fixed rate's does not, and
  // latencies count from the intended send time. An external target's capacity is unknown: closed
  // loop unless --rate is given.
  std::optional<double> rate = o.rate;
  if (!rate && reference) rate = reference_rate_per_connection * o.concurrency;
  if (rate) load_args.insert(load_args.end(), {"--rate", std::to_string(*rate)});
  if (!restart_command.empty()) load_args.insert(load_args.end(), {"--restart-command", restart_command});
  load_args.insert(load_args.end(), watch.begin(), watch.end());
  load_args.insert(load_args.end(), {"--sample-interval-ms", std::to_string(o.sample_interval_ms)});
  if (o.quiet) load_args.push_back("--quiet");
  say(o.quiet, "load: " + (o.scenario.empty() ? std::string("the six scenarios and the soak") : o.scenario) +
                   " through " + credits_url);
  auto& load = f.start("load", load_args, false, true);
  bool interrupted = false;
  int forwarded = 0;
  while (!load.wait_exit(200ms)) {
    int n = g_interrupts.load();
    if (n > forwarded) {
      interrupted = true;
      forwarded = n;
      // First Ctrl-C: the load stops, flushes its history, and the run is checked as interrupted.
      // A second one: stop at once.
      load.signal(n == 1 ? SIGINT : SIGKILL);
      say(o.quiet, n == 1 ? "interrupted: stopping the load, then checking what ran" : "stopping now");
    }
  }
  int load_rc = load.wait_exit(0ms).value_or(-1);
  if (load_rc != 0 && !interrupted) say(o.quiet, "load exited with " + std::to_string(load_rc) + " (see load output above)");

  // Stop the proxy first (it flushes the traffic log), then the backend (it flushes the journal).
  f.stop("proxy");
  if (reference) {
    std::ifstream pidf(path("backend.pid"));
    int pid = 0;
    if (pidf >> pid && pid > 0) {
      bool own = false;
      for (auto& [n, p] : f.procs) own |= n == "backend" && p->pid() == pid;
      if (!own) {  // restarted by crash_replay: not our child
        ::kill(pid, SIGTERM);
        for (int i = 0; i < 100 && ::kill(pid, 0) == 0; ++i) usleep(50000);
        ::kill(pid, SIGKILL);
      }
    }
    f.stop("backend");
    f.stop("karma");
  }
  if (g_interrupts.load() > 1) return core::exit_internal;

  std::vector<std::string> check_args{"check"};
  std::vector<std::string> traffic;
  for (auto const& e : fs::directory_iterator(f.out)) {
    auto n = e.path().filename().string();
    auto ends = [&n](std::string_view x) { return n.size() > x.size() && n.compare(n.size() - x.size(), x.size(), x) == 0; };
    if (n.rfind("traffic", 0) == 0 && (ends(".jsonl") || ends(".jsonl.zst"))) traffic.push_back(e.path().string());
  }
  std::sort(traffic.begin(), traffic.end());
  for (auto const& t : traffic) check_args.insert(check_args.end(), {"--traffic", t});
  check_args.insert(check_args.end(), {"--history", path(history_name), "--target", o.target});
  if (reference) check_args.insert(check_args.end(), {"--journal", path("credits.jsonl")});
  else if (!o.journal.empty()) check_args.insert(check_args.end(), {"--journal", o.journal});
  auto report = [&](std::string const& given, char const* name) { return given.empty() ? path(name) : given; };
  std::string json = report(o.report_json, "report.json"), md = report(o.report_md, "report.md"),
              junit = report(o.report_junit, "report.xml"), html = report(o.report_html, "report.html");
  check_args.insert(check_args.end(), {"--report-json", json, "--report-md", md, "--report-junit", junit,
                                       "--report-html", html});
  if (o.quiet) check_args.push_back("--quiet");
  auto check_start = std::chrono::steady_clock::now();
  auto& check = f.start("check", check_args, !o.quiet, true);
  int rc = check.wait_exit(std::chrono::hours(1)).value_or(core::exit_internal);
  double check_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - check_start).count();
  if (!o.quiet) {
    // the bytes written under --out: the three logs (rotated traffic files included), and everything
    std::uint64_t traffic_bytes = 0, history_bytes = 0, journal_bytes = 0, all_bytes = 0;
    std::error_code ec;
    for (auto const& e : fs::directory_iterator(f.out, ec)) {
      if (!e.is_regular_file(ec)) continue;
      auto n = e.path().filename().string();
      auto size = e.file_size(ec);
      if (ec) continue;
      all_bytes += size;
      if (n.rfind("traffic", 0) == 0 && n.find(".jsonl") != std::string::npos) traffic_bytes += size;
      else if (n.rfind("history.jsonl", 0) == 0) history_bytes += size;
      else if (n == "credits.jsonl") journal_bytes += size;
    }
    auto human = [](std::uint64_t b) {
      char buf[32];
      double x = static_cast<double>(b);
      char const* unit[] = {"B", "kB", "MB", "GB", "TB"};
      int u = 0;
      for (; u < 4 && x >= 1000; ++u) x /= 1000;
      std::snprintf(buf, sizeof buf, u == 0 || x >= 100 ? "%.0f %s" : "%.1f %s", x, unit[u]);
      return std::string(buf);
    };
    std::string sizes = "traffic " + human(traffic_bytes) + ", history " + human(history_bytes);
    if (reference) sizes += ", journal " + human(journal_bytes);
    sizes += "; " + human(all_bytes) + " in all";
    std::printf("\nreports: %s\n         %s\n         %s\n         %s\nlogs:    %s (%s)\n", json.c_str(), md.c_str(),
                junit.c_str(), html.c_str(), f.out.string().c_str(), sizes.c_str());
    std::printf("checked in %.1f s\n", check_s);
    if (interrupted) std::printf("the run was interrupted: the reports cover what ran until then\n");
    std::fflush(stdout);
  }
  return rc;
}

}  // namespace stormgate::run
