// The weft CLI with --store zk://: `weft lock`, `weft sem`, `weft elect` and
// `weft demo` run as real processes against the standalone test server.
#include <gtest/gtest.h>

#include <string>

#include "cli_runner.hpp"
#include "zk_test_support.hpp"

namespace weft::lock::zk {
namespace {

using cli::testing::run_weft;
using testing::unique_name;

// Shell-quoted store URI with a short session (the demo pauses a holder past it).
std::string store_argument() { return "--store '" + testing::standalone_uri("session_timeout=2s") + "'"; }

TEST(zk_cli, lock_runs_the_command_with_name_token_and_store_and_excludes_others) {
  const std::string name = unique_name("cli-lock");
  // The inner --no-wait lock runs while the outer one holds: it must exit 75.
  const auto result = run_weft(
      "lock " + store_argument() + " " + name +
      " -- /bin/sh -c 'echo \"$WEFT_LOCK_NAME|$WEFT_FENCING_TOKEN|$WEFT_STORE\"; \"$0\" lock " + store_argument() +
      " --no-wait " + name + " -- true; echo \"inner $?\"' '" + WEFT_BINARY + "'");
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  const auto first = result.out.substr(0, result.out.find('\n'));
  EXPECT_EQ(first.substr(0, first.find('|')), name) << result.out;
  const auto token = first.substr(first.find('|') + 1, first.rfind('|') - first.find('|') - 1);
  EXPECT_GT(std::stoull(token.empty() ? "0" : token), 0u) << result.out;
  EXPECT_NE(first.find("|zk://"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("inner 75"), std::string::npos) << "a second holder got in:\n" << result.out << result.err;
}

TEST(zk_cli, sem_admits_its_permits_and_no_more) {
  const std::string name = unique_name("cli-sem");
  const std::string sem = "\"$0\" sem " + store_argument() + " --permits 2 --no-wait " + name;
  // Outer holds one permit, the middle the second, the inner finds none.
  const auto result = run_weft("sem " + store_argument() + " --permits 2 " + name + " -- /bin/sh -c '" + sem +
                               " -- /bin/sh -c \"" + sem + " -- true; echo inner \\$?\" \"$0\"; echo middle $?' '" +
                               WEFT_BINARY + "'");
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("inner 75"), std::string::npos) << result.out << result.err;
  EXPECT_NE(result.out.find("middle 0"), std::string::npos) << result.out << result.err;
}

TEST(zk_cli, elect_once_runs_the_command_as_leader_with_its_token) {
  const std::string name = unique_name("cli-elect");
  const auto result = run_weft("elect " + store_argument() + " --once --value node-a " + name +
                               " -- /bin/sh -c 'echo \"leader $WEFT_FENCING_TOKEN\"'");
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(result.out.rfind("leader ", 0), 0u) << result.out;
  EXPECT_NE(result.out, "leader \n") << "no token in the environment";
}

TEST(zk_cli, demo_passes_every_check_on_zookeeper) {
  const auto result = run_weft("demo " + store_argument());
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_NE(result.out.find("checks passed"), std::string::npos) << result.out;
  EXPECT_EQ(result.out.find("FAIL"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace weft::lock::zk
