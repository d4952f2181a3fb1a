// `stormgate proxy` and `stormgate faults` (SPEC §6, §7).
#include "app/commands.hpp"
#include "core/error.hpp"
#include "core/subprocess.hpp"
#include "proxy/proxy.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>

namespace stormgate::app {

namespace {

struct proxy_flags {
  std::string config;
  std::vector<std::string> routes;
  std::string admin;
  std::string admin_token;
  std::string traffic_log;
  std::optional<std::uint64_t> seed;
  std::optional<int> threads;
  std::string io;
};

// --io: the proxy runs on Asio's epoll backend (this binary, the in-process stormgate_proxy) or on
// its io_uring backend (stormgate-proxy-uring, the same proxy built on stormgate_proxy_uring). Asio
// chooses its backend when it is compiled, so io_uring is a second binary; this process becomes it
// (execv, same pid, same arguments) when it exists and the kernel and seccomp allow io_uring.
// "auto" falls back to epoll and says why on stderr; "io_uring" fails instead.
std::string uring_binary() {
  if (char const* p = std::getenv("STORMGATE_PROXY_URING")) return p;
  return (std::filesystem::path(core::self_exe()).parent_path() / "stormgate-proxy-uring").string();
}

// Replaces this process by `exe` with this process's own arguments; returns only if that fails.
std::string hand_over(std::string const& exe) {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (std::size_t at = 0; at < all.size();) {
    auto end = all.find('\0', at);
    if (end == std::string::npos) end = all.size();
    args.push_back(all.substr(at, end - at));
    at = end + 1;
  }
  if (args.empty()) return "/proc/self/cmdline: empty";
  args[0] = exe;
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  ::execv(exe.c_str(), argv.data());
  return exe + ": " + std::strerror(errno);
}

void choose_io(std::string io) {
  if (io.empty())
    if (char const* e = std::getenv("STORMGATE_IO")) io = e;
  if (io.empty()) io = "auto";
  if (io != "auto" && io != "epoll" && io != "io_uring")
    throw core::failure(core::usage_error("--io", "'" + io + "': expected auto, epoll or io_uring"));
  if (std::string_view(proxy::io_backend()) == "io_uring") {  // stormgate-proxy-uring itself
    if (io == "epoll")
      throw core::failure(core::usage_error("--io epoll", "this is the io_uring build; `stormgate proxy --io epoll` runs on epoll"));
    if (auto why = proxy::io_uring_refusal(); !why.empty())
      throw core::failure(core::unavailable_error("io_uring", why + "; `stormgate proxy --io epoll` runs on epoll"));
    return;
  }
  if (io == "epoll") return;
  auto exe = uring_binary();
  std::string why;
  if (::access(exe.c_str(), X_OK) != 0) why = exe + ": " + std::strerror(errno);
  else why = proxy::io_uring_refusal();
  if (why.empty()) why = hand_over(exe);
  if (io == "io_uring") throw core::failure(core::unavailable_error("--io io_uring", why));
  std::fprintf(stderr, "stormgate proxy: io epoll (io_uring not used: %s)\n", why.c_str());
}

int run_proxy_command(proxy_flags const& fl) {
  choose_io(fl.io);
  proxy::proxy_config cfg;
  if (!fl.config.empty()) {
    auto c = proxy::load_config(fl.config);
    if (!c) throw core::failure(c.error());
    cfg = std::move(*c);
  }
  if (!fl.routes.empty()) {  // a flag wins over the file: --route NAME replaces the file's route NAME
    for (auto const& text : fl.routes) {
      auto r = proxy::parse_route_flag(text);
      if (!r) throw core::failure(r.error());
      std::erase_if(cfg.routes, [&](auto const& x) { return x.name == r->name; });
      cfg.routes.push_back(*r);
    }
  }
  if (!fl.admin.empty()) cfg.admin_listen = fl.admin;
  if (!fl.admin_token.empty()) cfg.admin_token = fl.admin_token;
  else if (cfg.admin_token.empty())
    if (char const* t = std::getenv("STORMGATE_ADMIN_TOKEN")) cfg.admin_token = t;
  if (!fl.traffic_log.empty()) cfg.traffic_log = fl.traffic_log;
  if (fl.seed) cfg.seed = *fl.seed;
  else if (char const* s = std::getenv("LIVE_TEST_SEED")) cfg.seed = std::strtoull(s, nullptr, 10);
  if (fl.threads) cfg.threads = *fl.threads;
  return proxy::run_proxy(std::move(cfg));
}

}  // namespace

void add_proxy_commands(CLI::App& app, int& exit_code) {
  auto fl = std::make_shared<proxy_flags>();
  auto* p = app.add_subcommand("proxy", "the fault-injecting reverse proxy (routes, faults, admin API, traffic log)");
  p->add_option("--config", fl->config, "proxy config (TOML)")->check(CLI::ExistingFile);
  p->add_option("--route", fl->routes, "NAME=LISTEN->UPSTREAM, e.g. credits=127.0.0.1:8080->http://127.0.0.1:8000");
  p->add_option("--admin", fl->admin, "admin API listen address (default 127.0.0.1:8474)");
  p->add_option("--admin-token", fl->admin_token, "bearer token for the admin API (or STORMGATE_ADMIN_TOKEN)");
  p->add_option("--traffic-log", fl->traffic_log, "traffic log file (JSONL; a zstd stream when it ends in .zst)");
  p->add_option("--seed", fl->seed, "seed of the fault decisions (or LIVE_TEST_SEED)");
  p->add_option("--io", fl->io, "auto (default, or STORMGATE_IO), epoll or io_uring: the event loop's backend; auto takes io_uring where the kernel allows it");
  p->add_option("--workers,--threads", fl->threads, "worker threads, one io_context each; accepted connections are dealt round-robin (default 1)")->check(CLI::Range(1, 64));
  p->callback([fl, &exit_code] { exit_code = run_proxy_command(*fl); });

  auto cmd = std::make_shared<proxy::faults_command>();
  auto* f = app.add_subcommand("faults", "the proxy's admin client: list | set FILE | clear NAME | reset");
  f->add_option("--admin-url", cmd->admin_url, "the proxy's admin URL, e.g. http://127.0.0.1:8474")->required();
  f->add_option("--token", cmd->token, "bearer token (or STORMGATE_ADMIN_TOKEN)");
  f->add_option("verb", cmd->verb, "list, set, clear or reset")->required()->check(CLI::IsMember({"list", "set", "clear", "reset"}));
  f->add_option("arg", cmd->arg, "FILE for set (.toml or .json), NAME for clear");
  f->callback([cmd, &exit_code] {
    if (cmd->token.empty())
      if (char const* t = std::getenv("STORMGATE_ADMIN_TOKEN")) cmd->token = t;
    exit_code = proxy::run_faults_command(*cmd);
  });
}

}  // namespace stormgate::app
