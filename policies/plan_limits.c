/*
 * The limits model: turns limits.per, limits.exclusive and limits.max_parallel into slots with
 * caps, one per (constraint, value), so the planner (and later the scheduler) can ask "may this
 * router start now?" with a few array lookups.
 */
#include "policies/policy_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct builder {
  struct limits_model *m;
  size_t slots_cap;
  size_t host_slots_count, host_slots_cap;
  struct strmap *values; /* one map per constraint: value -> slot */
};

static size_t slot_for(struct builder *b, size_t constraint, const char *value)
{
  struct limits_model *m = b->m;
  size_t slot;
  if (strmap_get(&b->values[constraint], value, &slot))
    return slot;
  if (m->nslots == b->slots_cap) {
    /* Parallel arrays, one entry per slot, grown together. */
    b->slots_cap = b->slots_cap ? b->slots_cap * 2 : 16;
    m->cap = xrealloc(m->cap, b->slots_cap * sizeof *m->cap);
    m->population = xrealloc(m->population, b->slots_cap * sizeof *m->population);
    m->constraint = xrealloc(m->constraint, b->slots_cap * sizeof *m->constraint);
    m->value = xrealloc(m->value, b->slots_cap * sizeof *m->value);
  }
  slot = m->nslots++;
  m->value[slot] = xstrdup(value);
  m->population[slot] = 0;
  m->cap[slot] = 1;
  m->constraint[slot] = constraint;
  strmap_put(&b->values[constraint], m->value[slot], slot);
  return slot;
}

static void hold(struct builder *b, size_t slot)
{
  b->m->host_slots =
      xgrow(b->m->host_slots, &b->host_slots_cap, b->host_slots_count + 1, sizeof(size_t));
  b->m->host_slots[b->host_slots_count++] = slot;
  b->m->population[slot]++;
}

/* Where constraint c (per entries first, then exclusive ones) is written in the policy. */
static void constraint_mark(const struct policy *p, size_t c, unsigned *line, unsigned *col)
{
  size_t nper = p->limits.per.count;
  *line = c < nper ? p->limits.per.items[c].line : p->limits.exclusive.items[c - nper].line;
  *col = c < nper ? p->limits.per.items[c].col : p->limits.exclusive.items[c - nper].col;
}

static void warn(char ***warnings, size_t *n, char *msg)
{
  *warnings = xrealloc(*warnings, (*n + 1) * sizeof **warnings);
  (*warnings)[(*n)++] = msg;
}

int limits_build(struct limits_model *m, const struct policy *p, const struct inventory *inv,
                 const size_t *hosts, size_t nhosts, struct diag *d, char ***warnings,
                 size_t *nwarnings)
{
  memset(m, 0, sizeof *m);
  m->max_parallel = p->limits.max_parallel;
  size_t nper = p->limits.per.count, nexcl = p->limits.exclusive.count;
  m->nconstraints = nper + nexcl;
  m->labels = xcalloc(m->nconstraints + 1, sizeof *m->labels);
  m->vars = xcalloc(m->nconstraints + 1, sizeof *m->vars);
  struct builder b = {.m = m};
  b.values = xcalloc(m->nconstraints + 1, sizeof *b.values);
  for (size_t c = 0; c < m->nconstraints; c++) {
    const char *var =
        c < nper ? p->limits.per.items[c].var : p->limits.exclusive.items[c - nper].name;
    m->vars[c] = xstrdup(var);
    m->labels[c] =
        c < nper ? xasprintf("limits.per.%s", var) : xasprintf("limits.exclusive %s", var);
    strmap_init(&b.values[c]);
  }
  m->host_first = xcalloc(nhosts + 1, sizeof *m->host_first);
  size_t before = d->count;
  size_t *missing = xcalloc(m->nconstraints + 1, sizeof *missing);
  bool *member = xcalloc(inv->ngroups, sizeof *member);
  char buf[64];
  for (size_t i = 0; i < nhosts; i++) {
    m->host_first[i] = b.host_slots_count;
    for (size_t c = 0; c < m->nconstraints; c++) {
      if (strcmp(m->vars[c], "group") == 0) {
        memset(member, 0, inv->ngroups * sizeof *member);
        inventory_host_groups(inv, hosts[i], member);
        for (size_t g = 0; g < inv->ngroups; g++)
          if (member[g])
            hold(&b, slot_for(&b, c, inv->groups[g].name));
        continue;
      }
      const struct ynode *v = inventory_host_var(inv, hosts[i], m->vars[c]);
      const char *text = inventory_value_text(v, buf, sizeof buf);
      if (v != NULL && v->kind != YNODE_SCALAR) {
        unsigned line, col;
        constraint_mark(p, c, &line, &col);
        diag_add(d, p->file, line, col, "%s: host '%s' has %s as '%s' (expected one value)",
                 m->labels[c], inv->hosts[hosts[i]].name, ynode_kind_name(v), m->vars[c]);
        continue;
      }
      if (text == NULL) {
        missing[c]++;
        continue;
      }
      hold(&b, slot_for(&b, c, text));
    }
  }
  m->host_first[nhosts] = b.host_slots_count;
  for (size_t c = 0; c < m->nconstraints; c++) {
    unsigned line, col;
    constraint_mark(p, c, &line, &col);
    if (nhosts > 0 && missing[c] == nhosts)
      diag_add(d, p->file, line, col,
               "%s: no host of the run has a variable '%s' (expected a host variable such as "
               "site, region or pair; check the spelling)",
               m->labels[c], m->vars[c]);
    else if (missing[c] > 0)
      warn(warnings, nwarnings,
           xasprintf("%s: %zu of %zu hosts have no '%s' variable; this limit does not hold them",
                     m->labels[c], missing[c], nhosts, m->vars[c]));
  }
  /* Caps: a count, or a percentage of the value's population (rounded down, at least 1). */
  for (size_t s = 0; s < m->nslots; s++) {
    size_t c = m->constraint[s];
    if (c >= nper)
      m->cap[s] = 1;
    else if (p->limits.per.items[c].kind == AMOUNT_PERCENT) {
      size_t v = m->population[s] * p->limits.per.items[c].value / 100;
      m->cap[s] = v ? (unsigned)v : 1;
    } else
      m->cap[s] = p->limits.per.items[c].value;
  }
  for (size_t c = 0; c < m->nconstraints; c++)
    strmap_free(&b.values[c]);
  free(b.values);
  free(missing);
  free(member);
  return d->count > before ? -EINVAL : 0;
}

void limits_free(struct limits_model *m)
{
  for (size_t s = 0; s < m->nslots; s++)
    free(m->value[s]);
  for (size_t c = 0; c < m->nconstraints; c++) {
    free(m->labels[c]);
    free(m->vars[c]);
  }
  free(m->labels);
  free(m->vars);
  free(m->value);
  free(m->cap);
  free(m->population);
  free(m->constraint);
  free(m->host_first);
  free(m->host_slots);
  memset(m, 0, sizeof *m);
}
