// What a scenario file (scenarios/<id>.cpp) is written with: the plan builder of load/, the judge
// interface of checks/, and their words, by their short names.
#pragma once
#include "checks/scenario_judge.hpp"
#include "load/plan_builder.hpp"
#include "core/jsonl.hpp"
#include "scenarios/scenarios.hpp"

namespace stormgate::scenarios {

using checks::detail::context;
using checks::detail::evidence;
using checks::detail::fmt_num;
using checks::detail::hist_op;
using checks::detail::journal_event;
using checks::detail::ok2xx;
using checks::detail::source;
using load::phase;
using load::plan_builder;
using load::planned_op;
using load::scenario_plan;

}  // namespace stormgate::scenarios
