// The soak (gate E): the scenarios' mix of writes and reads for --duration at --concurrency,
// closed loop or open loop at --rate; `--mix read` sends balance reads only (throughput runs).
#include "load/detail/driver.hpp"
#include "load/plan_builder.hpp"
#include "core/time.hpp"

#include <cmath>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace stormgate::load {

namespace {
constexpr int soak_agents = 20;
}

scenario_plan soak_setup(plan_builder& b) {
  scenario_plan out;
  auto agents = b.agents("soak", soak_agents);
  out.phases.push_back(b.fund_agents(agents, 10000.0));
  return out;
}

planned_op soak_op(std::uint64_t n, config::target_profile const& profile, plan_params const& p, std::string const& mix) {
  plan_builder b("soak", profile, p);
  planned_op o;
  o.op = p.part.prefix() + "soak-" + pad6(n);
  std::string ns = std::to_string(n);
  auto h = core::hash64(p.seed, {"soak", p.part.prefix(), ns});
  core::rng r(h);
  auto agent = b.agent("soak", static_cast<int>(r.below(soak_agents)) + 1);
  auto amount = [&](double lo, double hi) { return std::round(r.between(lo, hi) * 100.0) / 100.0; };
  double u = r.uniform();
  if (mix == "read") u = 0.8;
  if (u < 0.45 && profile.has("consume")) {
    o.f = "consume";
    o.value = {{"agent_id", agent}, {"amount", amount(0.5, 5.0)}, {"reason", "soak"}};
  } else if (u < 0.55 && profile.has("refund")) {
    o.f = "refund";
    o.value = {{"agent_id", agent}, {"amount", amount(0.5, 5.0)}, {"reason", "soak"}};
  } else if (u < 0.65 && profile.has("add")) {
    o.f = "add";
    o.value = {{"agent_id", agent}, {"amount", amount(5.0, 50.0)}, {"reason", "soak"}};
  } else if (u < 0.97 || !profile.has("balances")) {
    o.f = "balance";
    o.value = {{"agent_id", agent}};
    o.params = {{"agent_id", agent}};
  } else {
    o.f = "balances";
  }
  return o;
}

boost::asio::awaitable<void> driver::run_soak(scenario_plan const& setup) {
  namespace asio = boost::asio;
  auto ex = co_await asio::this_coro::executor;
  for (auto const& ph : setup.phases) {
    if (stopping_) break;
    co_await run_phase(ph);
  }
  std::uint64_t base = setup.op_count();
  int lanes = std::max(1, opt_.concurrency);
  std::int64_t start = core::mono_us();
  std::int64_t end = start + static_cast<std::int64_t>(opt_.duration_s * 1e6);
  soak_end_us_ = end;
  double rate = opt_.rate;
  std::uint64_t next = 0;
  std::vector<std::function<asio::awaitable<void>()>> tasks;
  for (int l = 0; l < lanes; ++l) {
    tasks.push_back([this, l, &next, base, start, end, rate]() -> asio::awaitable<void> {
      auto ex = co_await asio::this_coro::executor;
      auto client = make_client(ex);
      asio::steady_timer timer(ex);
      while (!stopping_) {
        std::uint64_t i = next++;
        std::int64_t intended = 0;
        if (rate > 0) {
          intended = start + static_cast<std::int64_t>(static_cast<double>(i) * 1e6 / rate);
          if (intended >= end) break;
          std::int64_t wait = intended - core::mono_us();
          if (wait > 0) {
            timer.expires_after(std::chrono::microseconds(wait));
            co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
            if (stopping_) break;
          }
        } else if (core::mono_us() >= end) {
          break;
        }
        auto o = soak_op(base + i, profile_, params_, opt_.mix);
        o.process = l;
        co_await execute(o, *client, intended);
      }
    });
  }
  (void)ex;
  co_await run_parallel(std::move(tasks));
  soak_end_us_ = 0;
}

}  // namespace stormgate::load
