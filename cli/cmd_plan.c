/*
 * issu-fleet plan: what would happen, before anything happens. Reads the inventory and the
 * policy, builds the waves, and prints them (a table, or JSON with --json). Touches no router;
 * asks OpenSSH (`ssh -G`) how each router is reached, and says where each setting came from:
 * a summary line by default, every router with --sources.
 */
#include "cli/cli.h"
#include "policies/policies.h"
#include "scheduler/scheduler.h"
#include "transport/transport.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

struct plan_args {
  struct cli_fleet_args fleet;
  bool json;
  bool sources; /* --sources: every router's connection settings and where each came from */
};

/* The settings plan explains, in the order it prints them. */
static const char *const field_names[TARGET_FIELDS] = {
    [TARGET_HOST] = "host",
    [TARGET_PORT] = "port",
    [TARGET_USER] = "user",
    [TARGET_KEY] = "key",
    [TARGET_KNOWN_HOSTS] = "known_hosts",
    [TARGET_JUMP] = "jump",
    [TARGET_OTHER] = "other",
};
static const char *const source_names[] = {
    [TARGET_FROM_DEFAULT] = "default",
    [TARGET_FROM_INVENTORY] = "inventory",
    [TARGET_FROM_SSH_CONFIG] = "ssh_config",
};

/* Every host of the plan, in wave order. */
static size_t *plan_hosts(const struct plan *plan, size_t *n)
{
  *n = 0;
  for (size_t w = 0; w < plan->nwaves; w++)
    *n += plan->waves[w].nhosts;
  size_t *hosts = xcalloc(*n + 1, sizeof *hosts);
  for (size_t w = 0, k = 0; w < plan->nwaves; w++)
    for (size_t i = 0; i < plan->waves[w].nhosts; i++)
      hosts[k++] = plan->waves[w].hosts[i];
  return hosts;
}

/* "user@host:port,..." of a ProxyJump chain, or "-" (caller frees). */
static char *jump_text(const struct transport_options *o)
{
  if (o->jump_count == 0)
    return xstrdup("-");
  char *buf = NULL;
  size_t len = 0, cap = 0;
  for (size_t i = 0; i < o->jump_count; i++) {
    const struct transport_hop *h = &o->jump[i];
    text_appendf(&buf, &len, &cap, "%s%s%s%s:%u", i ? "," : "", h->user ? h->user : "",
                 h->user ? "@" : "", h->host, h->port ? h->port : 22);
  }
  return buf;
}

/* The default view: one line that counts, per setting, where the routers' values came from, so
 * 60 routers stay one screen; --sources has the detail. Silent when ssh_config set nothing. */
void cli_sources_summary(FILE *out, const struct targets *ts, const size_t *hosts, size_t n)
{
  size_t count[TARGET_FIELDS][3] = {{0}};
  size_t ssh = 0, from_config = 0;
  const char *file = NULL;
  bool files_differ = false;
  for (size_t i = 0; i < n; i++) {
    const char *f = targets_ssh_config(ts, hosts[i]);
    if (f == NULL)
      continue;
    ssh++;
    if (file && strcmp(file, f) != 0)
      files_differ = true;
    file = f;
    for (int k = 0; k < TARGET_FIELDS; k++) {
      enum target_source src = targets_source(ts, hosts[i], (enum target_field)k);
      count[k][src]++;
      from_config += src == TARGET_FROM_SSH_CONFIG;
    }
  }
  if (from_config == 0)
    return;
  fprintf(out,
          "\nConnections: %zu routers read ssh_config (%s); settings from "
          "inventory/ssh_config/default:\n ",
          ssh, files_differ ? "several files" : file);
  for (int k = 0; k < TARGET_FIELDS; k++)
    fprintf(out, " %s %zu/%zu/%zu%s", field_names[k], count[k][TARGET_FROM_INVENTORY],
            count[k][TARGET_FROM_SSH_CONFIG], count[k][TARGET_FROM_DEFAULT],
            k + 1 < TARGET_FIELDS ? "," : "\n");
  fprintf(out, "  (every router: issu-fleet plan --sources)\n");
}

/* --sources: a block per router, each setting with its value and where it came from. */
static void print_sources(const struct targets *ts, const struct inventory *inv,
                          const size_t *hosts, size_t n)
{
  printf("\nConnection settings (inventory wins over ssh_config, which wins over defaults):\n");
  for (size_t i = 0; i < n; i++) {
    size_t h = hosts[i];
    const struct transport_options *o = targets_options(ts, h);
    const char *file = targets_ssh_config(ts, h);
    if (o->kind != TRANSPORT_SSH) {
      printf("  %s: issu_transport local\n", inv->hosts[h].name);
      continue;
    }
    printf("  %s (ssh_config: %s)\n", inv->hosts[h].name, file ? file : "not read");
    char *jump = jump_text(o);
    char other[160];
    snprintf(other, sizeof other, "%s%s%s", o->key_host ? "HostKeyAlias " : "",
             o->key_host ? o->key_host : "", o->accept_new_host_keys ? " accept-new" : "");
    char port[16];
    snprintf(port, sizeof port, "%u", o->port);
    const char *values[TARGET_FIELDS] = {
        [TARGET_HOST] = o->host,
        [TARGET_PORT] = port,
        [TARGET_USER] = o->user ? o->user : "-",
        [TARGET_KEY] = o->key_file ? o->key_file : "- (ssh-agent)",
        [TARGET_KNOWN_HOSTS] = o->known_hosts ? o->known_hosts : "-",
        [TARGET_JUMP] = jump,
        [TARGET_OTHER] = other[0] ? other : "-",
    };
    for (int k = 0; k < TARGET_FIELDS; k++)
      printf("    %-12s %-40s %s\n", field_names[k], values[k],
             source_names[targets_source(ts, h, (enum target_field)k)]);
    free(jump);
  }
}

static cJSON *sources_json(const struct targets *ts, const struct inventory *inv,
                           const size_t *hosts, size_t n)
{
  cJSON *all = cJSON_CreateObject();
  for (size_t i = 0; i < n; i++) {
    size_t h = hosts[i];
    const struct transport_options *o = targets_options(ts, h);
    cJSON *r = cJSON_AddObjectToObject(all, inv->hosts[h].name);
    if (r == NULL)
      continue;
    const char *file = targets_ssh_config(ts, h);
    if (file)
      cJSON_AddStringToObject(r, "ssh_config", file);
    else
      cJSON_AddNullToObject(r, "ssh_config");
    if (o->kind != TRANSPORT_SSH)
      continue;
    char *jump = jump_text(o);
    cJSON_AddStringToObject(r, "host", o->host);
    cJSON_AddNumberToObject(r, "port", o->port);
    cJSON_AddStringToObject(r, "user", o->user ? o->user : "");
    cJSON_AddStringToObject(r, "jump", jump);
    free(jump);
    cJSON *src = cJSON_AddObjectToObject(r, "sources");
    for (int k = 0; src && k < TARGET_FIELDS; k++)
      cJSON_AddStringToObject(src, field_names[k],
                              source_names[targets_source(ts, h, (enum target_field)k)]);
  }
  return all;
}

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
      {"sources", no_argument, NULL, 'S'},
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
    case 'S':
      a->sources = true;
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
  struct targets *ts = NULL;
  size_t nhosts = 0, *hosts = NULL;
  if (cli_load_plan(&a.fleet, &f, &d) < 0)
    goto out;
  /* How each router is reached, as check and run will: bad connection settings and a bad
   * ssh_config are errors here already, before the window. */
  hosts = plan_hosts(&f.plan, &nhosts);
  struct rollout_options ro = {.inventory_path = a.fleet.inventory};
  if (targets_build(f.inv, hosts, nhosts, &ro, &ts, &d) < 0)
    goto out;
  rc = ISSU_EXIT_OK;
  if (a.json) {
    cJSON *json = plan_to_json(&f.plan, f.inv);
    if (a.sources)
      cJSON_AddItemToObject(json, "connections", sources_json(ts, f.inv, hosts, nhosts));
    char *text = cJSON_PrintUnformatted(json);
    if (text)
      printf("%s\n", text);
    else
      rc = ISSU_EXIT_INTERNAL;
    free(text);
    cJSON_Delete(json);
    for (size_t i = 0; i < f.plan.nwarnings; i++)
      fprintf(stderr, "warning: %s\n", f.plan.warnings[i]);
  } else {
    print_text(&a, f.p, f.inv, &f.plan);
    if (a.sources)
      print_sources(ts, f.inv, hosts, nhosts);
    else
      cli_sources_summary(stdout, ts, hosts, nhosts);
  }
out:
  diag_print(&d, stderr);
  diag_free(&d);
  targets_free(ts);
  free(hosts);
  cli_fleet_free(&f);
  return rc;
}
