#include "weft/lock/fence.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace weft::lock {

namespace {
failure stale(std::uint64_t token, std::uint64_t highest) {
  return fail(errc::lease_lost, "stale fencing token " + std::to_string(token) +
                                    ": the resource has already accepted token " + std::to_string(highest) +
                                    " (the lease was lost; stop writing and acquire again)");
}
failure os_error(const std::string& what) {
  int e = errno;
  return fail(e == EACCES || e == EPERM ? errc::permission_denied : errc::io,
              what + ": " + std::strerror(e));
}

// Whole-file OFD lock, released by the destructor.
class ofd_guard {
 public:
  explicit ofd_guard(int fd) : fd_(fd) {
    struct flock l {};
    l.l_type = F_WRLCK;
    l.l_whence = SEEK_SET;
    while ((ok_ = ::fcntl(fd_, F_OFD_SETLKW, &l) == 0) == false && errno == EINTR) {
    }
  }
  ~ofd_guard() {
    if (!ok_) return;
    struct flock l {};
    l.l_type = F_UNLCK;
    l.l_whence = SEEK_SET;
    ::fcntl(fd_, F_OFD_SETLK, &l);
  }
  ofd_guard(const ofd_guard&) = delete;
  ofd_guard& operator=(const ofd_guard&) = delete;
  bool ok() const { return ok_; }

 private:
  int fd_;
  bool ok_ = false;
};

result<std::uint64_t> read_highest(int fd) {
  char buffer[32] = {};
  ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  if (n < 0) return os_error("cannot read the fence file");
  std::uint64_t value = 0;
  for (ssize_t i = 0; i < n && buffer[i] != '\n'; ++i) {
    if (buffer[i] < '0' || buffer[i] > '9')
      return fail(errc::protocol, "the fence file is corrupt (expected a decimal token)");
    value = value * 10 + static_cast<std::uint64_t>(buffer[i] - '0');
  }
  return value;
}

result<void> write_highest(int fd, std::uint64_t value) {
  std::string text = std::to_string(value) + "\n";
  if (::pwrite(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size()))
    return os_error("cannot write the fence file");
  if (::ftruncate(fd, static_cast<off_t>(text.size())) != 0) return os_error("cannot truncate the fence file");
  if (::fdatasync(fd) != 0) return os_error("cannot sync the fence file");
  return {};
}
}  // namespace

result<void> fence::admit(std::uint64_t token) noexcept {
  std::uint64_t seen = highest_.load(std::memory_order_acquire);
  while (token >= seen) {
    if (highest_.compare_exchange_weak(seen, token, std::memory_order_acq_rel)) return {};
  }
  rejected_.fetch_add(1, std::memory_order_relaxed);
  return stale(token, seen);
}

result<file_fence> file_fence::open(const std::string& path) {
  if (path.empty()) return fail(errc::invalid_argument, "the fence file path is empty");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    if (errno == ELOOP)
      return fail(errc::permission_denied, "the fence file " + path + " is a symbolic link; refusing to follow it");
    return os_error("cannot open the fence file " + path);
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return fail(errc::invalid_argument, "the fence file " + path + " is not a regular file");
  }
  return file_fence(fd);
}

file_fence::file_fence(file_fence&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
file_fence& file_fence::operator=(file_fence&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
  }
  return *this;
}
file_fence::~file_fence() {
  if (fd_ >= 0) ::close(fd_);
}

result<void> file_fence::admit(std::uint64_t token) {
  return guarded(token, [] { return result<void>{}; });
}

result<void> file_fence::guarded(std::uint64_t token, const std::function<result<void>()>& write) {
  if (fd_ < 0) return fail(errc::invalid_argument, "the fence was moved from");
  ofd_guard guard(fd_);
  if (!guard.ok()) return os_error("cannot lock the fence file");
  auto highest = read_highest(fd_);
  if (!highest) return fail(std::move(highest).error());
  if (token < *highest) return stale(token, *highest);
  if (token > *highest) {
    if (auto ok = write_highest(fd_, token); !ok) return ok;
  }
  return write();
}

result<std::uint64_t> file_fence::highest() {
  if (fd_ < 0) return fail(errc::invalid_argument, "the fence was moved from");
  ofd_guard guard(fd_);
  if (!guard.ok()) return os_error("cannot lock the fence file");
  return read_highest(fd_);
}

}  // namespace weft::lock
