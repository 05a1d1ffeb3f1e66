/*
 * Wave packing: the routers after the canary into as few waves as the limits allow.
 *
 * Most constrained first. For a target number of waves T, a value of a limit (a site, a pair)
 * has slack: how many of its routers the waves after this one can still hold, at its cap a wave
 * (and no more than each wave's size), minus how many it has left. A value with negative slack
 * must send routers in this wave or the rollout takes longer than T. Each wave is filled from a
 * heap of the waiting routers keyed by the two smallest slacks among their values, ties in run
 * order, so `order` decides wherever the limits leave a choice. Slack only grows as a wave fills
 * (a value that sent a router has one fewer left), so the heap is lazy: a popped router whose key
 * has grown past the next one's goes back in.
 *
 * Large fleets: the heap is rebuilt every wave, or every few waves when waves x routers is huge;
 * a wave ends as soon as every waiting router holds a full value (per-value member lists count
 * them); and a wave that pops many routers a full value keeps out goes on by linear scans, then
 * from a heap of the routers that still fit. These keep 10,000 routers under a second.
 *
 * The fill runs for T = the lower bound and, while it misses, for a few larger targets; the best
 * result then goes through the improvement and order passes (plan_passes.c).
 */
#include "policies/policy_internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Greedy fills tried in all. */
enum { PACK_TRIES = 8 };
/* Heap entries rebuilt in one fill, and routers looked at without taking them, at most (each
 * about 50 ms). */
#define REBUILD_BUDGET 4e6
#define SKIP_BUDGET 4e7

/* A router's two smallest slacks: the second breaks ties, so of two routers whose tightest value
 * is as tight, the one that also relieves a second tight value goes first (the second router of a
 * pair before a single, when both sites are as busy). */
struct key {
  long long first, second;
};

struct heap_item {
  struct key key;
  size_t i;
};

struct greedy {
  const struct pack_problem *pp;
  size_t target;
  size_t *left;
  unsigned *used;
  size_t *touched, ntouched;
  /* Distinct slot caps; per cap, what the waves after the current one still offer a value. */
  size_t ncaps;
  unsigned *capv;
  size_t *capidx;
  long long *future;
  struct heap_item *heap, *skipped, *cand;
  size_t nheap, nskipped;
  size_t skip_limit; /* a wave that cannot fill stops looking after this many */
  /* Routers not placed yet, and of those the ones a full value keeps out of this wave: when
   * they are the same, nobody fits and the wave is done without looking at each of them. */
  size_t nleft, nblocked, stamp;
  size_t *blocked_in;             /* per router: the wave stamp it was counted blocked in */
  size_t *member_first, *members; /* per slot: the routers holding it */
  const size_t *wave_of;
  size_t *waiting, nwaiting;
};

static size_t min_size(size_t a, size_t b)
{
  return a < b ? a : b;
}

/* --- the heap, ordered by (key, run order) --- */

static int key_cmp(struct key a, struct key b)
{
  if (a.first != b.first)
    return a.first < b.first ? -1 : 1;
  if (a.second != b.second)
    return a.second < b.second ? -1 : 1;
  return 0;
}

static bool before(const struct heap_item *a, const struct heap_item *b)
{
  int c = key_cmp(a->key, b->key);
  return c < 0 || (c == 0 && a->i < b->i);
}

static void sift_down(struct heap_item *h, size_t n, size_t at)
{
  for (;;) {
    size_t l = 2 * at + 1, r = l + 1, best = at;
    if (l < n && before(&h[l], &h[best]))
      best = l;
    if (r < n && before(&h[r], &h[best]))
      best = r;
    if (best == at)
      return;
    struct heap_item t = h[at];
    h[at] = h[best];
    h[best] = t;
    at = best;
  }
}

static void sift_up(struct heap_item *h, size_t at)
{
  while (at > 0 && before(&h[at], &h[(at - 1) / 2])) {
    struct heap_item t = h[at];
    h[at] = h[(at - 1) / 2];
    h[(at - 1) / 2] = t;
    at = (at - 1) / 2;
  }
}

/* --- the greedy fill --- */

static struct key key_of(const struct greedy *g, size_t i)
{
  size_t count;
  const size_t *slots = pack_slots(g->pp, i, &count);
  struct key key = {LLONG_MAX, LLONG_MAX};
  for (size_t k = 0; k < count; k++) {
    size_t s = slots[k];
    long long slack = g->future[g->capidx[s]] - (long long)g->left[s];
    if (slack < key.first) {
      key.second = key.first;
      key.first = slack;
    } else if (slack < key.second)
      key.second = slack;
  }
  return key;
}

static bool fits(const struct greedy *g, size_t i)
{
  size_t count;
  const size_t *slots = pack_slots(g->pp, i, &count);
  for (size_t k = 0; k < count; k++)
    if (g->used[slots[k]] >= g->pp->m->cap[slots[k]])
      return false;
  return true;
}

static void take(struct greedy *g, size_t i)
{
  const struct limits_model *m = g->pp->m;
  size_t count;
  const size_t *slots = pack_slots(g->pp, i, &count);
  g->nleft--;
  for (size_t k = 0; k < count; k++) {
    size_t s = slots[k];
    if (g->used[s]++ == 0)
      g->touched[g->ntouched++] = s;
    g->left[s]--;
    if (g->used[s] < m->cap[s])
      continue;
    /* Full: its waiting routers cannot join this wave. */
    for (size_t x = g->member_first[s]; x < g->member_first[s + 1]; x++) {
      size_t r = g->members[x];
      if (r != i && g->wave_of[r] == SIZE_MAX && g->blocked_in[r] != g->stamp) {
        g->blocked_in[r] = g->stamp;
        g->nblocked++;
      }
    }
  }
}

static bool saturated(const struct greedy *g)
{
  return g->nblocked >= g->nleft;
}

static void greedy_init(struct greedy *g, const struct pack_problem *pp)
{
  const struct limits_model *m = pp->m;
  memset(g, 0, sizeof *g);
  g->pp = pp;
  size_t ns = m->nslots + 1;
  g->left = xcalloc(ns, sizeof *g->left);
  g->used = xcalloc(ns, sizeof *g->used);
  g->touched = xcalloc(ns, sizeof *g->touched);
  g->capv = xcalloc(ns, sizeof *g->capv);
  g->capidx = xcalloc(ns, sizeof *g->capidx);
  g->future = xcalloc(ns, sizeof *g->future);
  g->heap = xcalloc(pp->n + 1, sizeof *g->heap);
  g->skipped = xcalloc(pp->n + 1, sizeof *g->skipped);
  g->cand = xcalloc(pp->n + 1, sizeof *g->cand);
  g->waiting = xcalloc(pp->n + 1, sizeof *g->waiting);
  g->blocked_in = xcalloc(pp->n + 1, sizeof *g->blocked_in);
  /* Members per slot, as one array cut by member_first (counting sort). */
  g->member_first = xcalloc(ns + 1, sizeof *g->member_first);
  size_t total = 0;
  for (size_t i = 0; i < pp->n; i++) {
    size_t count;
    const size_t *slots = pack_slots(pp, i, &count);
    for (size_t k = 0; k < count; k++)
      g->member_first[slots[k] + 1]++;
    total += count;
  }
  for (size_t s = 0; s < m->nslots; s++)
    g->member_first[s + 1] += g->member_first[s];
  g->members = xcalloc(total + 1, sizeof *g->members);
  size_t *fill = xcalloc(ns, sizeof *fill);
  for (size_t i = 0; i < pp->n; i++) {
    size_t count;
    const size_t *slots = pack_slots(pp, i, &count);
    for (size_t k = 0; k < count; k++)
      g->members[g->member_first[slots[k]] + fill[slots[k]]++] = i;
  }
  free(fill);
  /* Few distinct caps in practice (1 for pairs, 1 or 2 for sites, a percentage of a region). */
  for (size_t s = 0; s < m->nslots; s++) {
    size_t c = 0;
    while (c < g->ncaps && g->capv[c] != m->cap[s])
      c++;
    if (c == g->ncaps)
      g->capv[g->ncaps++] = m->cap[s];
    g->capidx[s] = c;
  }
}

static void greedy_free(struct greedy *g)
{
  free(g->left);
  free(g->used);
  free(g->touched);
  free(g->capv);
  free(g->capidx);
  free(g->future);
  free(g->heap);
  free(g->skipped);
  free(g->cand);
  free(g->waiting);
  free(g->blocked_in);
  free(g->member_first);
  free(g->members);
}

/* Refreshes every waiting router's key: a new heap. */
static void rebuild(struct greedy *g, const size_t *wave_of)
{
  size_t kept = 0;
  for (size_t k = 0; k < g->nwaiting; k++)
    if (wave_of[g->waiting[k]] == SIZE_MAX)
      g->waiting[kept++] = g->waiting[k];
  g->nwaiting = kept;
  g->nheap = 0;
  for (size_t k = 0; k < g->nwaiting; k++) {
    size_t i = g->waiting[k];
    g->heap[g->nheap++] = (struct heap_item){key_of(g, i), i};
  }
  for (size_t k = g->nheap / 2; k-- > 0;)
    sift_down(g->heap, g->nheap, k);
}

/* One wave, from the heap of the waiting routers; returns how many it took. Routers that do not
 * fit go back into the heap for the next wave. */
/* Takes routers for wave w from heap `h` (size *nh), least key first, until the wave is full or
 * nobody fits, or more than `give_up` routers were popped only to be kept out (those go to
 * g->skipped). Returns the wave's new count. */
static size_t take_from(struct greedy *g, struct heap_item *h, size_t *nh, size_t w,
                        size_t *wave_of, size_t count, size_t give_up)
{
  const struct pack_problem *pp = g->pp;
  while (count < pp->cap[w] && *nh > 0 && g->nskipped <= give_up && g->nskipped < g->skip_limit &&
         !saturated(g)) {
    struct heap_item top = h[0];
    h[0] = h[--*nh];
    sift_down(h, *nh, 0);
    /* Stored keys are lower bounds (keys only grow within a wave): a router whose key grew is
     * still the least if it does not pass the next one's stored key. Comparing with the next
     * one, not with its own old key, keeps a value everyone holds (a region) from sending every
     * router back into the heap each time one of them is taken. */
    struct heap_item now = {key_of(g, top.i), top.i};
    if (key_cmp(now.key, top.key) > 0 && *nh > 0 && before(&h[0], &now)) {
      h[(*nh)++] = now;
      sift_up(h, *nh - 1);
      continue;
    }
    if (!fits(g, top.i)) {
      g->skipped[g->nskipped++] = now;
      continue;
    }
    take(g, top.i);
    wave_of[top.i] = w;
    count++;
  }
  return count;
}

static size_t fill_one(struct greedy *g, size_t w, size_t *wave_of)
{
  const struct pack_problem *pp = g->pp;
  g->nblocked = 0;
  g->nskipped = 0;
  g->stamp = w + 1;
  size_t give_up = g->nheap / 16 + 8;
  size_t count = take_from(g, g->heap, &g->nheap, w, wave_of, 0, give_up);
  /* Many routers popped only to be kept out by a full value: a few more routers by linear
   * scans (a region cap of 1 ends the wave after one router a region), then, if the wave can
   * take more, pick out in one pass those that still fit and go on from a heap of them alone. */
  for (size_t scans = 0; g->nskipped > give_up && scans < 4 && count < pp->cap[w] && !saturated(g);
       scans++) {
    size_t best = SIZE_MAX;
    struct heap_item least = {{0, 0}, 0};
    for (size_t k = 0; k < g->nheap; k++) {
      size_t i = g->heap[k].i;
      if (g->blocked_in[i] == g->stamp || !fits(g, i))
        continue;
      struct heap_item item = {key_of(g, i), i};
      if (best == SIZE_MAX || before(&item, &least)) {
        best = k;
        least = item;
      }
    }
    if (best == SIZE_MAX)
      break;
    g->heap[best] = g->heap[--g->nheap];
    if (best < g->nheap) {
      sift_down(g->heap, g->nheap, best);
      sift_up(g->heap, best);
    }
    take(g, least.i);
    wave_of[least.i] = w;
    count++;
  }
  bool split = g->nskipped > give_up && count < pp->cap[w] && !saturated(g);
  if (split) {
    size_t nc = 0, keep = 0;
    for (size_t k = 0; k < g->nheap; k++) {
      size_t i = g->heap[k].i;
      if (g->blocked_in[i] != g->stamp && fits(g, i))
        g->cand[nc++] = (struct heap_item){key_of(g, i), i};
      else
        g->heap[keep++] = g->heap[k];
    }
    g->nheap = keep;
    for (size_t k = nc / 2; k-- > 0;)
      sift_down(g->cand, nc, k);
    count = take_from(g, g->cand, &nc, w, wave_of, count, SIZE_MAX);
    memcpy(g->heap + g->nheap, g->cand, nc * sizeof *g->cand);
    g->nheap += nc;
  }
  memcpy(g->heap + g->nheap, g->skipped, g->nskipped * sizeof *g->skipped);
  g->nheap += g->nskipped;
  if (split || g->nskipped > 0)
    for (size_t k = g->nheap / 2; k-- > 0;)
      sift_down(g->heap, g->nheap, k);
  for (size_t k = 0; k < g->ntouched; k++)
    g->used[g->touched[k]] = 0;
  g->ntouched = 0;
  return count;
}

/* Packs every router aiming at `target` waves; returns the number of waves used. */
static size_t greedy_run(struct greedy *g, size_t target, size_t *wave_of)
{
  const struct pack_problem *pp = g->pp;
  memcpy(g->left, pp->left, pp->m->nslots * sizeof *g->left);
  for (size_t c = 0; c < g->ncaps; c++) {
    g->future[c] = 0;
    for (size_t b = 0; b < target; b++)
      g->future[c] += (long long)min_size(g->capv[c], pp->cap[b]);
  }
  for (size_t i = 0; i < pp->n; i++) {
    wave_of[i] = SIZE_MAX;
    g->waiting[i] = i;
  }
  g->nwaiting = pp->n;
  g->nleft = pp->n;
  g->wave_of = wave_of;
  memset(g->blocked_in, 0, pp->n * sizeof *g->blocked_in);
  /* Keys drift as waves pass (each value's future shrinks), so the heap is rebuilt for every
   * wave; when there are very many waves of very many routers, every few waves, within a
   * fixed budget (the keys in between are a little stale, never wrong about the limits). */
  double cost = (double)pp->n * (double)(target ? target : 1);
  size_t every = cost > REBUILD_BUDGET ? (size_t)(cost / REBUILD_BUDGET) + 1 : 1;
  g->skip_limit = (size_t)(SKIP_BUDGET / (target ? (double)target : 1.0));
  if (g->skip_limit < 256)
    g->skip_limit = 256;
  size_t w = 0, placed = 0;
  for (; placed < pp->n; w++) {
    if (w < target)
      for (size_t c = 0; c < g->ncaps; c++)
        g->future[c] -= (long long)min_size(g->capv[c], pp->cap[w]);
    if (w % every == 0)
      rebuild(g, wave_of);
    /* Every wave takes at least the first router it pops (caps are at least 1), so w < n. */
    placed += fill_one(g, w, wave_of);
  }
  return w;
}

size_t pack_waves(const struct pack_problem *pp, size_t bound, const size_t *nominal,
                  size_t *wave_of)
{
  if (pp->n == 0)
    return 0;
  struct greedy g;
  greedy_init(&g, pp);
  size_t best = greedy_run(&g, bound, wave_of);
  if (best > bound) {
    size_t *trial = xcalloc(pp->n, sizeof *trial);
    /* A larger target leaves more slack to the busiest values early on; bounded work. */
    double budget = 2 * REBUILD_BUDGET, spent = (double)pp->n * (double)best;
    for (size_t t = bound + 1, tries = 1; t < best && tries < PACK_TRIES && spent < budget;
         t++, tries++) {
      size_t got = greedy_run(&g, t, trial);
      spent += (double)pp->n * (double)got;
      if (got < best) {
        best = got;
        memcpy(wave_of, trial, pp->n * sizeof *trial);
      }
    }
    free(trial);
  }
  greedy_free(&g);
  return pack_improve(pp, bound, nominal, best, wave_of);
}
