// `stormgate load` entry point: check the options and the target, then drive the plans on one io thread.
#include "load/detail/driver.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <thread>

namespace stormgate::load {

namespace {

int fail(core::error const& e) {
  std::fprintf(stderr, "stormgate load: %s\n", e.message().c_str());
  return e.code;
}

// The target must answer its health op with 2xx (retried for a few seconds while it starts).
core::result<void> check_health(config::target_profile const& p, net::url const& base, std::string const& auth) {
  if (!p.has("health")) return {};
  auto const& h = p.ops.at("health");
  net::request req;
  req.method = h.method;
  req.url = "http://" + base.host + ":" + base.port + net::join_target(base, h.path);
  req.timeout = std::chrono::milliseconds(2000);
  if (!p.auth_header.empty()) req.headers.emplace_back(p.auth_header, auth);
  std::string why;
  for (int i = 0; i < 15; ++i) {
    auto r = net::fetch(req);
    if (r && r->status >= 200 && r->status < 300) return {};
    why = r ? "HTTP " + std::to_string(r->status) : r.error().what;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return core::unavailable_error(req.url, "target not healthy: " + why);
}

}  // namespace

int run(options const& given) {
  try {
    options opt = given;
    auto profile = config::load_target(opt.target);
    if (!profile) return fail(profile.error());
    if (opt.base_url.empty()) opt.base_url = profile->base_url;
    auto base = net::parse_url(opt.base_url, "--base-url");
    if (!base) return fail(base.error());
    if (!opt.admin_url.empty())
      if (auto a = net::parse_url(opt.admin_url, "--admin-url"); !a) return fail(a.error());
    if (opt.history.empty()) return fail(core::usage_error("--history", "a history file is required"));
    if (opt.concurrency < 1) return fail(core::usage_error("--concurrency", "must be at least 1"));
    if (opt.duration_s < 0) return fail(core::usage_error("--duration", "must not be negative"));
    if (opt.rate < 0) return fail(core::usage_error("--rate", "must not be negative"));
    if (opt.mix != "default" && opt.mix != "read") return fail(core::usage_error("--mix", "default or read"));
    auto auth = profile->auth_value();
    if (!auth) return fail(auth.error());
    if (opt.restart_command.empty()) opt.restart_command = profile->restart_command;

    if (opt.catalog.empty()) return fail(core::error{"load::options::catalog", "no scenarios known", core::exit_internal});
    std::vector<scenario_entry> scenarios;
    bool soak = false;
    if (opt.full || opt.scenarios.empty()) {
      scenarios = opt.catalog;
      soak = opt.full;
    } else {
      for (auto const& s : opt.scenarios) {
        if (s == "soak") {
          soak = true;
          continue;
        }
        auto it = std::find_if(opt.catalog.begin(), opt.catalog.end(), [&](auto const& e) { return e.id == s; });
        if (it == opt.catalog.end()) {
          std::string known;
          for (auto const& e : opt.catalog) known += std::string(e.id) + ", ";
          return fail(core::usage_error("--scenario", "unknown scenario '" + s + "' (" + known + "soak)"));
        }
        scenarios.push_back(*it);
      }
    }

    // Signals are caught from here on: one that arrives during the health check ends the run
    // right after its start record.
    boost::asio::io_context ioc(1);
    boost::asio::signal_set signals(ioc, SIGINT, SIGTERM);
    driver* running = nullptr;
    bool early = false;
    std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int) {
      if (ec) return;
      if (running) running->interrupt();
      else early = true;
      signals.async_wait(on_signal);
    };
    signals.async_wait(on_signal);

    if (auto h = check_health(*profile, *base, *auth); !h) return fail(h.error());
    auto hw = history_writer::open(opt.history);
    if (!hw) return fail(hw.error());
    std::unique_ptr<history_writer> history(*hw);

    driver d(ioc, opt, *profile, *auth, *history);
    running = &d;
    ioc.poll();  // a signal that came during the health check
    if (early) d.interrupt();
    bool failed = false;
    boost::asio::co_spawn(ioc, d.main(scenarios, soak), [&](std::exception_ptr e) {
      if (e) {
        failed = true;
        try {
          std::rethrow_exception(e);
        } catch (std::exception const& ex) {
          std::fprintf(stderr, "stormgate load: internal error: %s\n", ex.what());
        }
      }
      boost::system::error_code ignore;
      signals.cancel(ignore);
    });
    ioc.run();
    history->flush();
    return failed ? core::exit_internal : core::exit_go;
  } catch (core::failure const& f) {
    return fail(f.err);
  } catch (std::exception const& e) {
    std::fprintf(stderr, "stormgate load: internal error: %s\n", e.what());
    return core::exit_internal;
  }
}

}  // namespace stormgate::load
