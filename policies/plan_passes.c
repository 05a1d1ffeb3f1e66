/*
 * The passes over a finished packing (plan_pack.c): an improvement pass that tries to empty the
 * last wave, moving each of its routers into an earlier wave directly or by moving one router of
 * that wave to a third, and an order pass that brings the waves back towards the run order
 * without adding one. Both work on per-wave counts per value, so they run only when waves x
 * values stays small, and within a bounded amount of work; neither makes the plan longer.
 */
#include "policies/policy_internal.h"

#include <stdlib.h>
#include <string.h>

/* Cells of per-wave counts the passes may use, and the work they may do. */
enum { PASS_CELLS = 1 << 22, PASS_WORK = 20000000 };

struct layout {
  const struct pack_problem *pp;
  size_t nwaves;
  size_t *wave_of;
  size_t *count;   /* per wave */
  unsigned *cells; /* per wave and slot: routers of the wave holding it */
  long work;       /* bounded: the passes give up when it runs out */
};

static unsigned *cell(const struct layout *l, size_t w, size_t s)
{
  return &l->cells[w * l->pp->m->nslots + s];
}

static bool fits_in(struct layout *l, size_t i, size_t w)
{
  const struct pack_problem *pp = l->pp;
  if (l->count[w] >= pp->cap[w])
    return false;
  size_t n;
  const size_t *slots = pack_slots(pp, i, &n);
  l->work += (long)n + 1;
  for (size_t k = 0; k < n; k++)
    if (*cell(l, w, slots[k]) >= pp->m->cap[slots[k]])
      return false;
  return true;
}

static void place(struct layout *l, size_t i, size_t w)
{
  size_t n;
  const size_t *slots = pack_slots(l->pp, i, &n);
  for (size_t k = 0; k < n; k++)
    (*cell(l, w, slots[k]))++;
  l->count[w]++;
  l->wave_of[i] = w;
}

static void unplace(struct layout *l, size_t i)
{
  size_t w = l->wave_of[i], n;
  const size_t *slots = pack_slots(l->pp, i, &n);
  for (size_t k = 0; k < n; k++)
    (*cell(l, w, slots[k]))--;
  l->count[w]--;
}

/* Moves router i (already unplaced) into a wave before `last`, directly or by moving one router
 * of that wave to a third wave. Returns whether it did; `log` records the moves as (router,
 * from) pairs so a failed attempt can be undone. */
static bool relocate(struct layout *l, size_t i, size_t last, size_t *log, size_t *nlog)
{
  const struct pack_problem *pp = l->pp;
  for (size_t w = 0; w < last; w++)
    if (fits_in(l, i, w)) {
      place(l, i, w);
      return true;
    }
  for (size_t j = 0; j < pp->n && l->work < PASS_WORK; j++) {
    size_t w = l->wave_of[j];
    if (w >= last || j == i)
      continue;
    unplace(l, j);
    if (fits_in(l, i, w)) {
      place(l, i, w);
      for (size_t w2 = 0; w2 < last; w2++)
        if (w2 != w && fits_in(l, j, w2)) {
          log[(*nlog)++] = j;
          log[(*nlog)++] = w;
          place(l, j, w2);
          return true;
        }
      unplace(l, i);
    }
    place(l, j, w);
  }
  return false;
}

/* Tries to empty the last wave; returns whether it did (else leaves the layout as it was). */
static bool drop_last(struct layout *l, size_t *log)
{
  const struct pack_problem *pp = l->pp;
  size_t last = l->nwaves - 1, nlog = 0;
  for (size_t i = 0; i < pp->n; i++) {
    if (l->wave_of[i] != last)
      continue;
    unplace(l, i);
    log[nlog++] = i;
    log[nlog++] = last;
    if (!relocate(l, i, last, log, &nlog)) {
      place(l, i, last);
      nlog -= 2;
      /* Undo in reverse: each entry is (router, the wave it came from). */
      while (nlog > 0) {
        size_t from = log[--nlog], r = log[--nlog];
        unplace(l, r);
        place(l, r, from);
      }
      return false;
    }
  }
  l->nwaves--;
  return true;
}

/* Moves routers that wait longer than the run order asks back towards their place: into an
 * earlier wave with room, or in exchange for a router later in the order. */
/* Router i (unplaced, from wave `from`) changes places with a router later in the run order that
 * sits in an earlier wave, where the limits allow both moves. */
static bool swap_earlier(struct layout *l, size_t i, size_t from)
{
  const struct pack_problem *pp = l->pp;
  for (size_t w = 0; w < from; w++)
    for (size_t j = i + 1; j < pp->n && l->work < PASS_WORK; j++) {
      l->work++;
      if (l->wave_of[j] != w)
        continue;
      unplace(l, j);
      if (fits_in(l, i, w)) {
        place(l, i, w);
        if (fits_in(l, j, from)) {
          place(l, j, from);
          return true;
        }
        unplace(l, i);
      }
      place(l, j, w);
    }
  return false;
}

/* Brings the waves closer to the run order without adding one: a router that waits longer than
 * Ansible's batch would have it moves back into an earlier wave with room, and any router
 * changes places with one later in the order that got an earlier wave, where the limits allow. */
static void keep_order(struct layout *l, const size_t *nominal)
{
  const struct pack_problem *pp = l->pp;
  for (size_t i = 0; i < pp->n && l->work < PASS_WORK; i++) {
    size_t from = l->wave_of[i], to = from;
    unplace(l, i);
    /* A wave left empty in the middle would shift later waves onto other sizes. */
    if (from > nominal[i] && (l->count[from] > 0 || from + 1 == l->nwaves))
      for (size_t w = nominal[i]; w < from && to == from; w++)
        if (fits_in(l, i, w))
          to = w;
    if (to == from && swap_earlier(l, i, from))
      continue;
    place(l, i, to);
  }
  while (l->nwaves > 0 && l->count[l->nwaves - 1] == 0)
    l->nwaves--;
}

size_t pack_improve(const struct pack_problem *pp, size_t bound, const size_t *nominal,
                    size_t nwaves, size_t *wave_of)
{
  if (nwaves == 0 || (double)nwaves * (double)(pp->m->nslots + 1) > PASS_CELLS)
    return nwaves;
  struct layout l = {.pp = pp, .nwaves = nwaves, .wave_of = wave_of};
  l.count = xcalloc(nwaves, sizeof *l.count);
  l.cells = xcalloc(nwaves * (pp->m->nslots + 1), sizeof *l.cells);
  for (size_t i = 0; i < pp->n; i++)
    place(&l, i, wave_of[i]);
  size_t *log = xcalloc(4 * pp->n + 2, sizeof *log);
  while (l.nwaves > bound && l.work < PASS_WORK && drop_last(&l, log))
    ;
  if (nominal)
    keep_order(&l, nominal);
  free(log);
  free(l.count);
  free(l.cells);
  return l.nwaves;
}
