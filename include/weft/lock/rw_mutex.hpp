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

#include "weft/lock/lease.hpp"
#include "weft/lock/store.hpp"
#include "weft/result.hpp"
#include "weft/task.hpp"

namespace weft::lock {

class rw_mutex {
 public:
  static result<rw_mutex> make(std::shared_ptr<store> where, std::string_view name,
                               lease_options options = {});

  // Exclusive (writer).
  task<result<lease>> lock(context ctx) const;
  task<result<lease>> try_lock(context ctx) const;
  // Shared (reader).
  task<result<lease>> lock_shared(context ctx) const;
  task<result<lease>> try_lock_shared(context ctx) const;

  const std::string& name() const noexcept { return name_; }
  const std::shared_ptr<store>& where() const noexcept { return store_; }

 private:
  rw_mutex(std::shared_ptr<store> where, std::string name, lease_options options)
      : store_(std::move(where)), name_(std::move(name)), options_(options) {}
  task<result<lease>> acquire(access mode, bool wait, context ctx) const;
  std::shared_ptr<store> store_;
  std::string name_;
  lease_options options_;
};

}  // namespace weft::lock
