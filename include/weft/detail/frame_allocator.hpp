// Per-thread recycling allocator for coroutine frames (internal).
//
// Every task<T> frame is allocated here. Frames are rounded up to 16-byte
// size classes and freed frames are kept on a bounded per-thread free list,
// so spawning and finishing a task costs no malloc in the steady state.
// A frame freed on another thread simply joins that thread's list.
//
// The cache is disabled under AddressSanitizer and ThreadSanitizer so that
// they see every allocation and free.
//
// Thread-safety: each thread only touches its own cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define WEFT_FRAME_CACHE 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define WEFT_FRAME_CACHE 0
#endif
#endif
#ifndef WEFT_FRAME_CACHE
#define WEFT_FRAME_CACHE 1
#endif

namespace weft::detail {

struct frame_cache {
  static constexpr std::size_t granule = 16;
  static constexpr std::size_t classes = 48;  // frames up to 752 bytes are cached
  static constexpr std::uint32_t max_cached_per_class = 8192;
  struct node {
    node* next;
  };
  node* heads[classes];
  std::uint32_t counts[classes];
};

// Trivially destructible on purpose: access needs no TLS guard. Runtime
// threads hand their cache back with release_frame_cache() before exiting.
inline constinit thread_local frame_cache thread_frame_cache{};

inline void* allocate_frame(std::size_t size) {
#if WEFT_FRAME_CACHE
  const std::size_t size_class = (size + frame_cache::granule - 1) / frame_cache::granule;
  if (size_class < frame_cache::classes) {
    frame_cache& cache = thread_frame_cache;
    if (frame_cache::node* n = cache.heads[size_class]) {
      cache.heads[size_class] = n->next;
      --cache.counts[size_class];
      return n;
    }
    return ::operator new(size_class * frame_cache::granule);
  }
#endif
  return ::operator new(size);
}

inline void deallocate_frame(void* frame, [[maybe_unused]] std::size_t size) noexcept {
#if WEFT_FRAME_CACHE
  const std::size_t size_class = (size + frame_cache::granule - 1) / frame_cache::granule;
  if (size_class < frame_cache::classes) {
    frame_cache& cache = thread_frame_cache;
    if (cache.counts[size_class] < frame_cache::max_cached_per_class) {
      auto* n = static_cast<frame_cache::node*>(frame);
      n->next = cache.heads[size_class];
      cache.heads[size_class] = n;
      ++cache.counts[size_class];
      return;
    }
  }
#endif
  ::operator delete(frame);
}

// Frees every frame cached by the calling thread.
inline void release_frame_cache() noexcept {
  frame_cache& cache = thread_frame_cache;
  for (std::size_t c = 0; c < frame_cache::classes; ++c) {
    while (frame_cache::node* n = cache.heads[c]) {
      cache.heads[c] = n->next;
      ::operator delete(n);
    }
    cache.counts[c] = 0;
  }
}

}  // namespace weft::detail
