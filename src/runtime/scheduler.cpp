// Work-stealing scheduler: see scheduler.hpp and docs/ARCHITECTURE.md.
#include "runtime/scheduler.hpp"

#include <linux/futex.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <stdexcept>
#include <system_error>

#include "weft/detail/spawn.hpp"
#include "weft/io.hpp"
#include "weft/runtime.hpp"

namespace weft::detail {
namespace {

thread_local worker* this_worker = nullptr;
thread_local scheduler* this_scheduler = nullptr;
thread_local scheduler* this_home = nullptr;
thread_local bool this_driving = false;  // firing timers / I/O: wake in order
// Driving from park(): this worker runs what it wakes next, so waking
// another worker for it would only move the task to a colder core (and cost
// a futex or eventfd round trip). park() asks for help itself when it woke
// more than one task.
thread_local bool this_driving_parked = false;
std::atomic<scheduler*> last_block_on{nullptr};
std::atomic<std::uint64_t> next_scheduler_id{1};
std::mutex live_mutex;
std::vector<scheduler*> live_schedulers;

struct driving_scope {
  bool previous = std::exchange(this_driving, true);
  ~driving_scope() { this_driving = previous; }
};

constexpr std::uint32_t max_lifo_polls = 3;
constexpr std::int64_t spin_before_park_ns = 20'000;
// A thief takes tasks from another worker's queue only when some task has
// waited there this long (or the queue is long): a worker that drains its
// queue this fast runs its tasks soon, on the core whose cache holds their
// data.
// Stealing those anyway splits tasks that talk to each other (a producer
// and its consumers, a select and its feeders) over two cores, and every
// channel operation then moves cache lines between the cores. Go waits 3 µs
// before it steals a P's runnext for the same reason.
constexpr std::int64_t steal_after_ns = 20'000;
constexpr std::uint32_t steal_at_once_length = 32;
// A worker that parked while another worker's queue had tasks (being taken
// by their owner) looks again after this long, in case that owner got stuck
// in a long task.
constexpr std::int64_t watch_interval_ns = 1'000'000;

// A full barrier for the Dekker pairs (queue push vs park). On x86 a locked
// no-op on the stack is cheaper than mfence and orders the same; ThreadSanitizer
// builds keep the standard fence it understands.
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_STANDARD_FENCE 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define WEFT_STANDARD_FENCE 1
#endif
inline void full_fence() noexcept {
#if defined(__x86_64__) && !defined(WEFT_STANDARD_FENCE)
  asm volatile("lock orq $0, (%%rsp)" ::: "memory", "cc");
#else
  std::atomic_thread_fence(std::memory_order_seq_cst);
#endif
}

inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}
constexpr std::uint32_t global_queue_interval = 61;
constexpr std::uint64_t event_fd_token = UINT64_MAX;
constexpr std::int64_t no_deadline_ns = INT64_MAX;
constexpr std::int64_t nobody_blocked = INT64_MIN;

// timeout_ns < 0: no timeout.
void futex_wait(std::atomic<std::uint32_t>& word, std::uint32_t expected,
                std::int64_t timeout_ns = -1) noexcept {
  timespec ts{};
  timespec* wait = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
    wait = &ts;
  }
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, wait,
          nullptr, 0);
}
void futex_wake(std::atomic<std::uint32_t>* word) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, INT_MAX,
          nullptr, nullptr, 0);
}

std::int64_t steady_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::coroutine_handle<> spawned_final(task_promise_base& promise,
                                      std::coroutine_handle<> self) noexcept {
  const std::uint32_t previous = promise.spawn.join.exchange(join_state::done, std::memory_order_acq_rel);
  if (previous == join_state::waiting) {
    scheduler* target = promise.spawn.joiner_scheduler;
    std::coroutine_handle<> joiner = promise.continuation();
    // Same runtime: run the joiner right here, by symmetric transfer.
    if (target == nullptr || target == this_scheduler) return joiner;
    target->schedule_wake(joiner);
  } else if (previous == join_state::detached) {
    self.destroy();
  }
  return std::noop_coroutine();
}

}  // namespace

// ---------------------------------------------------------------------------
// Contract (detail/scheduler.hpp, detail/spawn.hpp)

scheduler* current_scheduler() noexcept { return this_scheduler; }
scheduler* home_scheduler() noexcept { return this_home; }

void schedule(scheduler* s, std::coroutine_handle<> h) noexcept { s->schedule_wake(h); }
void add_timer(scheduler* s, timer_entry* t) noexcept { s->add_timer(t); }
bool cancel_timer(scheduler* s, timer_entry* t) noexcept { return s->cancel_timer(t); }

scheduler* spawn_target() {
  if (this_home != nullptr) return this_home;
  if (scheduler* s = last_block_on.load(std::memory_order_acquire)) return s;
  throw std::logic_error(
      "weft::go was called outside any runtime and no runtime has entered block_on: create a "
      "weft::runtime and start your work with runtime::block_on or runtime::spawn");
}

void spawn_frame(scheduler* s, task_promise_base& promise, std::coroutine_handle<> frame,
                 bool detached) noexcept {
  promise.spawn.on_final = &spawned_final;
  promise.spawn.join.store(detached ? join_state::detached : join_state::running,
                           std::memory_order_relaxed);
  s->schedule_back(frame);
}

bool join_wait(task_promise_base& promise, std::coroutine_handle<> joiner) noexcept {
  promise.set_continuation(joiner);
  promise.spawn.joiner_scheduler = this_scheduler;
  std::uint32_t expected = join_state::running;
  return promise.spawn.join.compare_exchange_strong(expected, join_state::waiting,
                                                    std::memory_order_acq_rel,
                                                    std::memory_order_acquire);
}

void join_detach(task_promise_base& promise, std::coroutine_handle<> frame) noexcept {
  std::uint32_t expected = join_state::running;
  if (promise.spawn.join.compare_exchange_strong(expected, join_state::detached,
                                                 std::memory_order_acq_rel,
                                                 std::memory_order_acquire))
    return;
  frame.destroy();  // it has ended: the handle owns the frame
}

void block_on_finish(std::atomic<std::uint32_t>& done) noexcept {
  std::atomic<std::uint32_t>* word = &done;
  done.store(1, std::memory_order_release);
  // The waiter may already have returned; waking a stale address is harmless.
  futex_wake(word);
}

// ---------------------------------------------------------------------------
// Construction

scheduler::scheduler(options opts)
    : virtual_time_(opts.virtual_time),
      id_(next_scheduler_id.fetch_add(1, std::memory_order_relaxed)),
      blocking_limit_(std::max<std::size_t>(1, opts.blocking_threads)),
      blocking_idle_timeout_(std::max(opts.blocking_idle_timeout, std::chrono::nanoseconds(0))) {
  std::size_t count = opts.workers;
  if (count == 0) count = std::max(1u, std::thread::hardware_concurrency());
  if (virtual_time_) count = 1;

  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) throw std::system_error(errno, std::generic_category(), "weft runtime: epoll_create1");
  event_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) {
    const int err = errno;
    ::close(epoll_fd_);
    throw std::system_error(err, std::generic_category(), "weft runtime: eventfd");
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = event_fd_token;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &ev);
  virtual_now_.store(steady_ns(), std::memory_order_relaxed);

  workers_.reserve(count);
  sleepers_.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    auto w = std::make_unique<worker>();
    w->owner = this;
    w->index = static_cast<std::uint32_t>(i);
    w->random = 0x9E3779B97F4A7C15ULL * (i + 1);
    w->views.resize(count);
    workers_.push_back(std::move(w));
  }
  if (!virtual_time_) {
    for (auto& w : workers_) {
      worker* raw = w.get();
      raw->thread = std::thread([this, raw] { worker_main(*raw); });
    }
  }
  {
    std::lock_guard lock(live_mutex);
    live_schedulers.push_back(this);
  }
}

scheduler::~scheduler() {
  {
    std::lock_guard lock(live_mutex);
    std::erase(live_schedulers, this);
  }
  shutdown_.store(true, std::memory_order_seq_cst);
  for (auto& w : workers_) {
    {
      std::lock_guard lock(sleepers_mutex_);
      w->notified.store(1, std::memory_order_seq_cst);
    }
    futex_wake(&w->notified);
  }
  wake_driver();
  for (auto& w : workers_)
    if (w->thread.joinable()) w->thread.join();
  stop_blocking_pool();
  // A thread that woke one of our tasks may still be inside schedule().
  while (outside_calls_.load(std::memory_order_acquire) != 0) std::this_thread::yield();
  destroy_queued_tasks();
  scheduler* self = this;
  last_block_on.compare_exchange_strong(self, nullptr);
  ::close(event_fd_);
  ::close(epoll_fd_);
}

// The promise of the weft::task whose frame is at `address`, or nullptr for
// a foreign coroutine. Every task promise sits where the base promise would
// (task.hpp asserts the alignment) and carries task_frame_mark.
static task_promise_base* task_promise_at(void* address) noexcept {
  if (address == nullptr || address == std::noop_coroutine().address()) return nullptr;
  auto& promise = std::coroutine_handle<task_promise_base>::from_address(address).promise();
  return promise.spawn.mark == task_frame_mark ? &promise : nullptr;
}

// Queued tasks will never run again: free them. A queued frame may be an
// awaited task nested in a spawned one, so walk the awaiter chain up to the
// spawned root and destroy that (it owns the whole chain). A root that a
// join_handle still refers to is left to that handle (it would otherwise
// free it twice); parked tasks belong to the primitives holding their
// handles, so they are not touched. Destroying a frame can queue more tasks
// (a dropped join_handle, an unlocked mutex): repeat until nothing is left.
void scheduler::destroy_queued_tasks() noexcept {
  {
    // Frames about to go may hold armed timers; their owners' destructors
    // may cancel timers: detach the heap so that touches no freed entry.
    std::lock_guard lock(timer_mutex_);
    for (timer_node& node : timers_) node.entry->heap_index = static_cast<std::size_t>(-1);
    timers_.clear();
    next_deadline_.store(no_deadline_ns, std::memory_order_relaxed);
  }
  std::vector<std::coroutine_handle<>> kept;  // roots with a live join_handle
  std::vector<void*> queued;
  for (;;) {
    queued.clear();
    for (auto& w : workers_) {
      if (void* task = std::exchange(w->lifo, nullptr)) queued.push_back(task);
      while (void* task = w->queue.pop()) queued.push_back(task);
    }
    {
      std::lock_guard lock(inject_mutex_);
      queued.insert(queued.end(), inject_.begin(), inject_.end());
      inject_.clear();
      inject_length_.store(0, std::memory_order_relaxed);
    }
    bool progress = !queued.empty();
    for (void* address : queued) {
      std::coroutine_handle<> frame = std::coroutine_handle<>::from_address(address);
      task_promise_base* promise = task_promise_at(address);
      while (promise != nullptr && promise->spawn.on_final == nullptr) {
        frame = promise->continuation();
        promise = task_promise_at(frame.address());
      }
      if (promise == nullptr) continue;  // not part of a spawned weft::task: leave it
      kept.push_back(frame);
    }
    // Roots whose join_handle was dropped (now or by an earlier destruction).
    for (auto it = kept.begin(); it != kept.end();) {
      auto& promise =
          std::coroutine_handle<task_promise_base>::from_address(it->address()).promise();
      if (promise.spawn.join.load(std::memory_order_acquire) == join_state::detached) {
        const std::coroutine_handle<> root = *it;
        it = kept.erase(it);
        root.destroy();
        progress = true;
      } else {
        ++it;
      }
    }
    if (!progress) break;
  }
}

// ---------------------------------------------------------------------------
// Scheduling

void scheduler::schedule_wake(std::coroutine_handle<> task) noexcept {
  worker* w = this_worker;
  if (w != nullptr && w->owner == this) {
    // Timers and I/O events wake tasks in the order they fired.
    if (this_driving) return push_back(*w, task.address(), !this_driving_parked);
    // The task just woken runs next on this worker, while its data is hot.
    if (void* previous = std::exchange(w->lifo, task.address())) push_back(*w, previous, true);
    return;
  }
  inject(task.address());
}

void scheduler::schedule_back(std::coroutine_handle<> task) noexcept {
  worker* w = this_worker;
  if (w != nullptr && w->owner == this) return push_back(*w, task.address(), true);
  inject(task.address());
}

void scheduler::schedule_yield(std::coroutine_handle<> task) noexcept {
  worker* w = this_worker;
  if (w != nullptr && w->owner == this) return push_back(*w, task.address(), false);
  inject(task.address());
}

void scheduler::push_back(worker& w, void* task, bool notify) noexcept {
  for (;;) {
    const std::uint32_t before = w.queue.push(task);
    if (before != local_queue::full) {
      // Only the push that makes the queue non-empty needs to wake anyone: a
      // worker parks only after seeing every queue empty (park() re-checks
      // after its fence), so a non-empty queue was already announced.
      if (notify && before == 0) notify_one();
      return;
    }
    // Full: move half of the queue, and this task, to the injection queue.
    void* batch[local_queue::capacity / 2];
    const std::uint32_t n = w.queue.take_half(batch);
    if (n == 0) continue;  // a thief made room
    {
      std::lock_guard lock(inject_mutex_);
      inject_.insert(inject_.end(), batch, batch + n);
      inject_.push_back(task);
      inject_length_.store(inject_.size(), std::memory_order_release);
    }
    if (notify) notify_one();
    return;
  }
}

void scheduler::inject(void* task) noexcept {
  // A thread outside this runtime: once the task is queued it may run, end
  // and let block_on return, so the runtime's destructor can start while we
  // still unpark a worker. It waits until this count drops to zero; the
  // decrement is our last touch of the scheduler.
  outside_calls_.fetch_add(1, std::memory_order_relaxed);  // ordered by the queue lock
  {
    std::lock_guard lock(inject_mutex_);
    inject_.push_back(task);
    inject_length_.store(inject_.size(), std::memory_order_release);
  }
  notify_one();
  outside_calls_.fetch_sub(1, std::memory_order_release);
}

void* scheduler::inject_pop(worker& w) noexcept {
  if (inject_length_.load(std::memory_order_acquire) == 0) return nullptr;
  std::lock_guard lock(inject_mutex_);
  if (inject_.empty()) return nullptr;
  void* first = inject_.front();
  inject_.pop_front();
  // Take a fair share into the local queue, within its free room.
  std::size_t n = std::min<std::size_t>(inject_.size() / workers_.size() + 1, local_queue::capacity / 2);
  n = std::min<std::size_t>(n, local_queue::capacity - w.queue.size());
  n = std::min(n, inject_.size());
  for (std::size_t i = 0; i < n; ++i) {
    w.queue.push(inject_.front());
    inject_.pop_front();
  }
  inject_length_.store(inject_.size(), std::memory_order_release);
  return first;
}

void* scheduler::next_task(worker& w) noexcept {
  if (++w.tick % global_queue_interval == 0) {
    maintenance(w);
    if (void* task = inject_pop(w)) return task;
  }
  if (w.lifo != nullptr) return std::exchange(w.lifo, nullptr);
  if (void* task = w.queue.pop()) return task;
  return inject_pop(w);
}

int scheduler::queue_state(worker& thief, const worker& victim, std::int64_t now) const noexcept {
  worker::queue_view& view = thief.views[victim.index];
  const std::uint32_t head = victim.queue.head();
  const std::uint32_t tail = victim.queue.tail();
  const std::uint32_t length = tail - head;
  if (length == 0 || length > local_queue::capacity) {  // empty, or a torn read
    view = {head, tail, now};
    return 0;
  }
  // Every task seen last time has left: a fresh look at what is queued now.
  if (static_cast<std::int32_t>(head - view.tail) >= 0) view = {head, tail, now};
  if (length >= steal_at_once_length || now - view.since_ns >= steal_after_ns) return 1;
  return -1;
}

void* scheduler::steal(worker& w, std::int64_t now) noexcept {
  const std::size_t n = workers_.size();
  w.random ^= w.random << 13;
  w.random ^= w.random >> 7;
  w.random ^= w.random << 17;
  const std::size_t start = w.random % n;
  for (std::size_t i = 0; i < n; ++i) {
    worker& victim = *workers_[(start + i) % n];
    if (&victim == &w) continue;
    if (queue_state(w, victim, now) <= 0) continue;
    if (void* task = victim.queue.steal_into(w.queue)) return task;
  }
  return inject_pop(w);
}

void* scheduler::search(worker& w) noexcept {
  if (workers_.size() == 1 || !transition_to_searching(w)) return inject_pop(w);
  std::int64_t now = steady_ns();
  if (void* task = steal(w, now)) return task;
  // Keep searching for a few microseconds before parking: waking a parked
  // worker costs the waker a syscall and both sides a context switch, and
  // while we search, wakers skip it. Bursts of spawns stay syscall-free.
  //
  // While it spins, it also polls for I/O (without blocking; the worker that
  // blocks in epoll may be parked on a halted core, slow to wake): a task
  // waiting for a reply from a server on this machine then runs as soon as
  // the reply is there, on this awake worker.
  const std::int64_t give_up = now + spin_before_park_ns;
  for (;;) {
    for (int i = 0; i < 16; ++i) cpu_relax();
    if (io_waiters_.load(std::memory_order_relaxed) != 0) {
      this_driving_parked = true;  // we run what we wake: do not wake others for it
      const std::size_t woken = poll_io(0, false);
      this_driving_parked = false;
      if (woken != 0) {
        if (void* task = w.queue.pop()) return task;
      }
    }
    now = steady_ns();
    if (void* task = steal(w, now)) return task;
    if (shutdown_.load(std::memory_order_relaxed) || now > give_up) return nullptr;
  }
}

void scheduler::run(worker& w, void* task) noexcept {
  if (w.searching) transition_from_searching(w);
  std::coroutine_handle<>::from_address(task).resume();
  // Run tasks woken into the LIFO slot, but only a few in a row so that a
  // ping-pong pair cannot starve the rest of the queue.
  for (std::uint32_t polls = 0; w.lifo != nullptr;) {
    void* next = std::exchange(w.lifo, nullptr);
    if (++polls > max_lifo_polls) {
      push_back(w, next, false);
      break;
    }
    std::coroutine_handle<>::from_address(next).resume();
  }
}

void scheduler::maintenance(worker& w) noexcept {
  if (next_deadline_.load(std::memory_order_acquire) != no_deadline_ns) fire_due_timers(now_ns());
  if (io_waiters_.load(std::memory_order_relaxed) != 0 && try_acquire_driver()) {
    poll_io(0);
    release_driver();
  }
  (void)w;
}

void scheduler::worker_main(worker& w) {
  this_worker = &w;
  this_scheduler = this;
  this_home = this;
  while (!shutdown_.load(std::memory_order_acquire)) {
    void* task = next_task(w);
    if (task == nullptr) task = search(w);
    if (task != nullptr) {
      run(w, task);
      continue;
    }
    park(w);
  }
  this_worker = nullptr;
  this_scheduler = nullptr;
  this_home = nullptr;
  release_frame_cache();
}

// ---------------------------------------------------------------------------
// Idle workers: search, park, unpark

void scheduler::notify_one() noexcept {
  // Pairs with the fence in park(): either we see the sleeper, or it sees
  // the task we just queued.
  full_fence();
  if (num_searching_.load(std::memory_order_seq_cst) != 0) return;  // a searcher will find it
  if (num_sleeping_.load(std::memory_order_seq_cst) == 0) return;
  wake_one();
}

void scheduler::wake_one() noexcept {
  worker* target = nullptr;
  {
    std::lock_guard lock(sleepers_mutex_);
    if (num_searching_.load(std::memory_order_seq_cst) != 0 || sleepers_.empty()) return;
    // Prefer a worker parked on its futex: the one in epoll keeps watching.
    std::size_t pick = sleepers_.size() - 1;
    const std::int32_t driver = driver_owner_.load(std::memory_order_seq_cst);
    if (pick > 0 && static_cast<std::int32_t>(sleepers_[pick]->index) == driver) --pick;
    target = sleepers_[pick];
    sleepers_.erase(sleepers_.begin() + static_cast<std::ptrdiff_t>(pick));
    num_sleeping_.fetch_sub(1, std::memory_order_seq_cst);
    num_searching_.fetch_add(1, std::memory_order_seq_cst);  // it wakes up searching
    target->notified.store(1, std::memory_order_seq_cst);
  }
  if (driver_owner_.load(std::memory_order_seq_cst) == static_cast<std::int32_t>(target->index))
    wake_driver();
  else
    futex_wake(&target->notified);
}

bool scheduler::transition_to_searching(worker& w) noexcept {
  if (w.searching) return true;
  // At most half of the awake workers search at once.
  const std::uint32_t searching = num_searching_.load(std::memory_order_seq_cst);
  const std::uint32_t awake =
      static_cast<std::uint32_t>(workers_.size()) - num_sleeping_.load(std::memory_order_seq_cst);
  if (2 * searching >= awake) return false;
  num_searching_.fetch_add(1, std::memory_order_seq_cst);
  w.searching = true;
  return true;
}

void scheduler::transition_from_searching(worker& w) noexcept {
  w.searching = false;
  // The last searcher found work: if more is queued anywhere (wakers skipped
  // waking anyone while we searched), wake another worker to look for it. A
  // task found alone (e.g. one I/O completion) wakes nobody: the other worker
  // would find nothing and spin.
  if (num_searching_.fetch_sub(1, std::memory_order_seq_cst) == 1 && more_work_queued(w))
    notify_one();
}

bool scheduler::more_work_queued(const worker& w) const noexcept {
  if (inject_length_.load(std::memory_order_seq_cst) != 0) return true;
  for (const auto& other : workers_)
    if (other->queue.size() != 0) return true;  // ours included
  (void)w;
  return false;
}

void scheduler::register_sleeper(worker& w) noexcept {
  std::lock_guard lock(sleepers_mutex_);
  sleepers_.push_back(&w);
  num_sleeping_.fetch_add(1, std::memory_order_seq_cst);
}

void scheduler::unregister_sleeper(worker& w) noexcept {
  std::lock_guard lock(sleepers_mutex_);
  auto it = std::find(sleepers_.begin(), sleepers_.end(), &w);
  if (it != sleepers_.end()) {
    sleepers_.erase(it);
    num_sleeping_.fetch_sub(1, std::memory_order_seq_cst);
  } else if (!shutdown_.load(std::memory_order_relaxed)) {
    w.searching = true;  // a waker took us off the list and counted us as searching
  }
  w.notified.store(0, std::memory_order_relaxed);
}

int scheduler::has_pending_work(worker& w) const noexcept {
  if (w.lifo != nullptr || !w.queue.empty()) return 1;
  if (inject_length_.load(std::memory_order_seq_cst) != 0) return 1;
  const std::int64_t next = next_deadline_.load(std::memory_order_seq_cst);
  if (next != no_deadline_ns && next <= now_ns()) return 1;
  // Only the last would-be searcher needs to look at the others' queues.
  int result = 0;
  if (num_searching_.load(std::memory_order_seq_cst) == 0 && workers_.size() > 1) {
    const std::int64_t now = steady_ns();
    for (const auto& other : workers_) {
      if (other.get() == &w) continue;
      const int state = queue_state(w, *other, now);
      if (state > 0) return 1;
      if (state < 0) result = -1;
    }
  }
  return result;
}

bool scheduler::try_acquire_driver() noexcept {
  return !driver_busy_.load(std::memory_order_relaxed) &&
         !driver_busy_.exchange(true, std::memory_order_acquire);
}
void scheduler::release_driver() noexcept { driver_busy_.store(false, std::memory_order_release); }

void scheduler::wake_driver() noexcept {
  const std::uint64_t one = 1;
  [[maybe_unused]] ssize_t r = ::write(event_fd_, &one, sizeof one);
}

void scheduler::park(worker& w) noexcept {
  register_sleeper(w);
  if (w.searching) {
    w.searching = false;
    num_searching_.fetch_sub(1, std::memory_order_seq_cst);
  }
  full_fence();
  std::size_t woken_here = 0;
  for (;;) {
    if (shutdown_.load(std::memory_order_acquire)) break;
    const int pending = has_pending_work(w);
    if (pending > 0) break;
    if (w.notified.load(std::memory_order_acquire) != 0) break;
    // Another worker's queue has tasks its owner is taking: sleep, but look
    // again soon in case that owner gets stuck in a long task.
    const std::int64_t watch = pending < 0 ? watch_interval_ns : -1;
    if (try_acquire_driver()) {
      this_driving_parked = true;
      woken_here = drive(w, watch);
      this_driving_parked = false;
      release_driver();
      if (woken_here != 0 || watch >= 0) break;
      continue;
    }
    futex_wait(w.notified, 0, watch);
    if (watch >= 0) break;
  }
  unregister_sleeper(w);
  if (woken_here > 1) notify_one();  // we run one; another worker may take the rest
}

std::size_t scheduler::drive(worker& w, std::int64_t max_wait_ns) noexcept {
  driver_owner_.store(static_cast<std::int32_t>(w.index), std::memory_order_seq_cst);
  std::size_t woken = 0;
  if (w.notified.load(std::memory_order_seq_cst) == 0 && !shutdown_.load(std::memory_order_seq_cst)) {
    // Publish how long we sleep, then re-read: add_timer either sees our
    // deadline (and wakes us) or we see its timer.
    std::int64_t deadline = next_deadline_.load(std::memory_order_seq_cst);
    driver_deadline_.store(deadline, std::memory_order_seq_cst);
    deadline = std::min(deadline, next_deadline_.load(std::memory_order_seq_cst));
    std::int64_t timeout = -1;
    if (deadline != no_deadline_ns) timeout = std::max<std::int64_t>(0, deadline - now_ns());
    if (max_wait_ns >= 0 && (timeout < 0 || timeout > max_wait_ns)) timeout = max_wait_ns;
    woken += poll_io(timeout);
    driver_deadline_.store(nobody_blocked, std::memory_order_seq_cst);
  }
  driver_owner_.store(-1, std::memory_order_seq_cst);
  woken += fire_due_timers(now_ns());
  return woken;
}

std::size_t scheduler::poll_io(std::int64_t timeout_ns, bool take_wake_signal) noexcept {
  epoll_event events[64];
  timespec ts{};
  timespec* wait = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
    wait = &ts;
  }
  const int n = epoll_pwait2(epoll_fd_, events, 64, wait, nullptr);
  if (n <= 0) return 0;
  std::size_t woken = 0;
  driving_scope driving;
  std::unique_lock lock(io_mutex_, std::defer_lock);
  for (int i = 0; i < n; ++i) {
    const std::uint64_t token = events[i].data.u64;
    if (token == event_fd_token) {
      // A searching worker leaves the signal to the worker blocked in epoll
      // (it is for that worker: re-read the next timer deadline, stop).
      if (!take_wake_signal) continue;
      std::uint64_t value = 0;
      [[maybe_unused]] ssize_t r = ::read(event_fd_, &value, sizeof value);
      continue;
    }
    if (!lock.owns_lock()) lock.lock();
    const auto index = static_cast<std::uint32_t>(token & 0xffffffffu);
    const auto generation = static_cast<std::uint32_t>(token >> 32);
    if (index >= io_slots_.size()) continue;
    io_slot& slot = io_slots_[index];
    if (slot.generation != generation) continue;  // stale event of an earlier wait
    if (slot.persistent) {
      const std::uint32_t bits = events[i].events;
      if ((bits & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) {
        ++slot.read_events;
        if ((bits & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0) slot.read_events |= source_hung_up;
        if (io_wait* reader = std::exchange(slot.waiter, nullptr)) {
          reader->on_ready();
          ++woken;
        }
      }
      if ((bits & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0) {
        ++slot.write_events;
        if (io_wait* writer = std::exchange(slot.writer, nullptr)) {
          writer->on_ready();
          ++woken;
        }
      }
      continue;
    }
    if (slot.per_fd) {
      const std::uint32_t bits = events[i].events;
      if ((bits & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0 && slot.waiter != nullptr) {
        std::exchange(slot.waiter, nullptr)->on_ready();
        ++woken;
      }
      if ((bits & (EPOLLOUT | EPOLLHUP | EPOLLERR)) != 0 && slot.writer != nullptr) {
        std::exchange(slot.writer, nullptr)->on_ready();
        ++woken;
      }
      // One-shot: the entry is disarmed now; re-arm it for the other
      // direction's waiter, if any (it keeps waiting).
      if (slot.waiter != nullptr || slot.writer != nullptr) io_rearm(index);
      continue;
    }
    if (slot.waiter == nullptr) continue;
    io_wait* waiter = std::exchange(slot.waiter, nullptr);
    waiter->on_ready();
    ++woken;
  }
  return woken;
}

// Virtual time: this thread is the only worker. The clock moves only here,
// when nothing can run and nothing outside (blocking pool, I/O) is pending.
void scheduler::drive_virtual(worker& w, std::atomic<std::uint32_t>& done) noexcept {
  while (done.load(std::memory_order_acquire) == 0) {
    if (void* task = next_task(w)) {
      run(w, task);
      continue;
    }
    if (fire_due_timers(now_ns()) != 0) continue;
    register_sleeper(w);
    if (w.searching) {
      w.searching = false;
      num_searching_.fetch_sub(1, std::memory_order_seq_cst);
    }
    full_fence();
    if (has_pending_work(w) <= 0 && w.notified.load(std::memory_order_acquire) == 0) {
      const bool outside_work = blocking_in_flight_.load(std::memory_order_seq_cst) != 0;
      const bool timers = next_deadline_.load(std::memory_order_seq_cst) != no_deadline_ns;
      std::int64_t wait = 0;
      if (outside_work || !timers) wait = -1;
      else if (io_waiters_.load(std::memory_order_seq_cst) != 0) wait = 10'000'000;  // real 10 ms
      driver_owner_.store(static_cast<std::int32_t>(w.index), std::memory_order_seq_cst);
      std::size_t woken = 0;
      if (w.notified.load(std::memory_order_seq_cst) == 0) woken = poll_io(wait);
      driver_owner_.store(-1, std::memory_order_seq_cst);
      if (woken == 0 && wait != -1 && w.notified.load(std::memory_order_seq_cst) == 0 &&
          inject_length_.load(std::memory_order_seq_cst) == 0 &&
          blocking_in_flight_.load(std::memory_order_seq_cst) == 0) {
        // Every task is parked: jump to the next timer.
        const std::int64_t next = next_deadline_.load(std::memory_order_seq_cst);
        if (next != no_deadline_ns && next > virtual_now_.load(std::memory_order_relaxed))
          virtual_now_.store(next, std::memory_order_seq_cst);
      }
    }
    unregister_sleeper(w);
  }
}

void scheduler::run_until_done(task<void> wrapper, std::atomic<std::uint32_t>& done) {
  if (this_scheduler != nullptr)
    throw std::logic_error(
        "weft::runtime::block_on was called on a runtime thread; await the task instead");
  last_block_on.store(this, std::memory_order_release);
  auto frame = wrapper.release();
  if (!virtual_time_) {
    spawn_frame(this, frame.promise(), frame, true);
    while (done.load(std::memory_order_acquire) == 0) futex_wait(done, 0);
    return;
  }
  worker& w = *workers_[0];
  this_worker = &w;
  this_scheduler = this;
  this_home = this;
  spawn_frame(this, frame.promise(), frame, true);
  drive_virtual(w, done);
  this_worker = nullptr;
  this_scheduler = nullptr;
  this_home = nullptr;
}

// ---------------------------------------------------------------------------
// Timers: a binary min-heap on (deadline, insertion order).

std::int64_t scheduler::now_ns() const noexcept {
  return virtual_time_ ? virtual_now_.load(std::memory_order_acquire) : steady_ns();
}

clock::time_point scheduler::now() const noexcept {
  return clock::time_point(clock::duration(now_ns()));
}

void scheduler::heap_swap(std::size_t a, std::size_t b) noexcept {
  std::swap(timers_[a], timers_[b]);
  timers_[a].entry->heap_index = a;
  timers_[b].entry->heap_index = b;
}

static bool earlier(const auto& a, const auto& b) noexcept {
  return a.deadline < b.deadline || (a.deadline == b.deadline && a.sequence < b.sequence);
}

void scheduler::heap_up(std::size_t i) noexcept {
  while (i > 0) {
    const std::size_t parent = (i - 1) / 2;
    if (!earlier(timers_[i], timers_[parent])) break;
    heap_swap(i, parent);
    i = parent;
  }
}

void scheduler::heap_down(std::size_t i) noexcept {
  const std::size_t n = timers_.size();
  for (;;) {
    std::size_t best = i;
    const std::size_t left = 2 * i + 1;
    const std::size_t right = left + 1;
    if (left < n && earlier(timers_[left], timers_[best])) best = left;
    if (right < n && earlier(timers_[right], timers_[best])) best = right;
    if (best == i) return;
    heap_swap(i, best);
    i = best;
  }
}

void scheduler::heap_remove(std::size_t i) noexcept {
  const std::size_t last = timers_.size() - 1;
  if (i != last) heap_swap(i, last);
  timers_.pop_back();
  if (i < timers_.size()) {
    heap_up(i);
    heap_down(i);
  }
}

void scheduler::add_timer(timer_entry* entry) noexcept {
  const std::int64_t deadline = entry->deadline.time_since_epoch().count();
  bool earliest = false;
  {
    std::lock_guard lock(timer_mutex_);
    timers_.push_back(timer_node{deadline, timer_sequence_++, entry});
    entry->heap_index = timers_.size() - 1;
    heap_up(timers_.size() - 1);
    earliest = timers_.front().entry == entry;
    if (earliest) next_deadline_.store(deadline, std::memory_order_seq_cst);
  }
  // The worker blocked in epoll sleeps until a later deadline: re-arm it.
  if (earliest && deadline < driver_deadline_.load(std::memory_order_seq_cst)) wake_driver();
}

bool scheduler::cancel_timer(timer_entry* entry) noexcept {
  std::unique_lock lock(timer_mutex_);
  if (entry->heap_index == static_cast<std::size_t>(-1)) {
    // Already taken off the heap: if another thread runs its callback right
    // now, wait for the end of it (the caller may destroy the entry next).
    // From inside that callback (same thread) there is nothing to wait for.
    while (firing_entry_ == entry && firing_thread_ != std::this_thread::get_id()) {
      lock.unlock();
      std::this_thread::yield();
      lock.lock();
    }
    return false;
  }
  heap_remove(entry->heap_index);
  entry->heap_index = static_cast<std::size_t>(-1);
  next_deadline_.store(timers_.empty() ? no_deadline_ns : timers_.front().deadline,
                       std::memory_order_seq_cst);
  return true;
}

std::size_t scheduler::fire_due_timers(std::int64_t now) noexcept {
  if (next_deadline_.load(std::memory_order_acquire) > now) return 0;
  // Callbacks run with timer_mutex_ released, so they may add and cancel
  // timers (a lease's lost() may release the lease). One thread fires at a
  // time; a second caller leaves the due timers to it.
  driving_scope driving;
  std::size_t fired = 0;
  std::unique_lock lock(timer_mutex_);
  if (firing_entry_ != nullptr) return 0;
  while (!timers_.empty() && timers_.front().deadline <= now) {
    timer_entry* entry = timers_.front().entry;
    heap_remove(0);
    entry->heap_index = static_cast<std::size_t>(-1);
    next_deadline_.store(timers_.empty() ? no_deadline_ns : timers_.front().deadline,
                         std::memory_order_seq_cst);
    firing_entry_ = entry;
    firing_thread_ = std::this_thread::get_id();
    lock.unlock();
    entry->on_fire(entry);  // may free the entry: not touched after this
    ++fired;
    lock.lock();
    firing_entry_ = nullptr;
  }
  next_deadline_.store(timers_.empty() ? no_deadline_ns : timers_.front().deadline,
                       std::memory_order_seq_cst);
  return fired;
}

// ---------------------------------------------------------------------------
// Blocking pool

void submit_blocking(scheduler* s, blocking_job* job) noexcept { s->submit_blocking(job); }
std::size_t blocking_threads_alive(scheduler* s) noexcept { return s->blocking_threads_alive(); }

std::size_t scheduler::blocking_threads_alive() noexcept {
  std::lock_guard lock(blocking_mutex_);
  return blocking_threads_;
}

void scheduler::submit_blocking(blocking_job* job) noexcept {
  blocking_in_flight_.fetch_add(1, std::memory_order_seq_cst);
  std::lock_guard lock(blocking_mutex_);
  job->next = nullptr;
  if (blocking_tail_ != nullptr) blocking_tail_->next = job;
  else blocking_head_ = job;
  blocking_tail_ = job;
  if (blocking_idle_ > 0) {
    blocking_ready_.notify_one();
    return;
  }
  if (blocking_threads_ >= blocking_limit_) return;  // queued for a busy thread
  for (auto it = blocking_pool_.begin(); it != blocking_pool_.end();) {
    if (it->exited) {
      it->thread.join();
      it = blocking_pool_.erase(it);
    } else {
      ++it;
    }
  }
  blocking_thread& entry = blocking_pool_.emplace_back();
  try {
    entry.thread = std::thread([this, &entry] { blocking_main(entry); });
    ++blocking_threads_;
  } catch (...) {
    blocking_pool_.pop_back();  // no thread: the job waits for a busy one
  }
}

void scheduler::blocking_main(blocking_thread& self) noexcept {
  this_home = this;
  std::unique_lock lock(blocking_mutex_);
  for (;;) {
    while (blocking_head_ == nullptr && !blocking_stop_) {
      ++blocking_idle_;
      const auto status = blocking_ready_.wait_for(lock, blocking_idle_timeout_);
      --blocking_idle_;
      if (status == std::cv_status::timeout && blocking_head_ == nullptr) {
        // Idle for long: retire this thread.
        --blocking_threads_;
        self.exited = true;
        return;
      }
    }
    if (blocking_head_ == nullptr) break;  // stopping and drained
    blocking_job* job = blocking_head_;
    blocking_head_ = job->next;
    if (blocking_head_ == nullptr) blocking_tail_ = nullptr;
    lock.unlock();
    scheduler* owner = job->owner;
    const std::coroutine_handle<> task = job->task;
    job->run(job);
    owner->schedule_wake(task);
    // Virtual time may wait only for this call to end before jumping ahead.
    if (blocking_in_flight_.fetch_sub(1, std::memory_order_seq_cst) == 1 && virtual_time_)
      wake_driver();
    lock.lock();
  }
  --blocking_threads_;
  self.exited = true;
}

void scheduler::stop_blocking_pool() noexcept {
  {
    std::lock_guard lock(blocking_mutex_);
    blocking_stop_ = true;
  }
  blocking_ready_.notify_all();
  for (auto& entry : blocking_pool_)
    if (entry.thread.joinable()) entry.thread.join();
  blocking_pool_.clear();
}

// ---------------------------------------------------------------------------
// I/O registrations (one-shot; see io.cpp)

std::uint32_t scheduler::io_allocate_slot() noexcept {
  std::uint32_t index = 0;
  if (io_free_ != UINT32_MAX) {
    index = io_free_;
    io_free_ = io_slots_[index].next_free;
  } else {
    index = static_cast<std::uint32_t>(io_slots_.size());
    io_slots_.emplace_back();
  }
  return index;
}

void scheduler::io_free_slot(std::uint32_t index) noexcept {
  io_slot& slot = io_slots_[index];
  const std::uint32_t generation = slot.generation + 1;
  slot = io_slot{};
  slot.generation = generation;
  slot.next_free = io_free_;
  io_free_ = index;
}

int scheduler::io_rearm(std::uint32_t index) noexcept {
  io_slot& slot = io_slots_[index];
  epoll_event ev{};
  ev.events = EPOLLONESHOT;
  if (slot.waiter != nullptr) ev.events |= EPOLLIN | EPOLLRDHUP;
  if (slot.writer != nullptr) ev.events |= EPOLLOUT;
  if (slot.registered) {
    ev.data.u64 = (static_cast<std::uint64_t>(slot.generation) << 32) | index;
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, slot.fd, &ev) == 0) return 0;
    const int err = errno;
    // The file was closed since (its entry went with it), or its number now
    // names another file. An entry of the old file may live on while a dup
    // of it does: a new generation makes its events stale.
    slot.registered = false;
    ++slot.generation;
    if (err != ENOENT) return err;
  }
  ev.data.u64 = (static_cast<std::uint64_t>(slot.generation) << 32) | index;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, slot.fd, &ev) != 0) return errno;
  slot.registered = true;
  return 0;
}

int scheduler::io_arm(io_wait* waiter, int fd, bool write, std::uint64_t& token) noexcept {
  if (fd < 0) return EBADF;
  std::lock_guard lock(io_mutex_);
  const auto number = static_cast<std::size_t>(fd);
  if (fd_slots_.size() <= number) fd_slots_.resize(number + 1, UINT32_MAX);
  std::uint32_t index = fd_slots_[number];
  if (index == UINT32_MAX) {
    index = io_allocate_slot();
    io_slots_[index].per_fd = true;
    io_slots_[index].fd = fd;
    fd_slots_[number] = index;
  }
  io_wait*& mine = write ? io_slots_[index].writer : io_slots_[index].waiter;
  if (mine != nullptr) return EBUSY;
  mine = waiter;
  if (const int err = io_rearm(index); err != 0) {
    (write ? io_slots_[index].writer : io_slots_[index].waiter) = nullptr;
    return err;
  }
  token = (static_cast<std::uint64_t>(io_slots_[index].generation) << 32) | index;
  io_waiters_.fetch_add(1, std::memory_order_seq_cst);
  return 0;
}

void scheduler::io_disarm(std::uint64_t token, bool write, io_wait* waiter) noexcept {
  io_waiters_.fetch_sub(1, std::memory_order_seq_cst);
  std::lock_guard lock(io_mutex_);
  io_slot& slot = io_slots_[static_cast<std::uint32_t>(token & 0xffffffffu)];
  // Still set when the timer won; the entry stays armed (an event for nobody
  // is dropped, and the next wait re-arms it anyway).
  io_wait*& mine = write ? slot.writer : slot.waiter;
  if (mine == waiter) mine = nullptr;
}

int scheduler::io_register(io_wait* waiter, int fd, std::uint32_t events,
                           std::uint64_t& token) noexcept {
  std::uint32_t index = 0;
  std::uint32_t generation = 0;
  {
    std::lock_guard lock(io_mutex_);
    index = io_allocate_slot();
    io_slots_[index].waiter = waiter;
    generation = io_slots_[index].generation;
  }
  token = (static_cast<std::uint64_t>(generation) << 32) | index;
  epoll_event ev{};
  ev.events = events | EPOLLONESHOT;
  ev.data.u64 = token;
  io_waiters_.fetch_add(1, std::memory_order_seq_cst);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    const int err = errno;
    io_unregister(fd, token, false);
    return err;
  }
  return 0;
}

void scheduler::io_unregister(int fd, std::uint64_t token, bool in_epoll) noexcept {
  if (in_epoll) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  io_waiters_.fetch_sub(1, std::memory_order_seq_cst);
  std::lock_guard lock(io_mutex_);
  io_free_slot(static_cast<std::uint32_t>(token & 0xffffffffu));
}

int scheduler::io_open_source(int fd, std::uint64_t& token) noexcept {
  std::uint32_t index = 0;
  std::uint32_t generation = 0;
  {
    std::lock_guard lock(io_mutex_);
    // A readable/writable entry kept for this fd (e.g. tcp_stream's connect)
    // makes way: the source's entry replaces it, and later waits on the fd
    // must not MOD the source's entry.
    const auto number = static_cast<std::size_t>(fd);
    if (fd >= 0 && number < fd_slots_.size() && fd_slots_[number] != UINT32_MAX) {
      io_slot& kept = io_slots_[fd_slots_[number]];
      if (kept.registered) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
      kept.registered = false;
      ++kept.generation;
    }
    index = io_allocate_slot();
    io_slots_[index].persistent = true;
    generation = io_slots_[index].generation;
  }
  token = (static_cast<std::uint64_t>(generation) << 32) | index;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.u64 = token;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    const int err = errno;
    std::lock_guard lock(io_mutex_);
    io_free_slot(index);
    return err;
  }
  return 0;
}

void io_close_source_if_alive(std::uint64_t id, int fd, std::uint64_t token) noexcept {
  std::lock_guard lock(live_mutex);
  for (scheduler* s : live_schedulers)
    if (s->id() == id) return s->io_close_source(fd, token);
}

void scheduler::io_close_source(int fd, std::uint64_t token) noexcept {
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  std::lock_guard lock(io_mutex_);
  io_free_slot(static_cast<std::uint32_t>(token & 0xffffffffu));
}

std::uint64_t scheduler::io_source_events(std::uint64_t token, bool write) noexcept {
  std::lock_guard lock(io_mutex_);
  const io_slot& slot = io_slots_[static_cast<std::uint32_t>(token & 0xffffffffu)];
  return write ? slot.write_events : slot.read_events;
}

bool scheduler::io_source_park(std::uint64_t token, bool write, std::uint64_t observed,
                               io_wait* waiter) noexcept {
  std::lock_guard lock(io_mutex_);
  io_slot& slot = io_slots_[static_cast<std::uint32_t>(token & 0xffffffffu)];
  if ((write ? slot.write_events : slot.read_events) != observed) return false;
  (write ? slot.writer : slot.waiter) = waiter;
  io_waiters_.fetch_add(1, std::memory_order_seq_cst);
  return true;
}

void scheduler::io_source_unpark(std::uint64_t token, bool write, io_wait* waiter) noexcept {
  io_disarm(token, write, waiter);  // the same bookkeeping: the entry stays registered
}

}  // namespace weft::detail

// ---------------------------------------------------------------------------
// Public types

namespace weft {

clock::time_point clock::now() noexcept {
  if (detail::scheduler* s = detail::this_scheduler; s != nullptr && s->virtual_time()) return s->now();
  return time_point(std::chrono::duration_cast<duration>(
      std::chrono::steady_clock::now().time_since_epoch()));
}

runtime::runtime(runtime_options options)
    : scheduler_(std::make_unique<detail::scheduler>(detail::scheduler::options{
          options.workers, options.virtual_time, options.blocking_threads,
          options.blocking_idle_timeout})) {}

runtime::~runtime() = default;

std::size_t runtime::workers() const noexcept { return scheduler_->worker_count(); }

void runtime::run_until_done(task<void> wrapper, std::atomic<std::uint32_t>& done) {
  scheduler_->run_until_done(std::move(wrapper), done);
}

}  // namespace weft
