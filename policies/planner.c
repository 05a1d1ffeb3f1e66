/*
 * The planner: hosts in run order -> a canary wave, then waves sized by `serial`, packed so that
 * every wave can really run all its routers at once under the limits, in as few waves as the
 * limits allow.
 *
 * This file holds the run order, the canary, Ansible's batches (what each router would get
 * without limits, so the plan can say who was moved and why), the unpacked mode, and the times.
 * The packing itself is plan_pack.c (most constrained first) and plan_passes.c (improvement and
 * order passes), the lower bound plan_bound.c, the exhaustive check for small fleets
 * plan_exact.c.
 */
#include "policies/policy_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct packer {
  const struct policy *p;
  const struct inventory *inv;
  struct limits_model m;
  size_t *hosts; /* inventory indices in run order */
  size_t n;
  size_t *nominal;     /* per position: Ansible's batch index */
  size_t *left;        /* per slot: waiting hosts holding it */
  unsigned *used;      /* per slot: hosts of the wave being filled */
  size_t *holder;      /* per slot: a host of the wave holding it, for messages */
  size_t *next, *prev; /* the waiting list, a linked list over positions; n = end */
  size_t head;
  bool *recorded; /* per position: deferral already recorded */
  struct plan *plan;
};

static size_t div_up(size_t a, size_t b)
{
  return b ? (a + b - 1) / b : 0;
}

/* Ansible's pct_to_int: a percentage of all hosts, rounded down, at least 1. */
static size_t amount_size(const struct policy_amount *a, size_t total)
{
  if (a->kind == AMOUNT_PERCENT) {
    size_t v = total * a->value / 100;
    return v ? v : 1;
  }
  return a->kind == AMOUNT_COUNT ? a->value : 0;
}

static size_t serial_size(const struct policy *p, size_t batch, size_t total)
{
  if (p->waves.serial.count == 0)
    return SIZE_MAX;
  size_t i = batch < p->waves.serial.count ? batch : p->waves.serial.count - 1;
  return amount_size(&p->waves.serial.items[i], total);
}

/* --- run order --- */

static const struct inventory *sort_inv;

static int by_name(const void *a, const void *b)
{
  return strcmp(sort_inv->hosts[*(const size_t *)a].name, sort_inv->hosts[*(const size_t *)b].name);
}

static uint64_t splitmix64(uint64_t *state)
{
  uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static void reverse(size_t *h, size_t n)
{
  for (size_t i = 0; i < n / 2; i++) {
    size_t t = h[i];
    h[i] = h[n - 1 - i];
    h[n - 1 - i] = t;
  }
}

static void apply_order(const struct policy *p, const struct inventory *inv, size_t *h, size_t n)
{
  switch (p->waves.order) {
  case ORDER_INVENTORY:
    return;
  case ORDER_SORTED:
  case ORDER_REVERSE_SORTED:
    sort_inv = inv;
    qsort(h, n, sizeof *h, by_name);
    sort_inv = NULL;
    if (p->waves.order == ORDER_REVERSE_SORTED)
      reverse(h, n);
    return;
  case ORDER_REVERSE_INVENTORY:
    reverse(h, n);
    return;
  case ORDER_SHUFFLE: {
    uint64_t state = p->waves.seed;
    for (size_t i = n; i > 1; i--) {
      size_t j = (size_t)(splitmix64(&state) % i);
      size_t t = h[i - 1];
      h[i - 1] = h[j];
      h[j] = t;
    }
    return;
  }
  }
}

/* --- the waiting list --- */

static void unlink_position(struct packer *k, size_t pos)
{
  if (k->prev[pos] != k->n)
    k->next[k->prev[pos]] = k->next[pos];
  else
    k->head = k->next[pos];
  if (k->next[pos] != k->n)
    k->prev[k->next[pos]] = k->prev[pos];
}

/* --- fitting --- */

enum fit { FITS, BLOCKED_PARALLEL, BLOCKED_SLOT, BLOCKED_FULL };

/* Whether the host at `pos` fits the wave being filled; on BLOCKED_SLOT, *slot says which. */
static enum fit check_fit(const struct packer *k, size_t pos, size_t in_wave, size_t wave_cap,
                          size_t *slot)
{
  const struct limits_model *m = &k->m;
  if (m->max_parallel && in_wave >= m->max_parallel)
    return BLOCKED_PARALLEL;
  for (size_t i = m->host_first[pos]; i < m->host_first[pos + 1]; i++)
    if (k->used[m->host_slots[i]] >= m->cap[m->host_slots[i]]) {
      *slot = m->host_slots[i];
      return BLOCKED_SLOT;
    }
  return in_wave >= wave_cap ? BLOCKED_FULL : FITS;
}

/* The words for a failed check_fit (caller frees). */
static char *describe(const struct packer *k, enum fit why, size_t s, size_t wave_cap)
{
  const struct limits_model *m = &k->m;
  switch (why) {
  case BLOCKED_PARALLEL:
    return xasprintf("limits.max_parallel: the wave already has %u routers", m->max_parallel);
  case BLOCKED_SLOT: {
    const char *label = m->labels[m->constraint[s]], *var = m->vars[m->constraint[s]];
    if (m->cap[s] == 1)
      return xasprintf("%s: %s=%s is already in the wave (%s)", label, var, m->value[s],
                       k->inv->hosts[k->holder[s]].name);
    return xasprintf("%s: %s=%s already has %u of %u in the wave", label, var, m->value[s],
                     k->used[s], m->cap[s]);
  }
  case BLOCKED_FULL:
    return xasprintf("the wave is full (%zu routers); routers with less room to wait went first",
                     wave_cap);
  case FITS:
    break;
  }
  return xstrdup("");
}

static void take(struct packer *k, size_t pos, struct plan_wave *w)
{
  const struct limits_model *m = &k->m;
  for (size_t i = m->host_first[pos]; i < m->host_first[pos + 1]; i++) {
    size_t s = m->host_slots[i];
    if (k->used[s]++ == 0)
      k->holder[s] = k->hosts[pos];
    k->left[s]--;
  }
  w->hosts[w->nhosts++] = k->hosts[pos];
  unlink_position(k, pos);
}

static struct plan_wave *new_wave(struct plan *plan, size_t capacity)
{
  plan->waves = xrealloc(plan->waves, (plan->nwaves + 1) * sizeof *plan->waves);
  struct plan_wave *w = &plan->waves[plan->nwaves];
  memset(w, 0, sizeof *w);
  w->hosts = xcalloc(capacity ? capacity : 1, sizeof *w->hosts);
  plan->nwaves++;
  return w;
}

static void defer(struct packer *k, size_t pos, char *reason)
{
  struct plan *plan = k->plan;
  plan->deferred = xrealloc(plan->deferred, (plan->ndeferred + 1) * sizeof *plan->deferred);
  plan->deferred[plan->ndeferred++] =
      (struct plan_deferral){k->hosts[pos], k->nominal[pos], reason};
  k->recorded[pos] = true;
}

/* Unpacked (waves.pack: false): the wave is Ansible's batch as it is. Its routers then wait
 * for each other at run time: it takes as many rounds as its most crowded limit needs. */
static size_t take_batch(struct packer *k, size_t wave_index, size_t waiting)
{
  struct plan_wave *w = new_wave(k->plan, waiting);
  memset(k->used, 0, k->m.nslots * sizeof *k->used);
  for (size_t pos = k->head, nx; pos != k->n && k->nominal[pos] <= wave_index; pos = nx) {
    nx = k->next[pos];
    take(k, pos, w);
  }
  size_t rounds = k->m.max_parallel ? div_up(w->nhosts, k->m.max_parallel) : 1;
  for (size_t s = 0; s < k->m.nslots; s++)
    if (div_up(k->used[s], k->m.cap[s]) > rounds)
      rounds = div_up(k->used[s], k->m.cap[s]);
  w->rounds = rounds ? (unsigned)rounds : 1;
  return w->nhosts;
}

/* --- packed waves --- */

/* The waiting routers (after the canary) as a packing problem; the caller frees pos and cap. */
static void pack_setup(const struct packer *k, struct pack_problem *pp, size_t **pos_out,
                       size_t **cap_out)
{
  size_t *pos = xcalloc(k->n + 1, sizeof *pos), *cap = xcalloc(k->n + 1, sizeof *cap), n = 0;
  *pos_out = pos;
  *cap_out = cap;
  for (size_t p = k->head; p != k->n; p = k->next[p])
    pos[n++] = p;
  for (size_t b = 0; b < n; b++) {
    cap[b] = serial_size(k->p, b, k->n);
    if (k->m.max_parallel && cap[b] > k->m.max_parallel)
      cap[b] = k->m.max_parallel;
    if (cap[b] > n) /* no serial: one wave could hold them all */
      cap[b] = n;
  }
  *pp = (struct pack_problem){.m = &k->m, .pos = pos, .n = n, .cap = cap, .left = k->left};
}

/* Adds (+1) or removes (-1) the slots of the routers of plan wave `w` to k->used; `pos_of` maps
 * an inventory index to its run position. */
static void count_wave(struct packer *k, const struct plan_wave *w, const size_t *pos_of, int delta)
{
  const struct limits_model *m = &k->m;
  for (size_t j = 0; j < w->nhosts; j++) {
    size_t p = pos_of[w->hosts[j]];
    for (size_t x = m->host_first[p]; x < m->host_first[p + 1]; x++) {
      size_t s = m->host_slots[x];
      if (delta > 0 && k->used[s]++ == 0)
        k->holder[s] = k->hosts[p];
      else if (delta < 0)
        k->used[s]--;
    }
  }
}

/* Records, for every router packed later than Ansible's batch, why its batch's wave could not
 * take it: the waves as finally packed, checked one batch at a time. */
static void record_deferrals(struct packer *k, const struct pack_problem *pp, const size_t *wave_of,
                             const size_t *nominal, size_t first)
{
  memset(k->used, 0, k->m.nslots * sizeof *k->used); /* the canary's counts */
  size_t *pos_of = xcalloc(k->inv->nhosts + 1, sizeof *pos_of);
  for (size_t p = 0; p < k->n; p++)
    pos_of[k->hosts[p]] = p;
  for (size_t i = 0, end; i < pp->n; i = end) {
    size_t b = nominal[i];
    bool late = false;
    for (end = i; end < pp->n && nominal[end] == b; end++)
      late = late || wave_of[end] > b;
    if (!late || b + first >= k->plan->nwaves)
      continue;
    const struct plan_wave *w = &k->plan->waves[b + first];
    count_wave(k, w, pos_of, +1);
    for (size_t j = i; j < end; j++) {
      if (wave_of[j] <= b)
        continue;
      size_t slot = 0;
      enum fit fit = check_fit(k, pp->pos[j], w->nhosts, pp->cap[b], &slot);
      /* FITS only when the passes were skipped for size: the fill chose busier routers. */
      defer(k, pp->pos[j], describe(k, fit == FITS ? BLOCKED_FULL : fit, slot, w->nhosts));
    }
    count_wave(k, w, pos_of, -1);
  }
  free(pos_of);
}

/* Packs the waiting routers into waves; returns the number of waves. */
static size_t pack(struct packer *k, const struct pack_problem *pp, size_t bound)
{
  size_t first = k->plan->nwaves;
  size_t *nominal = xcalloc(pp->n + 1, sizeof *nominal);
  size_t *wave_of = xcalloc(pp->n + 1, sizeof *wave_of);
  for (size_t i = 0; i < pp->n; i++)
    nominal[i] = k->nominal[pp->pos[i]] - first;
  size_t nwaves = pack_waves(pp, bound, nominal, wave_of);
  size_t *size = xcalloc(nwaves + 1, sizeof *size);
  for (size_t i = 0; i < pp->n; i++)
    size[wave_of[i]]++;
  for (size_t b = 0; b < nwaves; b++)
    new_wave(k->plan, size[b]);
  /* In run order within each wave. */
  for (size_t i = 0; i < pp->n; i++) {
    struct plan_wave *w = &k->plan->waves[first + wave_of[i]];
    w->hosts[w->nhosts++] = k->hosts[pp->pos[i]];
  }
  record_deferrals(k, pp, wave_of, nominal, first);
  free(size);
  free(nominal);
  free(wave_of);
  return nwaves;
}

/* Ansible's batch index for every position: [canary] + serial over all hosts. */
static void nominal_batches(struct packer *k, const bool *is_canary, size_t ncanary)
{
  const struct policy *p = k->p;
  size_t batch = 0, filled = 0, first = ncanary ? 1 : 0;
  size_t size = serial_size(p, 0, k->n);
  for (size_t pos = 0; pos < k->n; pos++) {
    if (is_canary[pos]) {
      k->nominal[pos] = 0;
      continue;
    }
    if (filled == size) {
      batch++;
      filled = 0;
      size = serial_size(p, batch, k->n);
    }
    k->nominal[pos] = first + batch;
    filled++;
  }
}

/* Picks the canary wave: the named hosts, or the first N in order that fit together. */
static int choose_canary(struct packer *k, bool *is_canary, size_t *ncanary, struct diag *d)
{
  const struct policy *p = k->p;
  const struct policy_amount *c = &p->waves.canary;
  if (c->kind == AMOUNT_NONE)
    return 0;
  size_t before = d->count;
  size_t want = c->kind == AMOUNT_HOSTS ? c->nhosts : amount_size(c, k->n);
  if (want > k->n)
    want = k->n;
  memset(k->used, 0, k->m.nslots * sizeof *k->used);
  struct plan_wave *w = new_wave(k->plan, want);
  for (size_t pos = 0; pos < k->n && w->nhosts < want; pos++) {
    bool named = c->kind != AMOUNT_HOSTS;
    for (size_t i = 0; !named && i < c->nhosts; i++)
      named = strcmp(c->hosts[i], k->inv->hosts[k->hosts[pos]].name) == 0;
    if (!named)
      continue;
    size_t slot = 0;
    enum fit fit = check_fit(k, pos, w->nhosts, want, &slot);
    if (fit == FITS) {
      is_canary[pos] = true;
      take(k, pos, w);
    } else if (c->kind == AMOUNT_HOSTS) {
      char *why = describe(k, fit, slot, want);
      diag_add(d, p->file, c->line, c->col,
               "waves.canary: host '%s' cannot run together with the other canaries (%s)",
               k->inv->hosts[k->hosts[pos]].name, why);
      free(why);
    }
  }
  if (c->kind == AMOUNT_HOSTS && w->nhosts < c->nhosts && d->count == before)
    diag_add(d, p->file, c->line, c->col,
             "waves.canary: %zu of the named canaries are not among the hosts of this run "
             "(check --limit)",
             c->nhosts - w->nhosts);
  else if (w->nhosts < want && d->count == before)
    diag_add(d, p->file, c->line, c->col,
             "waves.canary: only %zu of %zu canary routers can run at once under the limits "
             "(expected a smaller canary or looser limits)",
             w->nhosts, want);
  *ncanary = w->nhosts;
  return d->count > before ? -EINVAL : 0;
}

static bool approved(const struct policy *p, const char *wave_name)
{
  for (size_t i = 0; i < p->waves.approve.count; i++) {
    const char *a = p->waves.approve.items[i].name;
    if (strcmp(a, "all") == 0 || strcmp(a, wave_name) == 0)
      return true;
  }
  return false;
}

static void add_warning(struct plan *plan, char *msg)
{
  plan->warnings = xrealloc(plan->warnings, (plan->nwarnings + 1) * sizeof *plan->warnings);
  plan->warnings[plan->nwarnings++] = msg;
}

/* Names the waves, marks approval gates, and works out the expected times. */
static void finish(struct packer *k, size_t ncanary, size_t canary_bound_waves)
{
  const struct policy *p = k->p;
  struct plan *plan = k->plan;
  uint64_t e = p->estimate_s, soak = p->waves.soak_s, t = 0;
  for (size_t i = 0; i < plan->nwaves; i++) {
    struct plan_wave *w = &plan->waves[i];
    size_t number = ncanary ? i : i + 1;
    w->name = ncanary && i == 0 ? xstrdup("canary") : xasprintf("wave-%zu", number);
    w->approve = approved(p, w->name);
    w->start_s = t;
    w->end_s = t + e * (w->rounds ? w->rounds : 1);
    bool soak_after = i + 1 < plan->nwaves && (p->waves.mode == MODE_WAVES || (ncanary && i == 0));
    t = w->end_s + (soak_after ? soak : 0);
  }
  plan->makespan_s = plan->nwaves ? plan->waves[plan->nwaves - 1].end_s : 0;

  size_t w = canary_bound_waves;
  uint64_t lb = 0;
  if (ncanary)
    lb += e + (w ? soak : 0);
  if (w)
    lb += w * e + (p->waves.mode == MODE_WAVES ? (w - 1) * soak : 0);
  plan->lower_bound_s = lb;

  if (p->window.set) {
    unsigned length_min = (p->window.end_min + 1440 - p->window.start_min) % 1440;
    if (plan->makespan_s > (uint64_t)length_min * 60) {
      char span[32], len[32];
      text_duration(plan->makespan_s, span, sizeof span);
      text_duration((uint64_t)length_min * 60, len, sizeof len);
      add_warning(plan, xasprintf("the plan takes %s, longer than one maintenance window (%s): "
                                  "no router starts outside the window, so the run spans "
                                  "several windows",
                                  span, len));
    }
  }
  for (size_t i = 0; i < p->waves.approve.count; i++) {
    const char *a = p->waves.approve.items[i].name;
    bool found = strcmp(a, "all") == 0;
    for (size_t j = 0; j < plan->nwaves && !found; j++)
      found = strcmp(plan->waves[j].name, a) == 0;
    if (!found)
      add_warning(plan, xasprintf("waves.approve: '%s' is not a wave of this plan (%zu waves)", a,
                                  plan->nwaves));
  }
}

static void packer_free(struct packer *k)
{
  limits_free(&k->m);
  free(k->hosts);
  free(k->nominal);
  free(k->left);
  free(k->used);
  free(k->holder);
  free(k->next);
  free(k->prev);
  free(k->recorded);
}

/* Selects, orders and models the hosts of the run; fails on an empty run or bad limits. */
static int packer_init(struct packer *k, const struct policy *p, const struct inventory *inv,
                       const bool *selected, struct plan *out, struct diag *d)
{
  memset(out, 0, sizeof *out);
  *k = (struct packer){.p = p, .inv = inv, .plan = out};
  k->hosts = xcalloc(inv->nhosts + 1, sizeof *k->hosts);
  for (size_t h = 0; h < inv->nhosts; h++)
    if (selected == NULL || selected[h])
      k->hosts[k->n++] = h;
  out->nhosts = k->n;
  if (k->n == 0) {
    /* An empty plan would "succeed" in no time: say so instead. */
    if (selected == NULL)
      diag_add(d, inv->file, 0, 0, "the inventory has no hosts (expected at least one router)");
    else
      diag_add(d, inv->file, 0, 0, "the selection leaves no host to work on");
    return -EINVAL;
  }
  apply_order(p, inv, k->hosts, k->n);
  if (policy_check_inventory(p, inv, d) < 0 ||
      limits_build(&k->m, p, inv, k->hosts, k->n, d, &out->warnings, &out->nwarnings) < 0)
    return -EINVAL;
  size_t slots = k->m.nslots + 1;
  k->nominal = xcalloc(k->n + 1, sizeof *k->nominal);
  k->left = xcalloc(slots, sizeof *k->left);
  k->used = xcalloc(slots, sizeof *k->used);
  k->holder = xcalloc(slots, sizeof *k->holder);
  k->next = xcalloc(k->n + 1, sizeof *k->next);
  k->prev = xcalloc(k->n + 1, sizeof *k->prev);
  k->recorded = xcalloc(k->n + 1, sizeof *k->recorded);
  for (size_t s = 0; s < k->m.nslots; s++)
    k->left[s] = k->m.population[s];
  for (size_t pos = 0; pos < k->n; pos++) {
    k->next[pos] = pos + 1;
    k->prev[pos] = pos ? pos - 1 : k->n;
  }
  k->head = 0;
  return 0;
}

int plan_build(const struct policy *p, const struct inventory *inv, const bool *selected,
               struct plan *out, struct diag *d)
{
  struct packer k;
  size_t before = d->count;
  if (packer_init(&k, p, inv, selected, out, d) < 0) {
    packer_free(&k);
    plan_free(out);
    return -EINVAL;
  }

  bool *is_canary = xcalloc(k.n + 1, sizeof *is_canary);
  size_t ncanary = 0;
  int rc = choose_canary(&k, is_canary, &ncanary, d);
  if (rc == 0) {
    nominal_batches(&k, is_canary, ncanary);
    struct pack_problem pp;
    size_t *pos, *cap;
    pack_setup(&k, &pp, &pos, &cap);
    size_t bound_waves = pack_bound(&pp, &out->bound_reason);
    if (p->waves.pack)
      pack(&k, &pp, bound_waves);
    else
      for (size_t waiting = pp.n; waiting > 0;)
        waiting -= take_batch(&k, out->nwaves, waiting);
    free(pos);
    free(cap);
    finish(&k, ncanary, bound_waves);
  }
  free(is_canary);
  packer_free(&k);
  if (rc < 0 || d->count > before) {
    plan_free(out);
    return -EINVAL;
  }
  return 0;
}

void plan_free(struct plan *plan)
{
  for (size_t i = 0; i < plan->nwaves; i++) {
    free(plan->waves[i].name);
    free(plan->waves[i].hosts);
  }
  free(plan->waves);
  for (size_t i = 0; i < plan->ndeferred; i++)
    free(plan->deferred[i].reason);
  free(plan->deferred);
  for (size_t i = 0; i < plan->nwarnings; i++)
    free(plan->warnings[i]);
  free(plan->warnings);
  free(plan->bound_reason);
  memset(plan, 0, sizeof *plan);
}

cJSON *plan_to_json(const struct plan *plan, const struct inventory *inv)
{
  cJSON *root = cJSON_CreateObject();
  cJSON *waves = cJSON_AddArrayToObject(root, "waves");
  for (size_t i = 0; i < plan->nwaves; i++) {
    const struct plan_wave *w = &plan->waves[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", (double)i);
    cJSON_AddStringToObject(o, "name", w->name);
    cJSON *hosts = cJSON_AddArrayToObject(o, "hosts");
    for (size_t j = 0; j < w->nhosts; j++)
      cJSON_AddItemToArray(hosts, cJSON_CreateString(inv->hosts[w->hosts[j]].name));
    cJSON_AddNumberToObject(o, "start_s", (double)w->start_s);
    cJSON_AddNumberToObject(o, "end_s", (double)w->end_s);
    cJSON_AddBoolToObject(o, "approve", w->approve);
    cJSON_AddNumberToObject(o, "rounds", w->rounds ? w->rounds : 1);
    cJSON_AddItemToArray(waves, o);
  }
  cJSON_AddNumberToObject(root, "makespan_s", (double)plan->makespan_s);
  cJSON_AddNumberToObject(root, "lower_bound_s", (double)plan->lower_bound_s);
  cJSON_AddStringToObject(root, "lower_bound_reason", plan->bound_reason ? plan->bound_reason : "");
  cJSON *deferred = cJSON_AddArrayToObject(root, "deferred");
  for (size_t i = 0; i < plan->ndeferred; i++) {
    const struct plan_deferral *df = &plan->deferred[i];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "host", inv->hosts[df->host].name);
    cJSON_AddNumberToObject(o, "from_wave", (double)df->from_wave);
    cJSON_AddStringToObject(o, "reason", df->reason);
    cJSON_AddItemToArray(deferred, o);
  }
  cJSON *warnings = cJSON_AddArrayToObject(root, "warnings");
  for (size_t i = 0; i < plan->nwarnings; i++)
    cJSON_AddItemToArray(warnings, cJSON_CreateString(plan->warnings[i]));
  return root;
}

int plan_exact_waves(const struct policy *p, const struct inventory *inv, const bool *selected,
                     const struct plan *plan, size_t *waves, struct diag *d)
{
  struct plan scratch;
  struct packer k;
  int rc = packer_init(&k, p, inv, selected, &scratch, d);
  size_t ncanary = 0;
  if (rc == 0 && plan->nwaves > 0 && strcmp(plan->waves[0].name, "canary") == 0) {
    /* The plan's own canary: the search is over the waves after it. */
    struct plan_wave *w = new_wave(&scratch, plan->waves[0].nhosts);
    for (size_t i = 0; i < plan->waves[0].nhosts; i++)
      for (size_t pos = 0; pos < k.n; pos++)
        if (k.hosts[pos] == plan->waves[0].hosts[i])
          take(&k, pos, w);
    ncanary = w->nhosts;
  }
  struct pack_problem pp;
  size_t *pos = NULL, *cap = NULL;
  if (rc == 0) {
    pack_setup(&k, &pp, &pos, &cap);
    if (pp.n > PACK_EXACT_MAX)
      rc = -ERANGE;
  }
  if (rc == 0) {
    size_t *wave_of = xcalloc(pp.n + 1, sizeof *wave_of);
    size_t bound = pack_bound(&pp, NULL);
    size_t upper = pack_waves(&pp, bound, NULL, wave_of);
    *waves = (ncanary ? 1 : 0) + pack_exact(&pp, bound, upper);
    free(wave_of);
  }
  free(pos);
  free(cap);
  packer_free(&k);
  plan_free(&scratch);
  return rc;
}
