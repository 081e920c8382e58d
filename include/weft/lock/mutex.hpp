// weft::lock::mutex: an exclusive lock on a name, in any store.
//
//   auto store = weft::lock::open("file:///run/user/1000/weft").value();
//   auto m = weft::lock::mutex::make(store, "deploy").value();
//   auto held = co_await m.lock(ctx);          // result<lease>
//   if (!held) return held.error();
//   write_guarded(held->token());              // see fence.hpp
//   co_await held->release();
//
// Waiters are served first in, first out; a release wakes only the next one.
// Not reentrant: locking twice from one task queues behind yourself.
//
// Thread-safety: a mutex is a cheap value (store pointer + name); copies may
// be used from any number of tasks at once. Cancel safety: cancelling the
// context of a waiting lock() removes the waiter from the queue; if the grant
// raced with the cancellation the lock is released again, never leaked.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "weft/lock/recipe_base.hpp"

namespace weft::lock {

class mutex : public recipe_base {
 public:
  // errc::invalid_argument for a bad name or options.
  static result<mutex> make(std::shared_ptr<store> where, std::string_view name,
                            lease_options options = {});

  // Waits until held or until ctx ends (errc::canceled, deadline_exceeded).
  task<result<lease>> lock(context ctx) const;
  // Never waits for other holders: errc::contended when held. ctx bounds the
  // store round trip only.
  task<result<lease>> try_lock(context ctx) const;

 private:
  using recipe_base::recipe_base;
};

}  // namespace weft::lock
