/*
 * issu-fleet plan: what would happen, before anything happens. Reads the inventory and the
 * policy, builds the waves, and prints them (a table, or JSON with --json). Touches no router.
 */
#include "cli/cli.h"
#include "policies/policies.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

struct plan_args {
  struct cli_fleet_args fleet;
  bool json;
};

static void offset(uint64_t s, char *buf, size_t len)
{
  snprintf(buf, len, "+%llu:%02llu", (unsigned long long)(s / 3600),
           (unsigned long long)(s % 3600 / 60));
}

/* Host names after a fixed-width prefix, wrapped to stay readable in an 100-column terminal. */
static void print_hosts(const struct plan_wave *w, const struct inventory *inv, size_t indent)
{
  size_t col = indent;
  for (size_t i = 0; i < w->nhosts; i++) {
    const char *name = inv->hosts[w->hosts[i]].name;
    size_t len = strlen(name) + 1;
    if (col + len > 100 && col > indent) {
      printf("\n%*s", (int)indent, "");
      col = indent;
    }
    printf("%s%s", name, i + 1 < w->nhosts ? " " : "");
    col += len;
  }
  printf("%s\n", w->approve ? "  [waits for approval]" : "");
}

static void print_limits(const struct policy *p)
{
  printf("  limits: ");
  bool any = false;
  if (p->limits.max_parallel) {
    printf("max_parallel %u", p->limits.max_parallel);
    any = true;
  }
  for (size_t i = 0; i < p->limits.per.count; i++) {
    const struct policy_per *e = &p->limits.per.items[i];
    printf("%sper %s %u%s", any ? ", " : "", e->var, e->value,
           e->kind == AMOUNT_PERCENT ? "%" : "");
    any = true;
  }
  for (size_t i = 0; i < p->limits.exclusive.count; i++) {
    printf("%sexclusive %s", any ? ", " : "", p->limits.exclusive.items[i].name);
    any = true;
  }
  printf("%s\n", any ? "" : "none");
}

static void print_text(const struct plan_args *a, const struct policy *p,
                       const struct inventory *inv, const struct plan *plan)
{
  static const char *const modes[] = {"waves", "rolling"};
  static const char *const orders[] = {"inventory", "reverse_inventory", "sorted", "reverse_sorted",
                                       "shuffle"};
  char est[32], soak[32], span[32], bound[32];
  text_duration(p->estimate_s, est, sizeof est);
  text_duration(p->waves.soak_s, soak, sizeof soak);
  text_duration(plan->makespan_s, span, sizeof span);
  text_duration(plan->lower_bound_s, bound, sizeof bound);
  printf("Plan: %zu routers in %zu waves (%s, %s)\n", plan->nhosts, plan->nwaves,
         a->fleet.inventory, a->fleet.policy);
  printf("  target %s, mode %s, order %s, estimate %s per router, soak %s\n", p->target.version,
         modes[p->waves.mode], orders[p->waves.order], est, soak);
  print_limits(p);
  printf("\n%-9s %7s  %-7s %-7s %s\n", "WAVE", "ROUTERS", "START", "END", "HOSTS");
  for (size_t i = 0; i < plan->nwaves; i++) {
    const struct plan_wave *w = &plan->waves[i];
    char s[24], e[24];
    offset(w->start_s, s, sizeof s);
    offset(w->end_s, e, sizeof e);
    printf("%-9s %7zu  %-7s %-7s ", w->name, w->nhosts, s, e);
    print_hosts(w, inv, 34);
  }
  if (plan->ndeferred > 0) {
    size_t *wave_of = xcalloc(inv->nhosts + 1, sizeof *wave_of);
    for (size_t i = 0; i < plan->nwaves; i++)
      for (size_t j = 0; j < plan->waves[i].nhosts; j++)
        wave_of[plan->waves[i].hosts[j]] = i;
    /* A summary per limit, then the first rows: the whole list is in --json. */
    printf("\nMoved to a later wave by the limits: %zu routers\n", plan->ndeferred);
    for (size_t i = 0; i < plan->ndeferred; i++) {
      const char *r = plan->deferred[i].reason;
      size_t len = strcspn(r, ":(");
      bool seen = false;
      for (size_t j = 0; j < i && !seen; j++)
        seen = strncmp(plan->deferred[j].reason, r, len) == 0 &&
               strcspn(plan->deferred[j].reason, ":(") == len;
      if (seen)
        continue;
      size_t count = 0;
      for (size_t j = i; j < plan->ndeferred; j++)
        count += strncmp(plan->deferred[j].reason, r, len) == 0 &&
                 strcspn(plan->deferred[j].reason, ":(") == len;
      printf("  %3zu by %.*s\n", count, (int)len, r);
    }
    size_t shown = plan->ndeferred < 10 ? plan->ndeferred : 10;
    for (size_t i = 0; i < shown; i++) {
      const struct plan_deferral *df = &plan->deferred[i];
      size_t from = df->from_wave < plan->nwaves ? df->from_wave : plan->nwaves - 1;
      printf("  %-14s %s -> %s: %s\n", inv->hosts[df->host].name, plan->waves[from].name,
             plan->waves[wave_of[df->host]].name, df->reason);
    }
    if (shown < plan->ndeferred)
      printf("  ... and %zu more (--json lists them all)\n", plan->ndeferred - shown);
    free(wave_of);
  }
  double ratio = plan->lower_bound_s ? (double)plan->makespan_s / (double)plan->lower_bound_s : 1.0;
  printf("\nExpected makespan %s; lower bound %s (ratio %.2f)\n", span, bound, ratio);
  if (plan->bound_reason)
    printf("  the bound comes from %s\n", plan->bound_reason);
  for (size_t i = 0; i < plan->nwarnings; i++)
    printf("warning: %s\n", plan->warnings[i]);
}

static int parse_args(int argc, char **argv, struct plan_args *a, int *exit_code)
{
  static const struct option options[] = {
      CLI_FLEET_OPTIONS,
      {"json", no_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":" CLI_FLEET_SHORT "h", options, NULL)) != -1) {
    if (cli_fleet_option(&a->fleet, opt, optarg))
      continue;
    switch (opt) {
    case 'j':
      a->json = true;
      break;
    default:
      *exit_code = cli_option_other("plan", opt, argv);
      return -1;
    }
  }
  int rc = cli_require_files("plan", argc, argv, a->fleet.inventory, a->fleet.policy);
  if (rc == 0)
    return 0;
  *exit_code = rc;
  return -1;
}

int cmd_plan(int argc, char **argv)
{
  struct plan_args a = {0};
  int rc = ISSU_EXIT_USAGE;
  if (parse_args(argc, argv, &a, &rc) < 0)
    return rc;

  struct diag d = {0};
  struct cli_fleet f = {0};
  if (cli_load_plan(&a.fleet, &f, &d) < 0)
    goto out;
  rc = ISSU_EXIT_OK;
  if (a.json) {
    cJSON *json = plan_to_json(&f.plan, f.inv);
    char *text = cJSON_PrintUnformatted(json);
    if (text)
      printf("%s\n", text);
    else
      rc = ISSU_EXIT_INTERNAL;
    free(text);
    cJSON_Delete(json);
    for (size_t i = 0; i < f.plan.nwarnings; i++)
      fprintf(stderr, "warning: %s\n", f.plan.warnings[i]);
  } else
    print_text(&a, f.p, f.inv, &f.plan);
out:
  diag_print(&d, stderr);
  diag_free(&d);
  cli_fleet_free(&f);
  return rc;
}
