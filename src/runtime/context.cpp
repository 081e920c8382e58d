// weft::context internals: the cancellation tree and deadline timers.
//
// Lock order: a parent's lock before its children's (cancellation cascades
// down with the parent's lock held), the scheduler's timer lock before any
// context lock (on_fire cancels), and a context's timer_lock_ before the
// scheduler's timer lock (arming and disarming). So a context never touches
// timers while holding a context lock or while running a callback or on_fire:
// `callback_depth` tracks that.
#include "weft/context.hpp"

#include <string>

namespace weft {
namespace detail {
namespace {

thread_local int callback_depth = 0;

struct callback_scope {
  callback_scope() noexcept { ++callback_depth; }
  ~callback_scope() { --callback_depth; }
  callback_scope(const callback_scope&) = delete;
  callback_scope& operator=(const callback_scope&) = delete;
};

// Contexts whose lock this thread holds while it runs their callbacks. A
// callback may then add or remove callbacks on them (e.g. cancel or drop a
// child context) without deadlocking on a lock its own thread holds.
constexpr int max_held = 32;
thread_local context_state* held[max_held];
thread_local int held_count = 0;

bool held_here(const context_state* s) noexcept {
  for (int i = 0; i < held_count; ++i)
    if (held[i] == s) return true;
  return false;
}

struct held_scope {
  explicit held_scope(context_state* s) noexcept {
    if (held_count < max_held) held[held_count++] = s;
    else overflow = true;
  }
  ~held_scope() {
    if (!overflow) --held_count;
  }
  held_scope(const held_scope&) = delete;
  held_scope& operator=(const held_scope&) = delete;
  bool overflow = false;
};

}  // namespace

context_state::context_state(std::shared_ptr<context_state> parent,
                             std::optional<clock::time_point> deadline, bool owns_timer) noexcept
    : parent_(std::move(parent)), deadline_(deadline), owns_timer_(owns_timer) {
  parent_node_.fn = &on_parent_cancel;
  parent_node_.owner = this;
  timer_.owner = this;
  timer_.entry.on_fire = &on_deadline;
  if (deadline_) timer_.entry.deadline = *deadline_;
}

context_state::~context_state() {
  disarm_deadline();
  if (parent_) parent_->remove_callback(&parent_node_);
  // No callbacks can remain: each registration holds a handle to us.
}

void context_state::attach_to_parent() noexcept {
  if (!parent_) return;
  if (!parent_->add_callback(&parent_node_)) cancel(parent_->err());
}

bool context_state::add_callback(context_callback_node* node) noexcept {
  if (held_here(this)) return false;  // we are cancelling it right now
  lock_.lock();
  if (err_.load(std::memory_order_relaxed) != errc::ok) {
    lock_.unlock();
    return false;
  }
  node->next = nullptr;
  node->prev = tail_;
  if (tail_ != nullptr) tail_->next = node;
  else head_ = node;
  tail_ = node;
  node->linked = true;
  lock_.unlock();
  return true;
}

void context_state::remove_callback(context_callback_node* node) noexcept {
  bool owned = held_here(this);  // inside our own cancel loop: lock already held
  if (!owned) lock_.lock();
  if (node->linked) {
    if (node->prev != nullptr) node->prev->next = node->next;
    else head_ = node->next;
    if (node->next != nullptr) node->next->prev = node->prev;
    else tail_ = node->prev;
    node->prev = node->next = nullptr;
    node->linked = false;
  }
  if (!owned) lock_.unlock();
}

void context_state::cancel_locked_and_unlock(errc reason) noexcept {
  err_.store(reason, std::memory_order_release);
  {
    callback_scope scope;
    held_scope hold(this);
    while (context_callback_node* node = head_) {
      head_ = node->next;
      if (head_ != nullptr) head_->prev = nullptr;
      else tail_ = nullptr;
      node->prev = node->next = nullptr;
      node->linked = false;
      node->fn(node);
    }
  }
  lock_.unlock();
}

void context_state::cancel(errc reason) noexcept {
  if (reason == errc::ok) reason = errc::canceled;
  if (held_here(this)) return;  // already being cancelled by this thread
  lock_.lock();
  if (err_.load(std::memory_order_relaxed) != errc::ok) {
    lock_.unlock();
    return;
  }
  cancel_locked_and_unlock(reason);
  // Detach from the parent: a cancelled child has nothing left to hear.
  if (parent_) parent_->remove_callback(&parent_node_);
  if (callback_depth == 0) disarm_deadline();
}

void context_state::on_parent_cancel(context_callback_node* node) noexcept {
  // Runs with the parent's lock held; the parent already unlinked `node`.
  auto* self = static_cast<context_state*>(node->owner);
  self->lock_.lock();
  if (self->err_.load(std::memory_order_relaxed) != errc::ok) {
    self->lock_.unlock();
    return;
  }
  self->cancel_locked_and_unlock(self->parent_->err());
  // The deadline timer (if any) stays armed until it fires or we are destroyed.
}

void context_state::on_deadline(timer_entry* entry) noexcept {
  auto* timer = reinterpret_cast<deadline_timer*>(entry);
  callback_scope scope;
  timer->owner->cancel(errc::deadline_exceeded);
}

void context_state::arm_deadline() noexcept {
  if (!owns_timer_ || timer_armed_.load(std::memory_order_acquire)) return;
  if (err() != errc::ok) return;
  scheduler* s = current_scheduler();
  if (s == nullptr) return;
  timer_lock_.lock();
  if (!timer_armed_.load(std::memory_order_relaxed) && !timer_done_) {
    timer_scheduler_ = s;
    timer_armed_.store(true, std::memory_order_release);
    add_timer(s, &timer_.entry);
  }
  timer_lock_.unlock();
}

void context_state::disarm_deadline() noexcept {
  if (!owns_timer_) return;
  timer_lock_.lock();
  timer_done_ = true;
  scheduler* s = timer_scheduler_;
  timer_scheduler_ = nullptr;
  if (s != nullptr) cancel_timer(s, &timer_.entry);
  timer_lock_.unlock();
}

}  // namespace detail

result<void> context::check() const {
  switch (errc code = err()) {
    case errc::ok:
      return {};
    case errc::canceled:
      return fail(code, "the context was cancelled");
    case errc::deadline_exceeded:
      return fail(code, "the context's deadline passed");
    default:
      return fail(code, "the context was cancelled: " + std::string(to_string(code)));
  }
}

std::pair<context, cancel_func> with_cancel(const context& parent) {
  const auto& p = context_access::shared(parent);
  auto s = std::make_shared<detail::context_state>(p, p ? p->deadline() : std::nullopt, false);
  s->attach_to_parent();
  return {context_access::make(s), context_access::make_cancel(s)};
}

std::pair<context, cancel_func> with_deadline(const context& parent, clock::time_point deadline) {
  std::optional<clock::time_point> inherited = parent.deadline();
  if (inherited && *inherited <= deadline) return with_cancel(parent);  // parent fires first
  auto s = std::make_shared<detail::context_state>(context_access::shared(parent), deadline, true);
  s->attach_to_parent();
  if (deadline <= clock::now()) s->cancel(errc::deadline_exceeded);
  else s->arm_deadline();
  return {context_access::make(s), context_access::make_cancel(s)};
}

std::pair<context, cancel_func> with_timeout(const context& parent, clock::duration timeout) {
  return with_deadline(parent, clock::now() + timeout);
}

}  // namespace weft
