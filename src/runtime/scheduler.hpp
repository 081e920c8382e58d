// The scheduler behind weft::runtime (internal).
//
// Layers, bottom up:
//   local_queue   per-worker bounded ring (Tokio/Go style), lock-free
//   scheduler     workers, LIFO slot, injection queue, search/steal, parking
//   driver        epoll + eventfd + timer heap; one parked worker blocks in it
//   blocking pool threads for spawn_blocking
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "weft/clock.hpp"
#include "weft/detail/scheduler.hpp"
#include "weft/spawn_blocking.hpp"
#include "weft/task.hpp"
#include <list>

namespace weft::detail {

class io_wait;

// Bounded single-producer, multi-consumer ring. The owner pushes at the tail
// and pops at the head; thieves take half from the head. Indices wrap.
class local_queue {
 public:
  static constexpr std::uint32_t capacity = 256;

  static constexpr std::uint32_t full = UINT32_MAX;

  // Owner only. Returns the length before the push, or `full`.
  std::uint32_t push(void* task) noexcept {
    const std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    const std::uint32_t head = head_.load(std::memory_order_acquire);
    if (tail - head >= capacity) return full;
    buffer_[tail % capacity].store(task, std::memory_order_relaxed);
    tail_.store(tail + 1, std::memory_order_release);
    return tail - head;
  }
  // Owner only.
  void* pop() noexcept {
    std::uint32_t head = head_.load(std::memory_order_acquire);
    for (;;) {
      const std::uint32_t tail = tail_.load(std::memory_order_relaxed);
      if (tail == head) return nullptr;
      void* task = buffer_[head % capacity].load(std::memory_order_relaxed);
      if (head_.compare_exchange_weak(head, head + 1, std::memory_order_acq_rel,
                                      std::memory_order_acquire))
        return task;
    }
  }
  // Owner only: removes half of the queue into `out` (for overflow).
  std::uint32_t take_half(void** out) noexcept {
    std::uint32_t head = head_.load(std::memory_order_acquire);
    const std::uint32_t tail = tail_.load(std::memory_order_relaxed);
    const std::uint32_t n = (tail - head) / 2;
    if (n == 0) return 0;
    for (std::uint32_t i = 0; i < n; ++i)
      out[i] = buffer_[(head + i) % capacity].load(std::memory_order_relaxed);
    if (head_.compare_exchange_strong(head, head + n, std::memory_order_acq_rel,
                                      std::memory_order_acquire))
      return n;
    return 0;  // a thief made room meanwhile
  }
  // Any thread: moves half of this queue into `into` (whose owner is the
  // caller) and returns one task to run, or nullptr.
  void* steal_into(local_queue& into) noexcept {
    void* batch[capacity / 2];
    std::uint32_t n = 0;
    for (;;) {
      std::uint32_t head = head_.load(std::memory_order_acquire);
      const std::uint32_t tail = tail_.load(std::memory_order_acquire);
      n = tail - head;
      n = n - n / 2;
      if (n == 0) return nullptr;
      if (n > capacity / 2) continue;  // inconsistent snapshot, retry
      for (std::uint32_t i = 0; i < n; ++i)
        batch[i] = buffer_[(head + i) % capacity].load(std::memory_order_relaxed);
      if (head_.compare_exchange_strong(head, head + n, std::memory_order_acq_rel,
                                        std::memory_order_acquire))
        break;
    }
    for (std::uint32_t i = 1; i < n; ++i) into.push(batch[i]);  // into is empty enough
    return batch[0];
  }
  bool empty() const noexcept {
    return tail_.load(std::memory_order_acquire) == head_.load(std::memory_order_acquire);
  }
  // Any thread: the head index, which moves whenever a task leaves the queue.
  std::uint32_t head() const noexcept { return head_.load(std::memory_order_relaxed); }
  std::uint32_t tail() const noexcept { return tail_.load(std::memory_order_relaxed); }
  std::uint32_t size() const noexcept {
    return tail_.load(std::memory_order_acquire) - head_.load(std::memory_order_acquire);
  }

 private:
  alignas(64) std::atomic<std::uint32_t> head_{0};
  alignas(64) std::atomic<std::uint32_t> tail_{0};
  alignas(64) std::atomic<void*> buffer_[capacity] = {};
};

struct alignas(64) worker {
  scheduler* owner = nullptr;
  std::uint32_t index = 0;
  local_queue queue;
  // Owner-only state.
  void* lifo = nullptr;
  std::uint32_t tick = 0;
  bool searching = false;
  std::uint64_t random = 0;
  // What this worker, as a thief, saw of each worker's queue: the tasks
  // [head, tail) queued at `since_ns`, until its owner has taken them all.
  struct queue_view {
    std::uint32_t head = 0;
    std::uint32_t tail = 0;
    std::int64_t since_ns = 0;
  };
  std::vector<queue_view> views;
  // Set by a waker (under the sleepers lock); the futex word.
  alignas(64) std::atomic<std::uint32_t> notified{0};
  std::thread thread;
};

class scheduler {
 public:
  struct options {
    std::size_t workers = 0;
    bool virtual_time = false;
    std::size_t blocking_threads = 64;
    std::chrono::nanoseconds blocking_idle_timeout = std::chrono::seconds(10);
  };

  explicit scheduler(options opts);
  ~scheduler();
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  std::size_t worker_count() const noexcept { return workers_.size(); }
  // Unique for the life of the process (addresses can be reused).
  std::uint64_t id() const noexcept { return id_; }
  bool virtual_time() const noexcept { return virtual_time_; }

  // --- scheduling ---
  void schedule_wake(std::coroutine_handle<> task) noexcept;   // LIFO slot
  void schedule_back(std::coroutine_handle<> task) noexcept;   // back of queue, notify
  void schedule_yield(std::coroutine_handle<> task) noexcept;  // back of queue
  void run_until_done(task<void> wrapper, std::atomic<std::uint32_t>& done);

  // --- time ---
  clock::time_point now() const noexcept;
  void add_timer(timer_entry* entry) noexcept;
  bool cancel_timer(timer_entry* entry) noexcept;

  // --- blocking pool ---
  void submit_blocking(blocking_job* job) noexcept;
  std::size_t blocking_threads_alive() noexcept;

  // --- I/O ---
  // readable/writable: one epoll entry kept per fd, one-shot, re-armed with
  // EPOLL_CTL_MOD for each wait (one syscall). At most one reader and one
  // writer per fd: EBUSY when this direction is taken (watch a dup instead).
  int io_arm(io_wait* waiter, int fd, bool write, std::uint64_t& token) noexcept;
  void io_disarm(std::uint64_t token, bool write, io_wait* waiter) noexcept;
  // A one-shot entry of its own (for a dup of a busy fd), removed after the wait.
  int io_register(io_wait* waiter, int fd, std::uint32_t events, std::uint64_t& token) noexcept;
  void io_unregister(int fd, std::uint64_t token, bool in_epoll) noexcept;

  // Persistent edge-triggered registrations (tcp_stream): one per fd for its
  // whole life, with an event counter per direction so a reader that saw
  // EAGAIN parks only if no event arrived since it last looked. The read
  // count carries source_hung_up once the peer closed or the socket failed:
  // that edge may come with the last bytes and be spent on the read that
  // takes them, so a reader must not count the socket as drained after it.
  static constexpr std::uint64_t source_hung_up = std::uint64_t{1} << 63;
  int io_open_source(int fd, std::uint64_t& token) noexcept;
  void io_close_source(int fd, std::uint64_t token) noexcept;
  std::uint64_t io_source_events(std::uint64_t token, bool write) noexcept;
  // False (do not park) when an event arrived after `observed`.
  bool io_source_park(std::uint64_t token, bool write, std::uint64_t observed, io_wait* waiter) noexcept;
  void io_source_unpark(std::uint64_t token, bool write, io_wait* waiter) noexcept;

 private:
  friend class runtime_access;
  struct blocking_thread {
    std::thread thread;
    bool exited = false;
  };
  struct timer_node {
    std::int64_t deadline;
    std::uint64_t sequence;
    timer_entry* entry;
  };
  struct io_slot {
    std::uint32_t generation = 0;
    io_wait* waiter = nullptr;  // one-shot wait, or a source's reader
    std::uint32_t next_free = 0;
    bool persistent = false;
    io_wait* writer = nullptr;  // a source's writer
    std::uint64_t read_events = 0;
    std::uint64_t write_events = 0;
    bool per_fd = false;      // kept for fd `fd` by io_arm
    bool registered = false;  // per_fd: its entry is in the epoll set
    int fd = -1;
  };
  std::uint32_t io_allocate_slot() noexcept;  // io_mutex_ held
  void io_free_slot(std::uint32_t index) noexcept;  // io_mutex_ held
  int io_rearm(std::uint32_t index) noexcept;        // io_mutex_ held

  void worker_main(worker& w);
  void* next_task(worker& w) noexcept;
  void* inject_pop(worker& w) noexcept;
  void* search(worker& w) noexcept;
  void* steal(worker& w, std::int64_t now) noexcept;
  // 1: `victim`'s queue has tasks its owner has not touched for a while
  // (steal them); 0: it is empty; -1: it has tasks but its owner is taking
  // them (leave them, the owner runs them soon with their data hot).
  int queue_state(worker& thief, const worker& victim, std::int64_t now) const noexcept;
  void run(worker& w, void* task) noexcept;
  void push_back(worker& w, void* task, bool notify) noexcept;
  void inject(void* task) noexcept;
  void maintenance(worker& w) noexcept;
  void destroy_queued_tasks() noexcept;  // destructor only

  // Parking.
  void notify_one() noexcept;
  void wake_one() noexcept;
  bool transition_to_searching(worker& w) noexcept;
  void transition_from_searching(worker& w) noexcept;
  bool more_work_queued(const worker& w) const noexcept;
  void park(worker& w) noexcept;
  void register_sleeper(worker& w) noexcept;
  void unregister_sleeper(worker& w) noexcept;
  // 1: work to run; 0: none; -1: none to take, but another worker's queue
  // has tasks (park with a timeout and look again: its owner may get stuck).
  int has_pending_work(worker& w) const noexcept;
  bool try_acquire_driver() noexcept;
  void release_driver() noexcept;
  // Waits in epoll up to `timeout_ns` (-1 = forever), then fires I/O and
  // due timers. Returns how many tasks became runnable.
  std::size_t drive(worker& w, std::int64_t max_wait_ns) noexcept;  // -1: no limit
  // take_wake_signal: false for a worker polling while another may block in
  // epoll (the eventfd's signal is for that one).
  std::size_t poll_io(std::int64_t timeout_ns, bool take_wake_signal = true) noexcept;
  void wake_driver() noexcept;
  void drive_virtual(worker& w, std::atomic<std::uint32_t>& done) noexcept;

  // Timers.
  std::size_t fire_due_timers(std::int64_t now_ns) noexcept;
  void heap_swap(std::size_t a, std::size_t b) noexcept;
  void heap_up(std::size_t i) noexcept;
  void heap_down(std::size_t i) noexcept;
  void heap_remove(std::size_t i) noexcept;
  std::int64_t now_ns() const noexcept;

  // Blocking pool.
  void blocking_main(blocking_thread& self) noexcept;
  void stop_blocking_pool() noexcept;

  const bool virtual_time_;
  const std::uint64_t id_;
  std::vector<std::unique_ptr<worker>> workers_;
  std::atomic<bool> shutdown_{false};

  // Injection queue.
  alignas(64) std::mutex inject_mutex_;
  std::deque<void*> inject_;
  std::atomic<std::size_t> inject_length_{0};
  std::atomic<std::uint32_t> outside_calls_{0};  // threads inside inject(); see there

  // Idle bookkeeping.
  alignas(64) std::atomic<std::uint32_t> num_searching_{0};
  std::atomic<std::uint32_t> num_sleeping_{0};
  std::mutex sleepers_mutex_;
  std::vector<worker*> sleepers_;

  // Driver (epoll + eventfd), held by at most one worker at a time.
  alignas(64) std::atomic<bool> driver_busy_{false};
  std::atomic<std::int32_t> driver_owner_{-1};
  std::atomic<std::int64_t> driver_deadline_{INT64_MIN};  // MIN: nobody blocked
  int epoll_fd_ = -1;
  int event_fd_ = -1;

  // Timer heap.
  alignas(64) std::mutex timer_mutex_;
  std::vector<timer_node> timers_;
  std::uint64_t timer_sequence_ = 0;
  timer_entry* firing_entry_ = nullptr;  // whose callback runs now (unlocked)
  std::thread::id firing_thread_;
  std::atomic<std::int64_t> next_deadline_{INT64_MAX};
  std::atomic<std::int64_t> virtual_now_{0};

  // I/O registrations.
  std::mutex io_mutex_;
  std::vector<io_slot> io_slots_;
  std::uint32_t io_free_ = UINT32_MAX;
  std::vector<std::uint32_t> fd_slots_;  // fd -> its per_fd slot, UINT32_MAX: none
  std::atomic<std::uint32_t> io_waiters_{0};

  // Blocking pool.
  std::mutex blocking_mutex_;
  std::condition_variable blocking_ready_;
  blocking_job* blocking_head_ = nullptr;
  blocking_job* blocking_tail_ = nullptr;
  std::size_t blocking_limit_;
  std::chrono::nanoseconds blocking_idle_timeout_;
  std::size_t blocking_threads_ = 0;
  std::size_t blocking_idle_ = 0;
  bool blocking_stop_ = false;
  std::list<blocking_thread> blocking_pool_;
  std::atomic<std::uint32_t> blocking_in_flight_{0};
};

// The runtime a thread belongs to for `go` (workers, blocking-pool threads).
scheduler* home_scheduler() noexcept;

// Drops a persistent registration if runtime `id` still exists (a stream may
// outlive the runtime it was first used on).
void io_close_source_if_alive(std::uint64_t id, int fd, std::uint64_t token) noexcept;

}  // namespace weft::detail
