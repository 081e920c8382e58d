/* Peer: libmemcached's weighted ketama lookup (memcached_generate_hash).
 *
 * Same keys ("key:<i>", i < 65536) and nodes ("10.0.<i/250>.<i%250>", port
 * 11211, weight 1) as weft-bench-ring. Prints
 *   lookup  libmemcached-ketama  <nodes>  <ns per lookup>
 * libmemcached 1.1.4 asserts above 100 servers (MEMCACHED_CONTINUUM_SIZE), so
 * larger sizes print NA. */
#include <libmemcached/memcached.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Keeps the lookups from being optimised away. */
volatile unsigned long sink = 0;

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char** argv) {
  double budget = argc > 1 && strcmp(argv[1], "--quick") == 0 ? 0.05 : 0.5;
  static const unsigned sizes[] = {10, 100, 1000, 10000};
  enum { key_count = 65536 };
  static char keys[key_count][16];
  static size_t lengths[key_count];
  for (unsigned i = 0; i < key_count; ++i) lengths[i] = (size_t)snprintf(keys[i], sizeof keys[i], "key:%u", i);
  for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; ++s) {
    unsigned n = sizes[s];
    if (n > 100) {
      printf("lookup\tlibmemcached-ketama\t%u\tNA\n", n);
      continue;
    }
    memcached_st* memc = memcached_create(NULL);
    memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1);
    for (unsigned i = 0; i < n; ++i) {
      char host[32];
      snprintf(host, sizeof host, "10.0.%u.%u", i / 250, i % 250);
      if (memcached_server_add_with_weight(memc, host, 11211, 1) != MEMCACHED_SUCCESS) {
        fprintf(stderr, "libmemcached peer: cannot add %s\n", host);
        return 70;
      }
    }
    /* Best of five rounds, as weft-bench-ring does: the machine is shared. */
    double best = 1e300;
    for (int round = 0; round < 5; ++round) {
      unsigned long total = 0, lookups = 0;
      double start = now_seconds();
      do {
        for (unsigned i = 0; i < key_count; ++i) total += memcached_generate_hash(memc, keys[i], lengths[i]);
        lookups += key_count;
      } while (now_seconds() - start < budget / 5);
      double ns = (now_seconds() - start) * 1e9 / (double)lookups;
      if (ns < best) best = ns;
      sink += total;
    }
    printf("lookup\tlibmemcached-ketama\t%u\t%.2f\n", n, best);
    fflush(stdout);
    memcached_free(memc);
  }
  return 0;
}
