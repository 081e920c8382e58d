// weft::lock::lease: proof of holding a lock, a permit or leadership.
//
// A lease carries a fencing token: a 64-bit number that strictly increases
// for each lock name across every acquisition, crash and client restart, so a
// guarded resource (see fence.hpp) can reject writes from a holder that was
// paused past its TTL. The store renews the lease in the background every
// ttl/3 for as long as it is held. lost() is a context that is cancelled the
// moment the lease can no longer be trusted (renewal failed, the TTL ran out
// before a renewal landed, the store evicted us): stop touching the guarded
// resource when it fires. release() gives the lock to the next waiter; the
// destructor does the same on a best-effort basis, without blocking or
// throwing (the store finishes it in the background, or the TTL expires it).
//
// Thread-safety: a lease is a move-only handle. token(), name(), is_lost()
// and lost() may be called from any thread; release() once, from one task.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "weft/context.hpp"
#include "weft/result.hpp"
#include "weft/task.hpp"

namespace weft::lock {

// Backend side of a lease. Stores subclass it; users only see `lease`.
class lease_state {
 public:
  lease_state(std::string name, std::uint64_t token, std::chrono::nanoseconds ttl);
  lease_state(const lease_state&) = delete;
  lease_state& operator=(const lease_state&) = delete;
  virtual ~lease_state();

  const std::string& name() const noexcept { return name_; }
  std::uint64_t token() const noexcept { return token_; }
  std::chrono::nanoseconds ttl() const noexcept { return ttl_; }

  // Called by the store the moment the lease can no longer be trusted.
  // Thread-safe and idempotent; runs the lost callbacks once.
  void mark_lost(std::string reason) noexcept;
  bool is_lost() const noexcept { return lost_.load(std::memory_order_acquire); }
  std::string lost_reason() const;

  // The context lease::lost() returns (created on first use).
  context lost_context() const;

  // Runs `callback` once when the lease is lost (at once if it already is).
  // Returns an id for remove_lost_callback. Callbacks must be short.
  std::uint64_t on_lost(std::function<void()> callback);
  void remove_lost_callback(std::uint64_t id) noexcept;

  // Gives the lock up and waits for the store to confirm. Idempotent.
  virtual task<result<void>> release() = 0;
  // Gives the lock up without blocking: the store finishes in the background.
  virtual void release_detached() noexcept = 0;
  // Gives the lock up on the calling thread, without a runtime, when the
  // store can (file://); errc::unsupported, with nothing done, otherwise.
  // The default answers errc::unsupported.
  virtual result<void> release_now();
  // Starts the renewal of a lease granted with acquire_request::defer_upkeep;
  // nothing otherwise. The default does nothing.
  virtual void start_upkeep() noexcept;

 private:
  std::string name_;
  std::uint64_t token_;
  std::chrono::nanoseconds ttl_;
  std::atomic<bool> lost_{false};
  mutable std::mutex mutex_;
  std::string lost_reason_;
  std::uint64_t next_callback_id_ = 1;
  std::vector<std::pair<std::uint64_t, std::function<void()>>> callbacks_;
  mutable std::shared_ptr<void> lost_context_;  // a context and its cancel_func
};

class lease {
 public:
  lease() noexcept = default;
  explicit lease(std::shared_ptr<lease_state> state) noexcept : state_(std::move(state)) {}
  lease(lease&&) noexcept = default;
  lease& operator=(lease&& other) noexcept;
  lease(const lease&) = delete;
  lease& operator=(const lease&) = delete;
  // Best-effort release: never blocks, never throws.
  ~lease();

  // True until release() (or a move-from); a held lease may still be lost().
  bool held() const noexcept { return state_ != nullptr; }
  explicit operator bool() const noexcept { return held(); }

  // The fencing token; 0 only for an empty lease.
  std::uint64_t token() const noexcept { return state_ ? state_->token() : 0; }
  // The lock name as the caller gave it.
  const std::string& name() const noexcept;
  std::chrono::nanoseconds ttl() const noexcept {
    return state_ ? state_->ttl() : std::chrono::nanoseconds{0};
  }

  // Cancelled the moment the lease can no longer be trusted (err() is
  // canceled). Already cancelled for an empty or released lease.
  context lost() const;
  bool is_lost() const noexcept { return !state_ || state_->is_lost(); }
  // Why the lease was lost ("renewal failed: ...", "TTL ran out ..."), or empty.
  std::string lost_reason() const;

  // Releases the lock and waits for the store. Afterwards held() is false.
  task<result<void>> release();
  // The same on the calling thread, without a runtime (see
  // lease_state::release_now). On errc::unsupported the lease is still held:
  // release() it instead.
  result<void> release_now();
  // See acquire_request::defer_upkeep. Safe to call any number of times.
  void start_upkeep() noexcept {
    if (state_) state_->start_upkeep();
  }

  // For stores and tests.
  const std::shared_ptr<lease_state>& state() const noexcept { return state_; }

 private:
  std::shared_ptr<lease_state> state_;
};

}  // namespace weft::lock
