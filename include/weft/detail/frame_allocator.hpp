// Recycling allocator for coroutine frames (internal).
//
// Every task<T> frame is allocated here. Sizes are rounded up to 16-byte
// classes. Each thread keeps a free list per class; allocation and free are
// a few instructions with no lock. Lists flow between threads in batches
// through a central pool (a task created on one worker and freed on another
// does not leak into the second one's list): a thread whose list is empty
// takes a batch from the pool, or carves a new slab of frames from one
// malloc; a thread whose list is too long gives a batch back.
//
// Like Go's goroutine descriptors, frame memory is recycled but never
// returned to the OS. Frames larger than the biggest class use plain new.
// The cache is disabled under AddressSanitizer and ThreadSanitizer so that
// they see every allocation and free.
//
// Thread-safety: thread-local lists; the central pool is locked.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <cstdint>
#include <mutex>
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

// Overlays a free frame; pooled frames are at least 32 bytes.
struct frame_node {
  frame_node* next;        // next free frame in the same list
  frame_node* next_batch;  // next batch in the central pool (batch heads only)
  std::uint32_t count;     // frames in this batch (batch heads only)
};

struct frame_cache {
  static constexpr std::size_t granule = 16;
  static constexpr std::size_t smallest_class = 2;  // 32 bytes: room for a frame_node
  static constexpr std::size_t classes = 64;  // frames up to 1008 bytes are pooled
  static constexpr std::uint32_t batch = 64;  // frames moved to/from the pool at once
  static constexpr std::uint32_t high_water = 4 * batch;
  frame_node* heads[classes];
  std::uint32_t counts[classes];
};

// Trivially destructible on purpose: access needs no TLS guard. Runtime
// threads hand their lists back with release_frame_cache() before exiting.
inline constinit thread_local frame_cache thread_frame_cache{};

struct frame_pool {
  static constexpr std::size_t first_slab = 16 * 1024;
  static constexpr std::size_t huge_slab = 2 * 1024 * 1024;
  std::mutex mutex;
  frame_node* batches[frame_cache::classes] = {};  // each batch holds up to `batch` frames
  std::size_t next_slab[frame_cache::classes] = {};  // slabs double up to huge_slab
};
inline frame_pool central_frame_pool;

// Memory for a slab. Slabs start small (small programs stay small) and
// double; 2 MiB slabs are huge-page aligned and ask for transparent huge
// pages, which cuts page faults when millions of tasks exist at once.
inline void* allocate_slab(std::size_t bytes) {
  if (bytes < frame_pool::huge_slab) return ::operator new(bytes);
  void* raw = ::mmap(nullptr, 2 * bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) throw std::bad_alloc();
  const auto address = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (address + bytes - 1) & ~(static_cast<std::uintptr_t>(bytes) - 1);
  if (aligned > address) ::munmap(raw, aligned - address);
  const std::uintptr_t tail = address + 2 * bytes - (aligned + bytes);
  if (tail > 0) ::munmap(reinterpret_cast<void*>(aligned + bytes), tail);
  ::madvise(reinterpret_cast<void*>(aligned), bytes, MADV_HUGEPAGE);
  return reinterpret_cast<void*>(aligned);
}

// Refills an empty thread list for `size_class` and returns one frame.
inline void* refill_frames(frame_cache& cache, std::size_t size_class) {
  {
    std::lock_guard lock(central_frame_pool.mutex);
    if (frame_node* batch = central_frame_pool.batches[size_class]) {
      central_frame_pool.batches[size_class] = batch->next_batch;
      cache.heads[size_class] = batch->next;
      cache.counts[size_class] = batch->count - 1;
      return batch;
    }
  }
  // Carve a new slab: this thread keeps one batch, the pool gets the rest.
  const std::size_t frame_bytes = size_class * frame_cache::granule;
  std::size_t slab_bytes = 0;
  {
    std::lock_guard lock(central_frame_pool.mutex);
    std::size_t& next = central_frame_pool.next_slab[size_class];
    if (next == 0) next = frame_pool::first_slab;
    slab_bytes = next;
    if (next < frame_pool::huge_slab) next *= 2;
  }
  auto* slab = static_cast<unsigned char*>(allocate_slab(slab_bytes));
  const std::size_t frames = slab_bytes / frame_bytes;
  auto frame_at = [&](std::size_t i) { return reinterpret_cast<frame_node*>(slab + i * frame_bytes); };
  // Frame 0 is returned; frames 1..batch-1 form this thread's list.
  const std::size_t own = frames < frame_cache::batch ? frames : frame_cache::batch;
  frame_node* head = nullptr;
  for (std::size_t i = own; i > 1; --i) {
    frame_node* n = frame_at(i - 1);
    n->next = head;
    head = n;
  }
  cache.heads[size_class] = head;
  cache.counts[size_class] = static_cast<std::uint32_t>(own - 1);
  // The rest goes to the pool in batches.
  frame_node* batches = nullptr;
  for (std::size_t first = own; first < frames; first += frame_cache::batch) {
    const std::size_t last = first + frame_cache::batch < frames ? first + frame_cache::batch : frames;
    for (std::size_t i = first; i < last; ++i) frame_at(i)->next = i + 1 < last ? frame_at(i + 1) : nullptr;
    frame_node* batch_head = frame_at(first);
    batch_head->count = static_cast<std::uint32_t>(last - first);
    batch_head->next_batch = batches;
    batches = batch_head;
  }
  if (batches != nullptr) {
    frame_node* tail = batches;
    while (tail->next_batch != nullptr) tail = tail->next_batch;
    std::lock_guard lock(central_frame_pool.mutex);
    tail->next_batch = central_frame_pool.batches[size_class];
    central_frame_pool.batches[size_class] = batches;
  }
  return slab;
}

// Gives up to one batch of a thread list back to the central pool.
inline void spill_frames(frame_cache& cache, std::size_t size_class) noexcept {
  frame_node* batch = cache.heads[size_class];
  if (batch == nullptr) return;
  frame_node* last = batch;
  std::uint32_t count = 1;
  while (count < frame_cache::batch && last->next != nullptr) {
    last = last->next;
    ++count;
  }
  cache.heads[size_class] = last->next;
  cache.counts[size_class] -= count;
  last->next = nullptr;
  batch->count = count;
  std::lock_guard lock(central_frame_pool.mutex);
  batch->next_batch = central_frame_pool.batches[size_class];
  central_frame_pool.batches[size_class] = batch;
}

inline void* allocate_frame(std::size_t size) {
#if WEFT_FRAME_CACHE
  const std::size_t size_class = (size + frame_cache::granule - 1) / frame_cache::granule;
  if (size_class >= frame_cache::smallest_class && size_class < frame_cache::classes) {
    frame_cache& cache = thread_frame_cache;
    if (frame_node* n = cache.heads[size_class]) {
      cache.heads[size_class] = n->next;
      --cache.counts[size_class];
      return n;
    }
    return refill_frames(cache, size_class);
  }
#endif
  return ::operator new(size);
}

inline void deallocate_frame(void* frame, [[maybe_unused]] std::size_t size) noexcept {
#if WEFT_FRAME_CACHE
  const std::size_t size_class = (size + frame_cache::granule - 1) / frame_cache::granule;
  if (size_class >= frame_cache::smallest_class && size_class < frame_cache::classes) {
    frame_cache& cache = thread_frame_cache;
    auto* n = static_cast<frame_node*>(frame);
    n->next = cache.heads[size_class];
    cache.heads[size_class] = n;
    if (++cache.counts[size_class] >= frame_cache::high_water) spill_frames(cache, size_class);
    return;
  }
#endif
  ::operator delete(frame);
}

// Hands every frame listed by the calling thread back to the central pool.
inline void release_frame_cache() noexcept {
#if WEFT_FRAME_CACHE
  frame_cache& cache = thread_frame_cache;
  for (std::size_t c = 0; c < frame_cache::classes; ++c)
    while (cache.heads[c] != nullptr) spill_frames(cache, c);
#endif
}

}  // namespace weft::detail
