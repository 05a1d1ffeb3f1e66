/*
 * bench_plan: how long planning takes for a large fleet, stage by stage.
 *
 * Generates an Ansible inventory of N routers (100 per site, sites in 4 regions, routers in
 * redundant pairs) as YAML text, then times: parsing the inventory, parsing the policy, and
 * building the plan under site, region and pair limits. Each stage runs REPEAT times; the median
 * wall and CPU times are printed, with the ratio to the 1-second target for the whole plan.
 *
 * Usage: bench_plan [ROUTERS] [REPEAT]      (defaults 10000 and 5)
 *
 * bench_plan random ROUTERS FLEETS [FIRST]: FLEETS random fleets of ROUTERS routers each
 * (bench/plan/random_fleet.h, seeds FIRST.., 1 by default): how many waves the plan has over the
 * lower bound (a distribution), how often the planner refused a canary, and the planning time
 * (median and worst). Exits 1 when the worst plan takes 1 s or more.
 */
#include "bench/plan/random_fleet.h"
#include "policies/policies.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(clockid_t clock)
{
  struct timespec ts;
  clock_gettime(clock, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int by_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
  qsort(v, n, sizeof *v, by_double);
  return v[n / 2];
}

static char *fleet_yaml(size_t routers)
{
  static const char *const regions[] = {"eu", "us", "apac", "latam"};
  char *y = NULL;
  size_t len = 0, cap = 0;
  text_appendf(&y, &len, &cap, "all:\n  vars: {ansible_user: netops}\n  children:\n");
  size_t sites = (routers + 99) / 100;
  for (size_t s = 0; s < sites; s++) {
    text_appendf(&y, &len, &cap,
                 "    site_%03zu:\n      vars: {site: s%03zu, region: %s}\n      hosts:\n", s, s,
                 regions[s % 4]);
    for (size_t r = 0; r < 100 && s * 100 + r < routers; r++)
      text_appendf(&y, &len, &cap,
                   "        mx-%03zu-%02zu: {ansible_host: 10.%zu.%zu.%zu, pair: s%03zu-p%02zu}\n",
                   s, r, s / 256, s % 256, r + 1, s, r / 2);
  }
  return y;
}

static const char policy_yaml[] =
    "target: {version: 23.4R2-S3.7, package: /var/tmp/junos-install-mx-x86-64-23.4R2-S3.7.tgz}\n"
    "waves: {canary: 1, serial: [10, \"5%\"], soak: 15m}\n"
    "limits:\n  max_parallel: 400\n  per: {site: 2, region: \"25%\"}\n  exclusive: [pair]\n";

/* Random fleets: waves over the bound, and planning time. */
static int random_fleets(size_t routers, size_t fleets, uint64_t first)
{
  size_t over[4] = {0}, refused = 0, planned = 0, worst_over = 0;
  double *t = xcalloc(fleets + 1, sizeof *t), worst = 0;
  for (uint64_t seed = first; seed < first + fleets; seed++) {
    struct random_fleet f;
    random_fleet_make(&f, seed, routers, routers / 20 + 1, 4);
    struct diag d = {0};
    struct inventory *inv = NULL;
    struct policy *p = NULL;
    struct plan plan = {0};
    if (inventory_load_buffer("random.yaml", f.inventory, strlen(f.inventory), &inv, &d) < 0 ||
        policy_load_buffer("policy.yaml", f.policy, strlen(f.policy), &p, &d) < 0) {
      diag_print(&d, stderr);
      return 1;
    }
    /* CPU time: the bench machine is shared, and planning is one thread that never waits. */
    double w0 = now(CLOCK_PROCESS_CPUTIME_ID);
    int rc = plan_build(p, inv, NULL, &plan, &d);
    double w1 = now(CLOCK_PROCESS_CPUTIME_ID);
    if (getenv("BENCH_PLAN_SHOW") && w1 - w0 > 0.5)
      fprintf(stderr, "seed %llu: planning took %.2f s, %zu waves\n", (unsigned long long)seed,
              w1 - w0, plan.nwaves);
    if (rc == 0) {
      t[planned++] = w1 - w0;
      worst = w1 - w0 > worst ? w1 - w0 : worst;
      /* soak is 0 in these policies: the times count waves. */
      size_t bound = (size_t)(plan.lower_bound_s / p->estimate_s), extra = plan.nwaves - bound;
      over[extra < 3 ? extra : 3]++;
      worst_over = extra > worst_over ? extra : worst_over;
      if (extra > 0 && getenv("BENCH_PLAN_SHOW"))
        fprintf(stderr, "seed %llu: %zu waves, bound %zu (%s)\n", (unsigned long long)seed,
                plan.nwaves, bound, plan.bound_reason);
      plan_free(&plan);
    } else
      refused++;
    diag_free(&d);
    policy_free(p);
    inventory_free(inv);
    random_fleet_free(&f);
  }
  double med = planned ? median(t, planned) : 0;
  printf("random fleets of %zu routers: %zu planned, %zu refused (canary cannot run together)\n",
         routers, planned, refused);
  printf("  waves over the lower bound: 0 on %zu, 1 on %zu, 2 on %zu, 3+ on %zu (worst %zu)\n",
         over[0], over[1], over[2], over[3], worst_over);
  printf("  planning CPU time: median %.2f ms, worst %.2f ms (target: under 1 s)\n", med * 1e3,
         worst * 1e3);
  free(t);
  return worst < 1.0 ? 0 : 1;
}

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "random") == 0) {
    size_t routers = argc > 2 ? strtoul(argv[2], NULL, 10) : 1000;
    size_t fleets = argc > 3 ? strtoul(argv[3], NULL, 10) : 100;
    if (routers == 0 || fleets == 0) {
      fprintf(stderr, "usage: bench_plan random ROUTERS FLEETS\n");
      return 2;
    }
    uint64_t first = argc > 4 ? strtoull(argv[4], NULL, 10) : 1;
    return random_fleets(routers, fleets, first ? first : 1);
  }
  size_t routers = argc > 1 ? strtoul(argv[1], NULL, 10) : 10000;
  size_t repeat = argc > 2 ? strtoul(argv[2], NULL, 10) : 5;
  if (routers == 0 || repeat == 0 || repeat > 100) {
    fprintf(stderr, "usage: bench_plan [ROUTERS] [REPEAT]\n");
    return 2;
  }
  char *yaml = fleet_yaml(routers);
  double *t_inv = xcalloc(repeat, sizeof(double)), *t_pol = xcalloc(repeat, sizeof(double));
  double *t_plan = xcalloc(repeat, sizeof(double)), *c_all = xcalloc(repeat, sizeof(double));
  struct plan plan = {0};
  for (size_t i = 0; i < repeat; i++) {
    struct diag d = {0};
    struct inventory *inv = NULL;
    struct policy *p = NULL;
    double c0 = now(CLOCK_PROCESS_CPUTIME_ID), w0 = now(CLOCK_MONOTONIC);
    if (inventory_load_buffer("bench.yaml", yaml, strlen(yaml), &inv, &d) < 0)
      goto fail;
    double w1 = now(CLOCK_MONOTONIC);
    if (policy_load_buffer("policy.yaml", policy_yaml, strlen(policy_yaml), &p, &d) < 0)
      goto fail;
    double w2 = now(CLOCK_MONOTONIC);
    plan_free(&plan);
    if (plan_build(p, inv, NULL, &plan, &d) < 0)
      goto fail;
    double w3 = now(CLOCK_MONOTONIC), c3 = now(CLOCK_PROCESS_CPUTIME_ID);
    t_inv[i] = w1 - w0;
    t_pol[i] = w2 - w1;
    t_plan[i] = w3 - w2;
    c_all[i] = c3 - c0;
    policy_free(p);
    inventory_free(inv);
    continue;
  fail:
    diag_print(&d, stderr);
    return 1;
  }
  double inv_s = median(t_inv, repeat), pol_s = median(t_pol, repeat);
  double plan_s = median(t_plan, repeat), cpu_s = median(c_all, repeat);
  double total = inv_s + pol_s + plan_s;
  printf("routers %zu, waves %zu, makespan/lower bound %.3f\n", routers, plan.nwaves,
         plan.lower_bound_s ? (double)plan.makespan_s / (double)plan.lower_bound_s : 1.0);
  printf("inventory parse %.1f ms, policy parse %.2f ms, planning %.1f ms, total %.1f ms "
         "(CPU %.1f ms), median of %zu\n",
         inv_s * 1e3, pol_s * 1e3, plan_s * 1e3, total * 1e3, cpu_s * 1e3, repeat);
  printf("ratio to the 1 s target: %.3f\n", total / 1.0);
  plan_free(&plan);
  free(yaml);
  free(t_inv);
  free(t_pol);
  free(t_plan);
  free(c_all);
  return total < 1.0 ? 0 : 1;
}
