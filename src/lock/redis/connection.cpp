#include "connection.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "io_glue.hpp"

namespace weft::lock::redis_detail {
namespace {

struct pending_call {
  parking slot;
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
  std::vector<const char*> argv;
  std::vector<std::size_t> lengths;
  argv.reserve(arguments.size());
  lengths.reserve(arguments.size());
  for (const auto& a : arguments) {
    argv.push_back(a.data());
    lengths.push_back(a.size());
  }
  char* command = nullptr;
  int length = redisFormatCommandArgv(&command, static_cast<int>(argv.size()), argv.data(), lengths.data());
  std::string out;
  if (length > 0 && command) out.assign(command, static_cast<std::size_t>(length));
  redisFreeCommand(command);
  return out;
}

std::string errno_text(int code) { return std::strerror(code); }

}  // namespace

// One TCP connection: socket, unsent bytes, parser and the calls awaiting replies.
struct connection::link : std::enable_shared_from_this<connection::link> {
  int fd = -1;
  std::string describe;
  bool subscriber = false;
  std::function<void(std::string_view, std::string_view)> on_push;

  std::mutex mutex;
  std::atomic<bool> broken{false};
  error failure{errc::unreachable, "connection lost"};
  std::string output;
  bool writer_running = false;
  redisReader* parser = redisReaderCreate();
  std::deque<std::shared_ptr<pending_call>> waiting;
  parking watchdog_wakeup;
  clock::duration tick{std::chrono::milliseconds(100)};

  ~link() {
    if (fd >= 0) ::close(fd);
    if (parser) redisReaderFree(parser);
  }

  // Marks the link dead, wakes its reader (shutdown makes the socket readable)
  // and fails every call still waiting. Call with `mutex` held; returns the
  // calls to wake once it is released.
  std::deque<std::shared_ptr<pending_call>> fail_locked(error why) {
    if (!broken.exchange(true)) {
      failure = std::move(why);
      if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
      watchdog_wakeup.wake();
    }
    for (auto& p : waiting) p->outcome = fail(failure);
    return std::exchange(waiting, {});
  }

  static void wake_all(std::deque<std::shared_ptr<pending_call>>& calls) {
    for (auto& p : calls) p->slot.wake();
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
      wake_all(failed);
      if (done || !failed.empty()) co_return;
    }
  }

  static task<void> read_loop(std::shared_ptr<link> self) {
    char buffer[16384];
    for (;;) {
      auto ready = co_await wait_readable(self->fd, clock::time_point::max());
      std::vector<std::shared_ptr<pending_call>> answered;
      std::vector<std::pair<std::string, std::string>> pushes;
      std::deque<std::shared_ptr<pending_call>> failed;
      bool stop = false;
      {
        std::lock_guard guard(self->mutex);
        if (!ready) {
          failed = self->fail_locked(ready.error());
        } else {
          for (;;) {
            ssize_t n = ::recv(self->fd, buffer, sizeof buffer, 0);
            if (n > 0) {
              redisReaderFeed(self->parser, buffer, static_cast<std::size_t>(n));
              if (static_cast<std::size_t>(n) == sizeof buffer) continue;
              break;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
            failed = self->fail_locked(error(
                errc::unreachable, n == 0 ? "redis " + self->describe + " closed the connection"
                                          : "reading from redis " + self->describe +
                                                " failed: " + errno_text(errno)));
            break;
          }
          for (;;) {
            void* raw = nullptr;
            if (redisReaderGetReply(self->parser, &raw) != REDIS_OK) {
              failed = self->fail_locked(error(errc::protocol, "redis " + self->describe +
                                                                   " sent a reply that cannot be parsed"));
              break;
            }
            if (!raw) break;
            reply r = convert(static_cast<redisReply*>(raw));
            freeReplyObject(raw);
            if (self->subscriber && r.type == reply::kind::array && r.elements.size() == 3 &&
                r.elements[0].text == "message") {
              pushes.emplace_back(std::move(r.elements[1].text), std::move(r.elements[2].text));
              continue;
            }
            if (self->waiting.empty()) {
              failed = self->fail_locked(
                  error(errc::protocol, "redis " + self->describe + " sent a reply nobody asked for"));
              break;
            }
            auto call = std::move(self->waiting.front());
            self->waiting.pop_front();
            call->outcome = std::move(r);
            answered.push_back(std::move(call));
          }
        }
        stop = self->broken.load();
      }
      for (auto& call : answered) call->slot.wake();
      wake_all(failed);
      if (self->on_push)
        for (auto& [channel, payload] : pushes) self->on_push(channel, payload);
      if (stop) co_return;
    }
  }

  // Enforces the deadlines of calls that did not arm a timer of their own: one
  // coarse periodic check per connection instead of a timer per call (arming
  // a timer per call would wake the poller thread on every round trip).
  static task<void> watchdog(std::shared_ptr<link> self) {
    for (;;) {
      self->watchdog_wakeup.reset();
      if (self->broken.load()) co_return;
      (void)co_await self->watchdog_wakeup.park(clock::now() + self->tick);
      std::deque<std::shared_ptr<pending_call>> failed;
      {
        std::lock_guard guard(self->mutex);
        if (self->broken.load()) co_return;
        auto now = clock::now();
        for (auto& call : self->waiting) {
          if (call->deadline <= now) {
            failed = self->fail_locked(error(errc::timeout, "redis " + self->describe + " did not answer " +
                                                                call->what + " in time"));
            break;
          }
        }
      }
      wake_all(failed);
    }
  }

  // Queues one formatted command and waits for its reply. With `precise`, the
  // deadline is kept to the timer's precision; otherwise to the watchdog tick's.
  static task<result<reply>> exchange(std::shared_ptr<link> self, std::string command,
                                      clock::time_point deadline, std::string_view what, bool precise = true) {
    auto call = std::make_shared<pending_call>();
    call->deadline = deadline;
    call->what.assign(what);
    std::deque<std::shared_ptr<pending_call>> failed;
    {
      std::lock_guard guard(self->mutex);
      if (self->broken.load()) co_return fail(self->failure);
      self->waiting.push_back(call);
      bool idle = self->output.empty();
      self->output += command;
      if (idle && !self->writer_running) failed = self->flush_locked();
    }
    wake_all(failed);
    if (co_await call->slot.park(precise ? deadline : clock::time_point::max()) == parking::outcome::timed_out) {
      std::deque<std::shared_ptr<pending_call>> dropped;
      {
        std::lock_guard guard(self->mutex);
        dropped = self->fail_locked(error(errc::timeout, "redis " + self->describe + " did not answer " +
                                                             std::string(what) + " in time"));
      }
      wake_all(dropped);
      co_return fail(errc::timeout,
                     "redis " + self->describe + " did not answer " + std::string(what) + " in time");
    }
    co_return std::move(call->outcome);
  }
};

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
    link::wake_all(failed);
  }
}

task<result<void>> connection::connect(clock::time_point deadline) {
  auto l = co_await current_link(deadline);
  if (!l) co_return fail(std::move(l).error());
  co_return result<void>{};
}

task<result<reply>> connection::call(std::vector<std::string> arguments, clock::time_point deadline,
                                     bool precise) {
  auto l = co_await current_link(deadline);
  if (!l) co_return fail(std::move(l).error());
  std::string what = arguments.empty() ? std::string("a command") : arguments[0];
  co_return co_await link::exchange(*l, format(arguments), deadline, what, precise);
}

task<result<std::shared_ptr<connection::link>>> connection::current_link(clock::time_point deadline) {
  auto self = shared_from_this();
  for (;;) {
    std::shared_ptr<parking> waiter;
    clock::time_point not_before{};
    {
      std::lock_guard guard(mutex_);
      if (closed_) co_return fail(errc::unreachable, "the redis store was closed");
      if (link_ && !link_->broken.load()) co_return link_;
      if (connecting_) {
        waiter = std::make_shared<parking>();
        connect_waiters_.push_back(waiter);
      } else {
        connecting_ = true;
        not_before = next_attempt_;
        if (not_before > deadline) {
          connecting_ = false;
          co_return fail(last_error_.code(),
                         std::string(last_error_.message()) + " (reconnecting with backoff)");
        }
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
    // Connected: start the reader and the watchdog, then the handshake.
    if (!options_.subscribe.empty()) {
      l->subscriber = true;
      l->on_push = options_.on_push;
    }
    l->tick = std::clamp<clock::duration>(options_.watchdog_tick, std::chrono::milliseconds(5),
                                          std::chrono::milliseconds(250));
    spawn(link::read_loop(l));
    spawn(link::watchdog(l));
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
      link::wake_all(failed);
      co_return fail(std::move(done).error());
    }
    co_return l;
  }
  co_return fail(std::move(last));
}

}  // namespace weft::lock::redis_detail
