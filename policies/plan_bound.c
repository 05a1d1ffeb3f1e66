/*
 * The lower bound of a plan, in waves after the canary: no schedule, however clever, needs fewer.
 *
 * Three things each force a number of waves, and the bound is the largest:
 *   - the wave sizes: `serial` and `max_parallel` cap every wave, so the routers need as many
 *     waves as it takes the sizes, in order, to add up to them;
 *   - every value of every limit (a site, a pair, a group): its routers need as many waves as it
 *     takes to hold them at `cap` a wave, where a wave smaller than the cap holds fewer;
 *   - the waves and one limit together (a site cap, say): a wave holds at most what all the
 *     sites still sending routers may send at once, so small waves and few sites cost waves
 *     that neither counts alone. For a limit that puts each router under one value at most,
 *     the routers T waves can hold is a maximum flow from values (routers left, cap a wave) to
 *     waves (size), whose minimum cut has a closed form (partition_holds);
 *   - the canary, one wave of its own, which the caller adds.
 * The bound names the limit that sets it, so an operator knows which knob to turn.
 */
#include "policies/policy_internal.h"

#include <stdlib.h>
#include <string.h>

static size_t min_size(size_t a, size_t b)
{
  return a < b ? a : b;
}

/* The fewest waves whose sizes (each at most `per_wave`) add up to `count`. */
static size_t waves_to_hold(const size_t *cap, size_t ncap, size_t per_wave, size_t count)
{
  size_t held = 0, t = 0;
  /* Every cap is at least 1, so this ends within `count` steps. */
  while (held < count) {
    held += min_size(per_wave, cap[t < ncap ? t : ncap - 1]);
    t++;
  }
  return t;
}

/* The words for a bound set by the wave sizes. */
static char *sizes_reason(const struct pack_problem *pp, size_t t)
{
  const struct limits_model *m = pp->m;
  bool parallel = m->max_parallel != 0;
  for (size_t b = 0; b < t && parallel; b++)
    parallel = pp->cap[b] == m->max_parallel;
  if (parallel)
    return xasprintf("limits.max_parallel: %zu routers after the canary, %u at a time", pp->n,
                     m->max_parallel);
  char *list = NULL;
  size_t len = 0, cap = 0, shown = t < 6 ? t : 6;
  for (size_t b = 0; b < shown; b++)
    text_appendf(&list, &len, &cap, "%s%zu", b ? ", " : "", pp->cap[b]);
  if (shown < t)
    text_appendf(&list, &len, &cap, ", ...");
  bool capped = false;
  for (size_t b = 0; b < t && !capped; b++)
    capped = m->max_parallel && pp->cap[b] == m->max_parallel;
  char *why = xasprintf("waves.serial%s: waves of %s routers hold the %zu after the canary in no "
                        "fewer than %zu waves",
                        capped ? " with limits.max_parallel" : "", list, pp->n, t);
  free(list);
  return why;
}

static int by_size(const void *a, const void *b)
{
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return (x > y) - (x < y);
}

/* The values of one limit, grouped by (routers left, cap). */
struct value_class {
  size_t left, cap, count;
};

/* How many routers T waves can hold under one limit that partitions them: the minimum cut of
 * values -> waves is, for some j, the j smallest waves whole plus each value's min(left, cap x the
 * other T - j waves); routers under no value of the limit go anywhere. */
static size_t partition_holds(const struct value_class *v, size_t nv, size_t free_routers,
                              const size_t *sorted_cap, size_t t)
{
  size_t best = SIZE_MAX, whole = 0;
  for (size_t j = 0; j <= t; j++) {
    size_t held = whole + (t > j ? free_routers : 0);
    for (size_t k = 0; k < nv; k++)
      held += v[k].count * min_size(v[k].left, v[k].cap * (t - j));
    best = min_size(best, held);
    if (j < t)
      whole += sorted_cap[j];
  }
  return best;
}

/* The fewest waves (at least `from`) that one partitioning limit, constraint c, allows; `from`
 * when the limit does not partition the routers (a host in two groups). */
static size_t partition_bound(const struct pack_problem *pp, size_t c, size_t from)
{
  const struct limits_model *m = pp->m;
  size_t under = 0;
  for (size_t i = 0; i < pp->n; i++) {
    size_t p = pp->pos[i], mine = 0;
    for (size_t x = m->host_first[p]; x < m->host_first[p + 1]; x++)
      mine += m->constraint[m->host_slots[x]] == c;
    if (mine > 1)
      return from;
    under += mine;
  }
  struct value_class *v = xcalloc(m->nslots + 1, sizeof *v);
  size_t nv = 0;
  for (size_t s = 0; s < m->nslots; s++) {
    if (m->constraint[s] != c || pp->left[s] == 0)
      continue;
    size_t k = 0;
    while (k < nv && (v[k].left != pp->left[s] || v[k].cap != m->cap[s]))
      k++;
    if (k == nv)
      v[nv++] = (struct value_class){pp->left[s], m->cap[s], 0};
    v[k].count++;
  }
  size_t *sorted = xcalloc(pp->n + 1, sizeof *sorted), t = from;
  for (; t < pp->n; t++) {
    memcpy(sorted, pp->cap, t * sizeof *sorted);
    qsort(sorted, t, sizeof *sorted, by_size);
    if (partition_holds(v, nv, pp->n - under, sorted, t) >= pp->n)
      break;
  }
  free(sorted);
  free(v);
  return t;
}

size_t pack_bound(const struct pack_problem *pp, char **why)
{
  const struct limits_model *m = pp->m;
  if (pp->n == 0) {
    if (why)
      *why = xstrdup("the canary is the whole run");
    return 0;
  }
  size_t bound = waves_to_hold(pp->cap, pp->n, SIZE_MAX, pp->n), slot = SIZE_MAX;
  for (size_t s = 0; s < m->nslots; s++) {
    if (pp->left[s] == 0)
      continue;
    size_t t = waves_to_hold(pp->cap, pp->n, m->cap[s], pp->left[s]);
    if (t > bound) {
      bound = t;
      slot = s;
    }
  }
  size_t joint = SIZE_MAX;
  for (size_t c = 0; c < m->nconstraints; c++) {
    size_t t = partition_bound(pp, c, bound);
    if (t > bound) {
      bound = t;
      joint = c;
    }
  }
  if (why == NULL)
    return bound;
  if (joint != SIZE_MAX)
    *why = xasprintf("%s with the wave sizes: the %zu routers after the canary need %zu waves "
                     "when each wave holds no more than its values may send at once",
                     m->labels[joint], pp->n, bound);
  else if (slot != SIZE_MAX)
    *why = xasprintf("%s: %s=%s has %zu routers after the canary, %u at a time",
                     m->labels[m->constraint[slot]], m->vars[m->constraint[slot]], m->value[slot],
                     pp->left[slot], m->cap[slot]);
  else if (bound <= 1)
    *why = xstrdup("no limit binds: the routers after the canary fit in one wave");
  else
    *why = sizes_reason(pp, bound);
  return bound;
}
