// weft::select: Go's select. Waits on several channel operations, a timer
// and a context at once, and completes exactly one of them.
//
//   auto r = co_await select(recv(in), send(out, v), after(50ms), done(ctx), otherwise());
//   switch (r.index()) {
//     case 0: if (auto& got = r.get<0>()) use(*got); else /* in closed */; break;
//     case 1: /* v was sent, or r.get<1>() is errc::closed */ break;
//     case 2: /* 50 ms passed */ break;
//     case 3: /* ctx cancelled: r.get<3>() is ctx.err() */ break;
//     case 4: /* nothing was ready (default case) */ break;
//   }
//
// Cases and what get<I>() holds for the case that fired:
//   recv(ch)        std::optional<T>: the value, or nullopt if ch is closed
//                   and drained (a closed channel is always ready).
//   send(ch, v)     result<void>: ok, or errc::closed (a closed channel is
//                   always ready; nothing was sent). If v is a non-const
//                   lvalue of type T it is moved from only when this case
//                   fires; otherwise the case holds its own copy.
//   after(d), at(t) std::monostate: the time came (weft::clock; virtual in
//                   test mode). The timer only exists during the select.
//   done(ctx)       errc: ctx.err(). Never ready on context::background().
//   otherwise()     std::monostate: nothing else was ready (Go's default).
// r.index() is the position of the case that fired; r.as_variant() gives a
// std::variant for std::visit.
//
// Semantics (as Go's selectgo): if cases are ready, one of them is chosen
// uniformly at random; otherwise, with otherwise(), the default fires;
// otherwise the task parks until the first case becomes ready.
//
// Cancel safety: select is atomic. Exactly one case fires and the others
// have no effect at all: a receive that did not fire consumed nothing, a
// send that did not fire sent nothing (and left an lvalue untouched), a
// timer that did not fire is removed. A peer (sender, receiver, timer,
// cancelling context) must claim the whole select before handing anything
// over, so no value is ever lost or duplicated.
//
// Thread-safety: the channels and contexts may be used concurrently from any
// thread. The chan/context objects named in a select must outlive the
// co_await (as temporaries in the select expression do).
#pragma once

#include <array>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "weft/chan.hpp"
#include "weft/clock.hpp"
#include "weft/context.hpp"
#include "weft/detail/scheduler.hpp"
#include "weft/detail/spinlock.hpp"
#include "weft/detail/waiter.hpp"
#include "weft/result.hpp"

namespace weft {

namespace detail {
enum class case_kind : unsigned char { channel, timer, context, otherwise };
}

// ---- cases -----------------------------------------------------------------

template <typename T>
class recv_case {
 public:
  using result_type = std::optional<T>;
  static constexpr detail::case_kind kind = detail::case_kind::channel;

  explicit recv_case(const chan<T>& ch) noexcept : state_(ch.state_.get()) {}

  // Internal interface used by select_awaiter.
  detail::spinlock* lock() const noexcept { return &state_->lock; }
  bool maybe_ready() const noexcept { return state_->recv_maybe_ready(); }
  bool poll(detail::chan_waiter*& wake) noexcept { return state_->recv_core(slot_, wake); }
  void enqueue(detail::select_control* control, int index) noexcept {
    waiter_.select = control;
    waiter_.case_index = index;
    waiter_.slot = &slot_;
    state_->recvq.push_back(&waiter_);
  }
  void cleanup() noexcept {
    if (!waiter_.linked.load(std::memory_order_acquire)) return;
    state_->lock.lock();
    if (waiter_.linked.load(std::memory_order_relaxed)) state_->recvq.remove(&waiter_);
    state_->lock.unlock();
  }
  result_type take() noexcept { return std::move(slot_); }

 private:
  detail::chan_state<T>* state_;
  std::optional<T> slot_;
  detail::chan_waiter waiter_;
};

template <typename T, bool Owned>
class send_case {
 public:
  using result_type = result<void>;
  static constexpr detail::case_kind kind = detail::case_kind::channel;

  send_case(const chan<T>& ch, T& value) noexcept
    requires(!Owned)
      : state_(ch.state_.get()), held_(&value) {}
  template <typename U>
  send_case(const chan<T>& ch, U&& value)
    requires(Owned)
      : state_(ch.state_.get()), held_(std::forward<U>(value)) {}

  detail::spinlock* lock() const noexcept { return &state_->lock; }
  bool maybe_ready() const noexcept { return state_->send_maybe_ready(); }
  bool poll(detail::chan_waiter*& wake) noexcept {
    return state_->send_core(*value(), waiter_.success, wake);
  }
  void enqueue(detail::select_control* control, int index) noexcept {
    waiter_.select = control;
    waiter_.case_index = index;
    waiter_.slot = value();
    state_->sendq.push_back(&waiter_);
  }
  void cleanup() noexcept {
    if (!waiter_.linked.load(std::memory_order_acquire)) return;
    state_->lock.lock();
    if (waiter_.linked.load(std::memory_order_relaxed)) state_->sendq.remove(&waiter_);
    state_->lock.unlock();
  }
  result_type take() const {
    if (waiter_.success) return {};
    return fail(errc::closed, "send on a closed channel: nothing was sent");
  }

 private:
  T* value() noexcept {
    if constexpr (Owned) return &held_;
    else return held_;
  }
  detail::chan_state<T>* state_;
  std::conditional_t<Owned, T, T*> held_;
  detail::chan_waiter waiter_;
};

class timer_case {
 public:
  using result_type = std::monostate;
  static constexpr detail::case_kind kind = detail::case_kind::timer;

  explicit timer_case(clock::duration d) noexcept : relative_(true), duration_(d) {}
  explicit timer_case(clock::time_point t) noexcept : relative_(false) { node_.entry.deadline = t; }

  bool poll() noexcept {
    clock::time_point now = clock::now();
    if (relative_) {
      relative_ = false;
      node_.entry.deadline = now + duration_;
    }
    return node_.entry.deadline <= now;
  }
  bool arm(detail::select_control* control, int index) noexcept {
    sched_ = detail::current_scheduler();
    if (sched_ == nullptr) return true;  // off the runtime: never fires
    node_.select = control;
    node_.index = index;
    node_.entry.on_fire = &fire;
    detail::add_timer(sched_, &node_.entry);
    return true;
  }
  void cleanup() noexcept {
    // Also after firing: cancel_timer guarantees on_fire has returned.
    if (sched_ != nullptr) detail::cancel_timer(sched_, &node_.entry);
  }
  result_type take() const noexcept { return {}; }

 private:
  struct node {
    detail::timer_entry entry;  // first member: on_fire gets &entry
    detail::select_control* select = nullptr;
    int index = -1;
  };
  static void fire(detail::timer_entry* e) noexcept {
    auto* n = reinterpret_cast<node*>(e);
    if (n->select->try_claim(n->index)) n->select->wake();
  }
  bool relative_;
  clock::duration duration_{};
  detail::scheduler* sched_ = nullptr;
  node node_;
};

class done_case {
 public:
  using result_type = errc;
  static constexpr detail::case_kind kind = detail::case_kind::context;

  explicit done_case(const context& ctx) noexcept : state_(context_access::state(ctx)) {}

  bool poll() const noexcept { return state_ != nullptr && state_->err() != errc::ok; }
  // False when the context turned out to be cancelled already.
  bool arm(detail::select_control* control, int index) noexcept {
    if (state_ == nullptr) return true;  // background: never done
    select_ = control;
    index_ = index;
    node_.fn = &fire;
    node_.owner = this;
    state_->arm_deadline();
    registered_ = state_->add_callback(&node_);
    return registered_;
  }
  void cleanup() noexcept {
    // Also after firing: waits until the cancelling thread is done with node_.
    if (registered_) state_->remove_callback(&node_);
  }
  result_type take() const noexcept { return state_ != nullptr ? state_->err() : errc::ok; }

 private:
  static void fire(detail::context_callback_node* n) noexcept {
    auto* self = static_cast<done_case*>(n->owner);
    if (self->select_->try_claim(self->index_)) self->select_->wake();
  }
  detail::context_state* state_;
  detail::select_control* select_ = nullptr;
  int index_ = -1;
  bool registered_ = false;
  detail::context_callback_node node_;
};

struct otherwise_case {
  using result_type = std::monostate;
  static constexpr detail::case_kind kind = detail::case_kind::otherwise;
  result_type take() const noexcept { return {}; }
};

// Receive from ch.
template <typename T>
recv_case<T> recv(const chan<T>& ch) noexcept {
  return recv_case<T>(ch);
}
// Send `value` (a non-const lvalue of type T: moved from only if this case fires).
template <typename T>
send_case<T, false> send(const chan<T>& ch, T& value) noexcept {
  return send_case<T, false>(ch, value);
}
// Send a copy of / the moved `value` (dropped if this case does not fire).
template <typename T, typename U>
  requires(std::is_constructible_v<T, U &&> && !std::is_same_v<U, T&>)
send_case<T, true> send(const chan<T>& ch, U&& value) {
  return send_case<T, true>(ch, std::forward<U>(value));
}
// Fires `d` after the select starts waiting (a non-positive d is ready at once).
inline timer_case after(clock::duration d) noexcept { return timer_case(d); }
// Fires at `t`.
inline timer_case at(clock::time_point t) noexcept { return timer_case(t); }
// Fires when ctx is cancelled.
inline done_case done(const context& ctx) noexcept { return done_case(ctx); }
// Go's `default:` fires when nothing else is ready.
inline otherwise_case otherwise() noexcept { return {}; }

// ---- result ----------------------------------------------------------------

template <typename... R>
class select_result {
 public:
  // Position (in the select's argument list) of the case that fired.
  std::size_t index() const noexcept { return value_.index(); }
  // The fired case's value; I must be index() (else std::bad_variant_access).
  template <std::size_t I>
  auto& get() & {
    return std::get<I>(value_);
  }
  template <std::size_t I>
  const auto& get() const& {
    return std::get<I>(value_);
  }
  template <std::size_t I>
  auto&& get() && {
    return std::get<I>(std::move(value_));
  }
  std::variant<R...>& as_variant() & noexcept { return value_; }
  std::variant<R...>&& as_variant() && noexcept { return std::move(value_); }

  std::variant<R...> value_;  // public only so select_awaiter can fill it
};

// ---- the awaiter -------------------------------------------------------------

template <typename... Cases>
class [[nodiscard]] select_awaiter {
  static constexpr std::size_t case_count = sizeof...(Cases);
  static_assert(case_count > 0 && case_count < 64, "select takes 1 to 63 cases");
  static constexpr std::size_t channel_count =
      (std::size_t{0} + ... + (Cases::kind == detail::case_kind::channel ? 1 : 0));
  static constexpr std::size_t otherwise_count =
      (std::size_t{0} + ... + (Cases::kind == detail::case_kind::otherwise ? 1 : 0));
  static_assert(otherwise_count <= 1, "select takes at most one otherwise()");
  static constexpr int otherwise_index = [] {
    constexpr detail::case_kind kinds[] = {Cases::kind...};
    for (std::size_t i = 0; i < case_count; ++i)
      if (kinds[i] == detail::case_kind::otherwise) return static_cast<int>(i);
    return -1;
  }();

 public:
  using result_type = select_result<typename Cases::result_type...>;

  template <typename... Args>
  explicit select_awaiter(Args&&... cases) : cases_(std::forward<Args>(cases)...) {}
  select_awaiter(const select_awaiter&) = delete;
  select_awaiter& operator=(const select_awaiter&) = delete;

  // Fast path: in random order, try each case that looks ready on its own
  // (one channel lock). Completing one case under its own lock is as atomic
  // as completing it with every lock held, and it is the common case.
  //
  // Pass 1: lock the channels in address order and poll the cases in random
  // order. When nothing is ready and there is no default, the channel locks
  // stay held for await_suspend.
  bool await_ready() noexcept {
    shuffle();
    detail::chan_waiter* wake = nullptr;
    for (std::size_t k = 0; k < case_count; ++k) {
      int i = order_[k];
      if (try_alone(i, wake)) {
        chosen_ = i;
        if (wake != nullptr) wake->wake();
        return true;
      }
    }
    lock_channels();
    for (std::size_t k = 0; k < case_count; ++k) {
      int i = order_[k];
      if (poll_case(i, wake)) {
        chosen_ = i;
        unlock_channels();
        if (wake != nullptr) wake->wake();
        return true;
      }
    }
    if constexpr (otherwise_index >= 0) {
      chosen_ = otherwise_index;
      unlock_channels();
      return true;
    }
    return false;
  }

  // Pass 2: enqueue a waiter on every channel, unlock, arm the timer and the
  // context, then park unless a peer already claimed the select.
  bool await_suspend(std::coroutine_handle<> h) noexcept {
    suspended_ = true;
    control_.handle = h;
    control_.sched = detail::current_scheduler();
    for_each([&]<std::size_t I>(auto& c) {
      if constexpr (kind_of<I>() == detail::case_kind::channel) c.enqueue(&control_, int{I});
    });
    unlock_channels();
    bool claimed_here = false;
    for_each([&]<std::size_t I>(auto& c) {
      constexpr auto k = kind_of<I>();
      if constexpr (k == detail::case_kind::timer || k == detail::case_kind::context) {
        if (claimed_here || control_.claimed()) return;
        if (!c.arm(&control_, int{I}) && control_.try_claim(int{I})) claimed_here = true;
      }
    });
    if (claimed_here) return false;  // no peer will wake us: resume now
    return control_.finish_parking();
  }

  result_type await_resume() noexcept {
    if (suspended_) {
      chosen_ = control_.winner.load(std::memory_order_acquire);
      for_each([&]<std::size_t I>(auto& c) {
        if constexpr (kind_of<I>() != detail::case_kind::otherwise) c.cleanup();
      });
    }
    result_type r;
    for_each([&]<std::size_t I>(auto& c) {
      if (chosen_ == int{I}) r.value_.template emplace<I>(c.take());
    });
    return r;
  }

 private:
  template <std::size_t I>
  static constexpr detail::case_kind kind_of() noexcept {
    return std::tuple_element_t<I, std::tuple<Cases...>>::kind;
  }
  template <typename F>
  void for_each(F&& f) {
    [&]<std::size_t... I>(std::index_sequence<I...>) {
      (f.template operator()<I>(std::get<I>(cases_)), ...);
    }(std::index_sequence_for<Cases...>{});
  }

  bool try_alone(int index, detail::chan_waiter*& wake) noexcept {
    bool ready = false;
    for_each([&]<std::size_t I>(auto& c) {
      if (index != int{I}) return;
      constexpr auto k = kind_of<I>();
      if constexpr (k == detail::case_kind::channel) {
        if (!c.maybe_ready()) return;
        c.lock()->lock();
        ready = c.poll(wake);
        c.lock()->unlock();
      } else if constexpr (k == detail::case_kind::timer || k == detail::case_kind::context) {
        ready = c.poll();
      }
    });
    return ready;
  }

  bool poll_case(int index, detail::chan_waiter*& wake) noexcept {
    bool ready = false;
    for_each([&]<std::size_t I>(auto& c) {
      if (index != int{I}) return;
      constexpr auto k = kind_of<I>();
      if constexpr (k == detail::case_kind::channel) ready = c.poll(wake);
      else if constexpr (k == detail::case_kind::timer || k == detail::case_kind::context)
        ready = c.poll();
    });
    return ready;
  }

  void shuffle() noexcept {
    for (std::size_t i = 0; i < case_count; ++i) order_[i] = static_cast<std::uint8_t>(i);
    if constexpr (case_count > 1) {
      // Fisher-Yates with 16 random bits per step, scaled by multiply-shift
      // (no division: this runs on every select).
      std::uint64_t r = detail::fast_random();
      int bits = 64;
      for (std::size_t i = case_count - 1; i > 0; --i) {
        if (bits < 16) {
          r = detail::fast_random();
          bits = 64;
        }
        std::size_t j = static_cast<std::size_t>(((r & 0xFFFFu) * (i + 1)) >> 16);
        r >>= 16;
        bits -= 16;
        std::swap(order_[i], order_[j]);
      }
    }
  }

  void lock_channels() noexcept {
    if constexpr (channel_count > 0) {
      std::size_t n = 0;
      for_each([&]<std::size_t I>(auto& c) {
        if constexpr (kind_of<I>() == detail::case_kind::channel) locks_[n++] = c.lock();
      });
      // Address order, so that concurrent selects cannot deadlock.
      std::less<detail::spinlock*> less;
      for (std::size_t i = 1; i < n; ++i)
        for (std::size_t j = i; j > 0 && less(locks_[j], locks_[j - 1]); --j)
          std::swap(locks_[j], locks_[j - 1]);
      std::size_t unique = 0;
      for (std::size_t i = 0; i < n; ++i)
        if (unique == 0 || locks_[unique - 1] != locks_[i]) locks_[unique++] = locks_[i];
      lock_count_ = unique;
      for (std::size_t i = 0; i < lock_count_; ++i) locks_[i]->lock();
    }
  }
  void unlock_channels() noexcept {
    if constexpr (channel_count > 0)
      for (std::size_t i = 0; i < lock_count_; ++i) locks_[i]->unlock();
  }

  std::tuple<Cases...> cases_;
  detail::select_control control_;
  std::array<std::uint8_t, case_count> order_{};
  std::array<detail::spinlock*, channel_count> locks_{};
  std::size_t lock_count_ = 0;
  int chosen_ = -1;
  bool suspended_ = false;
};

// co_await select(case...) -> select_result<...>. See the top of this file.
template <typename... Cases>
select_awaiter<std::decay_t<Cases>...> select(Cases&&... cases) {
  return select_awaiter<std::decay_t<Cases>...>(std::forward<Cases>(cases)...);
}

}  // namespace weft
