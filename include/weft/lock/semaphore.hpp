// weft::lock::semaphore: at most N holders of a name at once.
//
// Each permit is its own lease, with its own fencing token, TTL, renewal and
// lost() signal: a crashed or paused permit holder frees only its permit.
// Waiters are FIFO: a permit freed goes to the oldest waiter.
// Every client of one name should use the same permit count; the grant rule
// uses the count carried by each waiting request.
//
// Thread-safety and cancel safety: as mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "weft/lock/recipe_base.hpp"

namespace weft::lock {

// Most permits a semaphore may have.
inline constexpr std::uint64_t max_permits = 1u << 20;

class semaphore : public recipe_base {
 public:
  // errc::invalid_argument for a bad name or options, or permits outside
  // 1..max_permits.
  static result<semaphore> make(std::shared_ptr<store> where, std::string_view name,
                                std::uint64_t permits, lease_options options = {});

  task<result<lease>> acquire(context ctx) const;
  task<result<lease>> try_acquire(context ctx) const;

  std::uint64_t permits() const noexcept { return permits_; }

 private:
  semaphore(std::shared_ptr<store> where, std::string name, std::uint64_t permits,
            lease_options options)
      : recipe_base(std::move(where), std::move(name), options), permits_(permits) {}
  std::uint64_t permits_;
};

}  // namespace weft::lock
