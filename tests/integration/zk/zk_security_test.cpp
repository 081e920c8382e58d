// Digest authentication: lock nodes are readable and deletable only by
// their creator's identity.
#include <gtest/gtest.h>

#include <cstdlib>

#include "weft/lock/mutex.hpp"
#include "zk_session.hpp"
#include "zk_store.hpp"
#include "zk_test_support.hpp"

namespace weft::lock::zk {
namespace {

using namespace std::chrono_literals;
using testing::open_or_fail;
using testing::unique_name;

// zk://user:password@host:port/<fresh chroot>?session_timeout=3s
std::string with_identity(const std::string& identity, const std::string& chroot) {
  std::string base = testing::required_env("WEFT_TEST_ZK");
  if (base.empty()) return base;
  const auto hosts_begin = base.find("://") + 3;
  const auto path_begin = base.find('/', hosts_begin);
  std::string hosts = base.substr(hosts_begin, path_begin - hosts_begin);
  return "zk://" + (identity.empty() ? std::string() : identity + "@") + hosts + chroot + "?session_timeout=3s";
}

std::string hosts_only() {
  std::string base = testing::required_env("WEFT_TEST_ZK");
  const auto hosts_begin = base.find("://") + 3;
  return base.substr(hosts_begin, base.find('/', hosts_begin) - hosts_begin);
}

task<reply> settle(std::shared_ptr<session> s, task<reply> request) {
  // Wait for the session to connect, then run the request.
  for (int i = 0; i < 100 && s->state() != connection_state::connected; ++i) co_await sleep_for(20ms);
  co_return co_await std::move(request);
}

TEST(zk_security, another_identity_can_neither_read_nor_delete_the_holders_node) {
  runtime_options options;
  options.workers = 2;
  runtime rt(options);
  const std::string chroot = "/" + unique_name("weft-auth");
  auto alice = open_or_fail(with_identity("alice:alice-secret", chroot));
  auto bob = open_or_fail(with_identity("bob:bob-secret", chroot));
  ASSERT_NE(alice, nullptr);
  ASSERT_NE(bob, nullptr);
  const std::string name = "guarded";
  auto alice_session = session_of(alice);

  session_options anonymous_options;
  anonymous_options.hosts = hosts_only();
  anonymous_options.session_timeout = 3000ms;
  auto anonymous = session::create(anonymous_options);
  ASSERT_TRUE(anonymous);
  session_options bob_options = anonymous_options;
  bob_options.auth = "bob:bob-secret";
  auto bob_raw = session::create(bob_options);
  ASSERT_TRUE(bob_raw);

  rt.block_on([&]() -> task<void> {
    auto m = mutex::make(alice, name).value();
    auto held = co_await m.lock(context{});
    EXPECT_TRUE(held) << (held ? "" : std::string(held.error().message()));
    if (!held) co_return;

    // Alice's node, found with Alice's own session.
    const std::string dir = chroot + "/mutex/" + name;
    auto kids = co_await alice_session->get_children(dir);
    EXPECT_TRUE(kids.ok());
    EXPECT_EQ(kids.children.size(), 1u);
    if (kids.children.size() != 1) co_return;
    const std::string node = dir + "/" + kids.children[0];

    for (auto* other : {&*bob_raw, &*anonymous}) {
      auto s = *other;
      auto read = co_await settle(s, s->get(node));
      EXPECT_EQ(read.rc, ZNOAUTH) << "another identity read the holder's node: " << zerror(read.rc);
      auto listed = co_await s->get_children(dir);
      EXPECT_EQ(listed.rc, ZNOAUTH) << zerror(listed.rc);
      auto removed = co_await s->remove(node);
      EXPECT_EQ(removed.rc, ZNOAUTH) << "another identity deleted the holder's node: " << zerror(removed.rc);
    }
    // Bob through the store API gets a clear permission error, not a hang.
    auto bob_mutex = mutex::make(bob, name).value();
    auto [bounded, cancel] = with_timeout(context{}, 10s);
    auto denied = co_await bob_mutex.try_lock(bounded);
    cancel();
    EXPECT_FALSE(denied);
    if (!denied) {
      EXPECT_EQ(denied.error().code(), errc::permission_denied) << denied.error().message();
    }

    // Still held by Alice, intact.
    auto still = co_await alice_session->exists(node);
    EXPECT_TRUE(still.ok());
    EXPECT_EQ(still.stat.ephemeralOwner, alice_session->session_id());
    EXPECT_FALSE(held->is_lost());
    EXPECT_TRUE(co_await held->release());
  }());
}

TEST(zk_security, credentials_come_from_weft_zk_auth_when_the_uri_has_none) {
  ::setenv("WEFT_ZK_AUTH", "carol:carol-secret", 1);
  auto store = open_or_fail(with_identity("", "/" + unique_name("weft-auth-env")));
  ::unsetenv("WEFT_ZK_AUTH");
  ASSERT_NE(store, nullptr);
  auto s = session_of(store);
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->authenticated());
  EXPECT_EQ(store->uri().find("carol-secret"), std::string::npos);
}

TEST(zk_security, the_password_never_appears_in_the_uri_or_errors) {
  auto store = open_or_fail(with_identity("dave:hunter2", "/" + unique_name("weft-auth-redact")));
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->uri().find("hunter2"), std::string::npos) << store->uri();
  auto bad = open(with_identity("dave:hunter2", "/x") + "&bogus=1");
  ASSERT_FALSE(bad);
  EXPECT_EQ(std::string(bad.error().message()).find("hunter2"), std::string::npos) << bad.error().message();
}

}  // namespace
}  // namespace weft::lock::zk
