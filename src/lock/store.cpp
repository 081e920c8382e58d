#include "weft/lock/store.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>

namespace weft::lock {

store::~store() = default;

result<lease> store::acquire_now(const acquire_request&) {
  return fail(errc::unsupported, "this store grants only through acquire() on a runtime");
}

result<void> check_name(std::string_view name) {
  if (name.empty()) return fail(errc::invalid_argument, "invalid lock name: it is empty; give a name such as \"deploy\"");
  if (name.size() > max_name_length)
    return fail(errc::invalid_argument, "invalid lock name: it is " + std::to_string(name.size()) +
                                            " bytes long; the limit is " + std::to_string(max_name_length));
  return {};
}

std::string_view to_string(recipe kind) noexcept {
  switch (kind) {
    case recipe::mutex: return "mutex";
    case recipe::rw_mutex: return "rw_mutex";
    case recipe::semaphore: return "semaphore";
    case recipe::election: return "election";
  }
  return "unknown";
}

result<void> check_options(const lease_options& options) {
  using namespace std::chrono_literals;
  if (options.ttl < 100ms || options.ttl > std::chrono::hours(24))
    return fail(errc::invalid_argument,
                "invalid lease TTL: it must be between 100ms and 24h (the lease renews every TTL/3)");
  return {};
}

namespace {
struct registry {
  std::mutex mutex;
  std::map<std::string, store_factory> factories;
};
registry& the_registry() {
  static registry r;
  return r;
}
}  // namespace

void register_store(std::string scheme, store_factory factory) {
  auto& r = the_registry();
  std::lock_guard guard(r.mutex);
  r.factories.emplace(std::move(scheme), std::move(factory));
}

std::vector<std::string> registered_schemes() {
  auto& r = the_registry();
  std::lock_guard guard(r.mutex);
  std::vector<std::string> out;
  for (const auto& [scheme, factory] : r.factories) out.push_back(scheme);
  return out;
}

// mem:// lives in this library; see mem_store.cpp.
result<std::shared_ptr<store>> open_mem_store(const store_uri& uri);

result<std::shared_ptr<store>> open(std::string_view text) {
  auto parsed = parse_store_uri(text);
  if (!parsed) return fail(std::move(parsed).error());
  if (parsed->scheme == "mem") return open_mem_store(*parsed);
  store_factory factory;
  {
    auto& r = the_registry();
    std::lock_guard guard(r.mutex);
    if (auto it = r.factories.find(parsed->scheme); it != r.factories.end()) factory = it->second;
  }
  if (!factory) {
    std::string known = "mem";
    for (const auto& s : registered_schemes()) known += ", " + s;
    std::string hint;
    if (parsed->scheme == "file" || parsed->scheme == "redis" || parsed->scheme == "redlock" ||
        parsed->scheme == "zk")
      hint = " (this program was built without the weft_lock_" + parsed->scheme + " backend)";
    return fail(errc::invalid_argument, "unknown store scheme \"" + parsed->scheme + "\" in \"" +
                                            parsed->redacted() + "\"" + hint + "; known schemes: " + known);
  }
  return factory(*parsed);
}

namespace {
// A directory as the path of a file:// URI: bytes the URI syntax reserves are %-escaped.
std::string file_uri(const std::string& dir) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out = "file://";
  for (char c : dir) {
    auto u = static_cast<unsigned char>(c);
    if (c == '%' || c == '?' || c == '#' || u < 0x20 || u == 0x7f) {
      out += '%';
      out += hex[u >> 4];
      out += hex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}
}  // namespace

result<std::string> default_store_uri() {
  if (const char* env = std::getenv("WEFT_STORE"); env && *env) return std::string(env);
  auto usable = [](const char* value) { return value && value[0] == '/'; };
  if (const char* runtime = std::getenv("XDG_RUNTIME_DIR"); usable(runtime))
    return file_uri(std::string(runtime) + "/weft/locks");
  if (const char* state = std::getenv("XDG_STATE_HOME"); usable(state))
    return file_uri(std::string(state) + "/weft/locks");
  if (const char* home = std::getenv("HOME"); usable(home))
    return file_uri(std::string(home) + "/.local/state/weft/locks");
  return fail(errc::invalid_argument,
              "no default store: set WEFT_STORE (e.g. file:///tmp/weft) or XDG_RUNTIME_DIR or HOME");
}

result<std::shared_ptr<store>> open_default() {
  auto uri = default_store_uri();
  if (!uri) return fail(std::move(uri).error());
  return open(*uri);
}

}  // namespace weft::lock
