// weft::lock::fence and file_fence: reject writes carrying a stale fencing token.
//
// A lease can be lost without its holder noticing in time (a GC pause, a
// SIGSTOP, a partition): Kleppmann's fencing (Chubby's sequencers) makes the
// guarded resource itself refuse such writes. The resource remembers the
// highest token it has accepted and rejects any write with a lower one.
// Equal tokens are accepted (one holder may write many times).
//
//   fence guard;                       // in the resource's process
//   if (auto ok = guard.admit(lease.token()); !ok) return ok;   // stale
//
// file_fence does the same across processes through a small file holding the
// highest token (updated under an OFD lock, fsync'd), and can run the write
// itself while it holds that lock, so no stale write slips in between the
// check and the write.
//
// Thread-safety: both are thread-safe. file_fence is process-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "weft/result.hpp"

namespace weft::lock {

class fence {
 public:
  // Accepts `token` (and raises the high-water mark) unless it is lower than
  // one already accepted: then errc::lease_lost, naming both tokens.
  result<void> admit(std::uint64_t token) noexcept;
  std::uint64_t highest() const noexcept { return highest_.load(std::memory_order_acquire); }
  std::uint64_t rejected() const noexcept { return rejected_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> highest_{0};
  std::atomic<std::uint64_t> rejected_{0};
};

class file_fence {
 public:
  // Opens (creating 0600, never following a symlink) the fence file at `path`.
  static result<file_fence> open(const std::string& path);

  file_fence(file_fence&& other) noexcept;
  file_fence& operator=(file_fence&& other) noexcept;
  file_fence(const file_fence&) = delete;
  file_fence& operator=(const file_fence&) = delete;
  ~file_fence();

  // As fence::admit, across every process using the same file.
  result<void> admit(std::uint64_t token);
  // Admits `token`, then runs `write` while still holding the fence's lock;
  // a stale token never runs `write`.
  result<void> guarded(std::uint64_t token, const std::function<result<void>()>& write);
  // The highest token admitted so far (0 for a new file).
  result<std::uint64_t> highest();

 private:
  explicit file_fence(int fd) noexcept : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace weft::lock
