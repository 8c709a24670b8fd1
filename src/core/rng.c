/* Counter-seeded xoshiro256** streams: a generator is fully determined by
 * (seed, stream, substream), so column j of a generated dictionary depends on
 * (seed, j) alone and every rank can make exactly its own columns. */
#include "impl.h"

#include <math.h>
#include <stdlib.h>

static uint64_t splitmix64(uint64_t *x)
{
  uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void sprec_rng_seed(sprec_rng *g, uint64_t seed, uint64_t stream, uint64_t substream)
{
  uint64_t x = seed;
  x = splitmix64(&x) ^ (stream * 0xD1B54A32D192ED03ull);
  x = splitmix64(&x) ^ (substream * 0xAEF17502108EF2D9ull);
  for (int i = 0; i < 4; i++) g->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sprec_rng_next(sprec_rng *g)
{
  uint64_t *s = g->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

double sprec_rng_uniform(sprec_rng *g)
{
  return ((double)(sprec_rng_next(g) >> 11) + 0.5) * 0x1.0p-53;
}

/* Box–Muller, one normal per call (the second is dropped: simpler streams). */
double sprec_rng_normal(sprec_rng *g)
{
  double u = sprec_rng_uniform(g), v = sprec_rng_uniform(g);
  return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

/* k distinct indices of [0, n), uniform (Floyd's algorithm with an open-addressing
 * set), sorted: a function of (seed, stream) alone, the same on every rank. */
sprec_err sprec_rng_distinct(uint64_t seed, uint64_t stream, int64_t n, int64_t k, int64_t *S)
{
  int64_t cap = 16;
  while (cap < 2 * k) cap *= 2;
  int64_t *set;
  SPREC_ALLOC(set, cap);
  for (int64_t t = 0; t < cap; t++) set[t] = -1;
  sprec_rng g;
  sprec_rng_seed(&g, seed, stream, 0);
  int64_t cnt = 0;
  for (int64_t j = n - k; j < n; j++) {
    int64_t t = (int64_t)(sprec_rng_next(&g) % (uint64_t)(j + 1));
    for (int pass = 0; pass < 2; pass++) {
      int64_t h = (int64_t)(((uint64_t)t * 0x9E3779B97F4A7C15ull) & (uint64_t)(cap - 1));
      while (set[h] != -1 && set[h] != t) h = (h + 1) & (cap - 1);
      if (set[h] == -1) {
        set[h] = t;
        S[cnt++] = t;
        break;
      }
      t = j; /* t was already chosen: take j, which cannot have been */
    }
  }
  free(set);
  qsort(S, (size_t)k, sizeof *S, sprec_cmp_i64);
  return SPREC_OK;
}
