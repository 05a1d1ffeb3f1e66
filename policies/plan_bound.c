/*
 * The lower bound of a plan, in waves after the canary: no schedule, however clever, needs fewer.
 *
 * Three things each force a number of waves, and the bound is the largest:
 *   - the wave sizes: `serial` and `max_parallel` cap every wave, so the routers need as many
 *     waves as it takes the sizes, in order, to add up to them;
 *   - every value of every limit (a site, a pair, a group): its routers need as many waves as it
 *     takes to hold them at `cap` a wave, where a wave smaller than the cap holds fewer;
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
  char *why = xasprintf("waves.serial: waves of %s routers hold the %zu after the canary in no "
                        "fewer than %zu waves",
                        list, pp->n, t);
  free(list);
  return why;
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
  if (why == NULL)
    return bound;
  if (slot != SIZE_MAX)
    *why = xasprintf("%s: %s=%s has %zu routers after the canary, %u at a time",
                     m->labels[m->constraint[slot]], m->vars[m->constraint[slot]], m->value[slot],
                     pp->left[slot], m->cap[slot]);
  else if (bound <= 1)
    *why = xstrdup("no limit binds: the routers after the canary fit in one wave");
  else
    *why = sizes_reason(pp, bound);
  return bound;
}
