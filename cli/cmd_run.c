/*
 * issu-fleet run and issu-fleet check: load, plan, validate every router's settings, confirm,
 * then hand the plan to the scheduler. Nothing touches a router before every input is known
 * good (exit 2 otherwise).
 */
#include "cli/cli.h"
#include "scheduler/scheduler.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct run_args {
  struct cli_fleet_args fleet;
  const char *resume;
  bool yes;
  struct rollout_options o;
};

static int parse_args(const char *name, int argc, char **argv, struct run_args *a, int *exit_code)
{
  enum {
    OPT_EVENTS = 256,
    OPT_STATE_DIR,
    OPT_TIME_SCALE,
    OPT_YES,
    OPT_ACCEPT_NEW,
    OPT_RUN_ID,
    OPT_CONTROL,
    OPT_STOP_AT_WINDOW_END,
    OPT_RESUME,
    OPT_RETRY_FAILED,
    OPT_ACCEPT_CHANGED
  };
  static const struct option options[] = {
      CLI_FLEET_OPTIONS,
      {"events", required_argument, NULL, OPT_EVENTS},
      {"state-dir", required_argument, NULL, OPT_STATE_DIR},
      {"time-scale", required_argument, NULL, OPT_TIME_SCALE},
      {"run-id", required_argument, NULL, OPT_RUN_ID},
      {"control", required_argument, NULL, OPT_CONTROL},
      {"stop-at-window-end", no_argument, NULL, OPT_STOP_AT_WINDOW_END},
      {"resume", required_argument, NULL, OPT_RESUME},
      {"retry-failed", no_argument, NULL, OPT_RETRY_FAILED},
      {"accept-changed-config", no_argument, NULL, OPT_ACCEPT_CHANGED},
      {"yes", no_argument, NULL, OPT_YES},
      {"accept-new-host-keys", no_argument, NULL, OPT_ACCEPT_NEW},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool check = strcmp(name, "check") == 0;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":" CLI_FLEET_SHORT "qh", options, NULL)) != -1) {
    if (cli_fleet_option(&a->fleet, opt, optarg))
      continue;
    switch (opt) {
    case 'q':
      a->o.progress = NULL;
      break;
    case OPT_EVENTS:
      a->o.events = optarg;
      break;
    case OPT_STATE_DIR:
      a->o.state_dir = optarg;
      break;
    case OPT_CONTROL:
      a->o.control = optarg;
      break;
    case OPT_STOP_AT_WINDOW_END:
      a->o.stop_at_window_end = true;
      break;
    case OPT_RESUME:
      a->resume = optarg;
      break;
    case OPT_RETRY_FAILED:
      a->o.retry_failed = true;
      break;
    case OPT_ACCEPT_CHANGED:
      a->o.accept_changed_config = true;
      break;
    case OPT_RUN_ID: {
      size_t n = strspn(optarg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_");
      if (optarg[0] == '\0' || optarg[n] != '\0' || n > RUN_ID_MAX) {
        *exit_code = cli_usage_error(
            name, "--run-id: expected at most %d letters, digits, '-' and '_'", RUN_ID_MAX);
        return -1;
      }
      a->o.run_id = optarg;
      break;
    }
    case OPT_TIME_SCALE: {
      char *end;
      double s = strtod(optarg, &end);
      if (*end != '\0' || !(s >= 1 && s <= 100000)) {
        *exit_code = cli_usage_error(name,
                                     "--time-scale: expected a number from 1 to 100000, "
                                     "got '%s'",
                                     optarg);
        return -1;
      }
      a->o.time_scale = s;
      break;
    }
    case OPT_YES:
      if (check) {
        *exit_code = cli_usage_error(name, "unknown option '--yes'");
        return -1;
      }
      a->yes = true;
      break;
    case OPT_ACCEPT_NEW:
      a->o.accept_new_host_keys = true;
      break;
    default:
      *exit_code = cli_option_other(name, opt, argv);
      return -1;
    }
  }
  int rc = cli_require_files(name, argc, argv, a->fleet.inventory, a->fleet.policy);
  if (rc == 0)
    return 0;
  *exit_code = rc;
  return -1;
}

static bool confirm(const struct policy *p, const struct plan *plan)
{
  size_t n = 0;
  for (size_t w = 0; w < plan->nwaves; w++)
    n += plan->waves[w].nhosts;
  char span[32];
  text_duration(plan->makespan_s, span, sizeof span);
  fprintf(stderr, "About to upgrade %zu routers to %s in %zu waves (about %s).\n", n,
          p->target.version, plan->nwaves, span);
  fprintf(stderr, "Type 'yes' to start: ");
  fflush(stderr);
  char line[32];
  if (fgets(line, sizeof line, stdin) == NULL)
    return false;
  line[strcspn(line, "\r\n")] = '\0';
  return strcmp(line, "yes") == 0;
}

static void plan_summary(const struct plan *plan, const struct inventory *inv)
{
  for (size_t w = 0; w < plan->nwaves; w++) {
    const struct plan_wave *pw = &plan->waves[w];
    fprintf(stderr, "  %-8s %3zu routers:", pw->name, pw->nhosts);
    for (size_t i = 0; i < pw->nhosts && i < 8; i++)
      fprintf(stderr, " %s", inv->hosts[pw->hosts[i]].name);
    fprintf(stderr, "%s\n", pw->nhosts > 8 ? " ..." : "");
  }
}

static int run_or_check(const char *name, int argc, char **argv)
{
  struct run_args a = {0};
  a.o.progress = stderr;
  a.o.time_scale = 0; /* not given: 1, or a resumed run's own */
  int rc = ISSU_EXIT_USAGE;
  if (parse_args(name, argc, argv, &a, &rc) < 0)
    return rc;
  bool check = strcmp(name, "check") == 0;
  a.o.check_only = check;
  a.o.limit = a.fleet.limit;
  char *journal = NULL;
  if (a.resume != NULL) {
    if (check)
      return cli_usage_error(name, "unknown option '--resume'");
    if (a.o.run_id != NULL)
      return cli_usage_error(name, "--resume continues a run under its own id: drop --run-id");
    /* RUN_ID (in the state directory) or the journal's path. */
    size_t l = strlen(a.resume);
    journal =
        strchr(a.resume, '/') || (l > 6 && strcmp(a.resume + l - 6, ".jsonl") == 0)
            ? xstrdup(a.resume)
            : xasprintf("%s/%s.jsonl", a.o.state_dir ? a.o.state_dir : ".issu-fleet", a.resume);
    if (access(journal, R_OK) != 0) {
      int rc2 = cli_usage_error(name, "--resume: no journal %s", journal);
      free(journal);
      return rc2;
    }
    if (a.o.state_dir == NULL && strchr(journal, '/')) {
      /* The state directory is the journal's. */
      static char dirbuf[1024];
      snprintf(dirbuf, sizeof dirbuf, "%s", journal);
      *strrchr(dirbuf, '/') = '\0';
      a.o.state_dir = dirbuf;
    }
    a.o.resume = journal;
  }
  a.o.inventory_path = a.fleet.inventory;
  a.o.policy_path = a.fleet.policy;
  if (a.o.events && strcmp(a.o.events, "-") == 0 && a.o.progress == stdout)
    a.o.progress = stderr;
  /* The live view only where a human watches: a terminal that can move its cursor. NO_COLOR
   * (no-color.org: set and not empty) keeps the view and drops the colours. */
  const char *term = getenv("TERM"), *no_colour = getenv("NO_COLOR");
  a.o.progress_live =
      a.o.progress && isatty(fileno(a.o.progress)) && term && *term && strcmp(term, "dumb") != 0;
  a.o.progress_colour = a.o.progress_live && !(no_colour && *no_colour);

  struct diag d = {0};
  struct targets *targets = NULL;
  struct cli_fleet f = {0};
  if (cli_load_plan(&a.fleet, &f, &d) < 0)
    goto out;
  /* Views into f, which owns them (cli_fleet_free below). */
  struct inventory *inv = f.inv;
  struct policy *p = f.p;
  struct plan plan = f.plan;
  size_t n = 0;
  for (size_t w = 0; w < plan.nwaves; w++)
    n += plan.waves[w].nhosts;
  size_t *hosts = xcalloc(n + 1, sizeof *hosts);
  for (size_t w = 0, k = 0; w < plan.nwaves; w++)
    for (size_t i = 0; i < plan.waves[w].nhosts; i++)
      hosts[k++] = plan.waves[w].hosts[i];
  int trc = targets_build(inv, hosts, n, &a.o, &targets, &d);
  if (trc == 0 && check && a.o.progress) /* where the connection settings came from */
    cli_sources_summary(a.o.progress, targets, hosts, n);
  free(hosts);
  if (trc < 0)
    goto out;
  if (!check && !a.yes) {
    if (!isatty(STDIN_FILENO)) {
      rc = cli_usage_error(name, "standard input is not a terminal, so the rollout cannot be "
                                 "confirmed: review `issu-fleet plan`, then add --yes");
      goto out;
    }
    plan_summary(&plan, inv);
    if (!confirm(p, &plan)) {
      fprintf(stderr, "issu-fleet run: not confirmed; nothing was touched\n");
      rc = ISSU_EXIT_STOPPED;
      goto out;
    }
  }
  rc = rollout_run(p, inv, &plan, targets, &a.o);
out:
  diag_print(&d, stderr);
  diag_free(&d);
  targets_free(targets);
  cli_fleet_free(&f);
  free(journal);
  return rc;
}

int cmd_run(int argc, char **argv)
{
  return run_or_check("run", argc, argv);
}

int cmd_check(int argc, char **argv)
{
  return run_or_check("check", argc, argv);
}
