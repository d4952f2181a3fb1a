// `stormgate karma`: the KARMA stub. POST /score {agent_id, amount} -> {ci} in [0.3, 0.7], the same CI for
// the same (seed, agent_id, amount); switches to answer slowly or with errors, decided per request.
#include "backend/backend.hpp"
#include "backend/detail/http.hpp"
#include "backend/detail/json_out.hpp"
#include "core/hash.hpp"
#include "core/jsonl.hpp"
#include "net/net.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cmath>

namespace stormgate::backend {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace detail;

double karma_ci(std::uint64_t seed, std::string_view agent_id, double amount) {
  double u = core::unit_interval(core::hash64(seed, {"karma-ci", agent_id, py_float(amount)}));
  return std::round((0.3 + 0.4 * u) * 1e4) / 1e4;
}

namespace {

http_answer json_reply(unsigned status, json::value const& v) { return http_answer{status, to_json(v)}; }

void handle_karma(karma_options const& o, asio::io_context& ioc, http_request&& req, responder respond,
                  std::uint64_t& seq) {
  std::string_view path = req.target;
  path = path.substr(0, path.find('?'));
  if (path == "/health") {
    if (req.method != "GET") return respond(json_reply(405, json::object{{"detail", "Method Not Allowed"}}));
    return respond(json_reply(200, json::object{{"status", "ok"}}));
  }
  if (path != "/score") return respond(json_reply(404, json::object{{"detail", "Not Found"}}));
  if (req.method != "POST") return respond(json_reply(405, json::object{{"detail", "Method Not Allowed"}}));
  ++seq;
  std::string err;
  auto v = core::parse_json(req.body, err);
  auto agent = v ? core::get_string(*v, "agent_id") : std::nullopt;
  double amount = NAN;
  if (v)
    if (auto n = core::get_number(*v, "amount")) amount = *n;
  if (!agent || !std::isfinite(amount))
    return respond(json_reply(422, json::object{{"detail", "expected {agent_id: string, amount: number}"}}));
  // The error draw is keyed by the op when the caller names one, else by the request itself.
  std::string key = req.header("x-stormgate-op");
  if (key.empty()) key = std::string(*agent) + "|" + py_float(amount);
  http_answer a = core::hits(o.seed, "karma-error", key, o.error_rate)
                      ? json_reply(o.error_status, json::object{{"detail", "karma unavailable"}})
                      : json_reply(200, json::object{{"ci", karma_ci(o.seed, *agent, amount)}});
  if (o.delay_ms <= 0) return respond(std::move(a));
  auto t = std::make_shared<asio::steady_timer>(ioc, std::chrono::milliseconds(o.delay_ms));
  t->async_wait([t, a = std::move(a), respond](boost::system::error_code) mutable { respond(std::move(a)); });
}

}  // namespace

int run_karma(karma_options const& o) {
  auto ep = net::parse_listen(o.listen, "--listen");
  if (!ep) throw core::failure(ep.error());
  if (o.error_rate < 0 || o.error_rate > 1) throw core::failure(core::usage_error("--error-rate", "must lie in [0, 1]"));
  if (o.error_status < 100 || o.error_status > 599)
    throw core::failure(core::usage_error("--error-status", "must be an HTTP status (100..599)"));
  asio::io_context ioc(1);
  std::uint64_t seq = 0;
  std::unique_ptr<http_server> server;
  try {
    server = std::make_unique<http_server>(ioc.get_executor(), *ep, [&](http_request&& r, responder respond) {
      handle_karma(o, ioc, std::move(r), std::move(respond), seq);
    });
  } catch (boost::system::system_error const& e) {
    throw core::failure(core::unavailable_error(o.listen, std::string("cannot listen: ") + e.code().message()));
  }
  server->start();
  net::announce_listening("karma", server->local_endpoint());
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  asio::steady_timer grace(ioc);
  signals.async_wait([&](boost::system::error_code ec, int) {
    if (ec) return;
    server->stop();
    grace.expires_after(std::chrono::milliseconds(std::max(100, o.delay_ms + 50)));
    grace.async_wait([&](boost::system::error_code) { ioc.stop(); });
  });
  ioc.run();
  return core::exit_go;
}

}  // namespace stormgate::backend
