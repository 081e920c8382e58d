// The store passwords weft blanks out of its own argv (argv_secrets.hpp).
#include "argv_secrets.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

std::string blanked(std::string uri) {
  for (auto [offset, length] : weft::cli::store_uri_secrets(uri)) uri.replace(offset, length, length, '*');
  return uri;
}

TEST(argv_secrets, the_userinfo_password_is_found_for_redis_and_zk) {
  EXPECT_EQ(blanked("redis://:s3cret@127.0.0.1:6379/0"), "redis://:******@127.0.0.1:6379/0");
  EXPECT_EQ(blanked("redis://weft:s3cret@host"), "redis://weft:******@host");
  EXPECT_EQ(blanked("zk://alice:pa:ss@h1:2181,h2:2181/chroot"), "zk://alice:*****@h1:2181,h2:2181/chroot");
  EXPECT_EQ(blanked("redlock://:pw@a:1,b:2,c:3"), "redlock://:**@a:1,b:2,c:3");
}

TEST(argv_secrets, secret_query_values_are_found_and_other_parameters_kept) {
  EXPECT_EQ(blanked("redis://host?timeout=2s&password=abc&waiter_ttl=1s"),
            "redis://host?timeout=2s&password=***&waiter_ttl=1s");
  EXPECT_EQ(blanked("zk://host/x?auth=user:pw&token=t&session_timeout=2s"),
            "zk://host/x?auth=*******&token=*&session_timeout=2s");
  EXPECT_EQ(blanked("redis://:a@host?password_file=/run/pw"), "redis://:*@host?password_file=/run/pw");
}

TEST(argv_secrets, uris_without_secrets_are_left_alone) {
  for (std::string uri : {"file:///var/lib/weft", "mem://", "redis://127.0.0.1:6379", "redis://weft@host",
                          "zk://h:2181/a@b", "redis://host?password=", "not a uri", ""}) {
    EXPECT_TRUE(weft::cli::store_uri_secrets(uri).empty()) << uri;
  }
}

TEST(argv_secrets, both_flag_forms_are_blanked_in_place_and_the_child_command_is_not) {
  std::vector<std::string> storage = {"weft", "lock", "--store", "redis://:pw1@h", "--store=zk://u:pw2@h",
                                      "name", "--", "cmd", "--store", "redis://:child@h"};
  std::vector<char*> argv;
  for (auto& s : storage) argv.push_back(s.data());
  EXPECT_EQ(weft::cli::blank_store_secrets(static_cast<int>(argv.size()), argv.data()), 2u);
  EXPECT_STREQ(argv[3], "redis://:***@h");
  EXPECT_STREQ(argv[4], "--store=zk://u:***@h");
  EXPECT_STREQ(argv[5], "name");
  EXPECT_STREQ(argv[9], "redis://:child@h");
}

TEST(argv_secrets, a_trailing_store_flag_without_a_value_is_harmless) {
  std::string a = "weft", b = "status", c = "--store";
  char* argv[] = {a.data(), b.data(), c.data()};
  EXPECT_EQ(weft::cli::blank_store_secrets(3, argv), 0u);
}

}  // namespace
