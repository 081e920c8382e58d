#include "lock/file/engine.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "lock/grant.hpp"
#include "weft/spawn_blocking.hpp"

namespace weft::lock::file_detail {

std::int64_t boot_now() noexcept {
  timespec ts{};
  ::clock_gettime(CLOCK_BOOTTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

namespace {

constexpr std::uint32_t participant_mask = IN_ATTRIB | IN_CLOSE_WRITE | IN_DELETE_SELF | IN_DONT_FOLLOW;
constexpr std::uint32_t state_mask = IN_MODIFY | IN_DELETE_SELF | IN_DONT_FOLLOW;

failure os_failure(const std::string& what, int e = errno) {
  errc code = (e == EACCES || e == EPERM || e == ELOOP) ? errc::permission_denied : errc::io;
  return fail(code, what + ": " + std::strerror(e));
}

std::string random_owner() {
  unsigned char bytes[16];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
    if (n > 0) got += static_cast<std::size_t>(n);
  }
  return to_hex(std::string_view(reinterpret_cast<const char*>(bytes), sizeof bytes));
}

std::string participant_file(const std::string& owner) { return "p-" + owner; }

result<std::string> read_all_at(int dir_fd, const char* name, bool& missing) {
  missing = false;
  int fd = ::openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      missing = true;
      return std::string();
    }
    return os_failure(std::string("cannot open the lock's ") + name + " file");
  }
  std::string text;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return os_failure(std::string("cannot read the lock's ") + name + " file", e);
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return text;
}

bool write_all(int fd, std::string_view text) {
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

std::int64_t realtime_micros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct lock_dir {
  std::string entry;
  std::string path;
  recipe kind = recipe::mutex;
  std::string name;
  int fd = -1;
  int meta_fd = -1;
  int state_fd = -1;
  std::mutex mutex;  // the in-process half of the meta lock
  state_header header;  // from the last load(); guarded by the meta lock
  std::size_t state_size = 0;  // the state file's length as last read or written; ditto
  ~lock_dir() {
    if (state_fd >= 0) ::close(state_fd);
    if (meta_fd >= 0) ::close(meta_fd);
    if (fd >= 0) ::close(fd);
  }
};

namespace {
// The meta lock: a std::mutex (threads of this process share open file
// descriptions) and an OFD lock on `meta` (other processes).
class meta_guard {
 public:
  // With block = false, gives up at once (would_block()) when another thread
  // or process holds the lock, so the caller can retry off the runtime.
  explicit meta_guard(lock_dir& dir, bool block = true) : dir_(dir) {
    if (block) {
      in_process_ = std::unique_lock(dir.mutex);
    } else {
      in_process_ = std::unique_lock(dir.mutex, std::try_to_lock);
      if (!in_process_.owns_lock()) {
        would_block_ = true;
        return;
      }
    }
    struct flock l {};
    l.l_type = F_WRLCK;
    l.l_whence = SEEK_SET;
    int rc;
    while ((rc = ::fcntl(dir_.meta_fd, block ? F_OFD_SETLKW : F_OFD_SETLK, &l)) != 0 && errno == EINTR) {
    }
    ok_ = rc == 0;
    error_ = errno;
    if (!ok_ && !block && (error_ == EAGAIN || error_ == EACCES)) would_block_ = true;
  }
  ~meta_guard() {
    if (!ok_) return;
    struct flock l {};
    l.l_type = F_UNLCK;
    l.l_whence = SEEK_SET;
    ::fcntl(dir_.meta_fd, F_OFD_SETLK, &l);
  }
  meta_guard(const meta_guard&) = delete;
  meta_guard& operator=(const meta_guard&) = delete;
  bool would_block() const { return would_block_; }
  result<void> check() const {
    if (ok_) return {};
    return os_failure("cannot lock the lock's meta file", error_);
  }

 private:
  lock_dir& dir_;
  std::unique_lock<std::mutex> in_process_;
  bool ok_ = false;
  bool would_block_ = false;
  int error_ = 0;
};

class file_lease final : public lease_state {
 public:
  file_lease(std::shared_ptr<file_engine> engine, std::shared_ptr<participant> who, std::uint64_t token)
      : lease_state(who->request.name, token, who->request.options.ttl),
        engine_(std::move(engine)),
        who_(std::move(who)) {}
  task<result<void>> release() override {
    if (released_.exchange(true)) co_return result<void>{};
    // Inline when the meta lock is free; if another thread or process holds
    // it, wait for it on the blocking pool, never on a runtime worker.
    auto released = engine_->release(who_, false);
    if (released || released.error().code() != errc::unsupported) co_return released;
    released = co_await weft::spawn_blocking([this] { return engine_->release(who_, true); });
    co_return released;
  }
  void release_detached() noexcept override {
    if (released_.exchange(true)) return;
    engine_->release_later(who_);
  }
  result<void> release_now() override {
    // Waits for the queue's lock, which others hold for a few syscalls.
    if (released_.exchange(true)) return {};
    return engine_->release(who_, true);
  }
  void start_upkeep() noexcept override { engine_->start_upkeep(who_); }

 private:
  std::shared_ptr<file_engine> engine_;
  std::shared_ptr<participant> who_;
  std::atomic<bool> released_{false};
};
}  // namespace

// ---------------------------------------------------------------- opening

result<std::shared_ptr<file_engine>> file_engine::open(std::string root) {
  if (root.empty() || root.front() != '/')
    return fail(errc::invalid_argument, "the file store needs an absolute directory, as in file:///var/lib/weft");
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  int fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) {
    // Create missing parents 0700 (as mkdir -p would), the last one included.
    for (std::size_t slash = root.find('/', 1);; slash = root.find('/', slash + 1)) {
      std::string prefix = slash == std::string::npos ? root : root.substr(0, slash);
      if (::mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST)
        return os_failure("cannot create the store directory " + prefix);
      if (slash == std::string::npos) break;
    }
    fd = ::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (fd < 0) {
    if (errno == ELOOP || errno == ENOTDIR)
      return fail(errc::permission_denied, "the store directory " + root +
                                               " is a symbolic link or not a directory; refusing to use it");
    return os_failure("cannot open the store directory " + root);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISDIR(st.st_mode)) {
    ::close(fd);
    return fail(errc::invalid_argument, "the store path " + root + " is not a directory");
  }
  if (st.st_uid != ::geteuid()) {
    ::close(fd);
    return fail(errc::permission_denied, "the store directory " + root + " belongs to uid " +
                                             std::to_string(st.st_uid) +
                                             ", not to you; use a directory of your own");
  }
  if ((st.st_mode & 0022) != 0) {
    ::close(fd);
    return fail(errc::permission_denied, "the store directory " + root +
                                             " is writable by other users; run chmod go-w on it or use another");
  }
  // The inotify instance, the eventfd and the two threads start on first
  // need (start_watcher_locked, start_keeper_locked): a process that takes
  // one lock and lets it go quickly (weft lock) runs none of them.
  return std::shared_ptr<file_engine>(new file_engine(std::move(root), fd));
}

file_engine::file_engine(std::string root, int root_fd) : root_(std::move(root)), root_fd_(root_fd), pid_(::getpid()) {
  bool missing = false;
  auto id = read_all_at(AT_FDCWD, "/proc/sys/kernel/random/boot_id", missing);
  if (id) {
    boot_id_ = *id;
    std::erase_if(boot_id_, [](char c) { return !std::isxdigit(static_cast<unsigned char>(c)) && c != '-'; });
  }
}

result<void> file_engine::start_watcher_locked() {
  if (watcher_.joinable()) return {};
  if (stopping_) return fail(errc::closed, "the file store is shutting down");
  if (inotify_fd_ < 0) {
    inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (inotify_fd_ < 0) return os_failure("cannot create an inotify instance");
  }
  if (event_fd_ < 0) {
    event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (event_fd_ < 0) return os_failure("cannot create an eventfd");
  }
  try {
    watcher_ = std::thread([this] { watcher_loop(); });
  } catch (const std::system_error& e) {
    return fail(errc::io, std::string("cannot start the file store's watcher thread: ") + e.what());
  }
  return {};
}

result<void> file_engine::start_keeper_locked() {
  if (keeper_.joinable()) return {};
  if (stopping_) return fail(errc::closed, "the file store is shutting down");
  try {
    keeper_ = std::thread([this] { keeper_loop(); });
  } catch (const std::system_error& e) {
    return fail(errc::io, std::string("cannot start the file store's renewal thread: ") + e.what());
  }
  return {};
}

void file_engine::wake_watcher() noexcept {
  if (event_fd_ < 0) return;
  std::uint64_t one = 1;
  (void)!::write(event_fd_, &one, sizeof one);
}

file_engine::~file_engine() {
  {
    std::lock_guard guard(mutex_);
    stopping_ = true;
  }
  keeper_wake_.notify_all();
  wake_watcher();
  // The stores resume waiters through the runtime, never inline on these
  // threads, so the last reference cannot drop on them; be defensive anyway.
  // With stopping_ set, no thread starts another (start_*_locked).
  auto id = std::this_thread::get_id();
  if (keeper_.joinable()) id == keeper_.get_id() ? keeper_.detach() : keeper_.join();
  if (watcher_.joinable()) id == watcher_.get_id() ? watcher_.detach() : watcher_.join();
  // Leases keep the engine alive, so only abandoned waiters can remain.
  for (auto& [raw, who] : participants_) {
    if (who->fd >= 0) {
      ::unlinkat(who->dir->fd, participant_file(who->owner).c_str(), 0);
      ::close(who->fd);
      who->fd = -1;
    }
  }
  if (event_fd_ >= 0) ::close(event_fd_);
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
  ::close(root_fd_);
}

result<std::shared_ptr<lock_dir>> file_engine::open_dir(recipe kind, std::string_view name, bool create) {
  std::string entry = encode_directory(kind, name);
  {
    std::lock_guard guard(mutex_);
    if (auto it = dirs_.find(entry); it != dirs_.end())
      if (auto dir = it->second.lock()) return dir;
  }
  auto dir = std::make_shared<lock_dir>();
  dir->entry = entry;
  dir->path = root_ + "/" + entry;
  dir->kind = kind;
  dir->name.assign(name);
  dir->fd = ::openat(root_fd_, entry.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (dir->fd < 0 && errno == ENOENT && create) {
    if (::mkdirat(root_fd_, entry.c_str(), 0700) != 0 && errno != EEXIST)
      return os_failure("cannot create the lock directory in " + root_);
    dir->fd = ::openat(root_fd_, entry.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (dir->fd < 0) {
    if (errno == ENOENT) return fail(errc::not_found, "no such lock");
    if (errno == ELOOP || errno == ENOTDIR)
      return fail(errc::permission_denied, "a lock directory in " + root_ + " is a symbolic link; refusing it");
    return os_failure("cannot open the lock directory in " + root_);
  }
  struct stat st {};
  if (::fstat(dir->fd, &st) != 0 || st.st_uid != ::geteuid())
    return fail(errc::permission_denied, "a lock directory in " + root_ + " belongs to another user; refusing it");
  dir->meta_fd = ::openat(dir->fd, "meta", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (dir->meta_fd < 0) return os_failure("cannot open the lock's meta file in " + root_);
  dir->state_fd = ::openat(dir->fd, "state", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (dir->state_fd < 0) return os_failure("cannot open the lock's state file in " + root_);
  int name_fd = ::openat(dir->fd, "name", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (name_fd >= 0) {
    (void)write_all(name_fd, name);
    ::close(name_fd);
  }
  std::lock_guard guard(mutex_);
  if (auto it = dirs_.find(entry); it != dirs_.end())
    if (auto existing = it->second.lock()) return existing;
  dirs_[entry] = dir;
  return dir;
}

// ---------------------------------------------------------------- queue

namespace {
result<std::string> read_fd(int fd) {
  std::string text;
  char buffer[4096];
  for (off_t at = 0;;) {
    ssize_t n = ::pread(fd, buffer, sizeof buffer, at);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return os_failure("cannot read the lock's state file");
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    at += n;
  }
  return text;
}

// True when some p-file in the lock directory is held by a live process.
bool any_live_participant(int dir_fd) {
  int fd = ::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return true;  // cannot tell: assume the worst
  DIR* listing = ::fdopendir(fd);
  if (!listing) {
    ::close(fd);
    return true;
  }
  bool live = false;
  while (auto* item = ::readdir(listing)) {
    if (std::strncmp(item->d_name, "p-", 2) != 0) continue;
    int p = ::openat(dir_fd, item->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (p < 0) continue;
    struct flock l {};
    l.l_type = F_WRLCK;
    l.l_whence = SEEK_SET;
    if (::fcntl(p, F_OFD_GETLK, &l) == 0 && l.l_type != F_UNLCK) live = true;
    ::close(p);
    if (live) break;
  }
  ::closedir(listing);
  return live;
}
}  // namespace

result<void> file_engine::load(lock_dir& dir, std::vector<state_entry>& entries) {
  auto text = read_fd(dir.state_fd);
  if (!text) return fail(std::move(text).error());
  dir.state_size = text->size();
  auto parsed = parse_state(*text, dir.header);
  if (!parsed) {
    // A record cut short by a host crash (it is not fsync'd). With no live
    // participant nobody can hold the lock: start an empty queue; tokens then
    // resume above the fsync'd ceiling. Otherwise refuse rather than guess.
    if (any_live_participant(dir.fd)) return fail(std::move(parsed).error());
    dir.header = state_header{};
    entries.clear();
    return {};
  }
  entries = std::move(*parsed);
  return {};
}

result<void> file_engine::store_state(lock_dir& dir, const std::vector<state_entry>& entries) {
  // In place, under the meta lock (every reader holds it too): cheaper than
  // a rename on a journaling file system, and the "end" trailer makes a
  // record cut short detectable.
  std::string text = format_state(dir.header, entries);
  // A shorter record leaves a tail of the old one. A small tail is blanked
  // in the same write (the parser ignores what follows "end"), which saves
  // an ftruncate on every release; a large one is cut off.
  constexpr std::size_t blank_tail_limit = 4096;
  bool cut = false;
  if (text.size() < dir.state_size) {
    if (dir.state_size <= blank_tail_limit) text.append(dir.state_size - text.size(), ' ');
    else cut = true;
  }
  std::size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::pwrite(dir.state_fd, text.data() + done, text.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return os_failure("cannot write the lock's state file");
    done += static_cast<std::size_t>(n);
  }
  // (load() read the old length under this same meta lock.)
  if (cut && ::ftruncate(dir.state_fd, static_cast<off_t>(text.size())) != 0)
    return os_failure("cannot truncate the lock's state file");
  dir.state_size = text.size();
  return {};
}

file_engine::liveness file_engine::check_participant(lock_dir& dir, const std::string& owner, std::int64_t now,
                                                     std::int64_t* expiry) {
  int fd = ::openat(dir.fd, participant_file(owner).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return liveness::dead;
  struct flock l {};
  l.l_type = F_WRLCK;
  l.l_whence = SEEK_SET;
  if (::fcntl(fd, F_OFD_GETLK, &l) != 0 || l.l_type == F_UNLCK) {
    ::close(fd);
    return liveness::dead;
  }
  std::int64_t value = 0;
  bool parsed = false;
  for (int attempt = 0; attempt < 5 && !parsed; ++attempt) {
    char buffer[expiry_record_size];
    ssize_t n = ::pread(fd, buffer, sizeof buffer, 0);
    parsed = n > 0 && parse_expiry(std::string_view(buffer, static_cast<std::size_t>(n)), value);
  }
  ::close(fd);
  if (!parsed) return liveness::expired;
  if (expiry) *expiry = value;
  return value < now ? liveness::expired : liveness::alive;
}

result<bool> file_engine::settle(lock_dir& dir, std::vector<state_entry>& entries, const std::string& keep,
                                 std::vector<std::string>& touch) {
  std::int64_t now = boot_now();
  bool changed = false;
  auto first_waiter = [&]() -> std::string {
    for (const auto& e : entries)
      if (!e.held) return e.owner;
    return {};
  };
  std::string first_before = first_waiter();
  // Only entries that matter are checked (four syscalls each): the holders,
  // the entries ahead of `keep` (its predecessors), and any entry about to be
  // granted. Dead waiters further back are evicted when they come up.
  auto keep_at = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.owner == keep; });
  std::size_t keep_index = keep_at == entries.end() ? 0 : static_cast<std::size_t>(keep_at - entries.begin());
  std::vector<std::string> checked;
  auto evict_if_gone = [&](std::size_t index) {
    const std::string owner = entries[index].owner;
    checked.push_back(owner);
    if (check_participant(dir, owner, now, nullptr) == liveness::alive) return false;
    // Dead (its process is gone) or expired (paused past its TTL): evict.
    // Unlinking the p-file tells a paused owner, once it runs, that it lost.
    ::unlinkat(dir.fd, participant_file(owner).c_str(), 0);
    entries.erase(entries.begin() + static_cast<std::ptrdiff_t>(index));
    changed = true;
    return true;
  };
  for (std::size_t i = 0; i < entries.size();) {
    bool matters = entries[i].held || i < keep_index;
    if (matters && entries[i].owner != keep && evict_if_gone(i)) {
      if (i < keep_index) --keep_index;
      continue;
    }
    ++i;
  }
  std::vector<detail::queue_slot> slots;
  std::vector<std::size_t> granted;
  for (;;) {
    slots.clear();
    for (const auto& e : entries) slots.push_back({e.mode, e.limit, e.held});
    granted = detail::grant(slots);
    bool evicted = false;
    for (auto index : granted) {
      const auto& owner = entries[index].owner;
      if (owner == keep || std::find(checked.begin(), checked.end(), owner) != checked.end()) continue;
      if (evict_if_gone(index)) {
        evicted = true;
        break;
      }
    }
    if (!evicted) break;
  }
  if (!granted.empty()) {
    // Tokens. The state file carries the last token issued; it is not
    // fsync'd, but within one boot the page cache makes it authoritative for
    // every process, and a process crash loses nothing. The `token` file holds
    // a ceiling, fsync'd before any token above the old one is issued; after
    // a reboot (another boot id) or a lost state file, issuing resumes above
    // the ceiling. A missing ceiling starts at the wall clock in
    // microseconds, so even a wiped store directory does not reissue a token
    // (short of the clock being set back, or a million grants a second).
    bool missing = false;
    auto text = read_all_at(dir.fd, "token", missing);
    if (!text) return fail(std::move(text).error());
    std::uint64_t ceiling = 0;
    for (char c : *text) {
      if (c == '\n') break;
      if (c < '0' || c > '9') return fail(errc::protocol, "the lock's token file is corrupt");
      ceiling = ceiling * 10 + static_cast<std::uint64_t>(c - '0');
    }
    std::uint64_t last = dir.header.last_token;
    bool trusted = last != 0 && !boot_id_.empty() && dir.header.boot_id == boot_id_;
    if (!trusted) last = std::max(ceiling, ceiling == 0 ? static_cast<std::uint64_t>(realtime_micros()) : 0);
    for (auto index : granted) {
      entries[index].held = true;
      entries[index].token = ++last;
      if (entries[index].owner != keep) touch.push_back(entries[index].owner);
    }
    dir.header.boot_id = boot_id_;
    dir.header.last_token = last;
    if (last > ceiling) {
      constexpr std::uint64_t block = 4096;
      int fd = ::openat(dir.fd, "token", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0) return os_failure("cannot open the lock's token file");
      std::string digits = std::to_string(last + block) + "\n";
      bool ok = ::pwrite(fd, digits.data(), digits.size(), 0) == static_cast<ssize_t>(digits.size()) &&
                ::ftruncate(fd, static_cast<off_t>(digits.size())) == 0 && ::fdatasync(fd) == 0;
      int e = errno;
      ::close(fd);
      if (!ok) return os_failure("cannot store the lock's token ceiling", e);
    }
    changed = true;
  }
  if (changed) {
    std::string first_after = first_waiter();
    if (!first_after.empty() && first_after != first_before && first_after != keep) touch.push_back(first_after);
  }
  return changed;
}

void file_engine::touch_all(lock_dir& dir, const std::vector<std::string>& owners) {
  for (const auto& owner : owners) ::utimensat(dir.fd, participant_file(owner).c_str(), nullptr, AT_SYMLINK_NOFOLLOW);
}

// ---------------------------------------------------------------- participants

result<enqueued> file_engine::enqueue(const acquire_request& request, std::function<void(result<lease>)> on_done,
                                      bool may_block) {
  auto dir = open_dir(request.kind, request.name, true);
  if (!dir) return fail(std::move(dir).error());
  auto who = std::make_shared<participant>();
  who->dir = *dir;
  who->owner = random_owner();
  who->request = request;
  std::string file = participant_file(who->owner);
  who->fd = ::openat((*dir)->fd, file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (who->fd < 0) return os_failure("cannot create a participant file in " + root_);
  struct flock l {};
  l.l_type = F_WRLCK;
  l.l_whence = SEEK_SET;
  std::int64_t ttl = request.options.ttl.count();
  std::int64_t now = boot_now();
  std::string expiry = format_expiry(now + ttl);
  if (::fcntl(who->fd, F_OFD_SETLK, &l) != 0 ||
      ::pwrite(who->fd, expiry.data(), expiry.size(), 0) != static_cast<ssize_t>(expiry.size())) {
    auto e = os_failure("cannot prepare a participant file in " + root_);
    ::unlinkat((*dir)->fd, file.c_str(), 0);
    ::close(who->fd);
    return e;
  }
  bool keeper_was_running = false;
  result<void> started;
  // A deferred participant (acquire_now with defer_upkeep) starts the keeper
  // at start_upkeep(); the keeper renews every participant once it runs.
  const bool defer = request.defer_upkeep && !request.wait;
  {
    std::lock_guard guard(mutex_);
    keeper_was_running = keeper_.joinable();
    if (!defer) started = start_keeper_locked();
    if (started) {
      who->expiry = now + ttl;
      who->next_renew = now + ttl / 3;
      who->on_done = std::move(on_done);
      participants_[who.get()] = who;
    }
  }
  if (!started) {
    ::unlinkat((*dir)->fd, file.c_str(), 0);
    ::close(who->fd);
    return fail(std::move(started).error());
  }
  // A keeper that was already asleep recomputes its next renewal; a new one
  // computes it when it starts. (The participant's own inotify watch is
  // armed only if it has to wait: see join_queue.)
  if (keeper_was_running) keeper_wake_.notify_all();
  return join_queue(who, may_block);
}

result<enqueued> file_engine::join_queue(const std::shared_ptr<participant>& who, bool may_block) {
  const acquire_request& request = who->request;
  const std::shared_ptr<lock_dir>* dir = &who->dir;
  std::vector<std::string> touch;
  std::optional<std::uint64_t> token;
  result<void> outcome;
  {
    meta_guard meta(**dir, may_block);
    if (meta.would_block()) return enqueued{who, std::nullopt, true};
    outcome = meta.check();
    std::vector<state_entry> entries;
    if (outcome) outcome = load(**dir, entries);
    if (outcome) {
      state_entry self;
      self.owner = who->owner;
      self.mode = request.mode;
      self.limit = request.limit;
      self.pid = pid_;
      self.value = request.value;
      entries.push_back(std::move(self));
      auto settled = settle(**dir, entries, who->owner, touch);
      if (!settled) outcome = fail(std::move(settled).error());
    }
    if (outcome) {
      auto self = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.owner == who->owner; });
      if (self != entries.end() && self->held) token = self->token;
      else if (!request.wait && self != entries.end()) entries.erase(self);
      outcome = store_state(**dir, entries);
    }
  }
  touch_all(**dir, touch);
  if (!outcome || (!token && !request.wait)) {
    {
      std::lock_guard guard(mutex_);
      who->state = participant::phase::finished;
      who->on_done = nullptr;
      set_watches_locked(*who, {});
    }
    finish_participant(*who);
    if (!outcome) return fail(std::move(outcome).error());
    return fail(errc::contended, "the " + std::string(to_string(request.kind)) + " is held by another client");
  }
  if (token) {
    {
      std::lock_guard guard(mutex_);
      who->state = participant::phase::held;
      who->token = *token;
      who->on_done = nullptr;
    }
    return enqueued{who, make_lease(who, *token)};
  }
  // Waiting: watch our own p-file (a granter touches it) before the first
  // examine, which looks at the queue again under its lock, so a grant made
  // before the watch was armed is not missed.
  result<void> watching;
  {
    std::lock_guard guard(mutex_);
    watching = start_watcher_locked();
    if (watching && who->watches.empty()) {
      int wd = add_watch_locked(who->dir->path + "/" + participant_file(who->owner), participant_mask);
      if (wd < 0) watching = os_failure("cannot watch a participant file in " + root_);
      else set_watches_locked(*who, {wd});
    }
  }
  if (!watching) {
    (void)cancel(who);
    return fail(std::move(watching).error());
  }
  post({command::kind::examine, who});
  return enqueued{who, std::nullopt};
}

lease file_engine::make_lease(const std::shared_ptr<participant>& who, std::uint64_t token) {
  auto state = std::make_shared<file_lease>(shared_from_this(), who, token);
  bool lost = false;
  {
    std::lock_guard guard(mutex_);
    who->granted = state;
    lost = who->lost;
  }
  if (lost) state->mark_lost("the lease expired before it was handed over");
  return lease(state);
}

void file_engine::examine(const std::shared_ptr<participant>& who) {
  participant::phase phase;
  {
    std::lock_guard guard(mutex_);
    phase = who->state;
  }
  if (phase == participant::phase::finished) return;
  if (phase == participant::phase::held) {
    bool evicted = false;
    {
      std::lock_guard io(who->io_mutex);
      struct stat st {};
      evicted = who->fd >= 0 && ::fstat(who->fd, &st) == 0 && st.st_nlink == 0;
    }
    if (evicted)
      mark_lost(who, "another client evicted this lease because it was not renewed within its TTL "
                     "(was the process paused?)");
    return;
  }
  lock_dir& dir = *who->dir;
  std::vector<std::string> touch;
  std::optional<std::uint64_t> token;
  bool gone = false;
  std::vector<std::string> predecessors;
  std::int64_t timer = 0;
  result<void> outcome;
  {
    meta_guard meta(dir);
    outcome = meta.check();
    std::vector<state_entry> entries;
    if (outcome) outcome = load(dir, entries);
    bool changed = false;
    if (outcome) {
      auto settled = settle(dir, entries, who->owner, touch);
      if (!settled) outcome = fail(std::move(settled).error());
      else changed = *settled;
    }
    if (outcome) {
      auto self = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.owner == who->owner; });
      if (self == entries.end()) {
        gone = true;
      } else if (self->held) {
        token = self->token;
      } else {
        bool first = std::none_of(entries.begin(), self, [](const auto& e) { return !e.held; });
        if (first) {
          for (auto it = entries.begin(); it != self; ++it) predecessors.push_back(it->owner);
        } else {
          predecessors.push_back(std::prev(self)->owner);
        }
      }
      if (changed) outcome = store_state(dir, entries);
    }
    if (outcome && !predecessors.empty()) {
      // Arm the watches while the queue cannot change, then re-check that the
      // predecessors are still alive: a death before the watch was armed
      // would otherwise go unnoticed.
      std::int64_t now = boot_now();
      std::vector<int> wds;
      {
        std::lock_guard guard(mutex_);
        wds = who->watches.empty() ? std::vector<int>{} : std::vector<int>{who->watches.front()};
        for (const auto& owner : predecessors) {
          int wd = add_watch_locked(dir.path + "/" + participant_file(owner), participant_mask);
          if (wd >= 0) wds.push_back(wd);
        }
        set_watches_locked(*who, std::move(wds));
      }
      bool recheck = false;
      for (const auto& owner : predecessors) {
        std::int64_t expiry = 0;
        if (check_participant(dir, owner, now, &expiry) != liveness::alive) recheck = true;
        else if (timer == 0 || expiry < timer) timer = expiry;
      }
      if (recheck) timer = now;
      else if (timer) timer += 1'000'000;  // evict only once the expiry has surely passed
    }
  }
  touch_all(dir, touch);
  if (!outcome) {
    fail_waiter(who, outcome.error());
    return;
  }
  if (gone) {
    fail_waiter(who, error(errc::lease_lost, "this waiter was evicted from the queue because it did not renew "
                                             "within its TTL (was the process paused?); acquire again"));
    return;
  }
  if (token) {
    std::function<void(result<lease>)> done;
    {
      std::lock_guard guard(mutex_);
      if (who->state != participant::phase::waiting) return;  // cancelled: cancel() removes the entry
      who->state = participant::phase::held;
      who->token = *token;
      who->timer = 0;
      done = std::move(who->on_done);
      who->on_done = nullptr;
      int own = who->watches.empty() ? -1 : who->watches.front();
      set_watches_locked(*who, own >= 0 ? std::vector<int>{own} : std::vector<int>{});
    }
    auto granted = make_lease(who, *token);
    if (done) done(std::move(granted));
    return;
  }
  std::lock_guard guard(mutex_);
  who->timer = timer;
}

void file_engine::fail_waiter(const std::shared_ptr<participant>& who, error e) {
  std::function<void(result<lease>)> done;
  {
    std::lock_guard guard(mutex_);
    if (who->state != participant::phase::waiting) return;
    who->state = participant::phase::finished;
    done = std::move(who->on_done);
    who->on_done = nullptr;
    set_watches_locked(*who, {});
  }
  (void)leave(who, false);
  if (done) done(fail(std::move(e)));
}

bool file_engine::cancel(const std::shared_ptr<participant>& who) {
  {
    std::lock_guard guard(mutex_);
    if (who->state != participant::phase::waiting) return false;
    who->state = participant::phase::finished;
    who->on_done = nullptr;
    set_watches_locked(*who, {});
  }
  (void)leave(who, false);
  return true;
}

result<void> file_engine::release(const std::shared_ptr<participant>& who, bool may_block) {
  bool lost = false;
  {
    std::lock_guard guard(mutex_);
    if (who->state == participant::phase::finished && who->left) {
      if (who->lost) return fail(errc::lease_lost, "the lease had already been lost");
      return {};
    }
    who->state = participant::phase::finished;
    who->on_done = nullptr;
    set_watches_locked(*who, {});
    lost = who->lost;
  }
  auto left = leave(who, true, may_block);
  if (!left && left.error().code() == errc::unsupported) return left;  // would block: retry blocking
  if (lost) return fail(errc::lease_lost, "the lease had been lost before it was released");
  return left;
}

void file_engine::start_upkeep(const std::shared_ptr<participant>& who) noexcept {
  result<void> started;
  {
    std::lock_guard guard(mutex_);
    if (keeper_.joinable()) return;
    started = start_keeper_locked();
  }
  if (!started) {
    try {
      mark_lost(who, "cannot renew the lease: " + std::string(started.error().message()));
    } catch (...) {
      // Out of memory: the lease expires at its TTL, as if this process had stopped.
    }
  }
}

void file_engine::abandon(const std::shared_ptr<participant>& who) {
  {
    std::lock_guard guard(mutex_);
    who->state = participant::phase::finished;
    who->on_done = nullptr;
    who->left = true;
    set_watches_locked(*who, {});
  }
  finish_participant(*who);
}

void file_engine::release_later(const std::shared_ptr<participant>& who) noexcept {
  try {
    post({command::kind::release, who});
  } catch (...) {
    // Out of memory: the TTL will expire the entry.
  }
}

result<void> file_engine::leave(const std::shared_ptr<participant>& who, bool expect_held, bool may_block) {
  lock_dir& dir = *who->dir;
  {
    std::lock_guard guard(mutex_);
    if (who->left) return {};
  }
  std::vector<std::string> touch;
  bool found = false;
  result<void> outcome;
  {
    meta_guard meta(dir, may_block);
    if (meta.would_block()) return fail(errc::unsupported, "would block");
    {
      std::lock_guard guard(mutex_);
      if (who->left) return {};
      who->left = true;
    }
    outcome = meta.check();
    std::vector<state_entry> entries;
    if (outcome) outcome = load(dir, entries);
    if (outcome) {
      auto self = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.owner == who->owner; });
      if (self != entries.end()) {
        found = true;
        entries.erase(self);
      }
      auto settled = settle(dir, entries, who->owner, touch);
      if (!settled) outcome = fail(std::move(settled).error());
      else if (found || *settled) outcome = store_state(dir, entries);
    }
    // Unlink while the queue is locked, so no one mistakes the file for a
    // live entry after we left.
    finish_participant(*who);
  }
  touch_all(dir, touch);
  if (!outcome) return outcome;
  if (expect_held && !found)
    return fail(errc::lease_lost, "the lease had been evicted (it was not renewed within its TTL)");
  return {};
}

void file_engine::finish_participant(participant& who) {
  {
    std::lock_guard guard(mutex_);
    who.timer = 0;
    participants_.erase(&who);
  }
  std::lock_guard io(who.io_mutex);
  if (who.fd < 0) return;
  ::unlinkat(who.dir->fd, participant_file(who.owner).c_str(), 0);
  ::close(who.fd);
  who.fd = -1;
}

void file_engine::mark_lost(const std::shared_ptr<participant>& who, std::string reason) {
  std::shared_ptr<lease_state> state;
  {
    std::lock_guard guard(mutex_);
    if (who->lost) return;
    who->lost = true;
    state = who->granted.lock();
  }
  if (state) state->mark_lost(std::move(reason));
  // Leave the queue so the next waiter need not wait for our TTL.
  release_later(who);
}

// ---------------------------------------------------------------- queries

result<std::vector<holder_info>> file_engine::holders(recipe kind, std::string_view name, std::int64_t* next_expiry) {
  if (next_expiry) *next_expiry = 0;
  auto dir = open_dir(kind, name, true);
  if (!dir) return fail(std::move(dir).error());
  std::vector<std::string> touch;
  std::vector<holder_info> out;
  {
    meta_guard meta(**dir);
    if (auto ok = meta.check(); !ok) return fail(std::move(ok).error());
    std::vector<state_entry> entries;
    if (auto ok = load(**dir, entries); !ok) return fail(std::move(ok).error());
    auto settled = settle(**dir, entries, {}, touch);
    if (!settled) return fail(std::move(settled).error());
    if (*settled)
      if (auto ok = store_state(**dir, entries); !ok) return fail(std::move(ok).error());
    std::int64_t now = boot_now();
    for (const auto& e : entries) {
      if (!e.held) continue;
      std::int64_t expiry = 0;
      check_participant(**dir, e.owner, now, &expiry);
      if (next_expiry && (*next_expiry == 0 || expiry < *next_expiry)) *next_expiry = expiry;
      holder_info h;
      h.token = e.token;
      h.mode = e.mode;
      h.value = e.value;
      h.holder = "pid " + std::to_string(e.pid);
      h.time_left = std::chrono::nanoseconds(std::max<std::int64_t>(0, expiry - now));
      out.push_back(std::move(h));
    }
  }
  touch_all(**dir, touch);
  return out;
}

result<std::vector<lock_info>> file_engine::list(std::string_view prefix) {
  int fd = ::openat(root_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return os_failure("cannot read the store directory " + root_);
  DIR* listing = ::fdopendir(fd);
  if (!listing) {
    ::close(fd);
    return os_failure("cannot read the store directory " + root_);
  }
  std::vector<lock_info> out;
  std::int64_t now = boot_now();
  while (auto* item = ::readdir(listing)) {
    recipe kind;
    std::string entry = item->d_name;
    if (!decode_kind(entry, kind)) continue;
    int dir_fd = ::openat(root_fd_, entry.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir_fd < 0) continue;
    lock_dir dir;
    dir.fd = dir_fd;
    bool missing = false;
    auto name = read_all_at(dir_fd, "name", missing);
    if (!name || name->empty() || name->compare(0, prefix.size(), prefix) != 0) continue;
    dir.meta_fd = ::openat(dir_fd, "meta", O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    dir.state_fd = ::openat(dir_fd, "state", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (dir.meta_fd < 0 || dir.state_fd < 0) continue;
    result<std::string> text = std::string();
    {
      meta_guard meta(dir);
      if (!meta.check()) continue;
      text = read_fd(dir.state_fd);
    }
    if (!text) continue;
    state_header header;
    auto entries = parse_state(*text, header);
    if (!entries) continue;
    lock_info info;
    info.kind = kind;
    info.name = *name;
    for (const auto& e : *entries) {
      std::int64_t expiry = 0;
      if (check_participant(dir, e.owner, now, &expiry) != liveness::alive) continue;
      if (!e.held) {
        ++info.waiters;
        continue;
      }
      holder_info h;
      h.token = e.token;
      h.mode = e.mode;
      h.value = e.value;
      h.holder = "pid " + std::to_string(e.pid);
      h.time_left = std::chrono::nanoseconds(expiry - now);
      info.holders.push_back(std::move(h));
    }
    out.push_back(std::move(info));
  }
  ::closedir(listing);
  std::sort(out.begin(), out.end(), [](const lock_info& a, const lock_info& b) {
    return a.name != b.name ? a.name < b.name : a.kind < b.kind;
  });
  return out;
}

result<std::uint64_t> file_engine::watch(recipe kind, std::string_view name, std::int64_t deadline,
                                         std::function<void()> callback) {
  auto dir = open_dir(kind, name, true);
  if (!dir) return fail(std::move(dir).error());
  std::vector<std::string> holders;
  {
    meta_guard meta(**dir);
    if (auto ok = meta.check(); !ok) return fail(std::move(ok).error());
    std::vector<state_entry> entries;
    if (auto ok = load(**dir, entries); !ok) return fail(std::move(ok).error());
    for (const auto& e : entries)
      if (e.held) holders.push_back(e.owner);
  }
  std::uint64_t id;
  {
    std::lock_guard guard(mutex_);
    int wd = add_watch_locked((*dir)->path + "/state", state_mask);
    if (wd < 0) return os_failure("cannot watch the lock directory in " + root_);
    id = next_observer_++;
    observer o{id, {wd}, deadline, std::move(callback)};
    // A holder's death (its file closed by the kernel) is a change too, even
    // when no waiter is there to evict it.
    for (const auto& owner : holders) {
      int holder_wd = add_watch_locked((*dir)->path + "/" + participant_file(owner), participant_mask);
      if (holder_wd >= 0) o.wds.push_back(holder_wd);
      else o.deadline = boot_now();  // already gone: look again at once
    }
    for (int w : o.wds) watches_[w].observers.insert(id);
    observers_[id] = std::move(o);
  }
  wake_watcher();
  return id;
}

bool file_engine::unwatch(std::uint64_t id) {
  std::lock_guard guard(mutex_);
  return static_cast<bool>(take_observer_locked(id));
}

std::function<void()> file_engine::take_observer_locked(std::uint64_t id) {
  auto it = observers_.find(id);
  if (it == observers_.end()) return {};
  auto callback = std::move(it->second.callback);
  auto wds = std::move(it->second.wds);
  observers_.erase(it);
  for (int wd : wds) {
    if (auto w = watches_.find(wd); w != watches_.end()) {
      w->second.observers.erase(id);
      release_watch_locked(wd);
    }
  }
  if (!callback) callback = [] {};
  return callback;
}

// ---------------------------------------------------------------- watches

int file_engine::add_watch_locked(const std::string& path, std::uint32_t mask) {
  if (auto it = watch_by_path_.find(path); it != watch_by_path_.end()) return it->second;
  if (!start_watcher_locked()) return -1;
  int wd = ::inotify_add_watch(inotify_fd_, path.c_str(), mask);
  if (wd < 0) return -1;
  auto& entry = watches_[wd];
  entry.path = path;
  watch_by_path_[path] = wd;
  return wd;
}

void file_engine::release_watch_locked(int wd) {
  auto it = watches_.find(wd);
  if (it == watches_.end()) return;
  if (!it->second.participants.empty() || !it->second.observers.empty()) return;
  ::inotify_rm_watch(inotify_fd_, wd);
  watch_by_path_.erase(it->second.path);
  watches_.erase(it);
}

void file_engine::set_watches_locked(participant& who, std::vector<int> wds) {
  for (int wd : who.watches) {
    if (std::find(wds.begin(), wds.end(), wd) != wds.end()) continue;
    if (auto it = watches_.find(wd); it != watches_.end()) {
      it->second.participants.erase(&who);
      release_watch_locked(wd);
    }
  }
  for (int wd : wds)
    if (auto it = watches_.find(wd); it != watches_.end()) it->second.participants.insert(&who);
  who.watches = std::move(wds);
}

// ---------------------------------------------------------------- threads

void file_engine::post(command c) {
  {
    std::lock_guard guard(mutex_);
    commands_.push_back(std::move(c));
    // Cannot fail short of resources; a release then falls back on the TTL.
    (void)start_watcher_locked();
  }
  wake_watcher();
}

void file_engine::watcher_loop() {
  alignas(inotify_event) char buffer[16 * 1024];
  for (;;) {
    int timeout = -1;
    {
      std::lock_guard guard(mutex_);
      if (stopping_) return;
      std::int64_t next = 0;
      for (const auto& [raw, who] : participants_)
        if (who->timer && (next == 0 || who->timer < next)) next = who->timer;
      for (const auto& [id, o] : observers_)
        if (o.deadline && (next == 0 || o.deadline < next)) next = o.deadline;
      if (next) {
        std::int64_t wait = next - boot_now();
        timeout = wait <= 0 ? 0 : static_cast<int>(std::min<std::int64_t>(wait / 1'000'000 + 1, 60'000));
      }
    }
    pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {event_fd_, POLLIN, 0}};
    ::poll(fds, 2, timeout);

    std::vector<std::shared_ptr<participant>> to_examine;
    std::vector<std::function<void()>> to_fire;
    std::deque<command> commands;
    {
      std::lock_guard guard(mutex_);
      if (stopping_) return;
      for (;;) {
        ssize_t n = ::read(inotify_fd_, buffer, sizeof buffer);
        if (n <= 0) break;
        for (char* at = buffer; at < buffer + n;) {
          auto* event = reinterpret_cast<inotify_event*>(at);
          at += sizeof(inotify_event) + event->len;
          auto it = watches_.find(event->wd);
          if (it == watches_.end()) continue;
          for (auto* raw : it->second.participants)
            if (auto found = participants_.find(raw); found != participants_.end()) to_examine.push_back(found->second);
          std::vector<std::uint64_t> ids(it->second.observers.begin(), it->second.observers.end());
          bool ignored = (event->mask & IN_IGNORED) != 0;
          if (ignored) {
            // The kernel dropped the watch (the file is gone).
            for (auto* raw : it->second.participants) std::erase(raw->watches, event->wd);
            it->second.participants.clear();
          }
          for (auto id : ids)
            if (auto callback = take_observer_locked(id)) to_fire.push_back(std::move(callback));
          if (ignored) {
            if (auto again = watches_.find(event->wd); again != watches_.end()) {
              watch_by_path_.erase(again->second.path);
              watches_.erase(again);
            }
          }
        }
      }
      std::uint64_t count;
      (void)!::read(event_fd_, &count, sizeof count);
      commands.swap(commands_);
      std::int64_t now = boot_now();
      for (auto& [raw, who] : participants_) {
        if (who->timer && who->timer <= now) {
          who->timer = 0;
          to_examine.push_back(who);
        }
      }
      std::vector<std::uint64_t> due;
      for (const auto& [id, o] : observers_)
        if (o.deadline && o.deadline <= now) due.push_back(id);
      for (auto id : due)
        if (auto callback = take_observer_locked(id)) to_fire.push_back(std::move(callback));
    }
    for (auto& c : commands) {
      if (c.what == command::kind::release) {
        {
          std::lock_guard guard(mutex_);
          c.who->state = participant::phase::finished;
          c.who->on_done = nullptr;
          set_watches_locked(*c.who, {});
        }
        (void)leave(c.who, true);
      } else {
        to_examine.push_back(c.who);
      }
    }
    std::sort(to_examine.begin(), to_examine.end());
    to_examine.erase(std::unique(to_examine.begin(), to_examine.end()), to_examine.end());
    for (auto& who : to_examine) examine(who);
    for (auto& callback : to_fire)
      if (callback) callback();
  }
}

void file_engine::keeper_loop() {
  // mark_lost below can drop the last reference to a lease, and with it the
  // last one to this engine: its destructor then runs on this thread (and
  // detaches it), so the loop must not touch a member afterwards.
  const std::weak_ptr<file_engine> alive = weak_from_this();
  std::unique_lock guard(mutex_);
  while (!stopping_) {
    std::int64_t now = boot_now();
    std::int64_t next = now + 1'000'000'000;
    std::vector<std::shared_ptr<participant>> due;
    for (auto& [raw, who] : participants_) {
      if (who->state == participant::phase::finished || who->lost) continue;
      if (who->next_renew <= now) due.push_back(who);
      else next = std::min(next, who->next_renew);
    }
    if (due.empty()) {
      keeper_wake_.wait_for(guard, std::chrono::nanoseconds(next - now));
      continue;
    }
    guard.unlock();
    for (auto& who : due) {
      std::int64_t ttl = who->request.options.ttl.count();
      std::int64_t margin = std::min<std::int64_t>(ttl / 10, 100'000'000);
      std::int64_t old_expiry;
      bool held;
      {
        std::lock_guard inner(mutex_);
        old_expiry = who->expiry;
        held = who->state == participant::phase::held;
      }
      std::unique_lock io(who->io_mutex);
      int fd = who->fd;
      if (fd < 0) continue;
      std::int64_t start = boot_now();
      std::string reason;
      if (held && start >= old_expiry - margin) {
        reason = "the lease expired before it could be renewed (was this process paused or starved?)";
      } else {
        // Renewal is safe without the meta lock: others evict only after
        // reading an expiry that has passed, and a holder writes only before
        // it has (checked on both sides of the write).
        std::string record = format_expiry(start + ttl);
        bool wrote = ::pwrite(fd, record.data(), record.size(), 0) == static_cast<ssize_t>(record.size());
        int write_error = errno;
        struct stat st {};
        bool linked = ::fstat(fd, &st) == 0 && st.st_nlink > 0;
        std::int64_t end = boot_now();
        if (!wrote) reason = std::string("renewal failed: ") + std::strerror(write_error);
        else if (!linked) reason = "another client evicted this lease (it was not renewed within its TTL)";
        else if (held && end >= old_expiry) reason = "the renewal landed after the lease had expired";
      }
      io.unlock();
      {
        std::lock_guard inner(mutex_);
        if (reason.empty()) who->expiry = start + ttl;
        who->next_renew = start + ttl / 3;
      }
      if (!reason.empty()) {
        if (held) {
          mark_lost(who, reason);
          if (alive.expired()) return;  // the engine is gone (see above)
        } else {
          // A waiter that fell behind may have been evicted; examine() will tell.
          post({command::kind::examine, who});
        }
      }
    }
    guard.lock();
  }
}

}  // namespace weft::lock::file_detail
