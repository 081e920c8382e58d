// weft::context: Go's context. Carries cancellation and a deadline down a
// tree of tasks.
//
//   context::background()            never cancelled, no deadline (the root)
//   with_cancel(parent)              child + its cancel_func
//   with_deadline(parent, when)      child cancelled at `when` (or with parent)
//   with_timeout(parent, duration)   with_deadline(parent, clock::now() + d)
//   co_await ctx.done()              resumes once ctx is cancelled
//   select(..., done(ctx))           the same as a select case
//   ctx.err()                        errc::ok, errc::canceled,
//                                    errc::deadline_exceeded, or the reason
//                                    given to cancel (e.g. errc::lease_lost)
//   context_callback cb(ctx, f)      runs f once on cancellation (for code
//                                    that is not a coroutine)
//
// Cancelling a parent cancels its children, with the parent's reason; a child
// never affects its parent. A child detaches from its parent when it is
// cancelled or when its last handle goes away, so short-lived children of a
// long-lived parent do not pile up.
//
// Deadlines use the runtime's timers (virtual time in test mode). The timer
// is armed on the scheduler of the thread that creates the context, or, for
// a context created off the runtime, by the first done()/select/callback
// that waits on it from a runtime thread. A context with an armed deadline
// must not outlive its runtime.
//
// Thread-safety: a context and a cancel_func are cheap copyable handles; all
// their operations may be called concurrently from any thread.
//
// Callbacks (context_callback and internal wake-ups) run on the cancelling
// thread, possibly from a timer, with the context's lock held: they must be
// short, must not block and must not throw. Setting a flag, scheduling a
// task, closing a channel, cancelling any context (children included),
// creating contexts and dropping context_callbacks or contexts are fine, with
// one exception: a callback run by a deadline must not drop the last handle
// of a context that has a deadline of its own (its timer cannot be cancelled
// from inside a timer). Destroying a context_callback waits for it if another
// thread is running it at that moment.
//
// Cancel safety: `co_await ctx.done()` only completes by cancellation; as a
// select case it is atomic like every other case (it consumes nothing).
#pragma once

#include <atomic>
#include <coroutine>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

#include "weft/clock.hpp"
#include "weft/detail/scheduler.hpp"
#include "weft/detail/spinlock.hpp"
#include "weft/result.hpp"

namespace weft {

namespace detail {

// An intrusive registration in a context's callback list.
struct context_callback_node {
  context_callback_node* prev = nullptr;
  context_callback_node* next = nullptr;
  bool linked = false;  // guarded by the context's lock
  void (*fn)(context_callback_node*) noexcept = nullptr;
  void* owner = nullptr;
};

class context_state {
 public:
  context_state(std::shared_ptr<context_state> parent, std::optional<clock::time_point> deadline,
                bool owns_timer) noexcept;
  context_state(const context_state&) = delete;
  context_state& operator=(const context_state&) = delete;
  ~context_state();

  errc err() const noexcept { return err_.load(std::memory_order_acquire); }
  std::optional<clock::time_point> deadline() const noexcept { return deadline_; }

  // Registers `node`. Returns false, without registering, when the context
  // is already cancelled (the caller then acts as if it fired).
  bool add_callback(context_callback_node* node) noexcept;
  // Unregisters `node` if still registered. Once this returns, node->fn is
  // not running and will not run.
  void remove_callback(context_callback_node* node) noexcept;

  void cancel(errc reason) noexcept;
  // Arms the deadline timer on the calling thread's scheduler, once.
  void arm_deadline() noexcept;

  // Hooks this child into its parent (call once, right after construction).
  void attach_to_parent() noexcept;

 private:
  struct deadline_timer {
    timer_entry entry;
    context_state* owner = nullptr;
  };
  static void on_parent_cancel(context_callback_node* node) noexcept;
  static void on_deadline(timer_entry* entry) noexcept;
  void cancel_locked_and_unlock(errc reason) noexcept;  // with lock_ held
  void disarm_deadline() noexcept;

  spinlock lock_;
  std::atomic<errc> err_{errc::ok};
  context_callback_node* head_ = nullptr;  // callbacks, guarded by lock_
  context_callback_node* tail_ = nullptr;
  std::shared_ptr<context_state> parent_;
  context_callback_node parent_node_;  // our entry in parent_'s callbacks
  const std::optional<clock::time_point> deadline_;
  const bool owns_timer_;
  spinlock timer_lock_;  // guards timer_scheduler_ and timer_done_
  std::atomic<bool> timer_armed_{false};
  bool timer_done_ = false;
  scheduler* timer_scheduler_ = nullptr;
  deadline_timer timer_;
};

}  // namespace detail

class context;

// Cancels the context it came from (and its children). Idempotent: only the
// first call's reason sticks. Copyable; callable from any thread.
class cancel_func {
 public:
  cancel_func() noexcept = default;  // does nothing
  void operator()(errc reason = errc::canceled) const noexcept {
    if (state_) state_->cancel(reason);
  }

 private:
  friend struct context_access;
  explicit cancel_func(std::shared_ptr<detail::context_state> s) noexcept : state_(std::move(s)) {}
  std::shared_ptr<detail::context_state> state_;
};

class context {
 public:
  class [[nodiscard]] done_awaiter {
   public:
    explicit done_awaiter(std::shared_ptr<detail::context_state> s) noexcept
        : state_(std::move(s)) {}
    bool await_ready() const noexcept { return state_ && state_->err() != errc::ok; }
    bool await_suspend(std::coroutine_handle<> h) noexcept {
      handle_ = h;
      sched_ = detail::current_scheduler();
      node_.fn = &fire;
      node_.owner = this;
      if (!state_) return true;  // background: never done (like a nil channel in Go)
      state_->arm_deadline();
      return state_->add_callback(&node_);  // last touch when it returns true
    }
    errc await_resume() const noexcept { return state_ ? state_->err() : errc::ok; }

   private:
    static void fire(detail::context_callback_node* n) noexcept {
      auto* self = static_cast<done_awaiter*>(n->owner);
      detail::schedule(self->sched_, self->handle_);
    }
    std::shared_ptr<detail::context_state> state_;
    detail::context_callback_node node_;
    std::coroutine_handle<> handle_;
    detail::scheduler* sched_ = nullptr;
  };

  context() noexcept = default;  // the background context
  static context background() noexcept { return {}; }

  // errc::ok while not cancelled; then why (canceled, deadline_exceeded, ...).
  errc err() const noexcept { return state_ ? state_->err() : errc::ok; }
  bool is_done() const noexcept { return err() != errc::ok; }
  // ok while not cancelled; otherwise the failure, with a message.
  result<void> check() const;
  std::optional<clock::time_point> deadline() const noexcept {
    return state_ ? state_->deadline() : std::nullopt;
  }
  // co_await ctx.done() -> errc (why). Never completes on background().
  done_awaiter done() const noexcept { return done_awaiter(state_); }

  friend bool operator==(const context& a, const context& b) noexcept {
    return a.state_ == b.state_;
  }

 private:
  friend struct context_access;
  explicit context(std::shared_ptr<detail::context_state> s) noexcept : state_(std::move(s)) {}
  std::shared_ptr<detail::context_state> state_;
};

// Internal access for select's done case and context_callback.
struct context_access {
  static detail::context_state* state(const context& c) noexcept { return c.state_.get(); }
  static const std::shared_ptr<detail::context_state>& shared(const context& c) noexcept {
    return c.state_;
  }
  static context make(std::shared_ptr<detail::context_state> s) noexcept {
    return context(std::move(s));
  }
  static cancel_func make_cancel(std::shared_ptr<detail::context_state> s) noexcept {
    return cancel_func(std::move(s));
  }
};

// A child of `parent` and the function that cancels it. Use as
// `auto [ctx, cancel] = with_cancel(parent);`.
std::pair<context, cancel_func> with_cancel(const context& parent);
// A child cancelled with errc::deadline_exceeded at `deadline` (or earlier, by
// its parent or its cancel_func). A deadline already past cancels at once.
std::pair<context, cancel_func> with_deadline(const context& parent, clock::time_point deadline);
std::pair<context, cancel_func> with_timeout(const context& parent, clock::duration timeout);

// Runs `f` once when `ctx` is cancelled: at once, on this thread, if it already
// is; otherwise on the cancelling thread (see the rules for callbacks above).
// Destroying the context_callback unregisters it; once the destructor
// returns, `f` is not running and will not run. Not copyable or movable.
template <typename F>
class context_callback {
  static_assert(std::is_nothrow_invocable_v<F&> || std::is_invocable_v<F&>,
                "context_callback needs a callable taking no arguments");

 public:
  template <typename G>
  context_callback(const context& ctx, G&& f)
      : state_(context_access::shared(ctx)), f_(std::forward<G>(f)) {
    node_.fn = &invoke;
    node_.owner = this;
    if (!state_) return;  // background: never fires
    state_->arm_deadline();
    if (!state_->add_callback(&node_)) f_();
  }
  context_callback(const context_callback&) = delete;
  context_callback& operator=(const context_callback&) = delete;
  ~context_callback() {
    if (state_) state_->remove_callback(&node_);
  }

 private:
  static void invoke(detail::context_callback_node* n) noexcept {
    static_cast<context_callback*>(n->owner)->f_();
  }
  std::shared_ptr<detail::context_state> state_;
  F f_;
  detail::context_callback_node node_;
};

template <typename G>
context_callback(const context&, G&&) -> context_callback<std::decay_t<G>>;

}  // namespace weft
