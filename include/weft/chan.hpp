// weft::chan<T>: Go's channel. Tasks hand values to each other through it.
//
// A chan is a cheap, copyable handle to shared state: copies talk to the same
// channel. `chan<T>(0)` (the default) is unbuffered: a send waits until a
// receiver takes the value (rendezvous). `chan<T>(n)` buffers up to n values.
// Senders and receivers that have to wait are served first come, first
// served, and a value goes straight from a sender to a parked receiver (and
// vice versa) without passing through the buffer.
//
//   co_await ch.send(v)   -> result<void>: errc::closed if the channel is or
//                            becomes closed; the value is then dropped.
//   co_await ch.recv()    -> std::optional<T>: nullopt once closed and drained.
//   ch.try_send(v)        -> try_send_result<T>: ok, or full/closed with the
//                            value handed back.
//   ch.try_recv()         -> result<T>: the value, errc::empty or errc::closed.
//   ch.close()            -> idempotent; receivers drain what is buffered and
//                            then get nullopt; blocked senders get errc::closed.
//
// Sending on a closed channel is an error value, never a crash. To use a
// channel in select, see weft/select.hpp (recv(ch), send(ch, v)).
//
// Thread-safety: every operation may be called concurrently from any thread;
// close() may be called from outside the runtime too. T must be nothrow
// move-constructible (values move under the channel's lock).
//
// Lifetime: an awaiter returned by send()/recv() refers to the channel
// without owning it, so the chan it came from must outlive the co_await
// (as it always does in `co_await ch.send(v)`).
//
// Cancel safety: a send or receive that has been awaited runs to completion
// (a parked task is only resumed by a peer or by close()); use select with a
// timer or a context's done case to bound a wait.
#pragma once

#include <atomic>
#include <coroutine>
#include <cstddef>
#include <memory>
#include <new>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/detail/scheduler.hpp"
#include "weft/detail/spinlock.hpp"
#include "weft/detail/waiter.hpp"
#include "weft/result.hpp"

namespace weft {

namespace detail {

// Shared state of a channel. Every field except capacity_ is guarded by lock.
template <typename T>
class chan_state {
 public:
  explicit chan_state(std::size_t capacity)
      : capacity_(capacity), buffer_(capacity > 0 ? new slot_storage[capacity] : nullptr) {}
  chan_state(const chan_state&) = delete;
  chan_state& operator=(const chan_state&) = delete;
  ~chan_state() {
    while (count() > 0) pop().~T();
  }

  std::size_t capacity() const noexcept { return capacity_; }

  // The *_core operations run with `lock` held and leave it held. They
  // return true when the operation completed; `wake` is then the peer to
  // wake once the lock is released (or nullptr). They return false when the
  // caller has to park (or give up). Select runs them with several channel
  // locks held, which is why waking is left to the caller.

  // Sends `value` (moved from only on success). `sent` is false when closed.
  bool send_core(T& value, bool& sent, chan_waiter*& wake) noexcept {
    wake = nullptr;
    if (is_closed_locked()) {
      sent = false;
      return true;
    }
    if (chan_waiter* w = recvq.pop_claimed()) {
      static_cast<std::optional<T>*>(w->slot)->emplace(std::move(value));
      w->success = true;
      wake = w;
      sent = true;
      return true;
    }
    if (count() < capacity_) {
      push(std::move(value));
      sent = true;
      return true;
    }
    return false;
  }

  // Receives into `out`; `out` stays empty when closed and drained.
  bool recv_core(std::optional<T>& out, chan_waiter*& wake) noexcept {
    wake = nullptr;
    if (count() > 0) {
      out.emplace(pop_value());
      // A parked sender takes the freed buffer place (keeps FIFO order).
      if (chan_waiter* w = sendq.pop_claimed()) {
        push(std::move(*static_cast<T*>(w->slot)));
        w->success = true;
        wake = w;
      }
      return true;
    }
    if (chan_waiter* w = sendq.pop_claimed()) {
      out.emplace(std::move(*static_cast<T*>(w->slot)));
      w->success = true;
      wake = w;
      return true;
    }
    return is_closed_locked();
  }

  // The same, for a single operation: on completion they also release the
  // lock and wake the peer; on false the lock is still held.
  bool send_locked(T& value, bool& sent) noexcept {
    chan_waiter* wake;
    if (!send_core(value, sent, wake)) return false;
    lock.unlock();
    if (wake != nullptr) wake->wake();
    return true;
  }
  bool recv_locked(std::optional<T>& out) noexcept {
    chan_waiter* wake;
    if (!recv_core(out, wake)) return false;
    lock.unlock();
    if (wake != nullptr) wake->wake();
    return true;
  }

  void close() noexcept {
    lock.lock();
    if (is_closed_locked()) {
      lock.unlock();
      return;
    }
    closed_.store(true, std::memory_order_relaxed);
    chan_waiter* first = nullptr;
    chan_waiter** tail = &first;
    for (waiter_list* q : {&recvq, &sendq}) {
      while (chan_waiter* w = q->pop_claimed()) {
        w->success = false;
        w->wake_next = nullptr;
        *tail = w;
        tail = &w->wake_next;
      }
    }
    lock.unlock();
    while (first != nullptr) {
      chan_waiter* next = first->wake_next;  // `first` may be freed once woken
      first->wake();
      first = next;
    }
  }

  std::size_t size() noexcept {
    lock.lock();
    std::size_t n = count();
    lock.unlock();
    return n;
  }
  bool closed() noexcept {
    lock.lock();
    bool c = is_closed_locked();
    lock.unlock();
    return c;
  }

  // Hints read without the lock by select's fast path: false means "not
  // ready a moment ago"; true must be confirmed under the lock.
  bool recv_maybe_ready() const noexcept {
    return count() > 0 || sendq.maybe_nonempty() || closed_.load(std::memory_order_relaxed);
  }
  bool send_maybe_ready() const noexcept {
    return closed_.load(std::memory_order_relaxed) || recvq.maybe_nonempty() ||
           count() < capacity_;
  }

  spinlock lock;
  waiter_list recvq;
  waiter_list sendq;

 private:
  struct slot_storage {
    alignas(T) unsigned char bytes[sizeof(T)];
  };
  std::size_t count() const noexcept { return count_.load(std::memory_order_relaxed); }
  bool is_closed_locked() const noexcept { return closed_.load(std::memory_order_relaxed); }
  T* at(std::size_t i) noexcept { return std::launder(reinterpret_cast<T*>(buffer_[i].bytes)); }
  void push(T&& v) noexcept {
    std::size_t n = count();
    std::size_t tail = head_ + n;
    if (tail >= capacity_) tail -= capacity_;
    ::new (static_cast<void*>(buffer_[tail].bytes)) T(std::move(v));
    count_.store(n + 1, std::memory_order_relaxed);
  }
  T pop_value() noexcept {
    T* p = at(head_);
    T v(std::move(*p));
    p->~T();
    if (++head_ == capacity_) head_ = 0;
    count_.store(count() - 1, std::memory_order_relaxed);
    return v;
  }
  T& pop() noexcept {  // destructor helper: caller destroys the element
    T* p = at(head_);
    if (++head_ == capacity_) head_ = 0;
    count_.store(count() - 1, std::memory_order_relaxed);
    return *p;
  }

  const std::size_t capacity_;
  std::unique_ptr<slot_storage[]> buffer_;
  std::size_t head_ = 0;
  // Atomic only so that select can peek without the lock; relaxed, and
  // written only under the lock.
  std::atomic<std::size_t> count_{0};
  std::atomic<bool> closed_{false};
};

}  // namespace detail

// What try_send did. On failure the value comes back in `value`.
template <typename T>
struct [[nodiscard]] try_send_result {
  errc code = errc::ok;         // ok, full or closed
  std::optional<T> value = {};  // the unsent value when code != ok
  bool ok() const noexcept { return code == errc::ok; }
  explicit operator bool() const noexcept { return ok(); }
};

template <typename T>
class recv_case;
template <typename T, bool Owned>
class send_case;

template <typename T>
class chan {
  static_assert(std::is_nothrow_move_constructible_v<T>,
                "chan<T> needs a nothrow move-constructible T");

 public:
  using value_type = T;

  class [[nodiscard]] send_awaiter {
   public:
    send_awaiter(detail::chan_state<T>* state, T&& value) noexcept
        : state_(state), value_(std::move(value)) {}
    bool await_ready() noexcept {
      state_->lock.lock();
      return state_->send_locked(value_, sent_);
    }
    void await_suspend(std::coroutine_handle<> h) noexcept {
      detail::chan_waiter* waiter = waiter_.construct();
      waiter->handle = h;
      waiter->sched = detail::current_scheduler();
      waiter->slot = &value_;
      parked_ = true;
      detail::chan_state<T>* state = state_;
      state->sendq.push_back(waiter);
      state->lock.unlock();  // last touch: a receiver may resume us right away
    }
    // Inline: the successful send is the hot path, the closed one is not.
    [[gnu::always_inline]] result<void> await_resume() const {
      if (parked_ ? waiter_.get()->success : sent_) [[likely]]
        return {};
      return closed_result();
    }

   private:
    [[gnu::noinline, gnu::cold]] static result<void> closed_result() {
      return fail(errc::closed, "send on a closed channel: the value was dropped");
    }

    detail::chan_state<T>* state_;
    T value_;
    bool sent_ = false;
    bool parked_ = false;
    detail::lazy_waiter waiter_;
  };

  class [[nodiscard]] recv_awaiter {
   public:
    explicit recv_awaiter(detail::chan_state<T>* state) noexcept : state_(state) {}
    bool await_ready() noexcept {
      state_->lock.lock();
      return state_->recv_locked(slot_);
    }
    void await_suspend(std::coroutine_handle<> h) noexcept {
      detail::chan_waiter* waiter = waiter_.construct();
      waiter->handle = h;
      waiter->sched = detail::current_scheduler();
      waiter->slot = &slot_;
      detail::chan_state<T>* state = state_;
      state->recvq.push_back(waiter);
      state->lock.unlock();  // last touch: a sender may resume us right away
    }
    // Rebuilt from the parts rather than copied whole: the value and the
    // engaged flag were just written separately, and one wide load of both
    // (what a plain optional move compiles to) stalls on store forwarding.
    std::optional<T> await_resume() noexcept {
      if (slot_.has_value()) return std::optional<T>(std::move(*slot_));
      return std::nullopt;
    }

   private:
    detail::chan_state<T>* state_;
    std::optional<T> slot_;
    detail::lazy_waiter waiter_;
  };

  // capacity 0: unbuffered (each send meets a receive).
  explicit chan(std::size_t capacity = 0)
      : state_(std::make_shared<detail::chan_state<T>>(capacity)) {}
  // Copies share the channel. There is no move: a moved-from chan stays valid.
  chan(const chan&) = default;
  chan& operator=(const chan&) = default;
  ~chan() = default;

  // co_await: result<void>; errc::closed (value dropped) when closed.
  send_awaiter send(T value) noexcept { return send_awaiter(state_.get(), std::move(value)); }
  // co_await: the value, or nullopt once the channel is closed and drained.
  recv_awaiter recv() noexcept { return recv_awaiter(state_.get()); }

  // Sends without waiting: ok, or errc::full / errc::closed with the value
  // handed back in the result.
  try_send_result<T> try_send(T value) noexcept {
    auto* s = state_.get();
    s->lock.lock();
    bool sent = false;
    if (s->send_locked(value, sent)) {
      if (sent) return {};
      return {errc::closed, std::optional<T>(std::move(value))};
    }
    s->lock.unlock();
    return {errc::full, std::optional<T>(std::move(value))};
  }

  // Receives without waiting: the value, errc::empty (nothing ready), or
  // errc::closed (closed and drained).
  result<T> try_recv() {
    auto* s = state_.get();
    std::optional<T> out;
    s->lock.lock();
    if (s->recv_locked(out)) {
      if (out) return std::move(*out);
      return fail(errc::closed);
    }
    s->lock.unlock();
    return fail(errc::empty);
  }

  // Idempotent. Buffered values stay receivable; parked receivers (once the
  // buffer is empty) get nullopt; parked senders get errc::closed.
  void close() noexcept { state_->close(); }

  std::size_t size() const noexcept { return state_->size(); }  // buffered values
  std::size_t capacity() const noexcept { return state_->capacity(); }
  bool is_closed() const noexcept { return state_->closed(); }

  friend bool operator==(const chan& a, const chan& b) noexcept { return a.state_ == b.state_; }

 private:
  template <typename U>
  friend class recv_case;
  template <typename U, bool Owned>
  friend class send_case;

  std::shared_ptr<detail::chan_state<T>> state_;
};

}  // namespace weft
