// JSON text as BRAiN (Python) writes it: compact, numbers of type float always with a fraction or
// exponent ("80.0", "12.5", "1e-05"), so that journal lines and answers read like BRAiN's.
#pragma once
#include <boost/json/value.hpp>
#include <string>

namespace stormgate::backend::detail {

std::string py_float(double d);                       // Python's repr(float)
void write_json(std::string& out, boost::json::value const& v);
std::string to_json(boost::json::value const& v);

}  // namespace stormgate::backend::detail
