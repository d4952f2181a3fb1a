// The proxy's admin API (SPEC §7) as the scenarios need it: set a fault, clear it.
#include "load/detail/driver.hpp"

#include <boost/json/serialize.hpp>
#include <cstdlib>

namespace stormgate::load {

namespace {

core::result<void> call(std::string const& base, std::string method, std::string const& path, std::string body,
                        int timeout_ms) {
  net::request req;
  req.method = std::move(method);
  std::string b = base;
  while (!b.empty() && b.back() == '/') b.pop_back();
  req.url = b + path;
  req.body = std::move(body);
  if (!req.body.empty()) req.headers.emplace_back("Content-Type", "application/json");
  if (char const* t = std::getenv("STORMGATE_ADMIN_TOKEN"); t && *t) req.headers.emplace_back("Authorization", std::string("Bearer ") + t);
  req.timeout = std::chrono::milliseconds(timeout_ms);
  auto r = net::fetch(req);
  std::string where = "admin " + req.method + " " + path;
  if (!r) return core::unavailable_error(where, r.error().what);
  if (r->status < 200 || r->status >= 300)
    return core::unavailable_error(where, "HTTP " + std::to_string(r->status) + " " + r->body.substr(0, 200));
  return {};
}

}  // namespace

core::result<void> admin_client::set_fault(std::string const& name, boost::json::object const& fault) {
  return call(base_, "PUT", "/faults/" + name, boost::json::serialize(fault), timeout_ms_);
}

core::result<void> admin_client::clear_fault(std::string const& name) {
  return call(base_, "DELETE", "/faults/" + name, {}, timeout_ms_);
}

}  // namespace stormgate::load
