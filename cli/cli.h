/*
 * cli: the issu-fleet command line. One file per subcommand (cmd_*.c); the help texts live in
 * one table (help.c) so `--help`, the usage summary and the man page come from the same words.
 */
#ifndef ISSU_CLI_H
#define ISSU_CLI_H

#include "common/common.h"
#include "policies/policies.h"

#include <stdio.h>

struct cli_command {
  const char *name;
  const char *synopsis;
  const char *summary;
  const char *help; /* the options and what the command does, for `issu-fleet NAME --help` */
  int (*run)(int argc, char **argv);
};

const struct cli_command *cli_find(const char *name);
void cli_usage(FILE *out);
void cli_command_help(const struct cli_command *cmd, FILE *out);
/* The man page (roff), from the same table as --help: `issu-fleet --man > issu-fleet.1`. */
void cli_man(FILE *out);
/* Prints "issu-fleet NAME: message" and a pointer to --help; returns the usage exit code. */
int cli_usage_error(const char *name, const char *fmt, ...) ISSU_PRINTF(2, 3);

/* The getopt cases every subcommand shares: -h (help, exit 0), a missing value, an unknown
 * option (exit 2). Returns the exit code. */
int cli_option_other(const char *name, int opt, char **argv);
/* After getopt: no stray argument, and both files given. Returns 0 or the usage exit code. */
int cli_require_files(const char *name, int argc, char **argv, const char *inventory,
                      const char *policy);

/* ---- The fleet: -i/-p/-l, shared by every subcommand that reads one (cli_fleet.c) ---- */

/* The long options of the shared table, to put first in a command's getopt_long table, and the
 * short ones for its optstring. */
#define CLI_FLEET_OPTIONS                                                                          \
  {"inventory", required_argument, NULL, 'i'}, {"policy", required_argument, NULL, 'p'},           \
  {                                                                                                \
    "limit", required_argument, NULL, 'l'                                                          \
  }
#define CLI_FLEET_SHORT "i:p:l:"

struct cli_fleet_args {
  const char *inventory, *policy, *limit;
};
/* Takes -i, -p or -l into `a`; false for any other option. */
bool cli_fleet_option(struct cli_fleet_args *a, int opt, const char *arg);

/* What a command works on once loaded: both files, the --limit selection, the plan. */
struct cli_fleet {
  struct inventory *inv;
  struct policy *p;
  bool *selected; /* NULL without --limit */
  struct plan plan;
};
/* Loads both files (reporting the errors of both), checks the policy against the inventory,
 * applies --limit and builds the plan. Returns 0, or -1 with the reasons in `d` (exit 2). */
int cli_load_plan(const struct cli_fleet_args *a, struct cli_fleet *f, struct diag *d);
void cli_fleet_free(struct cli_fleet *f);

/* One line per run that counts, per connection setting, how many routers took it from the
 * inventory, ssh_config or the defaults (nothing when ssh_config set nothing): plan, check. */
struct targets;
void cli_sources_summary(FILE *out, const struct targets *ts, const size_t *hosts, size_t n);

int cmd_inventory(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_known_hosts(int argc, char **argv);

#endif
