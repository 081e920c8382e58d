#include "connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <charconv>
#include <cstring>
#include <span>
#include <thread>
#include <utility>

#include "io_glue.hpp"
#include "weft/tcp_stream.hpp"

namespace weft::lock::redis_detail {
namespace {

struct pending_call {
  bool detached = false;  // sent by send_detached: nobody waits for the reply
  parking slot;  // signalled once `outcome` is final
  result<reply> outcome = fail(errc::unreachable, "no reply");
  clock::time_point deadline;
  std::string what;
};

reply convert(const redisReply* r) {
  reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING:
      out.type = reply::kind::string;
      out.text.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = reply::kind::status;
      out.text.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = reply::kind::error;
      out.text.assign(r->str, r->len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = reply::kind::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = reply::kind::array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = reply::kind::nil;
      break;
  }
  return out;
}

std::string format(const std::vector<std::string>& arguments) {
  std::size_t bytes = 16;
  for (const auto& a : arguments) bytes += a.size() + 16;
  command_builder out(arguments.size(), bytes);
  for (const auto& a : arguments) out.add(a);
  return std::move(out).take();
}

std::string errno_text(int code) { return std::strerror(code); }

}  // namespace

// One TCP connection: socket, unsent bytes, parser and the calls awaiting replies.
//
// Nobody reads a connection permanently. The first task that waits for a reply
// becomes the reader ("leader"): it waits for the socket, parses what came,
// signals the calls that got their replies, and when its own reply is in,
// hands the reading over to the oldest call still waiting. An uncontended
// call thus reads its own reply (no hop through another task), and an idle
// connection has no task parked on it: a store may outlive the runtime that
// used it. Subscriber connections get a reader task only while some waiter or
// observer needs pushes (see start_reading).
struct connection::link : std::enable_shared_from_this<connection::link> {
  int fd = -1;
  // Owns `fd`. Reads go through it: it keeps one persistent edge-triggered
  // epoll registration per socket, so a round trip costs no epoll_ctl.
  weft::tcp_stream stream;
  char read_buffer[16384];  // used by the one task reading at a time
  std::string describe;
  bool subscriber = false;
  std::function<void(std::string_view, std::string_view)> on_push;

  std::mutex mutex;
  std::atomic<bool> broken{false};
  error failure{errc::unreachable, "connection lost"};
  std::string output;
  bool writer_running = false;
  bool reading = false;          // a task is reading (a leader or the reader task)
  bool reader_task = false;      // ... and it is the subscriber reader task
  std::shared_ptr<parking> reader_exited;
  redisReader* parser = redisReaderCreate();
  std::deque<std::shared_ptr<pending_call>> waiting;
  std::deque<std::shared_ptr<parking>> pumpers;  // tasks in wait_reading() that do not read

  // A reader leaves: hand the reading to the oldest call still waiting for a
  // reply, else to a task waiting for pushes. With `mutex` held.
  std::shared_ptr<parking> successor_locked() {
    for (auto& call : waiting)
      if (!call->detached) return std::shared_ptr<parking>(call, &call->slot);
    if (!pumpers.empty()) {
      auto next = std::move(pumpers.front());
      pumpers.pop_front();
      return next;
    }
    return nullptr;
  }

  ~link() {
    if (parser) redisReaderFree(parser);
  }

  // Marks the link dead (shutdown wakes whoever waits on the socket) and fails
  // every call still waiting. With `mutex` held; returns the calls to signal
  // once it is released.
  std::deque<std::shared_ptr<pending_call>> fail_locked(error why) {
    if (!broken.exchange(true)) {
      failure = std::move(why);
      if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
    }
    for (auto& p : waiting) p->outcome = fail(failure);
    return std::exchange(waiting, {});
  }

  // Called by the deadline keeper thread: a call waited past its deadline.
  // Only marks the link and shuts the socket; the task reading it then fails
  // every call (signalling happens on the runtime, never from this thread).
  void expire_overdue(clock::time_point now) {
    std::lock_guard guard(mutex);
    if (broken.load()) return;
    for (auto& call : waiting) {
      if (call->deadline <= now) {
        failure = error(errc::timeout, "redis " + describe + " did not answer " + call->what + " in time");
        broken.store(true);
        ::shutdown(fd, SHUT_RDWR);
        return;
      }
    }
  }

  static void signal_all(std::deque<std::shared_ptr<pending_call>>& calls) {
    for (auto& p : calls) p->slot.signal();
  }

  // Writes what it can without blocking. With `mutex` held.
  std::deque<std::shared_ptr<pending_call>> flush_locked() {
    while (!output.empty()) {
      ssize_t n = ::send(fd, output.data(), output.size(), MSG_NOSIGNAL);
      if (n > 0) {
        output.erase(0, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!writer_running) {
          writer_running = true;
          spawn(write_loop(shared_from_this()));
        }
        return {};
      }
      return fail_locked(error(errc::unreachable, "writing to redis " + describe +
                                                      " failed: " + errno_text(errno)));
    }
    return {};
  }

  // Lives only while a write could not complete at once (rare: replies and
  // commands are small).
  static task<void> write_loop(std::shared_ptr<link> self) {
    for (;;) {
      auto ready = co_await wait_writable(self->fd, clock::time_point::max());
      std::deque<std::shared_ptr<pending_call>> failed;
      bool done = false;
      {
        std::lock_guard guard(self->mutex);
        if (self->broken.load()) {
          self->writer_running = false;
          done = true;
        } else if (!ready) {
          failed = self->fail_locked(ready.error());
        } else {
          self->writer_running = false;  // flush_locked restarts us if needed
          failed = self->flush_locked();
          done = true;
        }
      }
      signal_all(failed);
      if (done || !failed.empty()) co_return;
    }
  }

  struct harvest {
    std::vector<std::shared_ptr<pending_call>> answered;
    std::vector<std::pair<std::string, std::string>> pushes;
    std::deque<std::shared_ptr<pending_call>> failed;

    // Outside the mutex: wake the calls, deliver the pushes.
    void deliver(const link& l) {
      for (auto& call : answered) call->slot.signal();
      signal_all(failed);
      if (l.on_push)
        for (auto& [channel, payload] : pushes) l.on_push(channel, payload);
    }
  };

  error read_error(const error& why) const {
    if (why.code() == errc::timeout) return why;
    return error(errc::unreachable, "reading from redis " + describe + " failed: " + std::string(why.message()));
  }

  // Waits until the socket has bytes (or `deadline`), then reads what is
  // there into read_buffer. Only the task that is reading calls it.
  task<result<std::size_t>> read_some(clock::time_point deadline) {
    std::span<std::byte> into(reinterpret_cast<std::byte*>(read_buffer), sizeof read_buffer);
    if (deadline == clock::time_point::max()) co_return co_await stream.read(into);
    const auto left = std::max<clock::duration>(deadline - clock::now(), clock::duration::zero());
    co_return co_await stream.read(into, left);
  }

  // Parses the `got` bytes just read (0: the server closed the connection)
  // and every reply they complete. With `mutex` held.
  void parse_locked(std::size_t got, harvest& out) {
    if (got > 0) {
      redisReaderFeed(parser, read_buffer, got);
    } else {
      out.failed = fail_locked(error(errc::unreachable, "redis " + describe + " closed the connection"));
    }
    for (;;) {
      void* raw = nullptr;
      if (redisReaderGetReply(parser, &raw) != REDIS_OK) {
        auto more = fail_locked(error(errc::protocol, "redis " + describe + " sent a reply that cannot be parsed"));
        out.failed.insert(out.failed.end(), more.begin(), more.end());
        break;
      }
      if (!raw) break;
      reply r = convert(static_cast<redisReply*>(raw));
      freeReplyObject(raw);
      if (subscriber && r.type == reply::kind::array && r.elements.size() == 3 && r.elements[0].text == "message") {
        out.pushes.emplace_back(std::move(r.elements[1].text), std::move(r.elements[2].text));
        continue;
      }
      if (waiting.empty()) {
        auto more = fail_locked(error(errc::protocol, "redis " + describe + " sent a reply nobody asked for"));
        out.failed.insert(out.failed.end(), more.begin(), more.end());
        break;
      }
      auto call = std::move(waiting.front());
      waiting.pop_front();
      call->outcome = std::move(r);
      out.answered.push_back(std::move(call));
    }
  }

  // Waits until `mine` is signalled (a push for its owner, a cancellation) or
  // `deadline`, reading the connection meanwhile when no other task does.
  static task<void> pump(std::shared_ptr<link> self, std::shared_ptr<parking> mine, clock::time_point deadline) {
    for (;;) {
      if (mine->signalled()) break;
      bool lead = false;
      {
        std::lock_guard guard(self->mutex);
        if (!self->broken.load() && !self->reading) {
          self->reading = true;
          lead = true;
        } else if (!self->broken.load()) {
          self->pumpers.push_back(mine);
        }
      }
      if (!lead) {
        auto woke = co_await mine->park(deadline);
        bool handed = mine->take_handoff();
        {
          std::lock_guard guard(self->mutex);
          std::erase(self->pumpers, mine);
        }
        mine->reset();
        if (mine->signalled() || woke == parking::outcome::timed_out || self->broken.load()) {
          if (handed) pass_on(self);  // leaving: pass the reading on
          break;
        }
        continue;  // handed the reading (or a stray wake-up): try to lead
      }
      auto ready = co_await self->read_some(deadline);
      harvest got;
      std::shared_ptr<parking> next;
      bool leaving = false;
      {
        std::lock_guard guard(self->mutex);
        if (ready) self->parse_locked(*ready, got);
        else if (ready.error().code() != errc::timeout) got.failed = self->fail_locked(self->read_error(ready.error()));
        self->reading = false;
        leaving = !ready || self->broken.load() || clock::now() >= deadline;
      }
      got.deliver(*self);
      if (mine->signalled()) leaving = true;
      if (leaving) {
        pass_on(self);
        break;
      }
    }
  }

  static void pass_on(const std::shared_ptr<link>& self) {
    std::shared_ptr<parking> next;
    {
      std::lock_guard guard(self->mutex);
      if (!self->reading) next = self->successor_locked();
    }
    if (next) next->hand_off();
  }

  // Subscriber connections: reads pushes for as long as the store wants them;
  // ends when the link is shut down (stop_reading) or fails.
  static task<void> read_loop(std::shared_ptr<link> self) {
    for (;;) {
      auto ready = co_await self->read_some(clock::time_point::max());
      harvest got;
      bool stop = false;
      {
        std::lock_guard guard(self->mutex);
        if (!ready) got.failed = self->fail_locked(self->read_error(ready.error()));
        else self->parse_locked(*ready, got);
        stop = self->broken.load();
        if (stop) {
          self->reading = false;
          self->reader_task = false;
        }
      }
      got.deliver(*self);
      if (stop) {
        if (self->reader_exited) self->reader_exited->signal();
        co_return;
      }
    }
  }

  // Queues one formatted command and waits for its reply, reading the
  // connection itself when no other task does. With `precise`, the deadline
  // is kept by a timer; otherwise by the deadline keeper thread (a timer per
  // call would wake the poller thread on every round trip).
  static task<result<reply>> exchange(std::shared_ptr<link> self, std::string command,
                                      clock::time_point deadline, std::string_view what, bool precise = true) {
    auto call = std::make_shared<pending_call>();
    call->deadline = deadline;
    call->what.assign(what);
    {
      std::deque<std::shared_ptr<pending_call>> failed;
      {
        std::lock_guard guard(self->mutex);
        if (self->broken.load()) co_return fail(self->failure);
        self->waiting.push_back(call);
        bool idle = self->output.empty();
        self->output += command;
        if (idle && !self->writer_running) failed = self->flush_locked();
      }
      signal_all(failed);
    }
    const auto wait_until = precise ? deadline : clock::time_point::max();
    for (;;) {
      bool lead = false;
      {
        std::lock_guard guard(self->mutex);
        if (call->slot.signalled()) break;
        if (!self->reading) {
          self->reading = true;
          lead = true;
        }
      }
      if (!lead) {
        auto woke = co_await call->slot.park(wait_until);
        if (call->slot.signalled()) break;
        if (woke == parking::outcome::timed_out) {
          std::deque<std::shared_ptr<pending_call>> failed;
          {
            std::lock_guard guard(self->mutex);
            failed = self->fail_locked(error(errc::timeout, "redis " + self->describe + " did not answer " +
                                                                std::string(what) + " in time"));
          }
          signal_all(failed);
          break;
        }
        call->slot.take_handoff();
        call->slot.reset();
        continue;  // handed the reading over: lead
      }
      auto ready = co_await self->read_some(wait_until);
      harvest got;
      std::shared_ptr<parking> next;
      {
        std::lock_guard guard(self->mutex);
        if (!ready) {
          got.failed = self->fail_locked(ready.error().code() == errc::timeout
                                             ? error(errc::timeout, "redis " + self->describe + " did not answer " +
                                                                        std::string(what) + " in time")
                                             : self->read_error(ready.error()));
        } else {
          self->parse_locked(*ready, got);
        }
        self->reading = false;
        bool mine_done = std::find(got.answered.begin(), got.answered.end(), call) != got.answered.end() ||
                         std::find(got.failed.begin(), got.failed.end(), call) != got.failed.end();
        if (mine_done) next = self->successor_locked();
      }
      got.deliver(*self);
      if (next) next->hand_off();
      if (call->slot.signalled()) break;
    }
    co_return std::move(call->outcome);
  }
};

namespace {

// Enforces the deadlines of calls that arm no timer: every 100 ms it looks at
// the calls waiting on each live connection and shuts down a connection whose
// oldest call is overdue. One thread per process, asleep when no connection
// is open; it never touches the runtime.
class deadline_keeper {
 public:
  static deadline_keeper& instance() {
    static auto* keeper = new deadline_keeper();  // never destroyed: the thread may outlive statics
    return *keeper;
  }
  void watch(const std::shared_ptr<connection::link>& l) {
    std::lock_guard guard(mutex_);
    links_.push_back(l);
    if (!started_) {
      started_ = true;
      std::thread([this] { run(); }).detach();
    }
    wake_.notify_one();
  }

 private:
  void run() {
    std::unique_lock guard(mutex_);
    for (;;) {
      if (links_.empty()) wake_.wait(guard, [this] { return !links_.empty(); });
      wake_.wait_for(guard, std::chrono::milliseconds(100));
      std::vector<std::shared_ptr<connection::link>> live;
      std::erase_if(links_, [&](const std::weak_ptr<connection::link>& w) {
        auto l = w.lock();
        if (!l || l->broken.load()) return true;
        live.push_back(std::move(l));
        return false;
      });
      guard.unlock();
      auto now = clock::now();
      for (auto& l : live) l->expire_overdue(now);
      live.clear();
      guard.lock();
    }
  }
  std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<std::weak_ptr<connection::link>> links_;
  bool started_ = false;
};

}  // namespace

std::shared_ptr<connection> connection::make(connection_options options) {
  return std::shared_ptr<connection>(new connection(std::move(options)));
}

connection::connection(connection_options options) : options_(std::move(options)) {}

connection::~connection() { close(); }

std::uint64_t connection::connects() const noexcept {
  std::lock_guard guard(mutex_);
  return connects_;
}

void connection::close() noexcept {
  std::shared_ptr<link> l;
  std::vector<std::shared_ptr<parking>> waiters;
  {
    std::lock_guard guard(mutex_);
    closed_ = true;
    l = std::move(link_);
    waiters.swap(connect_waiters_);
  }
  for (auto& w : waiters) w->wake();
  if (l) {
    std::deque<std::shared_ptr<pending_call>> failed;
    {
      std::lock_guard guard(l->mutex);
      failed = l->fail_locked(error(errc::unreachable, "the redis store was closed"));
    }
    link::signal_all(failed);
  }
}

bool connection::send_detached(const std::vector<std::string>& arguments) {
  std::shared_ptr<link> l;
  {
    std::lock_guard guard(mutex_);
    l = link_;
  }
  if (!l) return false;
  auto call = std::make_shared<pending_call>();
  call->detached = true;
  call->deadline = clock::time_point::max();  // nobody waits: the keeper ignores it
  std::deque<std::shared_ptr<pending_call>> failed;
  {
    std::lock_guard guard(l->mutex);
    if (l->broken.load()) return false;
    l->waiting.push_back(call);
    bool idle = l->output.empty();
    l->output += format(arguments);
    if (idle && !l->writer_running) failed = l->flush_locked();
  }
  link::signal_all(failed);
  return true;
}

task<result<bool>> connection::start_reading(clock::time_point deadline) {
  std::uint64_t before = connects();
  auto l = co_await current_link(deadline);
  if (!l) co_return fail(std::move(l).error());
  const bool fresh = connects() != before;
  bool start = false;
  {
    std::lock_guard guard((*l)->mutex);
    if (!(*l)->broken.load() && !(*l)->reader_task && !(*l)->reading) {
      (*l)->reading = true;
      (*l)->reader_task = true;
      (*l)->reader_exited = std::make_shared<parking>();
      start = true;
    }
  }
  if (start) spawn(link::read_loop(*l));
  co_return fresh;
}

task<void> connection::wait_reading(std::shared_ptr<parking> slot, clock::time_point deadline) {
  std::shared_ptr<link> l;
  {
    std::lock_guard guard(mutex_);
    l = link_;
  }
  if (!l) {
    (void)co_await slot->park(deadline);
    co_return;
  }
  co_await link::pump(std::move(l), std::move(slot), deadline);
}

task<void> connection::stop_reading(clock::time_point deadline) {
  std::shared_ptr<link> l;
  {
    std::lock_guard guard(mutex_);
    l = link_;
  }
  if (!l) co_return;
  std::shared_ptr<parking> exited;
  std::deque<std::shared_ptr<pending_call>> failed;
  {
    std::lock_guard guard(l->mutex);
    if (!l->reader_task) co_return;
    exited = l->reader_exited;
    failed = l->fail_locked(error(errc::unreachable, "the subscriber connection was closed: nobody waits for pushes"));
  }
  link::signal_all(failed);
  while (!exited->signalled()) {
    if (co_await exited->park(deadline) == parking::outcome::timed_out) co_return;
    exited->reset();
  }
}

task<result<void>> connection::connect(clock::time_point deadline) {
  auto l = co_await current_link(deadline);
  if (!l) co_return fail(std::move(l).error());
  co_return result<void>{};
}

namespace {
void append_number(std::string& out, char kind, std::size_t n) {
  char digits[24];
  digits[0] = kind;
  auto end = std::to_chars(digits + 1, digits + sizeof digits, n).ptr;
  out.append(digits, static_cast<std::size_t>(end - digits));
  out += "\r\n";
}
}  // namespace

command_builder::command_builder(std::size_t argument_count, std::size_t bytes_hint) {
  text_.reserve(bytes_hint);
  append_number(text_, '*', argument_count);
}

command_builder& command_builder::add(std::string_view argument) {
  append_number(text_, '$', argument.size());
  text_.append(argument);
  text_ += "\r\n";
  return *this;
}

task<result<reply>> connection::call_formatted(std::string command, std::string_view what,
                                               clock::time_point deadline, bool precise, bool wait_out_backoff) {
  auto l = co_await current_link(deadline, wait_out_backoff);
  if (!l) co_return fail(std::move(l).error());
  co_return co_await link::exchange(*l, std::move(command), deadline, what, precise);
}

task<result<reply>> connection::call(std::vector<std::string> arguments, clock::time_point deadline,
                                     bool precise) {
  auto l = co_await current_link(deadline);
  if (!l) co_return fail(std::move(l).error());
  std::string what = arguments.empty() ? std::string("a command") : arguments[0];
  co_return co_await link::exchange(*l, format(arguments), deadline, what, precise);
}

task<result<std::shared_ptr<connection::link>>> connection::current_link(clock::time_point deadline,
                                                                         bool wait_out_backoff) {
  auto self = shared_from_this();
  for (;;) {
    std::shared_ptr<parking> waiter;
    clock::time_point not_before{};
    {
      std::lock_guard guard(mutex_);
      if (closed_) co_return fail(errc::unreachable, "the redis store was closed");
      if (link_ && !link_->broken.load()) co_return link_;
      if (next_attempt_ > deadline || (!wait_out_backoff && next_attempt_ > clock::now())) {
        // The next attempt (ours, or that of the caller already waiting out
        // the backoff) comes after our deadline: fail now. Redlock calls to a
        // master that is down must not use up their grant's validity waiting.
        co_return fail(last_error_.code(), std::string(last_error_.message()) + " (reconnecting with backoff)");
      }
      if (connecting_) {
        waiter = std::make_shared<parking>();
        connect_waiters_.push_back(waiter);
      } else {
        connecting_ = true;
        not_before = next_attempt_;
      }
    }
    if (waiter) {
      if (co_await waiter->park(deadline) == parking::outcome::timed_out)
        co_return fail(errc::timeout, "connecting to redis " + options_.where.describe() + " timed out");
      continue;
    }
    if (clock::now() < not_before) {
      parking sleeper;
      (void)co_await sleeper.park(not_before);
    }
    auto opened = co_await open_link(deadline);
    std::vector<std::shared_ptr<parking>> waiters;
    bool reconnected = false;
    {
      std::lock_guard guard(mutex_);
      connecting_ = false;
      if (opened) {
        link_ = *opened;
        backoff_ = std::chrono::milliseconds{0};
        next_attempt_ = {};
        reconnected = ++connects_ > 1;
        if (closed_) {
          // close() ran while we connected.
          std::lock_guard link_guard(link_->mutex);
          auto failed = link_->fail_locked(error(errc::unreachable, "the redis store was closed"));
          link_.reset();
        }
      } else {
        last_error_ = opened.error();
        backoff_ = backoff_.count() == 0 ? options_.backoff_min : std::min(backoff_ * 2, options_.backoff_max);
        next_attempt_ = clock::now() + backoff_;
      }
      waiters.swap(connect_waiters_);
    }
    for (auto& w : waiters) w->wake();
    if (!opened) co_return fail(std::move(opened).error());
    if (reconnected && options_.on_reconnect) options_.on_reconnect();
    co_return std::move(*opened);
  }
}

task<result<std::shared_ptr<connection::link>>> connection::open_link(clock::time_point deadline) {
  const auto& where = options_.where;
  const std::string name = where.describe();
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  std::string port = std::to_string(where.port);
  int rc = ::getaddrinfo(where.host.c_str(), port.c_str(), &hints, &found);
  if (rc != 0) {
    // A host name, not an address: resolve it (rare; names are resolved once per connect).
    hints.ai_flags = AI_NUMERICSERV;
    rc = ::getaddrinfo(where.host.c_str(), port.c_str(), &hints, &found);
  }
  if (rc != 0 || !found)
    co_return fail(errc::unreachable, "cannot resolve redis host \"" + where.host + "\": " + gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> addresses(found, &freeaddrinfo);

  auto connect_deadline = std::min(deadline, clock::now() + options_.connect_timeout);
  error last(errc::unreachable, "cannot connect to redis " + name);
  for (addrinfo* a = found; a; a = a->ai_next) {
    int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last = error(errc::io, "cannot create a socket: " + errno_text(errno));
      continue;
    }
    auto l = std::make_shared<link>();
    l->fd = fd;
    l->stream = weft::tcp_stream(fd);
    l->describe = name;
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      if (errno != EINPROGRESS) {
        last = error(errc::unreachable, "cannot connect to redis " + name + ": " + errno_text(errno) +
                                            "; is redis-server running there?");
        continue;
      }
      auto ready = co_await wait_writable(fd, connect_deadline);
      if (!ready) {
        last = error(errc::unreachable, "connecting to redis " + name + " timed out");
        continue;
      }
      int code = 0;
      socklen_t size = sizeof code;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &code, &size);
      if (code != 0) {
        last = error(errc::unreachable, "cannot connect to redis " + name + ": " + errno_text(code) +
                                            "; is redis-server running there?");
        continue;
      }
    }
    // Connected: the handshake (this task reads its replies itself).
    if (!options_.subscribe.empty()) {
      l->subscriber = true;
      l->on_push = options_.on_push;
    }
    deadline_keeper::instance().watch(l);
    auto handshake = [&]() -> task<result<void>> {
      if (!where.password.empty()) {
        std::vector<std::string> auth{"AUTH"};
        if (!where.user.empty()) auth.push_back(where.user);
        auth.push_back(where.password);
        auto r = co_await link::exchange(l, format(auth), connect_deadline, "AUTH");
        if (!r) co_return fail(std::move(r).error());
        if (r->is_error())
          co_return fail(errc::permission_denied,
                         "redis " + name + " refused the credentials" +
                             (where.user.empty() ? std::string() : " of user \"" + where.user + "\"") + " (" +
                             r->text + "); check the password in the URI, WEFT_REDIS_PASSWORD or password_file=");
      } else {
        std::vector<std::string> ping{"PING"};
        auto r = co_await link::exchange(l, format(ping), connect_deadline, "PING");
        if (!r) co_return fail(std::move(r).error());
        if (r->is_error()) {
          bool auth = r->text.rfind("NOAUTH", 0) == 0;
          co_return fail(auth ? errc::permission_denied : errc::protocol,
                         "redis " + name + " refused PING (" + r->text + ")" +
                             (auth ? "; it needs a password: put it in the URI (redis://user:password@host), "
                                     "WEFT_REDIS_PASSWORD or ?password_file=PATH"
                                   : ""));
        }
      }
      if (where.database != 0) {
        std::vector<std::string> select{"SELECT", std::to_string(where.database)};
        auto r = co_await link::exchange(l, format(select), connect_deadline, "SELECT");
        if (!r) co_return fail(std::move(r).error());
        if (r->is_error())
          co_return fail(errc::invalid_argument,
                         "redis " + name + " refused database " + std::to_string(where.database) + " (" + r->text + ")");
      }
      if (!options_.subscribe.empty()) {
        for (const auto& channel : options_.subscribe) {
          std::vector<std::string> subscribe{"SUBSCRIBE", channel};
          auto r = co_await link::exchange(l, format(subscribe), connect_deadline, "SUBSCRIBE");
          if (!r) co_return fail(std::move(r).error());
          if (r->is_error())
            co_return fail(errc::protocol, "redis " + name + " refused SUBSCRIBE (" + r->text + ")");
        }
      }
      co_return result<void>{};
    };
    auto done = co_await handshake();
    if (!done) {
      std::deque<std::shared_ptr<pending_call>> failed;
      {
        std::lock_guard guard(l->mutex);
        failed = l->fail_locked(done.error());
      }
      link::signal_all(failed);
      co_return fail(std::move(done).error());
    }
    co_return l;
  }
  co_return fail(std::move(last));
}

}  // namespace weft::lock::redis_detail
