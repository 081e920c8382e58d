// Hostile input to the weft CLI: each bad invocation of `weft lock` /
// `weft sem` exits 64 (EX_USAGE) with a message on stderr, never runs the
// command, never echoes a planted secret, and leaves the store untouched.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "child_process.hpp"
#include "hostile_support.hpp"

namespace {

using weft::hostile::planted_secret;
using weft::hostile::sandbox;

using run_result = weft::test::child_result;
using weft::test::read_all;

// Runs the weft binary with `args` (no shell), WEFT_STORE unset.
run_result run_weft(const std::vector<std::string>& args, const std::string& scratch) {
  return weft::test::run_child(WEFT_BINARY, args, scratch, {.unset_environment = {"WEFT_STORE"}});
}

TEST(hostile_cli, bad_invocations_exit_64_with_a_message_and_change_nothing) {
  sandbox box;
  const std::string store_dir = box.path() + "/store";
  const std::string store = "file://" + store_dir;
  const std::string marker = box.path() + "/ran";
  const std::string scratch = box.path() + "/scratch";
  ::mkdir(scratch.c_str(), 0700);
  const std::string secret(planted_secret);
  const std::vector<std::string> touch = {"--", "/usr/bin/touch", marker};
  auto with = [&](std::vector<std::string> head, bool command = true) {
    if (command) head.insert(head.end(), touch.begin(), touch.end());
    return head;
  };
  const std::vector<std::vector<std::string>> cases = {
      with({"lock", "--store", store, ""}),
      with({"lock", "--store", store, std::string(5000, 'x')}),
      with({"lock", "--store", store, "--ttl", "-1s", "n"}),
      with({"lock", "--store", store, "--ttl", "0", "n"}),
      with({"lock", "--store", store, "--ttl", "10", "n"}),
      with({"lock", "--store", store, "--ttl", "99999999999999h", "n"}),
      with({"lock", "--store", store, "--ttl", "1ms", "n"}),
      with({"lock", "--store", store, "--wait", "soon", "n"}),
      with({"lock", "--store", store, "--wait", "-5s", "n"}),
      with({"lock", "--store", store, "--grace", "1parsec", "n"}),
      with({"lock", "--store", store, "--wait", "1s", "--no-wait", "n"}),
      with({"lock", "--store", "ftp://host/dir", "n"}),
      with({"lock", "--store", "file://relative", "n"}),
      with({"lock", "--store", "redis://admin:" + secret + "@127.0.0.1:99999", "n"}),
      with({"lock", "--store", "ftp://admin:" + secret + "@host/dir", "n"}),
      with({"lock", "--store", "zk://admin:" + secret + "@127.0.0.1:0/weft", "n"}),
      with({"lock", "--store", store, "n"}, false),
      with({"lock", "--store", store}, false),
      with({"lock", "--store", store, "--no-such-flag", "n"}),
      with({"sem", "--store", store, "--permits", "0", "n"}),
      with({"sem", "--store", store, "--permits", "9223372036854775808", "n"}),
      with({"sem", "--store", store, "--permits", "-1", "n"}),
      with({"sem", "--store", store, "--permits", "many", "n"}),
  };
  for (const auto& args : cases) {
    std::string shown;
    for (auto& a : args) shown += (a.size() > 60 ? a.substr(0, 60) + "..." : a) + " ";
    SCOPED_TRACE(shown);
    run_result r = run_weft(args, scratch);
    EXPECT_EQ(r.exit_code, 64) << r.err;
    EXPECT_GE(r.err.size(), 10u) << "no message on stderr";
    EXPECT_EQ(r.err.find(planted_secret), std::string::npos) << r.err;
    EXPECT_EQ(r.out.find(planted_secret), std::string::npos) << r.out;
    EXPECT_FALSE(std::filesystem::exists(marker)) << "the command ran";
    std::filesystem::remove(marker);
    if (std::filesystem::exists(store_dir)) {
      // Opening the store may create its directory; no lock in it.
      EXPECT_TRUE(std::filesystem::is_empty(store_dir)) << "a lock was created";
    }
  }
}

TEST(hostile_cli, path_like_lock_name_runs_inside_the_store_only) {
  sandbox box;
  const std::string store_dir = box.path() + "/store";
  const std::string scratch = box.path() + "/scratch";
  ::mkdir(scratch.c_str(), 0700);
  run_result r = run_weft({"lock", "--store", "file://" + store_dir, "../../escaped", "--", "/bin/true"}, scratch);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(std::filesystem::exists(box.path() + "/escaped"));
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::path(box.path()).parent_path() / "escaped"));
}

// The owner id (the secret claim on a file-store entry) never reaches the
// child's environment nor `weft status` output, text or JSON.
TEST(hostile_cli, owner_id_is_in_neither_the_child_environment_nor_weft_status) {
  sandbox box;
  const std::string store_dir = box.path() + "/store";
  const std::string store = "file://" + store_dir;
  const std::string scratch = box.path() + "/scratch";
  const std::string env_file = box.path() + "/env";
  const std::string release_file = box.path() + "/release";
  ::mkdir(scratch.c_str(), 0700);
  const std::string holder_scratch = box.path() + "/holder";
  ::mkdir(holder_scratch.c_str(), 0700);
  pid_t holder = ::fork();
  if (holder == 0) {
    run_result r = run_weft({"lock", "--store", store, "held", "--", "/bin/sh", "-c",
                             "env > '" + env_file + "'; while [ ! -e '" + release_file + "' ]; do sleep 0.05; done"},
                            holder_scratch);
    ::_exit(r.exit_code);
  }
  for (int i = 0; i < 400 && !std::filesystem::exists(env_file); ++i) ::usleep(25'000);
  ASSERT_TRUE(std::filesystem::exists(env_file)) << "the holder never ran";
  ::usleep(100'000);  // let the shell finish writing
  std::string owner;
  for (auto& entry : std::filesystem::recursive_directory_iterator(store_dir)) {
    std::string file = entry.path().filename().string();
    if (file.rfind("p-", 0) == 0) owner = file.substr(2);
  }
  ASSERT_EQ(owner.size(), 32u) << "could not find the holder's owner id";
  run_result text = run_weft({"status", "--store", store}, scratch);
  run_result json = run_weft({"status", "--store", store, "--json"}, scratch);
  EXPECT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("held"), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find(owner), std::string::npos) << text.out;
  EXPECT_EQ(text.err.find(owner), std::string::npos) << text.err;
  EXPECT_EQ(json.out.find(owner), std::string::npos) << json.out;
  const std::string env = read_all(env_file);
  EXPECT_NE(env.find("WEFT_FENCING_TOKEN="), std::string::npos) << env;
  EXPECT_EQ(env.find(owner), std::string::npos) << "the child can see the owner id";
  { std::ofstream(release_file) << "go"; }
  int status = 0;
  ::waitpid(holder, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

}  // namespace
