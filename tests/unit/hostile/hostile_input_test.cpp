// The hostile input table: each row is one bad input to the lock API, the
// store URI parser, the duration parser or the ring's node-list parser. Every
// row must give the expected errc with an informative message, never echo a
// planted secret, and leave the sandbox (where every file:// URI points)
// exactly as it was.
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "../lock/lock_test_support.hpp"
#include "hostile_support.hpp"
#include "weft/context.hpp"
#include "weft/duration.hpp"
#include "weft/lock/mutex.hpp"
#include "weft/lock/semaphore.hpp"
#include "weft/lock/store.hpp"
#include "weft/lock/uri.hpp"
#include "weft/ring/node_list.hpp"
#include "weft/ring/options.hpp"

namespace {

using namespace std::chrono_literals;
using weft::errc;
using weft::hostile::expect_clear_error;
using weft::hostile::planted_secret;
using weft::hostile::sandbox;

struct hostile_case {
  std::string what;
  std::function<weft::error()> attempt;  // returns the error (errc::ok on unexpected success)
  errc expected;
  std::string hint;  // a substring the message must contain ("" = no check)
};

weft::error success() { return weft::error(errc::ok, "the input was accepted"); }

template <typename T>
weft::error error_of(const weft::result<T>& r) {
  return r ? success() : r.error();
}

// open(uri), then a try_lock on it: the first error either gives.
weft::error open_and_try_lock(const std::string& uri) {
  auto opened = weft::lock::open(uri);
  if (!opened) return opened.error();
  auto m = weft::lock::mutex::make(*opened, "hostile");
  if (!m) return m.error();
  auto held = weft::lock::testing::run([&]() -> weft::task<weft::result<weft::lock::lease>> {
    co_return co_await m->try_lock(weft::context::background());
  });
  return error_of(held);
}

std::string secret() { return std::string(planted_secret); }

std::vector<hostile_case> hostile_table(const std::string& root) {
  auto mem = weft::lock::open("mem://hostile-table").value();
  auto name_error = [mem](std::string name) {
    return [mem, name] { return error_of(weft::lock::mutex::make(mem, name)); };
  };
  auto ttl_error = [mem](std::chrono::nanoseconds ttl) {
    return [mem, ttl] { return error_of(weft::lock::mutex::make(mem, "n", {.ttl = ttl})); };
  };
  auto permits_error = [mem](std::uint64_t permits) {
    return [mem, permits] { return error_of(weft::lock::semaphore::make(mem, "n", permits)); };
  };
  auto uri_error = [](std::string uri) { return [uri] { return open_and_try_lock(uri); }; };
  auto duration_error = [](std::string text) { return [text] { return error_of(weft::parse_duration(text)); }; };
  auto nodes_error = [](std::string text) {
    return [text] { return error_of(weft::ring::parse_node_list(text)); };
  };
  auto ring_options_error = [](weft::ring::options o) {
    return [o] {
      auto ok = weft::ring::validate(o);
      return ok ? success() : ok.error();
    };
  };
  const std::string one_megabyte(1 << 20, 'n');
  const std::string nul_megabyte(1 << 20, '\0');
  const errc bad = errc::invalid_argument;
  std::vector<hostile_case> table = {
      // Lock names.
      {"empty lock name", name_error(""), bad, "name"},
      {"1 MB lock name", name_error(one_megabyte), bad, "4096"},
      {"1 MB of NUL bytes as a lock name", name_error(nul_megabyte), bad, "4096"},
      {"name one byte over the limit", name_error(std::string(4097, '/')), bad, "4096"},
      // Store URIs.
      {"empty URI", uri_error(""), bad, ""},
      {"URI without a scheme", uri_error("just-a-name"), bad, ""},
      {"unknown scheme lists the known ones", uri_error("ftp://host/dir"), bad, "file"},
      {"unknown scheme with credentials", uri_error("ftp://admin:" + secret() + "@host/dir"), bad, ""},
      {"scheme only", uri_error("://"), bad, ""},
      {"port zero", uri_error("redis://127.0.0.1:0"), bad, "port"},
      {"port above 65535", uri_error("redis://127.0.0.1:65536"), bad, "port"},
      {"negative port", uri_error("redis://127.0.0.1:-1"), bad, "port"},
      {"port overflowing 64 bits", uri_error("redis://127.0.0.1:18446744073709551617"), bad, "port"},
      {"port that is not a number", uri_error("redis://127.0.0.1:http"), bad, "port"},
      {"password with a bad port", uri_error("redis://admin:" + secret() + "@127.0.0.1:99999"), bad, ""},
      {"password with no host", uri_error("redis://admin:" + secret() + "@"), bad, ""},
      {"two @ in the userinfo", uri_error("redis://admin:" + secret() + "@@127.0.0.1:6379/x:y:z:0"), bad, ""},
      {"zk password with a bad port", uri_error("zk://admin:" + secret() + "@127.0.0.1:0/weft"), bad, ""},
      {"redlock password in a later host", uri_error("redlock://127.0.0.1:1,admin:" + secret() + "@127.0.0.1:0"),
       bad, ""},
      {"unterminated IPv6 literal", uri_error("redis://[::1:6379"), bad, ""},
      {"NUL byte inside a URI", uri_error(std::string("file://") + root + std::string("/a\0b", 4)), bad, ""},
      {"1 MB URI", uri_error("redis://" + one_megabyte + ":6379"), bad, ""},
      {"empty redlock node list", uri_error("redlock://"), bad, ""},
      {"redlock node list of commas", uri_error("redlock://,,,"), bad, ""},
      {"relative file store directory", uri_error("file://relative/dir"), bad, ""},
      {"file URI with no directory", uri_error("file://"), bad, ""},
      // Durations.
      {"negative duration", duration_error("-1s"), bad, "-1s"},
      {"empty duration", duration_error(""), bad, ""},
      {"duration without a unit", duration_error("10"), bad, "10"},
      {"duration with an unknown unit", duration_error("10parsecs"), bad, "10parsecs"},
      {"duration overflowing int64 nanoseconds", duration_error("99999999999999h"), bad, "99999999999999h"},
      {"duration overflowing uint64", duration_error("18446744073709551617ns"), bad, ""},
      {"zero as a positive duration", [] { return error_of(weft::parse_positive_duration("0s")); }, bad, ""},
      {"zero TTL", ttl_error(0ns), bad, "TTL"},
      {"negative TTL", ttl_error(-1s), bad, "TTL"},
      {"TTL below 100ms", ttl_error(99ms), bad, "TTL"},
      {"TTL above a day", ttl_error(25h), bad, "TTL"},
      {"largest TTL", ttl_error(std::chrono::nanoseconds::max()), bad, "TTL"},
      // Permits.
      {"zero permits", permits_error(0), bad, "permit"},
      {"2^63 permits", permits_error(std::uint64_t{1} << 63), bad, "permit"},
      {"2^64-1 permits", permits_error(std::numeric_limits<std::uint64_t>::max()), bad, "permit"},
      {"one permit over the maximum", permits_error(weft::lock::max_permits + 1), bad, "permit"},
      // Node lists and ring options.
      {"empty node list", nodes_error(""), bad, ""},
      {"node list of commas", nodes_error(",,"), bad, ""},
      {"node with port 0", nodes_error("a:0"), bad, "a:0"},
      {"node with port 65536", nodes_error("a:65536"), bad, "a:65536"},
      {"node with weight 0", nodes_error("a=0"), bad, "a=0"},
      {"node with negative weight", nodes_error("a=-2"), bad, "a=-2"},
      {"duplicate node", nodes_error("a:1,a:1"), bad, "a:1"},
      {"node without a host", nodes_error(":11211"), bad, ""},
      {"ring epsilon of zero", ring_options_error({.epsilon = 0.0}), bad, "epsilon"},
      {"ring epsilon NaN", ring_options_error({.epsilon = std::nan("")}), bad, "epsilon"},
      {"maglev table size not prime", ring_options_error({.table_size = 65536}), bad, "table"},
  };
  return table;
}

TEST(hostile_input, every_bad_input_gives_a_clear_error_and_changes_nothing) {
  sandbox box;
  const std::string before = box.snapshot();
  auto table = hostile_table(box.path());
  ASSERT_GE(table.size(), 30u);
  for (auto& row : table) {
    weft::error e = row.attempt();
    expect_clear_error(e, row.expected, row.hint, row.what);
    EXPECT_EQ(box.snapshot(), before) << row.what << " changed the sandbox";
  }
}

TEST(hostile_input, redacted_uri_hides_the_password_wherever_it_sits) {
  auto parsed = weft::lock::parse_store_uri("redis://admin:" + secret() + "@127.0.0.1:6379/0");
  ASSERT_TRUE(parsed) << parsed.error().message();
  EXPECT_EQ(parsed->redacted().find(planted_secret), std::string::npos);
  auto store = weft::lock::open("mem://" + std::string("redact-check"));
  ASSERT_TRUE(store);
}

// Names that look like paths are valid names: the file store must encode
// them inside its directory and create nothing outside it.
TEST(hostile_input, path_like_names_stay_inside_the_file_store) {
  sandbox box;
  const std::string root = box.path() + "/store";
  auto store = weft::lock::open("file://" + root);
  ASSERT_TRUE(store) << store.error().message();
  const std::vector<std::string> names = {"../../escaped",     "/etc/passwd", "..",       ".",
                                          std::string("a\0b", 3), "a/../../b",  "~root",    "$(touch x)",
                                          std::string(4096, '.'), "CON",        "a\nb\r\tc", "\xff\xfe"};
  for (const auto& name : names) {
    auto m = weft::lock::mutex::make(*store, name);
    ASSERT_TRUE(m) << m.error().message();
    auto held = weft::lock::testing::run([&]() -> weft::task<weft::result<weft::lock::lease>> {
      co_return co_await m->try_lock(weft::context::background());
    });
    ASSERT_TRUE(held) << held.error().message();
    auto released =
        weft::lock::testing::run([&]() -> weft::task<weft::result<void>> { co_return co_await held->release(); });
    EXPECT_TRUE(released) << released.error().message();
  }
  // Only the store directory appeared in the sandbox; every entry in it is
  // one safe path component.
  std::size_t entries = 0;
  for (auto& entry : std::filesystem::directory_iterator(box.path())) {
    EXPECT_EQ(entry.path().filename(), "store");
    ++entries;
  }
  EXPECT_EQ(entries, 1u);
  for (auto& entry : std::filesystem::directory_iterator(root)) {
    std::string component = entry.path().filename().string();
    EXPECT_NE(component, ".");
    EXPECT_NE(component, "..");
    for (char c : component) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-') << component;
    EXPECT_FALSE(entry.is_symlink());
  }
  EXPECT_FALSE(std::filesystem::exists(box.path() + "/escaped"));
}

}  // namespace
