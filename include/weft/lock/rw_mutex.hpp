// weft::lock::rw_mutex: many readers or one writer on a name.
//
// One FIFO queue holds readers and writers: a reader is granted only when no
// writer holds the lock and no earlier waiter is still queued, so a waiting
// writer is never starved by a stream of readers (readers queued behind it
// wait for it). Consecutive readers at the head are granted together.
// Every grant, shared or exclusive, gets its own fencing token.
//
// Thread-safety and cancel safety: as mutex.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "weft/lock/recipe_base.hpp"

namespace weft::lock {

class rw_mutex : public recipe_base {
 public:
  static result<rw_mutex> make(std::shared_ptr<store> where, std::string_view name,
                               lease_options options = {});

  // Exclusive (writer).
  task<result<lease>> lock(context ctx) const;
  task<result<lease>> try_lock(context ctx) const;
  // Shared (reader).
  task<result<lease>> lock_shared(context ctx) const;
  task<result<lease>> try_lock_shared(context ctx) const;

 private:
  using recipe_base::recipe_base;
};

}  // namespace weft::lock
