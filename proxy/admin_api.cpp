// The admin API (SPEC §7) on its own listener. The surface is the table `routes` below; errors are
// named values with their HTTP status, all answered through one `api_error`.
#include "core/time.hpp"
#include "proxy/detail/server.hpp"
#include "proxy/detail/stop_waiting.hpp"

#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <sstream>

namespace stormgate::proxy::detail {

namespace http = beast::http;
namespace json = boost::json;

namespace {

struct admin_request {
  http::request<http::string_body> const& msg;
  std::string name;  // the {name} path parameter
};

struct reply {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
};

std::string short_number(double d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", d);
  return buf;
}

reply json_reply(json::value const& v, unsigned status = 200) { return {status, json::serialize(v) + "\n"}; }

// One shape for every error: {"error": what, "field": where?}.
reply api_error(unsigned status, std::string what, std::string field = {}) {
  json::object o{{"error", std::move(what)}};
  if (!field.empty()) o["field"] = std::move(field);
  return json_reply(o, status);
}
reply err_fault_not_found(std::string const& name) { return api_error(404, "no fault named '" + name + "'"); }
reply err_bad_json(std::string const& why) { return api_error(400, "body is not valid JSON: " + why); }

json::value fault_json(faults::live_fault const& lf) {
  auto o = faults::to_json(lf.f);
  o.as_object()["injected"] = lf.state->injected.load(std::memory_order_relaxed);
  return o;
}

std::optional<json::value> parse_body(admin_request const& r, reply& err) {
  json::error_code ec;
  auto v = json::parse(r.msg.body(), ec);
  if (ec) {
    err = err_bad_json(ec.message());
    return std::nullopt;
  }
  return v;
}

// Validates a fault body; `name` from the URL wins and must agree with the body's.
std::optional<faults::fault> checked_fault(server& srv, json::value v, std::string const& name, reply& err) {
  if (!v.is_object()) {
    err = api_error(400, "a fault must be a JSON object");
    return std::nullopt;
  }
  auto& o = v.as_object();
  if (auto it = o.find("name"); it != o.end() && !(it->value().is_string() && it->value().get_string() == name)) {
    err = api_error(400, "the body's name differs from the URL's ('" + name + "')", "name");
    return std::nullopt;
  }
  o["name"] = name;
  auto f = faults::parse_fault(v);
  if (!f) {
    err = api_error(400, f.error().where + ": " + f.error().what, f.error().where);
    return std::nullopt;
  }
  if (!srv.find_route(f->route)) {
    err = api_error(400, "route: no route named '" + f->route + "'", "route");
    return std::nullopt;
  }
  return std::move(*f);
}

// ---- handlers -------------------------------------------------------------------------------

reply health(server&, admin_request const&) { return json_reply(json::object{{"status", "ok"}}); }

reply list_faults(server& srv, admin_request const&) {
  json::array a;
  for (auto const& lf : srv.fault_set.load()->faults) a.push_back(fault_json(lf));
  return json_reply(a);
}

reply put_fault(server& srv, admin_request const& r) {
  reply err;
  auto v = parse_body(r, err);
  if (!v) return err;
  std::lock_guard lk(srv.admin_mu);
  auto f = checked_fault(srv, std::move(*v), r.name, err);
  if (!f) return err;
  bool existed = srv.fault_set.load()->find(r.name) != nullptr;
  auto j = faults::to_json(*f);
  srv.set_fault(std::move(*f), false);
  return json_reply(j, existed ? 200 : 201);
}

reply patch_fault(server& srv, admin_request const& r) {
  reply err;
  auto v = parse_body(r, err);
  if (!v) return err;
  if (!v->is_object()) return api_error(400, "a patch must be a JSON object");
  std::lock_guard lk(srv.admin_mu);
  auto const* cur = srv.fault_set.load()->find(r.name);
  if (!cur) return err_fault_not_found(r.name);
  auto merged = faults::merge_patch(faults::to_json(cur->f), *v);
  auto f = checked_fault(srv, std::move(merged), r.name, err);
  if (!f) return err;
  auto j = faults::to_json(*f);
  srv.set_fault(std::move(*f), true);
  return json_reply(j);
}

reply delete_fault(server& srv, admin_request const& r) {
  std::lock_guard lk(srv.admin_mu);
  if (!srv.clear_fault(r.name)) return err_fault_not_found(r.name);
  return json_reply(json::object{{"cleared", r.name}});
}

reply reset_faults(server& srv, admin_request const&) {
  std::lock_guard lk(srv.admin_mu);
  json::array cleared;
  for (auto const& n : srv.reset_faults()) cleared.push_back(json::value(n));
  return json_reply(json::object{{"cleared", std::move(cleared)}});
}

reply list_routes(server& srv, admin_request const&) {
  json::array a;
  for (auto const& r : srv.routes) {
    auto& m = srv.stats.route(r->index);
    a.push_back(json::object{{"name", r->cfg.name},
                             {"listen", r->bound.address().to_string() + ":" + std::to_string(r->bound.port())},
                             {"upstream", r->cfg.upstream},
                             {"requests", m.requests()}});
  }
  return json_reply(a);
}

reply stats(server& srv, admin_request const&) {
  json::object routes;
  for (auto const& r : srv.routes) {
    auto& m = srv.stats.route(r->index);
    json::object by_status;
    for (std::size_t s = 0; s < m.by_status.size(); ++s)
      if (auto n = m.by_status[s].load(std::memory_order_relaxed)) by_status[s ? std::to_string(s) : "none"] = n;
    auto lat = m.upstream_latency.snapshot();
    auto count = lat.count();
    routes[r->cfg.name] = json::object{
        {"requests", m.requests()},
        {"by_status", std::move(by_status)},
        {"client_errors", m.client_errors.load()},
        {"upstream_attempts", count},
        {"upstream_latency_mean_us", count ? static_cast<double>(m.upstream_latency.sum()) / double(count) : 0.0},
        {"upstream_latency_us", json::object{{"p50", lat.percentile(0.50)},
                                             {"p90", lat.percentile(0.90)},
                                             {"p99", lat.percentile(0.99)},
                                             {"p999", lat.percentile(0.999)},
                                             {"max", lat.max()}}}};
  }
  std::uint64_t open = 0;
  for (std::size_t i = 0; i < srv.stats.route_count(); ++i) open += srv.stats.route(i).open_connections.load();
  json::object injected;
  for (auto const& [k, n] : srv.stats.faults_injected()) injected[k.second] = json::object{{"kind", k.first}, {"count", n}};
  return json_reply(json::object{
      {"uptime_s", static_cast<double>(core::mono_us() - srv.started_us) / 1e6},
      {"io", io_backend()},
      {"exchanges", srv.exchanges.load()},
      {"routes", std::move(routes)},
      {"faults_injected", std::move(injected)},
      {"active_faults", srv.stats.active_faults.load()},
      {"faults_set", srv.fault_set.load()->faults.size()},
      {"connections", json::object{{"open", open}, {"refused", srv.stats.refused_connections.load()}}},
      {"traffic_log", json::object{{"enabled", srv.log.enabled()},
                                   {"written", srv.log.written()},
                                   {"queued", srv.log.queued()},
                                   {"dropped", srv.log.dropped()}}}});
}

reply prometheus(server& srv, admin_request const&) {
  std::ostringstream os;
  os << "# HELP stormgate_requests_total Client exchanges by route and the status the client got (none: no answer).\n"
        "# TYPE stormgate_requests_total counter\n";
  for (auto const& r : srv.routes) {
    auto& m = srv.stats.route(r->index);
    for (std::size_t s = 0; s < m.by_status.size(); ++s)
      if (auto n = m.by_status[s].load(std::memory_order_relaxed))
        os << "stormgate_requests_total{route=\"" << r->cfg.name << "\",status=\"" << (s ? std::to_string(s) : "none")
           << "\"} " << n << "\n";
  }
  os << "# HELP stormgate_upstream_latency_seconds Upstream answer latency per attempt.\n"
        "# TYPE stormgate_upstream_latency_seconds histogram\n";
  for (auto const& r : srv.routes) {
    auto& m = srv.stats.route(r->index);
    auto lat = m.upstream_latency.snapshot();  // one snapshot: the buckets, +Inf and _count agree
    for (auto le : metrics_le_us)
      os << "stormgate_upstream_latency_seconds_bucket{route=\"" << r->cfg.name << "\",le=\""
         << short_number(static_cast<double>(le) / 1e6) << "\"} " << lat.count_at_most(le) << "\n";
    os << "stormgate_upstream_latency_seconds_bucket{route=\"" << r->cfg.name << "\",le=\"+Inf\"} " << lat.count()
       << "\n";
    os << "stormgate_upstream_latency_seconds_sum{route=\"" << r->cfg.name << "\"} "
       << static_cast<double>(m.upstream_latency.sum()) / 1e6 << "\n";
    os << "stormgate_upstream_latency_seconds_count{route=\"" << r->cfg.name << "\"} " << lat.count() << "\n";
  }
  os << "# HELP stormgate_faults_injected_total Requests a fault hit, by kind and fault name.\n"
        "# TYPE stormgate_faults_injected_total counter\n";
  for (auto const& [k, n] : srv.stats.faults_injected())
    os << "stormgate_faults_injected_total{kind=\"" << k.first << "\",name=\"" << k.second << "\"} " << n << "\n";
  os << "# HELP stormgate_active_faults Exchanges with a fault in progress.\n# TYPE stormgate_active_faults gauge\n"
     << "stormgate_active_faults " << srv.stats.active_faults.load() << "\n";
  os << "# HELP stormgate_faults_set Faults currently set.\n# TYPE stormgate_faults_set gauge\n"
     << "stormgate_faults_set " << srv.fault_set.load()->faults.size() << "\n";
  os << "# HELP stormgate_traffic_log_records_total Records written to the traffic log.\n"
        "# TYPE stormgate_traffic_log_records_total counter\n"
     << "stormgate_traffic_log_records_total " << srv.log.written() << "\n";
  os << "# HELP stormgate_traffic_log_dropped_total Records dropped because the log queue was full.\n"
        "# TYPE stormgate_traffic_log_dropped_total counter\n"
     << "stormgate_traffic_log_dropped_total " << srv.log.dropped() << "\n";
  return {200, os.str(), "text/plain; version=0.0.4"};
}

// ---- the admin surface, as a table ----------------------------------------------------------

using handler = reply (*)(server&, admin_request const&);
struct admin_route {
  http::verb verb;
  std::string_view path;  // "{name}" matches one path segment
  handler fn;
};

constexpr admin_route routes[] = {
    {http::verb::get, "/health", health},
    {http::verb::get, "/faults", list_faults},
    {http::verb::post, "/faults/reset", reset_faults},
    {http::verb::put, "/faults/{name}", put_fault},
    {http::verb::patch, "/faults/{name}", patch_fault},
    {http::verb::delete_, "/faults/{name}", delete_fault},
    {http::verb::get, "/routes", list_routes},
    {http::verb::get, "/stats", stats},
    {http::verb::get, "/metrics", prometheus},
};

bool path_matches(std::string_view pattern, std::string_view path, std::string& name) {
  auto brace = pattern.find("{name}");
  if (brace == std::string_view::npos) return pattern == path;
  if (path.substr(0, brace) != pattern.substr(0, brace)) return false;
  auto rest = path.substr(brace);
  if (rest.empty() || rest.find('/') != std::string_view::npos) return false;
  name = std::string(rest);
  return true;
}

reply dispatch(server& srv, http::request<http::string_body> const& msg) {
  if (!srv.cfg.admin_token.empty()) {
    auto it = msg.find(http::field::authorization);
    if (it == msg.end() || it->value() != "Bearer " + srv.cfg.admin_token)
      return api_error(401, "missing or wrong bearer token");
  }
  auto target = msg.target();
  auto path = target.substr(0, target.find('?'));
  bool path_known = false;
  for (auto const& r : routes) {
    std::string name;
    if (!path_matches(r.path, path, name)) continue;
    path_known = true;
    if (r.verb != msg.method()) continue;
    return r.fn(srv, admin_request{msg, std::move(name)});
  }
  if (path_known) return api_error(405, "method not allowed on " + std::string(path));
  return api_error(404, "no such endpoint: " + std::string(path));
}

class admin_session : public std::enable_shared_from_this<admin_session>, public closable {
 public:
  admin_session(server& srv, worker& w, tcp::socket s)
      : srv_(srv), w_(w), socket_(std::move(s)), deadline_(w.ioc.get_executor()) {
    w_.sessions.insert(this);
  }
  ~admin_session() override { w_.sessions.erase(this); }
  void shutdown(bool) override { end_socket(socket_); }
  void do_read() {
    if (w_.stopping) return;
    parser_.emplace();
    parser_->header_limit(64 * 1024);
    parser_->body_limit(1024 * 1024);
    expect(srv_.cfg.idle_timeout);  // a slow or silent client is closed
    http::async_read(socket_, buf_, *parser_, beast::bind_front_handler(&admin_session::on_read, shared_from_this()));
  }

 private:
  // The read or the write must end within `limit`; else it is ended (stop_waiting.hpp) and the
  // connection closed.
  void expect(std::chrono::steady_clock::duration limit) {
    deadline_.expires_after(limit);
    deadline_.async_wait([self = weak_from_this()](beast::error_code ec) {
      if (auto s = self.lock(); s && !ec) {
        s->timed_out_ = true;
        stop_waiting(s->socket_, side::both);
      }
    });
  }

  void on_read(beast::error_code ec, std::size_t) {
    deadline_.cancel();
    if (timed_out_ || ec == http::error::end_of_stream || ec == asio::error::operation_aborted) return;
    reply r;
    bool keep = false;
    if (ec == http::error::header_limit) {
      r = api_error(431, "request headers too large");
    } else if (ec == http::error::body_limit) {
      r = api_error(413, "request body too large");
    } else if (ec) {
      r = api_error(400, "bad request: " + ec.message());
    } else {
      auto const& msg = parser_->get();
      keep = msg.keep_alive();
      r = dispatch(srv_, msg);
    }
    res_ = {};
    res_.result(r.status);
    res_.version(11);
    res_.set(http::field::content_type, r.content_type);
    res_.set(http::field::server, "stormgate");
    res_.body() = std::move(r.body);
    res_.keep_alive(keep && !w_.stopping);
    res_.prepare_payload();
    expect(std::chrono::seconds(30));
    http::async_write(socket_, res_, beast::bind_front_handler(&admin_session::on_write, shared_from_this()));
  }
  void on_write(beast::error_code ec, std::size_t) {
    deadline_.cancel();
    if (timed_out_) return;
    if (ec || !res_.keep_alive()) {
      beast::error_code ignored;
      socket_.shutdown(tcp::socket::shutdown_send, ignored);
      return;
    }
    do_read();
  }

  server& srv_;
  worker& w_;
  tcp::socket socket_;
  steady_timer deadline_;
  bool timed_out_ = false;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
};

}  // namespace

void start_admin_session(server& srv, worker& w, tcp::socket socket) {
  std::make_shared<admin_session>(srv, w, std::move(socket))->do_read();
}

}  // namespace stormgate::proxy::detail
