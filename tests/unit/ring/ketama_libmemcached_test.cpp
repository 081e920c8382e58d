// weft's ketama against the real libmemcached (Debian's libmemcached-dev),
// with weighted ketama on, key by key.
#include <libmemcached/memcached.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "weft/ring/ketama.hpp"

namespace {

using weft::ring::ketama;
using weft::ring::node;

struct server {
  std::string host;
  unsigned port;
  unsigned weight;
};

struct memcached_deleter {
  void operator()(memcached_st* memc) const { memcached_free(memc); }
};

std::unique_ptr<memcached_st, memcached_deleter> libmemcached_ring(const std::vector<server>& servers) {
  std::unique_ptr<memcached_st, memcached_deleter> memc(memcached_create(nullptr));
  EXPECT_EQ(memcached_behavior_set(memc.get(), MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1), MEMCACHED_SUCCESS);
  for (const server& s : servers) {
    EXPECT_EQ(memcached_server_add_with_weight(memc.get(), s.host.c_str(), static_cast<in_port_t>(s.port), s.weight),
              MEMCACHED_SUCCESS);
  }
  return memc;
}

std::vector<node> weft_nodes(const std::vector<server>& servers) {
  std::vector<node> nodes;
  for (const server& s : servers) nodes.push_back({fmt::format("{}:{}", s.host, s.port), static_cast<double>(s.weight)});
  return nodes;
}

// Keys of many shapes: short and long (past MD5's one-block fast path), text and binary.
std::vector<std::string> test_keys(std::size_t count, std::uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<std::string> keys;
  keys.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    switch (i % 4) {
      case 0: keys.push_back(fmt::format("key:{}", i)); break;
      case 1: keys.push_back(fmt::format("user/{}/session/{}", random() % 100000, i)); break;
      case 2: {
        std::string key(1 + random() % 120, '\0');
        for (char& c : key) c = static_cast<char>('a' + random() % 26);
        keys.push_back(std::move(key));
        break;
      }
      default: {
        std::string key(1 + random() % 40, '\0');
        for (char& c : key) c = static_cast<char>(1 + random() % 255);
        keys.push_back(std::move(key));
      }
    }
  }
  return keys;
}

void expect_same_choice(const std::vector<server>& servers, std::uint32_t seed) {
  auto memc = libmemcached_ring(servers);
  auto ours = ketama::make(weft_nodes(servers));
  ASSERT_TRUE(ours) << ours.error().message();
  const auto keys = test_keys(100'000, seed);
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::vector<std::size_t> batch(keys.size());
  (*ours)->locate_many(views, batch);
  std::size_t mismatches = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const std::uint32_t expected = memcached_generate_hash(memc.get(), keys[i].data(), keys[i].size());
    const std::size_t got = (*ours)->locate_index(keys[i]);
    if (got != expected || batch[i] != expected) {
      if (++mismatches < 5) {
        ADD_FAILURE() << "key #" << i << " (" << keys[i].size() << " bytes): libmemcached says " << expected
                      << ", weft says " << got << " (batched " << batch[i] << ")";
      }
    }
  }
  EXPECT_EQ(mismatches, 0U);
}

TEST(ring_ketama_libmemcached, same_node_for_equal_weights_on_port_11211) {
  expect_same_choice({{"10.0.0.1", 11211, 1}, {"10.0.0.2", 11211, 1}, {"10.0.0.3", 11211, 1},
                      {"10.0.0.4", 11211, 1}, {"10.0.0.5", 11211, 1}},
                     1);
}

TEST(ring_ketama_libmemcached, same_node_for_weights_and_other_ports) {
  expect_same_choice({{"cache-a.example", 11211, 1}, {"cache-b.example", 11212, 2}, {"cache-c.example", 22122, 3},
                      {"10.1.2.3", 11211, 5}, {"10.1.2.3", 11213, 1}, {"memcached-7", 11211, 4},
                      {"192.168.0.9", 40000, 2}},
                     2);
}

TEST(ring_ketama_libmemcached, same_node_for_widely_spread_weights) {
  expect_same_choice({{"small", 11211, 1}, {"medium", 11211, 10}, {"large", 11211, 100}, {"other", 11300, 7}}, 3);
}

TEST(ring_ketama_libmemcached, same_node_for_fifty_random_servers) {
  std::mt19937 random(4);
  std::vector<server> servers;
  for (int i = 0; i < 50; ++i) {
    const unsigned port = i % 3 == 0 ? 11211U : 11211U + static_cast<unsigned>(random() % 1000);
    servers.push_back({fmt::format("node{}.cluster.local", i), port, 1 + static_cast<unsigned>(random() % 8)});
  }
  expect_same_choice(servers, 4);
}

TEST(ring_ketama_libmemcached, same_node_for_every_node_count_from_one_to_twenty) {
  // Point counts come from float arithmetic that rounds differently per count.
  for (unsigned count = 1; count <= 20; ++count) {
    std::vector<server> servers;
    for (unsigned i = 0; i < count; ++i) servers.push_back({fmt::format("h{}", i), 11211 + (i % 2), 1 + i % 3});
    auto memc = libmemcached_ring(servers);
    auto ours = ketama::make(weft_nodes(servers));
    ASSERT_TRUE(ours);
    const auto keys = test_keys(5'000, count);
    for (const std::string& key : keys) {
      ASSERT_EQ((*ours)->locate_index(key), memcached_generate_hash(memc.get(), key.data(), key.size()))
          << "nodes " << count;
    }
  }
}

// libmemcached 1.1.4 asserts (aborts) above 100 servers: MEMCACHED_CONTINUUM_SIZE.
TEST(ring_ketama_libmemcached, same_node_for_one_hundred_servers) {
  std::vector<server> servers;
  for (int i = 0; i < 100; ++i) servers.push_back({fmt::format("10.9.{}.{}", i / 250, i % 250), 11211, 1});
  expect_same_choice(servers, 5);
}

TEST(ring_ketama, point_counts_follow_the_ketama_formula) {
  auto ring = ketama::make({{"a:11211", 1}, {"b:11211", 1}, {"c:11211", 1}});
  ASSERT_TRUE(ring);
  for (std::uint32_t points : (*ring)->points_per_node()) EXPECT_EQ(points, 160U);
  auto weighted = ketama::make({{"a:11211", 1}, {"b:11211", 3}});
  ASSERT_TRUE(weighted);
  // floor(1/4 * 40 * 2) * 4 = 80, floor(3/4 * 40 * 2) * 4 = 240
  EXPECT_EQ((*weighted)->points_per_node(), (std::vector<std::uint32_t>{80, 240}));
}

}  // namespace
