/*
 * cli: the issu-fleet command line. One file per subcommand (cmd_*.c); the help texts live in
 * one table (help.c) so `--help`, the usage summary and the man page come from the same words.
 */
#ifndef ISSU_CLI_H
#define ISSU_CLI_H

#include "common/common.h"

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

int cmd_inventory(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_ctl(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_known_hosts(int argc, char **argv);

#endif
