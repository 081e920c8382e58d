#include "weft/lock/uri.hpp"

#include <gtest/gtest.h>

#include "weft/lock/store.hpp"

using weft::errc;
using weft::lock::parse_store_uri;

TEST(store_uri, parses_mem_and_file) {
  auto mem = parse_store_uri("mem://");
  ASSERT_TRUE(mem);
  EXPECT_EQ(mem->scheme, "mem");
  EXPECT_TRUE(mem->hosts.empty());
  auto file = parse_store_uri("file:///var/lib/weft?ttl=10s");
  ASSERT_TRUE(file);
  EXPECT_EQ(file->scheme, "file");
  EXPECT_EQ(file->path, "/var/lib/weft");
  EXPECT_EQ(file->query.at("ttl"), "10s");
}

TEST(store_uri, parses_credentials_hosts_ports_and_ipv6) {
  auto redis = parse_store_uri("REDIS://alice:s%40cret@cache.local:6380/2");
  ASSERT_TRUE(redis);
  EXPECT_EQ(redis->scheme, "redis");
  EXPECT_EQ(redis->user, "alice");
  EXPECT_EQ(redis->password, "s@cret");
  ASSERT_EQ(redis->hosts.size(), 1u);
  EXPECT_EQ(redis->hosts[0].host, "cache.local");
  EXPECT_EQ(redis->hosts[0].port, 6380);
  EXPECT_EQ(redis->path, "/2");
  auto many = parse_store_uri("redlock://a:1,b:2,[::1]:3");
  ASSERT_TRUE(many);
  ASSERT_EQ(many->hosts.size(), 3u);
  EXPECT_EQ(many->hosts[2].host, "::1");
  EXPECT_EQ(many->hosts[2].port, 3);
}

TEST(store_uri, redacted_never_shows_the_password) {
  auto redis = parse_store_uri("redis://alice:hunter2@h:1");
  ASSERT_TRUE(redis);
  EXPECT_EQ(redis->redacted(), "redis://alice:***@h:1");
}

TEST(store_uri, rejects_malformed_uris_without_echoing_credentials) {
  for (const char* text :
       {"", "mem", "://x", "1x://", "redis://hunter2:hunter2@h:0", "redis://hunter2:hunter2@h:65536",
        "redis://hunter2:hunter2@h:port", "redis://hunter2:hunter2@", "redis://h:", "redis://a,,b",
        "redis://[::1", "redis://::1:5", "redis://ho st", "redis://hunter2:hunter2@h:99999999",
        "file:///x#frag", "file:///x?novalue", "file:///a%zz", "redis://hunter2:hunter2@h:1\n"}) {
    auto parsed = parse_store_uri(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code(), errc::invalid_argument) << text;
    EXPECT_EQ(parsed.error().message().find("hunter2"), std::string_view::npos) << parsed.error().message();
    EXPECT_NE(parsed.error().message().find("invalid store URI"), std::string_view::npos) << text;
  }
}

TEST(store_uri, rejects_malformed_uris_without_echoing_query_values) {
  for (const char* text : {"redis://h:0/?password=hunter2", "redis://h:1/?password=hunter2&x",
                           "redis://h:1/?password=hunter2&password=hunter2",
                           "zk://h:0/chroot?auth=hunter2"}) {
    auto parsed = parse_store_uri(text);
    ASSERT_FALSE(parsed) << text;
    const std::string_view message = parsed.error().message();
    EXPECT_EQ(message.find("hunter2"), std::string_view::npos) << message;
    EXPECT_TRUE(message.find("password=***") != std::string_view::npos ||
                message.find("auth=***") != std::string_view::npos)
        << message;
  }
}

TEST(store_uri, open_rejects_an_unknown_scheme_and_lists_known_ones) {
  auto opened = weft::lock::open("gopher://user:hunter2@host:70");
  ASSERT_FALSE(opened);
  EXPECT_EQ(opened.error().code(), errc::invalid_argument);
  EXPECT_NE(opened.error().message().find("unknown store scheme \"gopher\""), std::string_view::npos);
  EXPECT_NE(opened.error().message().find("mem"), std::string_view::npos);
  EXPECT_EQ(opened.error().message().find("hunter2"), std::string_view::npos);
}

TEST(store_uri, default_store_follows_the_documented_rule) {
  ::setenv("WEFT_STORE", "mem://x", 1);
  EXPECT_EQ(*weft::lock::default_store_uri(), "mem://x");
  ::unsetenv("WEFT_STORE");
  ::setenv("XDG_RUNTIME_DIR", "/run/user/7", 1);
  EXPECT_EQ(*weft::lock::default_store_uri(), "file:///run/user/7/weft/locks");
  ::unsetenv("XDG_RUNTIME_DIR");
  ::setenv("XDG_STATE_HOME", "/home/u/.state", 1);
  EXPECT_EQ(*weft::lock::default_store_uri(), "file:///home/u/.state/weft/locks");
  ::unsetenv("XDG_STATE_HOME");
  ::setenv("HOME", "/home/u", 1);
  EXPECT_EQ(*weft::lock::default_store_uri(), "file:///home/u/.local/state/weft/locks");
}

TEST(lock_names, empty_and_huge_names_are_rejected_clearly) {
  EXPECT_EQ(weft::lock::check_name("").error().code(), errc::invalid_argument);
  std::string huge(1 << 20, 'x');
  auto checked = weft::lock::check_name(huge);
  ASSERT_FALSE(checked);
  EXPECT_NE(checked.error().message().find("limit is 4096"), std::string_view::npos);
  EXPECT_TRUE(weft::lock::check_name(std::string("a/../\0b", 7)));
}
