// weft::lock::election: leader election on a name.
//
// campaign() queues the candidate (FIFO) and returns once it leads; the
// returned lease is the leadership: its token orders leaders (a newer leader
// always has a higher token, so followers and resources can fence a deposed
// leader), lost() fires when leadership can no longer be trusted, and
// releasing it (or dropping it) resigns. observe() follows the leader as it
// changes, without polling where the store allows.
//
//   auto e = weft::lock::election::make(store, "scheduler").value();
//   std::optional<std::uint64_t> seen;           // nullopt: report the leader now
//   for (;;) {
//     auto now = co_await e.observe(ctx, seen);  // waits for a change
//     if (!now) break;                           // ctx ended, or the store failed
//     seen = *now ? (*now)->token : 0;           // 0: nobody leads
//   }
//
// Thread-safety and cancel safety: as mutex; a cancelled observe() leaves no trace.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "weft/lock/recipe_base.hpp"

namespace weft::lock {

struct leader {
  std::uint64_t token = 0;
  std::string value;
  std::string holder;  // "pid 1234", for people
  std::chrono::nanoseconds time_left{0};
};

class election : public recipe_base {
 public:
  static result<election> make(std::shared_ptr<store> where, std::string_view name,
                               lease_options options = {});

  // Waits to lead; `value` is published to observers (e.g. an address).
  task<result<lease>> campaign(context ctx, std::string value) const;
  // Leads now or fails with errc::contended.
  task<result<lease>> try_campaign(context ctx, std::string value) const;

  // The leader now; nullopt when nobody leads.
  task<result<std::optional<leader>>> current(context ctx) const;
  // Waits until the leader's token differs from `last_token` (0 = nobody
  // led), then returns the new leader (nullopt = nobody leads). With
  // last_token nullopt it returns the current leader at once.
  task<result<std::optional<leader>>> observe(context ctx,
                                              std::optional<std::uint64_t> last_token) const;

 private:
  using recipe_base::recipe_base;
};

}  // namespace weft::lock
