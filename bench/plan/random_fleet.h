/*
 * Random fleets for the planner's property test (tests/unit/test_plan_property.c) and its
 * benchmark (bench/plan): sites in regions, redundant pairs (and the odd triple or single) inside
 * each site, and a policy with a random canary, serial list, max_parallel, per-site, per-region
 * or per-group caps and exclusive pairs. Deterministic: everything comes from one seed.
 *
 * The fleet also keeps each router's site, pair and region as numbers, so a test can check a
 * plan against the limits without going through the planner's own model.
 */
#ifndef ISSU_BENCH_RANDOM_FLEET_H
#define ISSU_BENCH_RANDOM_FLEET_H

#include "common/common.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RF_PERCENT 1000000u

struct random_fleet {
  size_t n, nsites, nregions, npairs;
  size_t *site, *pair, *region; /* per router, in inventory order */
  char *inventory, *policy;     /* YAML */
  /* The policy, as numbers: 0 = absent. A percentage is stored as RF_PERCENT + P. */
  unsigned canary, max_parallel, per_site, per_region, per_group, serial[3];
  size_t nserial;
  bool exclusive_pair;
};

static inline uint64_t rf_next(uint64_t *state)
{
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* A whole number in [lo, hi]. */
static inline size_t rf_range(uint64_t *state, size_t lo, size_t hi)
{
  return lo + (size_t)(rf_next(state) % (hi - lo + 1));
}

static inline bool rf_chance(uint64_t *state, unsigned percent)
{
  return rf_next(state) % 100 < percent;
}

/* A count (1..max) or, one time in three, a percentage (RF_PERCENT + 10..100). */
static inline unsigned rf_amount(uint64_t *state, size_t max)
{
  if (rf_chance(state, 33))
    return RF_PERCENT + (unsigned)rf_range(state, 1, 10) * 10;
  return (unsigned)rf_range(state, 1, max ? max : 1);
}

static inline void rf_amount_text(char **y, size_t *len, size_t *cap, unsigned a)
{
  if (a >= RF_PERCENT)
    text_appendf(y, len, cap, "\"%u%%\"", a - RF_PERCENT);
  else
    text_appendf(y, len, cap, "%u", a);
}

/* Ansible's size of an amount over `total` hosts: a percentage rounds down, never below 1. */
static inline size_t rf_size(unsigned a, size_t total)
{
  if (a < RF_PERCENT)
    return a;
  size_t v = total * (a - RF_PERCENT) / 100;
  return v ? v : 1;
}

/* `n` routers in up to `max_sites` sites; `max_cap` bounds the random counts. */
static inline void random_fleet_make(struct random_fleet *f, uint64_t seed, size_t n,
                                     size_t max_sites, size_t max_cap)
{
  uint64_t st = seed;
  memset(f, 0, sizeof *f);
  f->n = n;
  f->nsites = rf_range(&st, 1, max_sites < n ? max_sites : n);
  f->nregions = rf_range(&st, 1, f->nsites < 3 ? f->nsites : 3);
  f->site = xcalloc(n + 1, sizeof *f->site);
  f->pair = xcalloc(n + 1, sizeof *f->pair);
  f->region = xcalloc(n + 1, sizeof *f->region);
  /* Routers go to sites in runs, as an inventory lists them; pairs are runs inside a site. */
  size_t *per_site = xcalloc(f->nsites, sizeof *per_site);
  for (size_t i = 0; i < n; i++)
    per_site[i < f->nsites ? i : rf_range(&st, 0, f->nsites - 1)]++;
  char *y = NULL;
  size_t len = 0, cap = 0, r = 0;
  text_appendf(&y, &len, &cap, "all:\n  children:\n");
  for (size_t g = 0; g < f->nregions; g++) {
    text_appendf(&y, &len, &cap, "    region_%zu:\n      children:\n", g);
    for (size_t s = g; s < f->nsites; s += f->nregions) {
      text_appendf(&y, &len, &cap,
                   "        site_%zu:\n          vars: {site: s%zu, region: r%zu}\n"
                   "          hosts:\n",
                   s, s, g);
      size_t in_pair = 0, pair_size = rf_chance(&st, 80) ? 2 : rf_range(&st, 1, 3);
      for (size_t k = 0; k < per_site[s]; k++, r++) {
        if (in_pair == pair_size) {
          f->npairs++;
          in_pair = 0;
          pair_size = rf_chance(&st, 80) ? 2 : rf_range(&st, 1, 3);
        }
        in_pair++;
        f->site[r] = s;
        f->region[r] = g;
        f->pair[r] = f->npairs;
        text_appendf(&y, &len, &cap, "            r%05zu: {pair: p%zu}\n", r, f->npairs);
      }
      f->npairs++;
    }
  }
  free(per_site);
  f->inventory = y;

  y = NULL;
  len = cap = 0;
  text_appendf(&y, &len, &cap,
               "target: {version: 23.4R2-S3.7, package: /var/tmp/junos.tgz}\nwaves:\n");
  if (rf_chance(&st, 70)) {
    f->canary = rf_chance(&st, 80) ? 1 : rf_amount(&st, 2);
    text_appendf(&y, &len, &cap, "  canary: ");
    rf_amount_text(&y, &len, &cap, f->canary);
    text_appendf(&y, &len, &cap, "\n");
  }
  if (rf_chance(&st, 75)) {
    f->nserial = rf_range(&st, 1, 3);
    text_appendf(&y, &len, &cap, "  serial: [");
    for (size_t i = 0; i < f->nserial; i++) {
      f->serial[i] = rf_amount(&st, n);
      if (i)
        text_appendf(&y, &len, &cap, ", ");
      rf_amount_text(&y, &len, &cap, f->serial[i]);
    }
    text_appendf(&y, &len, &cap, "]\n");
  }
  static const char *const orders[] = {"inventory", "sorted", "reverse_inventory", "shuffle"};
  text_appendf(&y, &len, &cap, "  order: %s\n  seed: %llu\nlimits:\n", orders[rf_range(&st, 0, 3)],
               (unsigned long long)seed);
  size_t limits_at = len;
  if (rf_chance(&st, 60)) {
    f->max_parallel = (unsigned)rf_range(&st, 1, max_cap * 3);
    text_appendf(&y, &len, &cap, "  max_parallel: %u\n", f->max_parallel);
  }
  if (rf_chance(&st, 75))
    f->per_site = rf_amount(&st, max_cap);
  if (rf_chance(&st, 30))
    f->per_region = rf_amount(&st, max_cap * 2);
  if (rf_chance(&st, 10))
    f->per_group = rf_amount(&st, max_cap * 2);
  if (f->per_site || f->per_region || f->per_group) {
    text_appendf(&y, &len, &cap, "  per: {");
    const char *sep = "";
    const unsigned vals[] = {f->per_site, f->per_region, f->per_group};
    const char *const names[] = {"site", "region", "group"};
    for (size_t i = 0; i < 3; i++)
      if (vals[i]) {
        text_appendf(&y, &len, &cap, "%s%s: ", sep, names[i]);
        rf_amount_text(&y, &len, &cap, vals[i]);
        sep = ", ";
      }
    text_appendf(&y, &len, &cap, "}\n");
  }
  f->exclusive_pair = rf_chance(&st, 60);
  if (f->exclusive_pair)
    text_appendf(&y, &len, &cap, "  exclusive: [pair]\n");
  if (len == limits_at)
    text_appendf(&y, &len, &cap, "  per: {}\n");
  f->policy = y;
}

static inline void random_fleet_free(struct random_fleet *f)
{
  free(f->site);
  free(f->pair);
  free(f->region);
  free(f->inventory);
  free(f->policy);
}

#endif
