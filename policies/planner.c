/*
 * The planner: hosts in run order -> a canary wave, then waves sized by `serial`, packed so that
 * every wave can really run all its routers at once under the limits.
 *
 * Without limits the waves are exactly Ansible's batches for serial = [canary] + serial. With
 * limits, each wave is filled in two passes over the waiting hosts, in order: first the
 * "critical" ones, whose value (a site, a pair) has so many routers left that it alone needs as
 * many waves as the whole remainder (leave one of those out and the rollout gets a wave longer),
 * then everyone else. A host that does not fit stays waiting for the next wave, and the plan
 * records which limit deferred it from the wave Ansible's batching would have given it.
 *
 * The lower bound is what no schedule can beat under the same canary and limits: after the
 * canary, every value of every limit needs ceil(routers / cap) waves, and max_parallel needs
 * ceil(routers / max_parallel).
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

static bool critical(const struct packer *k, size_t pos, size_t bound)
{
  const struct limits_model *m = &k->m;
  for (size_t i = m->host_first[pos]; i < m->host_first[pos + 1]; i++) {
    size_t s = m->host_slots[i];
    if (div_up(k->left[s], m->cap[s]) >= bound)
      return true;
  }
  return false;
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

/* Lower bound, in waves, for the hosts still waiting, and which limit sets it. */
static size_t waves_needed(const struct packer *k, size_t waiting, size_t wave_cap, char **why)
{
  const struct limits_model *m = &k->m;
  size_t bound = waiting ? 1 : 0;
  if (why)
    *why = waiting ? xstrdup("no limit binds: the routers after the canary fit in one wave")
                   : xstrdup("the canary is the whole run");
  if (m->max_parallel && div_up(waiting, m->max_parallel) > bound) {
    bound = div_up(waiting, m->max_parallel);
    if (why) {
      free(*why);
      *why = xasprintf("limits.max_parallel: %zu routers after the canary, %u at a time", waiting,
                       m->max_parallel);
    }
  }
  if (wave_cap != SIZE_MAX && div_up(waiting, wave_cap) > bound && !why)
    bound = div_up(waiting, wave_cap);
  for (size_t s = 0; s < m->nslots; s++)
    if (div_up(k->left[s], m->cap[s]) > bound) {
      bound = div_up(k->left[s], m->cap[s]);
      if (why) {
        free(*why);
        *why = xasprintf("%s: %s=%s has %zu routers after the canary, %u at a time",
                         m->labels[m->constraint[s]], m->vars[m->constraint[s]], m->value[s],
                         k->left[s], m->cap[s]);
      }
    }
  return bound;
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

/* Fills one wave from the waiting list; returns the number of hosts taken. */
static size_t fill_wave(struct packer *k, size_t wave_index, size_t wave_cap, size_t waiting)
{
  if (!k->p->waves.pack)
    return take_batch(k, wave_index, waiting);
  size_t capacity = wave_cap < waiting ? wave_cap : waiting;
  if (k->m.max_parallel && capacity > k->m.max_parallel)
    capacity = k->m.max_parallel;
  struct plan_wave *w = new_wave(k->plan, capacity);
  memset(k->used, 0, k->m.nslots * sizeof *k->used);

  size_t bound = waves_needed(k, waiting, capacity, NULL);
  bool any_critical = false;
  for (size_t s = 0; s < k->m.nslots && !any_critical; s++)
    any_critical = div_up(k->left[s], k->m.cap[s]) >= bound && k->left[s] > 0;
  if (any_critical)
    for (size_t pos = k->head, nx; pos != k->n && w->nhosts < capacity; pos = nx) {
      nx = k->next[pos];
      size_t slot;
      if (critical(k, pos, bound) && check_fit(k, pos, w->nhosts, capacity, &slot) == FITS)
        take(k, pos, w);
    }
  /* Everyone else in order. Once the wave is full, go on only to record why hosts due in it
   * were deferred: skip those already recorded, and stop at the first host not due yet (hosts
   * are in batch order, so all after it are not due either). */
  for (size_t pos = k->head, nx; pos != k->n; pos = nx) {
    nx = k->next[pos];
    if (w->nhosts >= capacity && k->nominal[pos] > wave_index)
      break;
    if (w->nhosts >= capacity && k->recorded[pos])
      continue;
    size_t slot = 0;
    enum fit fit = check_fit(k, pos, w->nhosts, capacity, &slot);
    if (fit == FITS)
      take(k, pos, w);
    else if (k->nominal[pos] <= wave_index && !k->recorded[pos])
      defer(k, pos, describe(k, fit, slot, capacity));
  }
  return w->nhosts;
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

int plan_build(const struct policy *p, const struct inventory *inv, const bool *selected,
               struct plan *out, struct diag *d)
{
  memset(out, 0, sizeof *out);
  struct packer k = {.p = p, .inv = inv, .plan = out};
  k.hosts = xcalloc(inv->nhosts + 1, sizeof *k.hosts);
  for (size_t h = 0; h < inv->nhosts; h++)
    if (selected == NULL || selected[h])
      k.hosts[k.n++] = h;
  out->nhosts = k.n;
  size_t before = d->count;
  apply_order(p, inv, k.hosts, k.n);
  if (policy_check_inventory(p, inv, d) < 0 ||
      limits_build(&k.m, p, inv, k.hosts, k.n, d, &out->warnings, &out->nwarnings) < 0) {
    packer_free(&k);
    plan_free(out);
    return -EINVAL;
  }
  size_t slots = k.m.nslots + 1;
  k.nominal = xcalloc(k.n + 1, sizeof *k.nominal);
  k.left = xcalloc(slots, sizeof *k.left);
  k.used = xcalloc(slots, sizeof *k.used);
  k.holder = xcalloc(slots, sizeof *k.holder);
  k.next = xcalloc(k.n + 1, sizeof *k.next);
  k.prev = xcalloc(k.n + 1, sizeof *k.prev);
  k.recorded = xcalloc(k.n + 1, sizeof *k.recorded);
  for (size_t s = 0; s < k.m.nslots; s++)
    k.left[s] = k.m.population[s];
  for (size_t pos = 0; pos < k.n; pos++) {
    k.next[pos] = pos + 1;
    k.prev[pos] = pos ? pos - 1 : k.n;
  }
  k.head = k.n ? 0 : k.n;

  bool *is_canary = xcalloc(k.n + 1, sizeof *is_canary);
  size_t ncanary = 0;
  int rc = choose_canary(&k, is_canary, &ncanary, d);
  if (rc == 0) {
    nominal_batches(&k, is_canary, ncanary);
    size_t waiting = k.n - ncanary;
    char *why = NULL;
    size_t bound_waves = waves_needed(&k, waiting, SIZE_MAX, &why);
    out->bound_reason = why;
    for (size_t batch = 0; waiting > 0; batch++) {
      size_t taken = fill_wave(&k, out->nwaves, serial_size(p, batch, k.n), waiting);
      if (taken == 0) {
        diag_add(d, NULL, 0, 0, "internal error: the planner made no progress");
        rc = -EINVAL;
        break;
      }
      waiting -= taken;
    }
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
