// run_proxy: binds the route listeners and the admin listener, runs the workers, and shuts down in
// phases on SIGTERM/SIGINT: stop accepting, let exchanges in hand finish (bounded), force the rest,
// then write every remaining record and the stop record.
#include "core/time.hpp"
#include "proxy/detail/server.hpp"
#include "proxy/detail/stop_waiting.hpp"
#include "proxy/detail/sha256.hpp"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/json.hpp>
#include <csignal>
#include <cstdio>
#include <pthread.h>
#include <thread>

namespace stormgate::proxy::detail {

namespace json = boost::json;

server::server(proxy_config c)
    : cfg(std::move(c)),
      log(cfg.traffic_log, cfg.log_rotate_bytes, cfg.log_queue),
      stats([this] {
        std::vector<std::string> names;
        for (auto const& r : cfg.routes) names.push_back(r.name);
        return names;
      }()) {
  fault_set.store(std::make_shared<const faults::fault_set>());
  started_us = core::mono_us();
}

route_state* server::find_route(std::string_view name) {
  for (auto& r : routes)
    if (r->cfg.name == name) return r.get();
  return nullptr;
}

void server::set_fault(faults::fault f, bool keep_state) {
  auto old = fault_set.load();
  auto next = std::make_shared<faults::fault_set>(*old);
  std::shared_ptr<faults::fault_state> state;
  auto it = std::find_if(next->faults.begin(), next->faults.end(), [&](auto const& lf) { return lf.f.name == f.name; });
  if (keep_state && it != next->faults.end()) state = it->state;
  if (!state) {
    state = std::make_shared<faults::fault_state>();
    state->set_at_us = core::mono_us();
  }
  auto fj = faults::to_json(f);
  if (it != next->faults.end()) *it = faults::live_fault{std::move(f), state};
  else next->faults.push_back(faults::live_fault{std::move(f), state});
  fault_set.store(std::move(next));
  log.push(json::object{{"v", 1}, {"kind", "control"}, {"ts", core::now_rfc3339()}, {"action", "set"}, {"fault", std::move(fj)}});
}

bool server::clear_fault(std::string const& name) {
  auto old = fault_set.load();
  if (!old->find(name)) return false;
  auto next = std::make_shared<faults::fault_set>(*old);
  std::erase_if(next->faults, [&](auto const& lf) { return lf.f.name == name; });
  fault_set.store(std::move(next));
  log.push(json::object{{"v", 1}, {"kind", "control"}, {"ts", core::now_rfc3339()}, {"action", "clear"}, {"fault", name}});
  return true;
}

std::vector<std::string> server::reset_faults() {
  auto old = fault_set.load();
  std::vector<std::string> names;
  json::array cleared;
  for (auto const& lf : old->faults) {
    names.push_back(lf.f.name);
    cleared.push_back(json::value(lf.f.name));
  }
  fault_set.store(std::make_shared<const faults::fault_set>());
  log.push(json::object{{"v", 1}, {"kind", "control"}, {"ts", core::now_rfc3339()}, {"action", "reset"}, {"cleared", std::move(cleared)}});
  return names;
}

void server::record(exchange_record const& r, std::size_t route_index, std::string& line) {
  stats.route(route_index).count_status(r.has_resp ? r.resp_status : 0);
  if (r.outcome == "client_error") stats.route(route_index).client_errors.fetch_add(1, std::memory_order_relaxed);
  exchanges.fetch_add(1, std::memory_order_relaxed);
  if (!log.enabled()) return;
  line.clear();
  format_exchange(line, r, cfg.log_body_limit);
  log.push(line);
}

namespace {

// Accepts on one listener; each connection goes to the next worker (round robin).
class acceptor : public closable, public std::enable_shared_from_this<acceptor> {
 public:
  acceptor(server& srv, worker& home, route_state* route, tcp::acceptor a)
      : srv_(srv), home_(home), route_(route), acc_(std::move(a)), backoff_(home.ioc.get_executor()) {
    home_.sessions.insert(this);
  }
  ~acceptor() override { home_.sessions.erase(this); }
  void do_accept() {
    auto& target = route_ ? *srv_.workers[next_++ % srv_.workers.size()] : home_;
    acc_.async_accept(target.ioc, [self = shared_from_this(), &target](beast::error_code ec, stream_socket s) {
      self->on_accept(ec, std::move(s), target);
    });
  }
  // On io_uring the listener is shut down and closed by on_accept (proxy/detail/stop_waiting.hpp).
  void shutdown(bool) override {
    stopped_ = true;
    backoff_.cancel();
    end_socket(acc_);
  }

 private:
  // Client connections open on all routes (each session counts itself).
  std::uint64_t open_connections() {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < srv_.stats.route_count(); ++i)
      n += srv_.stats.route(i).open_connections.load(std::memory_order_relaxed);
    return n;
  }

  void on_accept(beast::error_code ec, stream_socket s, worker& target) {
    if (stopped_) {
      acc_.close(ec);
      return;
    }
    if (ec == asio::error::operation_aborted || !acc_.is_open()) return;
    if (!ec && route_ && open_connections() >= srv_.cfg.max_connections) {
      // over limits.connections: closed at once, as Envoy's connection limit does
      srv_.stats.refused_connections.fetch_add(1, std::memory_order_relaxed);
      s.close(ec);
    } else if (!ec) {
      if (!route_) {
        start_admin_session(srv_, target, tcp::socket(std::move(s)));
      } else if (&target == &home_) {
        start_session(srv_, target, *route_, std::move(s));
      } else {
        asio::post(target.ioc, [this_srv = &srv_, &target, r = route_, sock = std::move(s)]() mutable {
          if (target.stopping) return;
          start_session(*this_srv, target, *r, std::move(sock));
        });
      }
    } else if (ec == asio::error::no_descriptors || ec == asio::error::no_buffer_space) {
      // Out of file descriptors: the connection stays queued and accepting again at once would
      // fail at once, in a busy loop. Wait a little, as nginx does, and say so once per stretch.
      if (!out_of_fds_) std::fprintf(stderr, "stormgate proxy: accept: %s (retrying every 100 ms)\n", ec.message().c_str());
      out_of_fds_ = true;
      backoff_.expires_after(std::chrono::milliseconds(100));
      return backoff_.async_wait([self = shared_from_this()](beast::error_code wec) {
        if (!wec) self->do_accept();
      });
    }
    if (!ec) out_of_fds_ = false;
    do_accept();
  }

  server& srv_;
  worker& home_;
  route_state* route_;
  tcp::acceptor acc_;
  steady_timer backoff_;
  bool out_of_fds_ = false;
  bool stopped_ = false;
  std::size_t next_ = 0;
};

core::result<tcp::acceptor> bind_listener(asio::io_context& ioc, tcp::endpoint ep, std::string const& what) {
  tcp::acceptor a(ioc);
  beast::error_code ec;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return core::unavailable_error(what, "cannot listen on " + ep.address().to_string() + ":" +
                                                   std::to_string(ep.port()) + ": " + ec.message());
  return a;
}

json::object run_record(server& srv, char const* action) {
  json::object routes;
  for (auto const& r : srv.routes) {
    auto addr = r->bound.address().to_string() + ":" + std::to_string(r->bound.port());
    routes[r->cfg.name] = json::object{{"listen", addr}, {"upstream", r->cfg.upstream}};
  }
  json::object cfgj{{"routes", routes}, {"admin", srv.cfg.admin_listen}, {"seed", srv.cfg.seed},
                    {"max_active_faults", srv.cfg.max_active_faults}, {"source", srv.cfg.source}};
  json::array fs;
  for (auto const& f : srv.cfg.faults) fs.push_back(faults::to_json(f));
  cfgj["faults"] = std::move(fs);
  json::object o{{"v", 1}, {"kind", "run"}, {"ts", core::now_rfc3339()}, {"action", action}, {"seed", srv.cfg.seed},
                 {"config_digest", "sha256:" + sha256_hex(json::serialize(cfgj))}, {"routes", std::move(routes)},
                 {"io", io_backend()}};
  return o;
}

template <class F>
void on_each_worker(server& srv, F f) {
  for (auto& w : srv.workers) asio::post(w->ioc, [wp = w.get(), f] { f(*wp); });
}

}  // namespace

int run(proxy_config cfg) {
  auto valid = validate(cfg);
  if (!valid) {
    std::fprintf(stderr, "stormgate proxy: %s\n", valid.error().message().c_str());
    return valid.error().code;
  }
  if (cfg.threads < 1) cfg.threads = 1;
  server srv(std::move(cfg));
  for (int i = 0; i < srv.cfg.threads; ++i) {
    srv.workers.push_back(std::make_unique<worker>());
    srv.workers.back()->idle.resize(srv.cfg.routes.size());
  }
  auto& home = *srv.workers.front();
  std::vector<std::shared_ptr<acceptor>> acceptors;
  for (std::size_t i = 0; i < srv.cfg.routes.size(); ++i) {
    auto rs = std::make_unique<route_state>();
    rs->index = i;
    rs->cfg = srv.cfg.routes[i];
    rs->upstream = net::parse_url(rs->cfg.upstream, "route " + rs->cfg.name).value();
    tcp::resolver resolver(home.ioc);
    beast::error_code ec;
    auto results = resolver.resolve(rs->upstream.host, rs->upstream.port, ec);
    if (ec) {
      std::fprintf(stderr, "stormgate proxy: route %s: cannot resolve upstream %s: %s\n", rs->cfg.name.c_str(),
                   rs->cfg.upstream.c_str(), ec.message().c_str());
      return core::exit_unavailable;
    }
    for (auto const& e : results) rs->endpoints.push_back(e.endpoint());
    auto ep = net::parse_listen(rs->cfg.listen, "route " + rs->cfg.name).value();
    auto a = bind_listener(home.ioc, ep, "route " + rs->cfg.name);
    if (!a) {
      std::fprintf(stderr, "stormgate proxy: %s\n", a.error().message().c_str());
      return a.error().code;
    }
    rs->bound = a->local_endpoint();
    acceptors.push_back(std::make_shared<acceptor>(srv, home, rs.get(), std::move(*a)));
    srv.routes.push_back(std::move(rs));
  }
  auto admin_ep = net::parse_listen(srv.cfg.admin_listen, "--admin").value();
  auto admin = bind_listener(home.ioc, admin_ep, "admin");
  if (!admin) {
    std::fprintf(stderr, "stormgate proxy: %s\n", admin.error().message().c_str());
    return admin.error().code;
  }
  auto admin_bound = admin->local_endpoint();
  acceptors.push_back(std::make_shared<acceptor>(srv, home, nullptr, std::move(*admin)));

  // Signals are taken by this thread only (sigwait), so that shutdown may wait and poll. They are
  // blocked before the first thread starts (the log's writer, then the workers), which inherit
  // that: a SIGTERM that came before sigwait would otherwise go to a thread that does not block
  // it, and end the process with nothing flushed.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  std::string err;
  if (!srv.log.open(err)) {
    std::fprintf(stderr, "stormgate proxy: %s: %s\n", srv.cfg.traffic_log.c_str(), err.c_str());
    return core::exit_usage;
  }
  srv.log.push(run_record(srv, "start"));
  for (auto const& f : srv.cfg.faults) srv.set_fault(f, false);

  for (auto& a : acceptors) a->do_accept();
  acceptors.clear();  // the pending accepts keep them alive
  for (auto const& r : srv.routes) net::announce_listening("route:" + r->cfg.name, r->bound);
  net::announce_listening("admin", admin_bound);

  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& w : srv.workers) guards.push_back(asio::make_work_guard(w->ioc));
  std::atomic<int> running{static_cast<int>(srv.workers.size())};
  std::vector<std::thread> threads;
  for (auto& w : srv.workers)
    threads.emplace_back([wp = w.get(), &running] {
      for (;;) {
        try {
          wp->ioc.run();
          break;
        } catch (std::exception const& e) {
          std::fprintf(stderr, "stormgate proxy: internal error in a handler: %s\n", e.what());
        }
      }
      running.fetch_sub(1);
    });

  int sig = 0;
  sigwait(&sigs, &sig);

  // 1. stop accepting; idle connections close; exchanges in hand go on.
  on_each_worker(srv, [](worker& w) {
    w.stopping = true;
    std::vector<closable*> all(w.sessions.begin(), w.sessions.end());
    for (auto* s : all) s->shutdown(false);
    for (auto& pool : w.idle) pool.clear();
  });
  for (auto& g : guards) g.reset();
  auto wait_until = [&](std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (running.load() > 0 && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return running.load() == 0;
  };
  // 2. bounded wait, then 3. force what is left (each still ends in its record).
  if (!wait_until(srv.cfg.shutdown_grace)) {
    on_each_worker(srv, [](worker& w) {
      std::vector<closable*> all(w.sessions.begin(), w.sessions.end());
      for (auto* s : all) s->shutdown(true);
    });
    if (!wait_until(std::chrono::milliseconds(2000)))
      for (auto& w : srv.workers) w->ioc.stop();
  }
  for (auto& t : threads) t.join();
  // Handlers a forced stop left queued (their sessions) are destroyed now, while the server they
  // report to is whole, and their records go before the stop record.
  srv.workers.clear();
  // 4. every remaining record, then the stop record.
  auto stop = run_record(srv, "stop");
  stop["exchanges"] = srv.exchanges.load();
  stop["dropped"] = srv.log.dropped();
  stop["signal"] = sig == SIGINT ? "SIGINT" : "SIGTERM";
  srv.log.push(std::move(stop));
  srv.log.stop();
  return 0;
}

}  // namespace stormgate::proxy::detail

namespace stormgate::proxy {
int run_proxy(proxy_config cfg) { return detail::run(std::move(cfg)); }
}  // namespace stormgate::proxy
