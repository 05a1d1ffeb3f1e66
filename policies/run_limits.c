/*
 * The limits at run time: the same slots the planner packs against (plan_limits.c), counted
 * against the routers actually in flight, and the failure budget. The scheduler asks here, and
 * only here, whether a router may start and whether the run must halt, so the plan and the run
 * can never disagree about what a limit means.
 */
#include "policies/policy_internal.h"

#include <stdlib.h>
#include <string.h>

struct run_limits {
  struct limits_model m;
  const struct inventory *inv;
  size_t *hosts; /* inventory index per position */
  size_t nhosts;
  unsigned *used;  /* per slot: routers in flight holding it */
  size_t *holder;  /* per slot: a host in flight holding it (for messages) */
  bool *in_flight; /* per position */
  size_t flying;
};

int run_limits_new(const struct policy *p, const struct inventory *inv, const size_t *hosts,
                   size_t nhosts, struct run_limits **out, struct diag *d)
{
  struct run_limits *l = xcalloc(1, sizeof *l);
  char **warnings = NULL;
  size_t nwarnings = 0;
  int rc = limits_build(&l->m, p, inv, hosts, nhosts, d, &warnings, &nwarnings);
  for (size_t i = 0; i < nwarnings; i++)
    free(warnings[i]);
  free(warnings);
  if (rc < 0) {
    limits_free(&l->m);
    free(l);
    return rc;
  }
  l->inv = inv;
  l->nhosts = nhosts;
  l->hosts = xcalloc(nhosts + 1, sizeof *l->hosts);
  memcpy(l->hosts, hosts, nhosts * sizeof *hosts);
  l->used = xcalloc(l->m.nslots + 1, sizeof *l->used);
  l->holder = xcalloc(l->m.nslots + 1, sizeof *l->holder);
  l->in_flight = xcalloc(nhosts + 1, sizeof *l->in_flight);
  *out = l;
  return 0;
}

void run_limits_free(struct run_limits *l)
{
  if (l == NULL)
    return;
  limits_free(&l->m);
  free(l->hosts);
  free(l->used);
  free(l->holder);
  free(l->in_flight);
  free(l);
}

bool run_limits_blocked(const struct run_limits *l, size_t pos, char *why, size_t len)
{
  const struct limits_model *m = &l->m;
  if (m->max_parallel && l->flying >= m->max_parallel) {
    snprintf(why, len, "limits.max_parallel: %u routers in flight", m->max_parallel);
    return true;
  }
  for (size_t i = m->host_first[pos]; i < m->host_first[pos + 1]; i++) {
    size_t s = m->host_slots[i];
    if (l->used[s] < m->cap[s])
      continue;
    const char *label = m->labels[m->constraint[s]], *var = m->vars[m->constraint[s]];
    if (m->cap[s] == 1)
      snprintf(why, len, "%s: %s=%s is in flight (%s)", label, var, m->value[s],
               l->inv->hosts[l->hosts[l->holder[s]]].name);
    else
      snprintf(why, len, "%s: %s=%s has %u of %u in flight", label, var, m->value[s], l->used[s],
               m->cap[s]);
    return true;
  }
  return false;
}

void run_limits_take(struct run_limits *l, size_t pos)
{
  if (l->in_flight[pos])
    return;
  const struct limits_model *m = &l->m;
  for (size_t i = m->host_first[pos]; i < m->host_first[pos + 1]; i++) {
    size_t s = m->host_slots[i];
    if (l->used[s]++ == 0)
      l->holder[s] = pos;
  }
  l->in_flight[pos] = true;
  l->flying++;
}

void run_limits_release(struct run_limits *l, size_t pos)
{
  if (!l->in_flight[pos])
    return;
  const struct limits_model *m = &l->m;
  for (size_t i = m->host_first[pos]; i < m->host_first[pos + 1]; i++) {
    size_t s = m->host_slots[i];
    l->used[s]--;
    if (l->used[s] > 0 && l->holder[s] == pos)
      for (size_t q = 0; q < l->nhosts; q++) /* another holder, for messages only */
        if (q != pos && l->in_flight[q]) {
          for (size_t j = m->host_first[q]; j < m->host_first[q + 1]; j++)
            if (m->host_slots[j] == s) {
              l->holder[s] = q;
              q = l->nhosts;
              break;
            }
        }
  }
  l->in_flight[pos] = false;
  l->flying--;
}

size_t run_limits_in_flight(const struct run_limits *l)
{
  return l->flying;
}

bool policy_budget_exceeded(const struct policy *p, const struct budget_state *b, char *why,
                            size_t len)
{
  if (b->canary_failed > 0) {
    snprintf(why, len, "a canary router failed (%zu); a canary failure always halts the run",
             b->canary_failed);
    return true;
  }
  if (b->failed > p->failures.max_failed) {
    snprintf(why, len, "failures.max_failed: %zu routers failed, the budget allows %u", b->failed,
             p->failures.max_failed);
    return true;
  }
  /* Strictly greater, as Ansible's max_fail_percentage. */
  if (b->wave_size > 0 &&
      b->wave_failed * 100 > (size_t)p->failures.max_fail_percentage * b->wave_size) {
    snprintf(why, len,
             "failures.max_fail_percentage: %zu of %zu routers of the wave failed (%.0f%%, "
             "the budget allows %u%%)",
             b->wave_failed, b->wave_size, 100.0 * (double)b->wave_failed / (double)b->wave_size,
             p->failures.max_fail_percentage);
    return true;
  }
  return false;
}
