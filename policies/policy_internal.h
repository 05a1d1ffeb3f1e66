/*
 * Private to policies/: the parse context and the value parsers the schema table points at.
 * Not part of the module's interface (that is policies.h).
 */
#ifndef ISSU_POLICY_INTERNAL_H
#define ISSU_POLICY_INTERNAL_H

#include "policies/policies.h"

struct pctx {
  struct policy *p;
  struct diag *d;
  const char *path; /* "waves.serial", for messages */
};

/* Reports "FILE:L:C: PATH: message" at node `n`. */
void perr(struct pctx *c, const struct ynode *n, const char *fmt, ...) ISSU_PRINTF(3, 4);

/* One parser per value type; each returns 0 or -1 (after reporting). `field` points into the
 * policy at the key's offset. */
typedef int (*value_parser)(struct pctx *c, const struct ynode *n, void *field);

int parse_version(struct pctx *c, const struct ynode *n, void *field);
int parse_package(struct pctx *c, const struct ynode *n, void *field);
int parse_sha256(struct pctx *c, const struct ynode *n, void *field);
int parse_text(struct pctx *c, const struct ynode *n, void *field);
int parse_options(struct pctx *c, const struct ynode *n, void *field);
int parse_old_master(struct pctx *c, const struct ynode *n, void *field);
int parse_bool(struct pctx *c, const struct ynode *n, void *field);
int parse_timeouts(struct pctx *c, const struct ynode *n, void *field);
int parse_canary(struct pctx *c, const struct ynode *n, void *field);
int parse_serial(struct pctx *c, const struct ynode *n, void *field);
int parse_mode(struct pctx *c, const struct ynode *n, void *field);
int parse_duration(struct pctx *c, const struct ynode *n, void *field);
int parse_positive_duration(struct pctx *c, const struct ynode *n, void *field);
int parse_approve(struct pctx *c, const struct ynode *n, void *field);
int parse_order(struct pctx *c, const struct ynode *n, void *field);
int parse_seed(struct pctx *c, const struct ynode *n, void *field);
int parse_positive(struct pctx *c, const struct ynode *n, void *field);
int parse_count(struct pctx *c, const struct ynode *n, void *field);
int parse_percent_limit(struct pctx *c, const struct ynode *n, void *field);
int parse_per(struct pctx *c, const struct ynode *n, void *field);
int parse_labels(struct pctx *c, const struct ynode *n, void *field);
int parse_vmhost(struct pctx *c, const struct ynode *n, void *field);
/* A list of alarm descriptions as the router prints them ("Host 0 fan tray failure"). */
int parse_alarm_names(struct pctx *c, const struct ynode *n, void *field);
/* checks: the built-in switches and tolerances, the test files, pre_check. */
int parse_check_builtin(struct pctx *c, const struct ynode *n, void *field);
int parse_check_files(struct pctx *c, const struct ynode *n, void *field);
int parse_pre_check(struct pctx *c, const struct ynode *n, void *field);
int parse_check_channels(struct pctx *c, const struct ynode *n, void *field);
int parse_days(struct pctx *c, const struct ynode *n, void *field);
int parse_hhmm(struct pctx *c, const struct ynode *n, void *field);
int parse_tz(struct pctx *c, const struct ynode *n, void *field);

/* Frees what parse_labels / parse_canary / parse_serial allocated. */
void labels_free(struct policy_labels *l);
void amount_free(struct policy_amount *a);

/*
 * The limits model the planner packs against. Every (constraint, value) pair, such as
 * (limits.per.site, "ams") or (limits.exclusive pair, "ams-core"), gets a slot id with a cap: how
 * many routers holding that value may be in flight at once. A host holds the slots of its values.
 */
struct limits_model {
  size_t nslots;
  unsigned *cap;      /* per slot */
  size_t *population; /* per slot: hosts of the run holding it */
  size_t *constraint; /* per slot: index into labels */
  char **value;       /* per slot: the value, as text */
  size_t nconstraints;
  char **labels;      /* per constraint: "limits.per.site", "limits.exclusive pair" */
  char **vars;        /* per constraint: the variable name, or "group" */
  size_t *host_first; /* per host position (+1): first index into host_slots */
  size_t *host_slots;
  unsigned max_parallel; /* 0 = none */
};

/* Builds the model for `hosts` (inventory indices, run order). Warns (into `warnings`) about hosts
 * that lack a limit's variable; fails when a variable is defined on none of them. */
int limits_build(struct limits_model *m, const struct policy *p, const struct inventory *inv,
                 const size_t *hosts, size_t nhosts, struct diag *d, char ***warnings,
                 size_t *nwarnings);
void limits_free(struct limits_model *m);

/*
 * The packing problem after the canary: `n` routers, by their positions in the model (run order),
 * each holding its slots; wave b may hold at most cap[b] routers (serial and max_parallel
 * together; the array has at least n entries, since no wave is ever empty). Waves are numbered
 * from 0, the first after the canary. `left` gives, per slot, how many of the n hold it.
 */
struct pack_problem {
  const struct limits_model *m;
  const size_t *pos;
  size_t n;
  const size_t *cap;
  const size_t *left;
};

/* The slots router i of the problem holds. */
static inline const size_t *pack_slots(const struct pack_problem *pp, size_t i, size_t *count)
{
  const struct limits_model *m = pp->m;
  size_t p = pp->pos[i];
  *count = m->host_first[p + 1] - m->host_first[p];
  /* No limits at all: host_slots is NULL, and NULL + 0 is undefined. */
  return *count ? m->host_slots + m->host_first[p] : NULL;
}

/* The fewest waves no plan can beat, and (when `why` is not NULL) which limit sets it, in words
 * (caller frees). */
size_t pack_bound(const struct pack_problem *pp, char **why);
/* Packs every router into a wave (wave_of, per router); returns the number of waves. `nominal`
 * (per router, may be NULL) is the wave the run order alone would give: routers are moved back
 * towards it where the limits allow. `bound` is pack_bound's. */
size_t pack_waves(const struct pack_problem *pp, size_t bound, const size_t *nominal,
                  size_t *wave_of);
/* The improvement and order passes (plan_passes.c) over a packing of `nwaves` waves; returns the
 * number of waves after them (never more). */
size_t pack_improve(const struct pack_problem *pp, size_t bound, const size_t *nominal,
                    size_t nwaves, size_t *wave_of);
/* The fewest waves, by exhaustive search (exponential: for small problems only); `upper` is a
 * known feasible count (pack_waves'). */
#define PACK_EXACT_MAX 20
size_t pack_exact(const struct pack_problem *pp, size_t bound, size_t upper);

#endif
