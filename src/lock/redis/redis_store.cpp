#include "redis_store.hpp"

#include <openssl/rand.h>
#include <openssl/sha.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <random>
#include <sstream>

#include "io_glue.hpp"
#include "scripts.hpp"
#include "weft/context.hpp"
#include "weft/duration.hpp"

namespace weft::lock::redis_detail {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

constexpr const char* changes_channel = "weft:lock:changes";

std::string hex(const unsigned char* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out += digits[data[i] >> 4];
    out += digits[data[i] & 15];
  }
  return out;
}

// 128 unguessable bits, hex-encoded.
std::string random_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // OpenSSL's generator failed (no entropy?): fall back to the OS directly.
    std::random_device device;
    for (auto& b : bytes) b = static_cast<unsigned char>(device());
  }
  return hex(bytes, sizeof bytes);
}

std::string sha1_hex(std::string_view text) {
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return hex(digest, sizeof digest);
}

struct script_ref {
  const char* text;      // the plain script (EVAL / EVALSHA)
  std::string sha;       // its SHA1
  std::string function;  // its name in the function library (FCALL); empty for none
};

// The function library with its version filled in (see scripts.hpp).
struct library_ref {
  std::string version;
  std::string text;
};

const library_ref& library() {
  static const library_ref r = [] {
    library_ref out;
    out.version = sha1_hex(library_template).substr(0, 12);
    out.text = library_template;
    for (auto at = out.text.find("@V@"); at != std::string::npos; at = out.text.find("@V@", at))
      out.text.replace(at, 3, out.version);
    return out;
  }();
  return r;
}

const script_ref& acquire_ref() {
  static const script_ref r{acquire_script, sha1_hex(acquire_script), "weft_acquire_" + library().version};
  return r;
}
const script_ref& renew_ref() {
  static const script_ref r{renew_script, sha1_hex(renew_script), "weft_renew_" + library().version};
  return r;
}
const script_ref& release_ref() {
  static const script_ref r{release_script, sha1_hex(release_script), "weft_release_" + library().version};
  return r;
}
const script_ref& raise_ref() {
  static const script_ref r{raise_script, sha1_hex(raise_script), std::string()};
  return r;
}
const script_ref& inspect_ref() {
  static const script_ref r{inspect_script, sha1_hex(inspect_script), "weft_inspect_" + library().version};
  return r;
}

std::string who_am_i() {
  char host[256] = {0};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = 0;
  std::string out = "pid " + std::to_string(::getpid());
  if (host[0]) out += std::string("@") + host;
  std::replace(out.begin(), out.end(), '|', '_');
  return out;
}

std::string_view recipe_key(recipe kind) { return to_string(kind); }

bool parse_recipe(std::string_view text, recipe& out) {
  for (auto r : {recipe::mutex, recipe::rw_mutex, recipe::semaphore, recipe::election}) {
    if (to_string(r) == text) {
      out = r;
      return true;
    }
  }
  return false;
}

// The keys of one lock (see scripts.hpp): P = prefix, P x is the one the
// scripts are given; they name the others after it.
struct lock_keys {
  std::string prefix;
  std::vector<std::string> declared;  // {P x}: what the scripts get as KEYS
  const std::string& x() const { return declared[0]; }
  std::string k() const { return prefix + "k"; }
  std::string t() const { return prefix + "t"; }
};

lock_keys make_keys(recipe kind, std::string_view name) {
  lock_keys keys;
  keys.prefix = "weft:lock:" + std::string(recipe_key(kind)) + ":{" + escape_name(name) + "}:";
  keys.declared.push_back(keys.prefix + "x");
  return keys;
}

std::uint64_t to_u64(const reply& r) {
  if (r.type == reply::kind::integer) return static_cast<std::uint64_t>(r.integer);
  if (r.type == reply::kind::string || r.type == reply::kind::status)
    return std::strtoull(r.text.c_str(), nullptr, 10);
  return 0;
}

std::string who_from_owner(std::string_view owner) {
  auto bar = owner.find('|');
  return bar == std::string_view::npos ? std::string() : std::string(owner.substr(bar + 1));
}

long long ms(std::chrono::nanoseconds d) { return duration_cast<milliseconds>(d).count(); }

// A lock name for messages: quoted, control bytes escaped, long names cut.
std::string printable(std::string_view name) {
  std::string out = "\"";
  for (char c : name.substr(0, 200)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      static constexpr char digits[] = "0123456789abcdef";
      out += "\\x";
      out += digits[u >> 4];
      out += digits[u & 15];
    } else {
      out += c;
    }
  }
  if (name.size() > 200) out += "...";
  return out + "\"";
}

}  // namespace

std::string escape_name(std::string_view name) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    auto u = static_cast<unsigned char>(c);
    if ((u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || c == '.' || c == '_' ||
        c == '-' || c == '/') {
      out += c;
    } else {
      out += '%';
      out += digits[u >> 4];
      out += digits[u & 15];
    }
  }
  return out;
}

std::string unescape_name(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      auto value = std::strtol(std::string(text.substr(i + 1, 2)).c_str(), nullptr, 16);
      out += static_cast<char>(value);
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

// ---------------------------------------------------------------- the store

class redis_lease;

class redis_store final : public store {
 public:
  struct node {
    std::shared_ptr<connection> commands;
    std::shared_ptr<connection> events;
    // False once the server turned out to have no functions (Redis < 7, or
    // FUNCTION LOAD refused): plain scripts from then on.
    std::shared_ptr<std::atomic<bool>> functions = std::make_shared<std::atomic<bool>>(true);
  };

  explicit redis_store(store_options options);
  ~redis_store() override;

  std::string uri() const override { return options_.uri; }
  task<result<lease>> acquire(acquire_request request, context ctx) override;
  task<result<std::vector<lock_info>>> list(std::string prefix, context ctx) override;
  task<result<std::vector<holder_info>>> holders(recipe kind, std::string name,
                                                 std::optional<std::vector<std::uint64_t>> known,
                                                 context ctx) override;

  // --- used by redis_lease
  std::size_t quorum() const noexcept { return nodes_.size() / 2 + 1; }
  std::chrono::nanoseconds drift(std::chrono::nanoseconds ttl) const noexcept {
    if (!options_.redlock) return std::chrono::milliseconds(1);
    return std::chrono::nanoseconds(static_cast<long long>(static_cast<double>(ttl.count()) * options_.drift_factor)) +
           std::chrono::milliseconds(2);
  }
  const store_options& options() const noexcept { return options_; }

  task<result<reply>> eval(std::size_t node_index, const script_ref& script, const std::vector<std::string>& keys,
                           std::vector<std::string> arguments, clock::time_point deadline, bool precise = false,
                           bool wait_out_backoff = true);
  // Runs the same script on every node at once; one result per node, after
  // all answered. `wait_out_backoff`: see connection::call_formatted.
  task<std::vector<result<reply>>> eval_all(const script_ref& script, const std::vector<std::string>& keys,
                                            std::vector<std::string> arguments, clock::time_point deadline,
                                            bool precise = false, bool wait_out_backoff = true);
  // Release (and leave the queue) on every node; true when a quorum confirmed.
  task<result<bool>> release_everywhere(const lock_keys& keys, std::string mode, std::string owner,
                                        std::string member, std::string notify);
  void note_token(const std::string& prefix, std::uint64_t token);
  void release_without_waiting(const lock_keys& keys, const std::string& mode, const std::string& owner,
                               const std::string& notify);

  struct gather {
    std::mutex mutex;
    std::vector<std::optional<result<reply>>> results;
    std::size_t remaining = 0;
    parking done;
  };
  static task<void> eval_into(std::shared_ptr<redis_store> store, std::shared_ptr<gather> into, std::size_t index,
                              const script_ref* script, std::vector<std::string> keys,
                              std::vector<std::string> arguments, clock::time_point deadline, bool precise,
                              bool wait_out_backoff) {
    auto r = co_await store->eval(index, *script, keys, std::move(arguments), deadline, precise, wait_out_backoff);
    bool last = false;
    {
      std::lock_guard guard(into->mutex);
      into->results[index].emplace(std::move(r));
      last = --into->remaining == 0;
    }
    if (last) into->done.wake();
  }

 private:
  // A release handed us the lock (`token`) some time after `queued_at`, for
  // `grant_ttl`: builds the lease. When too little of the grant is known to be
  // left, it first confirms the grant with a renewal (one round trip). No value
  // when the grant ran out meanwhile.
  task<result<std::optional<lease>>> take_handoff(std::shared_ptr<redis_store> self, const lock_keys& keys,
                                                  const std::string& mode, const std::string& owner,
                                                  const std::string& name, std::uint64_t token,
                                                  std::chrono::nanoseconds ttl, clock::time_point queued_at,
                                                  std::chrono::nanoseconds grant_ttl, bool notify);
  void on_push(std::string_view channel, std::string_view payload);
  void wake_all_waiters();
  // Pushes are read only while someone waits for them: the first waiter (or
  // observer) starts a reader on every subscriber connection, the last one
  // stops them. start_events returns true when it had to (re)subscribe, so a
  // push may have been missed and the caller should re-check at once.
  task<result<bool>> start_events(clock::time_point deadline);
  task<void> enter_events();
  // Parks until `slot` is signalled or `deadline`; with one master, reads the
  // subscriber connection meanwhile when no other waiter does.
  task<void> wait_for_push(std::shared_ptr<parking> slot, clock::time_point deadline) {
    if (options_.redlock) {
      (void)co_await slot->park(deadline);
      co_return;
    }
    co_await nodes_[0].events->wait_reading(std::move(slot), deadline);
  }
  static task<result<bool>> connect_fresh(connection& events, clock::time_point deadline, std::uint64_t before);
  task<void> leave_events();
  task<result<std::vector<holder_info>>> read_holders(recipe kind, const lock_keys& keys,
                                                      clock::time_point deadline, std::size_t& waiters);
  std::uint64_t floor_of(const std::string& prefix);

  store_options options_;
  std::vector<node> nodes_;
  std::string client_id_ = random_id();
  std::string wake_channel_ = "weft:wake:" + client_id_;
  std::string who_ = who_am_i();

  std::mutex mutex_;
  struct waiter {
    std::shared_ptr<parking> slot;
    std::shared_ptr<std::atomic<std::uint64_t>> granted;  // token of a hand-off, 0 before
  };
  std::map<std::string, waiter> waiters_;                               // owner -> its slot
  std::multimap<std::string, std::shared_ptr<parking>> observers_;     // x key -> slots
  std::map<std::string, std::uint64_t> floors_;                         // prefix -> highest token seen
  std::size_t interest_ = 0;                                            // waiters + observers
};

// ---------------------------------------------------------------- the lease

// A coroutine that starts when resumed and frees its own frame when it ends.
struct detached_coroutine {
  struct promise_type {
    detached_coroutine get_return_object() noexcept {
      return {std::coroutine_handle<promise_type>::from_promise(*this)};
    }
    std::suspend_always initial_suspend() const noexcept { return {}; }
    std::suspend_never final_suspend() const noexcept { return {}; }
    void return_void() const noexcept {}
    void unhandled_exception() const noexcept { std::terminate(); }
  };
  std::coroutine_handle<promise_type> handle;
};

// A held lease. Its renewal coroutine is created with the lease but started
// by a timer at the first renewal time, so a lease released before then (the
// common case for short critical sections) costs one timer, no task and no
// wake-up of another worker. The expiry timer (lost() at the last safe
// instant while a renewal is slow) is armed only once renewals start; before
// that, the renewal timer itself fires lost() when it comes too late.
class redis_lease final : public lease_state, public std::enable_shared_from_this<redis_lease> {
 public:
  redis_lease(std::shared_ptr<redis_store> owner_store, lock_keys keys, std::string mode, std::string owner,
              std::string name, std::uint64_t token, std::chrono::nanoseconds ttl, clock::time_point sent,
              bool notify, std::chrono::nanoseconds first_ttl)
      : lease_state(std::move(name), token, ttl),
        store_(std::move(owner_store)),
        keys_(std::move(keys)),
        mode_(std::move(mode)),
        owner_(std::move(owner)),
        notify_(notify),
        valid_until_(sent + first_ttl - store_->drift(ttl)),
        renewed_at_(sent),
        first_ttl_(first_ttl),
        last_safe_((valid_until_ - margin()).time_since_epoch().count()) {
    timer_.owner = this;
    timer_.on_fire = &on_timer;
    expiry_.owner = this;
    expiry_.on_fire = &on_expiry;
  }

  ~redis_lease() override {
    // The renewal coroutine is gone (it holds a reference to us) or was never
    // started; the expiry timer must not outlive us.
    if (scheduler_) detail::cancel_timer(scheduler_, &expiry_);
  }

  void start() {
    scheduler_ = detail::current_scheduler();
    renewer_ = renew_loop(shared_from_this()).handle;
    // A lease handed over by a release starts with the shorter grant (see
    // acquire): its first renewal comes after a third of that.
    timer_.deadline = std::min(renewed_at_ + first_ttl_ / 3, valid_until_ - margin());
    detail::add_timer(scheduler_, &timer_);
  }

  task<result<void>> release() override {
    if (!stop()) co_return result<void>{};
    auto done = co_await store_->release_everywhere(keys_, mode_, owner_, "", notify_ ? changes_channel : "");
    if (!done) co_return fail(std::move(done).error());
    if (!*done)
      co_return fail(errc::lease_lost, "the lease on \"" + name() +
                                           "\" had already expired or been taken over when it was released");
    co_return result<void>{};
  }

  // Writes the release script to every master without waiting for the
  // answers (no task: nothing is left for a runtime to abandon). If a master
  // is not connected, or the write fails, its copy of the lock expires with
  // the TTL.
  void release_detached() noexcept override {
    if (!stop()) return;
    try {
      store_->release_without_waiting(keys_, mode_, owner_, notify_ ? changes_channel : "");
    } catch (...) {
      // Out of memory: the TTL expires the lock.
    }
  }

 private:
  struct timer_node : detail::timer_entry {
    redis_lease* owner = nullptr;
  };

  static void on_timer(detail::timer_entry* entry) noexcept {
    auto* self = static_cast<timer_node*>(entry)->owner;
    // Overdue (the process was paused): lost() fires here, before any task
    // resumes, as the expiry timer would.
    if (clock::now().time_since_epoch().count() >= self->last_safe_.load(std::memory_order_acquire))
      self->mark_lost("the TTL ran out before a renewal could land (was the process paused or the store slow?)");
    detail::schedule(self->scheduler_, self->renewer_);
  }

  // The last safe instant passed without a renewal: lost() fires right here,
  // in the timer callback. After a pause (SIGSTOP, GC, a slow VM) every overdue
  // timer fires before any task resumes, so a holder parked on a timer or on
  // I/O sees lost() before it does its next piece of work.
  static void on_expiry(detail::timer_entry* entry) noexcept {
    static_cast<timer_node*>(entry)->owner->mark_lost(
        "the TTL ran out before a renewal could land (was the process paused or the store slow?)");
  }

  clock::time_point next_wake(clock::time_point renewed_at, clock::time_point until) const {
    return std::min(renewed_at + ttl() / 3, until - margin());
  }
  std::chrono::nanoseconds margin() const {
    return std::max<std::chrono::nanoseconds>(std::chrono::milliseconds(2), ttl() / 50);
  }

  // Stops renewal; false when already stopped.
  bool stop() noexcept {
    {
      std::lock_guard guard(mutex_);
      if (stopped_) return false;
      stopped_ = true;
    }
    if (scheduler_) detail::cancel_timer(scheduler_, &expiry_);
    if (scheduler_ && detail::cancel_timer(scheduler_, &timer_)) {
      // The renewal coroutine never started: free it (and its reference to us).
      auto handle = std::exchange(renewer_, {});
      handle.destroy();
      return true;
    }
    wakeup_.wake();
    return true;
  }
  bool stopped() {
    std::lock_guard guard(mutex_);
    return stopped_;
  }

  // Started by the timer at the first renewal time.
  static detached_coroutine renew_loop(std::shared_ptr<redis_lease> self) {
    const auto ttl = self->ttl();
    {
      // From now on a renewal may be in flight: the expiry timer watches it.
      // Checked after arming: stop() sets stopped_ before it cancels, so one
      // of the two cancels it.
      std::unique_lock guard(self->mutex_);
      self->expiry_.deadline = self->valid_until_ - self->margin();
      guard.unlock();
      detail::add_timer(self->scheduler_, &self->expiry_);
      if (self->stopped()) {
        detail::cancel_timer(self->scheduler_, &self->expiry_);
        co_return;
      }
    }
    for (;;) {
      clock::time_point until;
      {
        std::lock_guard guard(self->mutex_);
        if (self->stopped_) co_return;
        until = self->valid_until_;
      }
      const auto last_safe = until - self->margin();
      const auto now = clock::now();
      if (now >= last_safe) {
        self->mark_lost("the TTL ran out before a renewal could land (was the process paused or the store slow?)");
        co_return;
      }
      std::vector<std::string> arguments{self->mode_, self->owner_, std::to_string(ms(ttl))};
      auto results =
          co_await self->store_->eval_all(renew_ref(), self->keys_.declared, std::move(arguments), last_safe, true);
      if (self->stopped()) co_return;
      std::size_t renewed = 0;
      std::string why;
      for (auto& r : results) {
        if (r && r->type == reply::kind::integer && r->integer == 1) {
          ++renewed;
        } else if (why.empty()) {
          why = !r ? std::string(r.error().message())
                   : r->is_error() ? "redis error: " + r->text : "another holder took over or it expired";
        }
      }
      if (renewed < self->store_->quorum() || clock::now() >= last_safe) {
        if (why.empty()) why = "the answer came too late";
        self->mark_lost("renewal failed: " + why);
        co_return;
      }
      clock::time_point next;
      {
        std::lock_guard guard(self->mutex_);
        self->renewed_at_ = now;
        self->valid_until_ = now + ttl - self->store_->drift(ttl);
        self->last_safe_.store((self->valid_until_ - self->margin()).time_since_epoch().count(),
                               std::memory_order_release);
        next = self->next_wake(self->renewed_at_, self->valid_until_);
      }
      // Move the expiry timer; if it already fired, the lease stays lost.
      if (!detail::cancel_timer(self->scheduler_, &self->expiry_) || self->is_lost()) co_return;
      self->expiry_.deadline = self->valid_until_ - self->margin();
      detail::add_timer(self->scheduler_, &self->expiry_);
      if (self->stopped()) {
        detail::cancel_timer(self->scheduler_, &self->expiry_);
        co_return;
      }
      self->wakeup_.reset();
      if (self->stopped()) co_return;
      (void)co_await self->wakeup_.park(next);
    }
  }

  std::shared_ptr<redis_store> store_;
  lock_keys keys_;
  std::string mode_;
  std::string owner_;
  bool notify_;
  std::mutex mutex_;
  bool stopped_ = false;
  clock::time_point valid_until_;
  clock::time_point renewed_at_;
  std::chrono::nanoseconds first_ttl_;  // validity of the grant the lease started with
  std::atomic<clock::rep> last_safe_;   // valid_until_ - margin(), for the timer callback
  parking wakeup_;
  timer_node timer_;   // starts the renewal coroutine
  timer_node expiry_;  // fires lost() at the last safe instant
  detail::scheduler* scheduler_ = nullptr;
  std::coroutine_handle<> renewer_;
};

// ---------------------------------------------------------------- store members

redis_store::redis_store(store_options options) : options_(std::move(options)) {
  for (const auto& server : options_.servers) {
    connection_options commands;
    commands.where = server;
    commands.connect_timeout = options_.connect_timeout;
    connection_options events = commands;
    events.subscribe = {wake_channel_, changes_channel};
    // The store outlives neither: ~redis_store closes both first.
    events.on_push = [this](std::string_view channel, std::string_view payload) { on_push(channel, payload); };
    events.on_reconnect = [this] { wake_all_waiters(); };
    nodes_.push_back(node{connection::make(std::move(commands)), connection::make(std::move(events))});
  }
}

redis_store::~redis_store() {
  for (auto& n : nodes_) {
    n.commands->close();
    n.events->close();
  }
}

void redis_store::on_push(std::string_view channel, std::string_view payload) {
  std::vector<std::shared_ptr<parking>> to_wake;
  {
    std::lock_guard guard(mutex_);
    if (channel == wake_channel_) {
      // "<owner>" wakes a waiter; "g<token>|<owner>" tells it the lock is its own.
      std::string_view owner = payload;
      std::uint64_t token = 0;
      if (!payload.empty() && payload[0] == 'g') {
        auto bar = payload.find('|');
        if (bar == std::string_view::npos) return;
        token = std::strtoull(std::string(payload.substr(1, bar - 1)).c_str(), nullptr, 10);
        owner = payload.substr(bar + 1);
      }
      if (auto it = waiters_.find(std::string(owner)); it != waiters_.end()) {
        if (token != 0) it->second.granted->store(token, std::memory_order_release);
        to_wake.push_back(it->second.slot);
      }
    } else if (channel == changes_channel) {
      auto [first, last] = observers_.equal_range(std::string(payload));
      for (auto it = first; it != last; ++it) to_wake.push_back(it->second);
    }
  }
  for (auto& slot : to_wake) slot->signal();
}

void redis_store::wake_all_waiters() {
  std::vector<std::shared_ptr<parking>> to_wake;
  {
    std::lock_guard guard(mutex_);
    for (auto& [owner, w] : waiters_) to_wake.push_back(w.slot);
    for (auto& [key, slot] : observers_) to_wake.push_back(slot);
  }
  for (auto& slot : to_wake) slot->signal();
}

void redis_store::note_token(const std::string& prefix, std::uint64_t token) {
  std::lock_guard guard(mutex_);
  auto& floor = floors_[prefix];
  floor = std::max(floor, token);
}

std::uint64_t redis_store::floor_of(const std::string& prefix) {
  std::lock_guard guard(mutex_);
  auto it = floors_.find(prefix);
  return it == floors_.end() ? 0 : it->second;
}

task<result<reply>> redis_store::eval(std::size_t node_index, const script_ref& script,
                                      const std::vector<std::string>& keys, std::vector<std::string> arguments,
                                      clock::time_point deadline, bool precise, bool wait_out_backoff) {
  auto& n = nodes_[node_index];
  enum class how { function, sha, text };
  auto command = [&](how way) {
    std::string_view verb = way == how::function ? "FCALL" : way == how::sha ? "EVALSHA" : "EVAL";
    std::string_view body = way == how::function ? std::string_view(script.function)
                            : way == how::sha    ? std::string_view(script.sha)
                                                 : std::string_view(script.text);
    std::size_t bytes = 64 + body.size();
    for (const auto& k : keys) bytes += k.size() + 16;
    for (const auto& a : arguments) bytes += a.size() + 16;
    command_builder out(3 + keys.size() + arguments.size(), bytes);
    const auto count = std::to_string(keys.size());
    out.add(verb).add(body).add(count);
    for (const auto& k : keys) out.add(k);
    for (const auto& a : arguments) out.add(a);
    return std::move(out).take();
  };
  auto send = [&](how way) {
    return n.commands->call_formatted(command(way), way == how::function ? "FCALL" : "EVALSHA", deadline, precise,
                                      wait_out_backoff);
  };
  auto starts = [](const reply& r, const char* prefix) { return r.is_error() && r.text.rfind(prefix, 0) == 0; };
  how way = !script.function.empty() && n.functions->load(std::memory_order_relaxed) ? how::function : how::sha;
  auto r = co_await send(way);
  if (way == how::function && r && starts(*r, "ERR Function not found")) {
    // First use on this server (or it restarted without persistence): load the library.
    std::vector<std::string> load{"FUNCTION", "LOAD", "REPLACE", library().text};
    auto loaded = co_await n.commands->call(std::move(load), deadline, precise);
    if (!loaded) co_return loaded;
    if (!loaded->is_error()) {
      r = co_await send(how::function);
    } else {
      n.functions->store(false, std::memory_order_relaxed);
      way = how::sha;
      r = co_await send(way);
    }
  } else if (way == how::function && r && (starts(*r, "ERR unknown command") || starts(*r, "NOPERM"))) {
    // No functions here (Redis < 7), or this ACL user may not FCALL: plain scripts.
    n.functions->store(false, std::memory_order_relaxed);
    way = how::sha;
    r = co_await send(way);
  }
  if (way == how::sha && r && starts(*r, "NOSCRIPT")) r = co_await send(how::text);
  co_return r;
}

task<std::vector<result<reply>>> redis_store::eval_all(const script_ref& script, const std::vector<std::string>& keys,
                                                       std::vector<std::string> arguments,
                                                       clock::time_point deadline, bool precise,
                                                       bool wait_out_backoff) {
  std::vector<result<reply>> out;
  if (nodes_.size() == 1) {
    out.push_back(co_await eval(0, script, keys, std::move(arguments), deadline, precise, wait_out_backoff));
    co_return out;
  }
  auto g = std::make_shared<gather>();
  g->results.resize(nodes_.size());
  g->remaining = nodes_.size();
  auto self = std::static_pointer_cast<redis_store>(shared_from_this());
  for (std::size_t i = 0; i < nodes_.size(); ++i) spawn(eval_into(self, g, i, &script, keys, arguments, deadline, precise, wait_out_backoff));
  (void)co_await g->done.park(clock::time_point::max());
  std::lock_guard guard(g->mutex);
  for (auto& r : g->results) out.push_back(std::move(*r));
  co_return out;
}

task<result<bool>> redis_store::release_everywhere(const lock_keys& keys, std::string mode, std::string owner,
                                                   std::string member, std::string notify) {
  auto deadline = clock::now() + options_.call_timeout;
  std::vector<std::string> arguments{std::move(mode), std::move(owner), std::move(member), std::move(notify)};
  // A master that is down (waiting to reconnect) is not waited for: its key
  // runs out by its TTL, and a release must not stall while a minority is down.
  auto results = co_await eval_all(release_ref(), keys.declared, std::move(arguments), deadline, false,
                                   /*wait_out_backoff=*/nodes_.size() == 1);
  std::size_t answered = 0;
  std::size_t held = 0;
  error last(errc::unreachable, "no redis server answered");
  for (auto& r : results) {
    if (!r) {
      last = r.error();
      continue;
    }
    if (r->is_error()) {
      last = error(errc::protocol, "redis error: " + r->text);
      continue;
    }
    ++answered;
    if (r->integer == 1) ++held;
  }
  if (answered < quorum()) co_return fail(std::move(last));
  co_return held >= quorum();
}

void redis_store::release_without_waiting(const lock_keys& keys, const std::string& mode, const std::string& owner,
                                          const std::string& notify) {
  // EVAL, not EVALSHA: nobody would see a NOSCRIPT answer.
  std::vector<std::string> argv{"EVAL", release_script, std::to_string(keys.declared.size())};
  argv.insert(argv.end(), keys.declared.begin(), keys.declared.end());
  for (const auto& a : {mode, owner, std::string(), notify}) argv.push_back(a);
  for (auto& n : nodes_) (void)n.commands->send_detached(argv);
}

task<result<bool>> redis_store::start_events(clock::time_point deadline) {
  std::size_t ok = 0;
  bool fresh = false;
  error last(errc::unreachable, "cannot subscribe");
  for (auto& n : nodes_) {
    // One master: waiters read pushes themselves (wait_reading). Redlock: a
    // reader task per master while anyone waits (a waiter cannot read five
    // sockets at once).
    std::uint64_t before = n.events->connects();
    // Not `c ? co_await a : co_await b`: GCC 12 destroys the wrong temporary
    // there (double free under ASan when a master is down).
    result<bool> r = fail(errc::internal);
    if (options_.redlock) {
      r = co_await n.events->start_reading(deadline);
    } else {
      r = co_await connect_fresh(*n.events, deadline, before);
    }
    if (r) {
      ++ok;
      fresh = fresh || *r;
    } else {
      last = r.error();
    }
    if (!options_.redlock && !r) co_return fail(std::move(last));
  }
  if (ok < quorum())
    co_return fail(last.code() == errc::permission_denied ? errc::permission_denied : errc::unreachable,
                   "only " + std::to_string(ok) + " of " + std::to_string(nodes_.size()) +
                       " redlock masters answered; a grant needs " + std::to_string(quorum()) +
                       " (last error: " + std::string(last.message()) + ")");
  co_return fresh;
}

task<result<bool>> redis_store::connect_fresh(connection& events, clock::time_point deadline,
                                              std::uint64_t before) {
  auto r = co_await events.connect(deadline);
  if (!r) co_return fail(std::move(r).error());
  co_return events.connects() != before;
}

task<void> redis_store::enter_events() {
  std::lock_guard guard(mutex_);
  ++interest_;
  co_return;
}

task<void> redis_store::leave_events() {
  bool last = false;
  {
    std::lock_guard guard(mutex_);
    last = --interest_ == 0;
  }
  if (!last || !options_.redlock) co_return;
  // One deadline for all: a Redlock acquire that already holds its lease
  // returns within a call timeout whatever its subscriber links do.
  const auto deadline = clock::now() + options_.call_timeout;
  for (auto& n : nodes_) co_await n.events->stop_reading(deadline);
}

task<result<std::optional<lease>>> redis_store::take_handoff(std::shared_ptr<redis_store> self,
                                                             const lock_keys& keys, const std::string& mode,
                                                             const std::string& owner, const std::string& name,
                                                             std::uint64_t token, std::chrono::nanoseconds ttl,
                                                             clock::time_point queued_at,
                                                             std::chrono::nanoseconds grant_ttl, bool notify) {
  auto base = queued_at;
  auto first = grant_ttl;
  const auto margin = std::max<std::chrono::nanoseconds>(std::chrono::milliseconds(2), ttl / 50);
  if (base + first - drift(ttl) - margin - clock::now() < first / 2) {
    const auto sent = clock::now();
    std::vector<std::string> arguments{mode, owner, std::to_string(ms(ttl))};
    auto r = co_await eval(0, renew_ref(), keys.declared, std::move(arguments), sent + options_.call_timeout, true);
    if (!r) co_return fail(std::move(r).error());
    if (r->type != reply::kind::integer)
      co_return fail(errc::protocol, "redis answered the renew script with " +
                                         (r->is_error() ? r->text : std::string("something unexpected")));
    if (r->integer != 1) co_return std::optional<lease>();
    base = sent;
    first = ttl;
  }
  note_token(keys.prefix, token);
  auto held = std::make_shared<redis_lease>(std::move(self), keys, mode, owner, name, token, ttl, base, notify, first);
  held->start();
  co_return std::optional<lease>(lease(std::move(held)));
}

task<result<lease>> redis_store::acquire(acquire_request request, context ctx) {
  auto self = std::static_pointer_cast<redis_store>(shared_from_this());
  auto keys = make_keys(request.kind, request.name);
  // One exclusive holder lives in the string key P x (the fast path of every
  // mutex and election). Semaphore permits (exclusive, limit N > 1) and rw
  // readers (shared, no limit) live in the sorted set P s; an 'x' waits for
  // P s to empty, an 's' for P x to go and for fewer than LIMIT entries in P s.
  const bool exclusive = request.mode == access::exclusive && request.limit <= 1;
  const std::string mode = exclusive ? "x" : "s";
  const std::string limit = exclusive                          ? std::string("1")
                            : request.mode == access::shared ? std::string("1000000000000")
                                                             : std::to_string(request.limit);
  const std::string owner = random_id() + "|" + who_;
  const std::string member = mode + "|" + limit + "|" + wake_channel_ + "|" + owner;
  const auto ttl = request.options.ttl;
  const std::string ttl_ms = std::to_string(ms(ttl));
  const std::string waiter_ttl_ms = std::to_string(options_.waiter_ttl.count());
  const std::string notify = request.kind == recipe::election ? changes_channel : "";
  const auto heartbeat = options_.waiter_ttl / 3;
  // Direct hand-off (one master): a release grants the lock to this waiter
  // in its own script, for grant_ttl at first, so that a waiter that died
  // after its last heartbeat holds up the queue for at most waiter_ttl; the
  // lease's first renewal then extends it to the full TTL.
  const bool handoff = !options_.redlock && request.wait;
  const auto grant_ttl = std::min<std::chrono::nanoseconds>(ttl, options_.waiter_ttl);
  const std::string grant_ms = std::to_string(ms(grant_ttl));

  auto slot = std::make_shared<parking>();
  auto handed_over = std::make_shared<std::atomic<std::uint64_t>>(0);
  if (request.wait) {
    std::lock_guard guard(mutex_);
    waiters_.emplace(owner, waiter{slot, handed_over});
  }
  struct unregister {
    redis_store* store;
    const std::string& owner;
    ~unregister() {
      std::lock_guard guard(store->mutex_);
      store->waiters_.erase(owner);
    }
  } cleanup{this, owner};
  context_callback on_cancel(ctx, [slot]() noexcept { slot->signal(); });
  bool queued = false;
  bool listening = false;  // counted in interest_: leave_events() before returning
  // Redlock: one ticket for every master, so that they all order waiters alike
  // (split votes between waiters would otherwise repeat forever).
  std::string ticket;
  // Send time of the last call that found us still queued: a hand-off came
  // after it, so the grant's PX runs from no earlier than this.
  clock::time_point queued_at{};
  if (options_.redlock)
    ticket = std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count());

  std::optional<result<lease>> outcome;
  while (!outcome) {
    if (auto alive = ctx.check(); !alive) {
      if (queued) (void)co_await release_everywhere(keys, mode, owner, member, notify);
      outcome = fail(alive.error().code(), "gave up waiting for the " + std::string(to_string(request.kind)) + " " +
                                               printable(request.name) + ": " + std::string(alive.error().message()));
      break;
    }
    slot->clear_signal();
    slot->reset();
    std::uint64_t handed = handed_over->load(std::memory_order_acquire);
    if (handed != 0) {
      auto held = co_await take_handoff(self, keys, mode, owner, request.name, handed, ttl, queued_at, grant_ttl,
                                        !notify.empty());
      if (!held) {
        (void)co_await release_everywhere(keys, mode, owner, member, notify);
        outcome = fail(std::move(held).error());
        break;
      }
      if (*held) {
        outcome = std::move(**held);
        break;
      }
      // The grant ran out before we could confirm it (a very slow waiter): queue again.
      handed_over->store(0, std::memory_order_release);
      continue;
    }
    const auto sent = clock::now();
    const std::string floor = std::to_string(floor_of(keys.prefix));
    std::vector<std::string> arguments{mode,
                                       owner,
                                       ttl_ms,
                                       limit,
                                       request.wait ? "1" : "0",
                                       waiter_ttl_ms,
                                       floor,
                                       wake_channel_,
                                       request.value,
                                       notify,
                                       ticket,
                                       queued && handoff ? "1" : "0",
                                       handoff ? grant_ms + "|" + notify + "|" + floor + "|" + request.value
                                               : std::string()};
    // Redlock: an answer after the grant's validity is worthless, so no call
    // waits longer (a master that is down would otherwise make every attempt
    // wait out its reconnect backoff, up to a second, and come too late).
    auto deadline = sent + options_.call_timeout;
    if (options_.redlock) deadline = std::min(deadline, sent + ttl - drift(ttl));
    auto results = co_await eval_all(acquire_ref(), keys.declared, std::move(arguments), deadline);
    if (handoff && results.size() == 1 && results[0] && results[0]->type == reply::kind::array &&
        results[0]->elements.size() == 2 && results[0]->elements[0].integer == 2) {
      // A hand-off granted it to us between our last call and this one.
      handed_over->store(std::max<std::uint64_t>(1, to_u64(results[0]->elements[1])), std::memory_order_release);
      continue;
    }
    queued = queued || request.wait;
    std::size_t granted = 0;
    std::size_t failed = 0;
    std::uint64_t token = 0;
    long long hint = -1;
    error last(errc::unreachable, "no redis server answered");
    for (auto& r : results) {
      if (!r || r->type != reply::kind::array || r->elements.size() != 2) {
        ++failed;
        if (!r) last = r.error();
        else if (r->is_error()) last = error(r->text.rfind("NOPERM", 0) == 0 ? errc::permission_denied : errc::protocol,
                                             "redis refused the acquire script: " + r->text);
        else last = error(errc::protocol, "redis answered the acquire script with something unexpected");
        continue;
      }
      if (r->elements[0].integer == 1) {
        ++granted;
        token = std::max(token, to_u64(r->elements[1]));
      } else {
        auto h = r->elements[1].integer;
        if (h >= 0) hint = hint < 0 ? h : std::min(hint, h);
      }
    }
    const auto validity = ttl - (clock::now() - sent) - drift(ttl);
    bool late = false;  // Redlock: the write-back ended after the grant's last safe instant
    if (granted >= quorum() && validity > std::chrono::nanoseconds(0)) {
      if (options_.redlock) {
        // Make every later quorum see this token: write it back to a majority.
        // It must land while the grant still holds. A lease returned after its
        // last safe instant would be dead on arrival: its keys may have expired,
        // and another client may have taken, used and released the lock with a
        // later (higher) token meanwhile, so this caller would start work with
        // a token lower than one already released. (A call to a master that is
        // down waits out its reconnect backoff, up to a second: longer than
        // short TTLs.) Too late counts as a grant that came too late: give it
        // back and go on waiting.
        const auto last_safe =
            sent + ttl - drift(ttl) - std::max<std::chrono::nanoseconds>(std::chrono::milliseconds(2), ttl / 50);
        std::vector<std::string> raise_keys{keys.t(), keys.k()};
        std::vector<std::string> raise_arguments{owner, std::to_string(token)};
        auto raised = co_await eval_all(raise_ref(), raise_keys, std::move(raise_arguments),
                                        std::min(clock::now() + options_.call_timeout, last_safe), true);
        std::size_t ok = 0;
        for (auto& r : raised)
          if (r && !r->is_error()) ++ok;
        late = clock::now() >= last_safe;
        if (!late && ok < quorum()) {
          (void)co_await release_everywhere(keys, mode, owner, member, notify);
          outcome = fail(errc::unreachable, "acquired " + printable(request.name) +
                                                " on a quorum but could not record its fencing token on a majority "
                                                "of the redlock masters; released it");
          break;
        }
      }
      if (!late) {
        note_token(keys.prefix, token);
        auto held = std::make_shared<redis_lease>(self, keys, mode, owner, request.name, token, ttl, sent,
                                                  !notify.empty(), ttl);
        held->start();
        outcome = lease(std::move(held));
        break;
      }
    }
    if (granted > 0) {
      // A minority (or too late): give those grants back, keep our place in the queues.
      (void)co_await release_everywhere(keys, mode, owner, "", notify);
    }
    if (failed > nodes_.size() - quorum()) {
      if (queued) (void)co_await release_everywhere(keys, mode, owner, member, notify);
      if (options_.redlock)
        outcome = fail(last.code() == errc::permission_denied ? errc::permission_denied : errc::unreachable,
                       "only " + std::to_string(nodes_.size() - failed) + " of " + std::to_string(nodes_.size()) +
                           " redlock masters answered; a grant needs " + std::to_string(quorum()) +
                           " (last error: " + std::string(last.message()) + ")");
      else
        outcome = fail(std::move(last));
      break;
    }
    if (handoff) queued_at = sent;
    if (!request.wait) {
      outcome = fail(errc::contended, "the " + std::string(to_string(request.kind)) + " " + printable(request.name) +
                                          " is held by another client");
      break;
    }
    // Queued: make sure pushes are read, then wait for one (the holder released
    // and we head the queue), or re-try when our queue entry needs refreshing
    // or the blocking lease runs out.
    if (!listening) {
      co_await enter_events();
      listening = true;
    }
    auto subscribed = co_await start_events(clock::now() + options_.call_timeout);
    if (!subscribed) {
      if (queued) (void)co_await release_everywhere(keys, mode, owner, member, notify);
      outcome = fail(std::move(subscribed).error());
      break;
    }
    if (*subscribed) continue;  // just (re)subscribed: a wake-up may have been missed
    auto wait = std::chrono::duration_cast<clock::duration>(heartbeat);
    if (hint >= 0) wait = std::min<clock::duration>(wait, std::chrono::milliseconds(hint + 1));
    if (options_.redlock && granted > 0) {
      // Split vote between contenders: back off by a random fraction of a heartbeat.
      thread_local std::mt19937 jitter(std::random_device{}());
      std::uniform_int_distribution<long long> spread(1, std::max<long long>(2, ms(heartbeat)));
      wait = std::min<clock::duration>(wait, std::chrono::milliseconds(spread(jitter)));
    }
    co_await wait_for_push(slot, clock::now() + wait);
  }
  if (listening) co_await leave_events();
  co_return std::move(*outcome);
}

task<result<std::vector<holder_info>>> redis_store::read_holders(recipe kind, const lock_keys& keys,
                                                                 clock::time_point deadline, std::size_t& waiters) {
  // Every master's view; a holder counts when a quorum agrees on its owner id
  // (one master for redis://). Its token is the highest any of them reports:
  // a Redlock lease's token is the maximum over its quorum.
  auto results = co_await eval_all(inspect_ref(), keys.declared, std::vector<std::string>(), deadline);
  struct seen {
    holder_info info;
    std::size_t votes = 0;
  };
  std::map<std::string, seen> by_owner;
  std::size_t answered = 0;
  std::size_t most_waiters = 0;
  error last(errc::unreachable, "no redis server answered");
  for (auto& r : results) {
    if (!r) {
      last = r.error();
      continue;
    }
    if (r->type != reply::kind::array || r->elements.size() != 6) {
      last = error(errc::protocol, r->is_error() ? "redis error: " + r->text : "unexpected inspect reply");
      continue;
    }
    ++answered;
    auto& e = r->elements;
    auto note = [&](const std::string& owner, holder_info h) {
      auto& entry = by_owner[owner];
      if (entry.votes == 0) entry.info = std::move(h);
      else {
        entry.info.token = std::max(entry.info.token, h.token);
        entry.info.time_left = std::min(entry.info.time_left, h.time_left);
      }
      ++entry.votes;
    };
    if (e[0].type == reply::kind::string) {
      holder_info h;
      h.mode = access::exclusive;
      h.token = to_u64(e[2]);
      h.holder = who_from_owner(e[0].text);
      if (e[3].type == reply::kind::string) h.value = e[3].text;
      h.time_left = std::chrono::milliseconds(std::max<long long>(0, e[1].integer));
      note(e[0].text, std::move(h));
    }
    auto& shared = e[4].elements;
    for (std::size_t j = 0; j + 2 < shared.size(); j += 3) {
      holder_info h;
      h.mode = kind == recipe::rw_mutex ? access::shared : access::exclusive;  // else semaphore permits
      h.holder = who_from_owner(shared[j].text);
      h.time_left = std::chrono::milliseconds(std::max<long long>(0, shared[j + 1].integer));
      h.token = to_u64(shared[j + 2]);
      note(shared[j].text, std::move(h));
    }
    most_waiters = std::max(most_waiters, static_cast<std::size_t>(e[5].integer));
  }
  if (answered < quorum()) co_return fail(std::move(last));
  std::vector<holder_info> out;
  for (auto& [owner, entry] : by_owner)
    if (entry.votes >= quorum()) out.push_back(std::move(entry.info));
  std::sort(out.begin(), out.end(), [](const holder_info& a, const holder_info& b) { return a.token < b.token; });
  waiters = most_waiters;
  co_return out;
}

task<result<std::vector<holder_info>>> redis_store::holders(recipe kind, std::string name,
                                                            std::optional<std::vector<std::uint64_t>> known,
                                                            context ctx) {
  auto keys = make_keys(kind, name);
  auto slot = std::make_shared<parking>();
  std::multimap<std::string, std::shared_ptr<parking>>::iterator registered;
  {
    std::lock_guard guard(mutex_);
    registered = observers_.emplace(keys.x(), slot);
  }
  struct unregister {
    redis_store* store;
    std::multimap<std::string, std::shared_ptr<parking>>::iterator it;
    ~unregister() {
      std::lock_guard guard(store->mutex_);
      store->observers_.erase(it);
    }
  } cleanup{this, registered};
  context_callback on_cancel(ctx, [slot]() noexcept { slot->signal(); });
  bool listening = false;
  std::optional<result<std::vector<holder_info>>> outcome;
  while (!outcome) {
    if (auto alive = ctx.check(); !alive) {
      outcome = fail(std::move(alive).error());
      break;
    }
    if (known) {
      if (!listening) {
        co_await enter_events();
        listening = true;
      }
      auto subscribed = co_await start_events(clock::now() + options_.call_timeout);
      if (!subscribed) {
        outcome = fail(std::move(subscribed).error());
        break;
      }
    }
    slot->clear_signal();
    slot->reset();
    std::size_t waiters = 0;
    auto now = co_await read_holders(kind, keys, clock::now() + options_.call_timeout, waiters);
    if (!now) {
      outcome = std::move(now);
      break;
    }
    std::vector<std::uint64_t> tokens;
    for (auto& h : *now) tokens.push_back(h.token);
    if (!known || tokens != *known) {
      outcome = std::move(now);
      break;
    }
    // Changes of elections are pushed; a holder that dies is noticed when its
    // lease runs out; other recipes are re-read at least every second.
    clock::duration wait = std::chrono::seconds(1);
    for (auto& h : *now)
      wait = std::min<clock::duration>(wait, h.time_left + std::chrono::milliseconds(2));
    co_await wait_for_push(slot, clock::now() + wait);
  }
  if (listening) co_await leave_events();
  co_return std::move(*outcome);
}

task<result<std::vector<lock_info>>> redis_store::list(std::string prefix, context ctx) {
  auto deadline = clock::now() + options_.call_timeout * 4;
  error last(errc::unreachable, "no redis server answered");
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    std::vector<std::string> found;
    std::string cursor = "0";
    bool ok = true;
    do {
      if (auto alive = ctx.check(); !alive) co_return fail(std::move(alive).error());
      std::vector<std::string> scan{"SCAN", cursor, "MATCH", "weft:lock:*:t", "COUNT", "1000"};
      auto r = co_await nodes_[i].commands->call(std::move(scan), deadline);
      if (!r || r->type != reply::kind::array || r->elements.size() != 2) {
        ok = false;
        if (!r) last = r.error();
        break;
      }
      cursor = r->elements[0].text;
      for (auto& key : r->elements[1].elements) found.push_back(key.text);
    } while (cursor != "0");
    if (!ok) continue;
    std::sort(found.begin(), found.end());
    found.erase(std::unique(found.begin(), found.end()), found.end());
    std::vector<lock_info> out;
    for (const auto& key : found) {
      // weft:lock:<recipe>:{<escaped>}:t
      auto rest = std::string_view(key).substr(10);
      auto colon = rest.find(":{");
      auto close = rest.rfind("}:t");
      if (colon == std::string_view::npos || close == std::string_view::npos || close < colon) continue;
      recipe kind;
      if (!parse_recipe(rest.substr(0, colon), kind)) continue;
      auto name = unescape_name(rest.substr(colon + 2, close - colon - 2));
      if (name.compare(0, prefix.size(), prefix) != 0) continue;
      std::size_t waiters = 0;
      auto held = co_await read_holders(kind, make_keys(kind, name), deadline, waiters);
      if (!held) co_return fail(std::move(held).error());
      out.push_back(lock_info{kind, std::move(name), std::move(*held), waiters});
    }
    co_return out;
  }
  co_return fail(std::move(last));
}

// ---------------------------------------------------------------- options

result<store_options> parse_options(const store_uri& uri) {
  store_options out;
  out.redlock = uri.scheme == "redlock";
  out.uri = uri.redacted();
  const std::string shown = out.uri;
  auto bad = [&](const std::string& why) {
    return fail(errc::invalid_argument, "invalid " + uri.scheme + " store URI \"" + shown + "\": " + why);
  };
  if (uri.hosts.empty())
    return bad(out.redlock ? "give the masters, e.g. redlock://h1:6379,h2:6379,h3:6379"
                           : "give a host, e.g. redis://127.0.0.1:6379");
  if (!out.redlock && uri.hosts.size() != 1)
    return bad("redis:// takes one host; for several independent masters use redlock://");
  if (out.redlock && uri.hosts.size() < 3)
    return bad("redlock:// needs at least 3 independent masters (5 is usual); for one server use redis://");

  std::string password = uri.password;
  bool has_password = uri.has_password;
  for (const auto& [key, value] : uri.query) {
    if (key == "password_file") {
      std::ifstream in(value);
      if (!in) return bad("cannot read password_file \"" + value + "\"");
      std::string line;
      std::getline(in, line);
      while (!line.empty() && (line.back() == '\r' || line.back() == '\n' || line.back() == ' ')) line.pop_back();
      if (!has_password) {
        password = line;
        has_password = true;
      }
    } else if (key == "timeout" || key == "waiter_ttl" || key == "connect_timeout") {
      auto d = parse_positive_duration(value);
      if (!d) return bad("?" + key + "=: " + std::string(d.error().message()));
      auto m = std::max<milliseconds>(milliseconds(1), duration_cast<milliseconds>(*d));
      if (key == "timeout") out.call_timeout = m;
      else if (key == "connect_timeout") out.connect_timeout = m;
      else {
        if (m < milliseconds(30)) return bad("?waiter_ttl= must be at least 30ms");
        out.waiter_ttl = m;
      }
    } else if (key == "ttl") {
      // Handled by the recipes' lease options; accepted here.
    } else {
      return bad("unknown parameter \"" + key + "\" (known: password_file, timeout, connect_timeout, waiter_ttl)");
    }
  }
  if (!has_password) {
    if (const char* env = std::getenv("WEFT_REDIS_PASSWORD"); env && *env) {
      password = env;
      has_password = true;
    }
  }
  int database = 0;
  if (!uri.path.empty() && uri.path != "/") {
    auto digits = uri.path.substr(1);
    if (out.redlock) return bad("redlock:// takes no database path");
    if (digits.empty() || digits.size() > 5 ||
        !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return bad("the path must be a database number, e.g. redis://host:6379/2");
    database = std::stoi(digits);
  }
  for (const auto& h : uri.hosts) {
    server_address a;
    a.host = h.host;
    a.port = h.port ? h.port : 6379;
    a.user = uri.user;
    a.password = has_password ? password : std::string();
    a.database = database;
    out.servers.push_back(std::move(a));
  }
  return out;
}

result<std::shared_ptr<store>> open_redis_store(store_options options) {
  return std::shared_ptr<store>(std::make_shared<redis_store>(std::move(options)));
}

}  // namespace weft::lock::redis_detail

namespace weft::lock {

// Plugs redis:// and redlock:// into weft::lock::open(); called by register.cpp.
void register_redis_store() {
  auto factory = [](const store_uri& uri) -> result<std::shared_ptr<store>> {
    auto options = redis_detail::parse_options(uri);
    if (!options) return fail(std::move(options).error());
    return redis_detail::open_redis_store(std::move(*options));
  };
  register_store("redis", factory);
  register_store("redlock", factory);
}

}  // namespace weft::lock
