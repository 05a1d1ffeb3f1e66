/*
 * The exact fewest waves for a small packing problem, by exhaustive search: the oracle the
 * property test holds the planner to (tests/unit/test_plan_property.c).
 *
 * The search goes wave by wave over the set of routers already placed (a bit mask, so at most
 * PACK_EXACT_MAX routers). Adding a router to a wave never makes the rest harder (every limit is
 * a cap, so a subset of a feasible wave is feasible), so each wave need only be one of the
 * maximal sets that fit: any plan can be turned into one that fills waves that way, with no more
 * waves. For a target T it tries those sets depth first, remembering the (wave, placed) states
 * that failed, and cuts a branch as soon as the routers left cannot fit the waves left by count
 * or by any one value's cap.
 */
#include "policies/policy_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct exact {
  const struct pack_problem *pp;
  size_t target;
  uint8_t *failed;   /* per (wave, mask): a bit, this state cannot finish in time */
  unsigned *used;    /* per slot: routers of the wave being chosen */
  size_t *remaining; /* per slot: routers not yet placed (before the wave being chosen) */
  uint32_t full;
};

static size_t min_size(size_t a, size_t b)
{
  return a < b ? a : b;
}

static bool fits(const struct exact *x, size_t i)
{
  size_t n;
  const size_t *slots = pack_slots(x->pp, i, &n);
  for (size_t k = 0; k < n; k++)
    if (x->used[slots[k]] >= x->pp->m->cap[slots[k]])
      return false;
  return true;
}

static void adjust(struct exact *x, size_t i, int used_delta, int remaining_delta)
{
  size_t n;
  const size_t *slots = pack_slots(x->pp, i, &n);
  for (size_t k = 0; k < n; k++) {
    x->used[slots[k]] = (unsigned)((int)x->used[slots[k]] + used_delta);
    x->remaining[slots[k]] = (size_t)((long)x->remaining[slots[k]] + remaining_delta);
  }
}

/* Whether the routers not in `mask` can still fit waves w..target-1, by count and per value. */
static bool may_finish(const struct exact *x, size_t w, uint32_t mask)
{
  const struct pack_problem *pp = x->pp;
  size_t room = 0, left = (size_t)__builtin_popcount(x->full & ~mask);
  for (size_t b = w; b < x->target; b++)
    room += pp->cap[b];
  if (room < left)
    return false;
  for (size_t s = 0; s < pp->m->nslots; s++) {
    if (x->remaining[s] == 0)
      continue;
    size_t r = 0;
    for (size_t b = w; b < x->target && r < x->remaining[s]; b++)
      r += min_size(pp->m->cap[s], pp->cap[b]);
    if (r < x->remaining[s])
      return false;
  }
  return true;
}

static bool search(struct exact *x, size_t w, uint32_t mask);

/* Chooses wave w's routers among those from `i` on, then goes on to the next wave with every
 * maximal choice. */
static bool choose(struct exact *x, size_t w, uint32_t mask, size_t i, uint32_t wave, size_t count)
{
  const struct pack_problem *pp = x->pp;
  if (i == pp->n) {
    if (wave == 0)
      return false;
    /* Maximal: no router left out could have joined. */
    for (size_t j = 0; j < pp->n && count < pp->cap[w]; j++)
      if (!((mask | wave) >> j & 1) && fits(x, j))
        return false;
    /* The next wave starts empty; these routers are no longer waiting. */
    for (size_t j = 0; j < pp->n; j++)
      if (wave >> j & 1)
        adjust(x, j, -1, -1);
    bool ok = search(x, w + 1, mask | wave);
    for (size_t j = 0; j < pp->n; j++)
      if (wave >> j & 1)
        adjust(x, j, +1, +1);
    return ok;
  }
  if (mask >> i & 1)
    return choose(x, w, mask, i + 1, wave, count);
  if (count < pp->cap[w] && fits(x, i)) {
    adjust(x, i, +1, 0);
    bool ok = choose(x, w, mask, i + 1, wave | (uint32_t)1 << i, count + 1);
    adjust(x, i, -1, 0);
    if (ok)
      return true;
  }
  return choose(x, w, mask, i + 1, wave, count);
}

static bool search(struct exact *x, size_t w, uint32_t mask)
{
  if (mask == x->full)
    return true;
  if (w >= x->target)
    return false;
  size_t bit = w * ((size_t)x->full + 1) + mask;
  if (x->failed[bit / 8] >> (bit % 8) & 1)
    return false;
  bool ok = may_finish(x, w, mask) && choose(x, w, mask, 0, 0, 0);
  if (!ok)
    x->failed[bit / 8] |= (uint8_t)(1u << (bit % 8));
  return ok;
}

size_t pack_exact(const struct pack_problem *pp, size_t bound, size_t upper)
{
  if (pp->n == 0 || pp->n > PACK_EXACT_MAX)
    return pp->n == 0 ? 0 : upper;
  struct exact x = {.pp = pp};
  x.full = (uint32_t)((1ull << pp->n) - 1);
  x.used = xcalloc(pp->m->nslots + 1, sizeof *x.used);
  x.remaining = xcalloc(pp->m->nslots + 1, sizeof *x.remaining);
  size_t best = upper;
  for (size_t t = bound ? bound : 1; t < upper; t++) {
    size_t bits = t * ((size_t)x.full + 1);
    x.failed = xcalloc(bits / 8 + 1, 1);
    x.target = t;
    memcpy(x.remaining, pp->left, pp->m->nslots * sizeof *x.remaining);
    bool ok = search(&x, 0, 0);
    free(x.failed);
    if (ok) {
      best = t;
      break;
    }
  }
  free(x.used);
  free(x.remaining);
  return best;
}
