// A fault file, as `stormgate faults set FILE` and the proxy's [[faults]] read it: TOML or JSON,
// one fault or a list (proxy::read_fault_file, then faults::parse_fault on each). What must hold:
// an error names where it is (a file and a field or line), and every fault read has a canonical form
// (faults::to_json) that parses again to the same canonical form, as the admin API hands it back.
//   input: byte 0 even = a .toml file, odd = a .json file; then the file's bytes
#include "faults/faults.hpp"
#include "proxy/proxy.hpp"

#include <boost/json/serialize.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

using namespace stormgate;
namespace json = boost::json;

namespace {

[[noreturn]] void fail(char const* what, std::string const& detail) {
  std::fprintf(stderr, "fault_file: %s: %s\n", what, detail.c_str());
  std::abort();
}

// One file per process, written again for every input (in /dev/shm when there is one).
std::string const& file_for(bool toml) {
  static std::string const dir = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  static std::string const base = dir + "/stormgate-fuzz-faults-" + std::to_string(::getpid());
  static std::string const t = base + ".toml", j = base + ".json";
  return toml ? t : j;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(std::uint8_t const* data, std::size_t size) {
  if (size < 1) return 0;
  auto const& path = file_for(data[0] % 2 == 0);
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) fail("cannot write", path);
  std::fwrite(data + 1, 1, size - 1, f);
  std::fclose(f);
  auto list = proxy::read_fault_file(path);
  if (!list) {
    if (list.error().where.rfind(path, 0) != 0) fail("the error does not name the file", list.error().message());
    if (list.error().what.empty()) fail("the error does not say what is wrong", list.error().message());
    return 0;
  }
  if (list->empty()) fail("a file read without error holds no fault", path);
  for (auto const& canonical : *list) {
    auto again = faults::parse_fault(canonical);
    if (!again) fail("the canonical form does not parse", json::serialize(canonical) + ": " + again.error().message());
    auto twice = faults::to_json(*again);
    if (twice != canonical) fail("the canonical form changes when read again", json::serialize(canonical) + " -> " + json::serialize(twice));
    // a PATCH of nothing leaves the fault as it was
    if (faults::merge_patch(canonical, json::object{}) != canonical) fail("an empty patch changes the fault", json::serialize(canonical));
  }
  return 0;
}
