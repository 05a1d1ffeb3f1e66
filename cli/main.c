/*
 * issu-fleet's entry point: picks the subcommand and hands it its arguments.
 */
#include "cli/cli.h"

#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
  if (argc < 2) {
    cli_usage(stderr);
    return ISSU_EXIT_USAGE;
  }
  const char *name = argv[1];
  if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
    const struct cli_command *cmd = argc > 2 ? cli_find(argv[2]) : NULL;
    if (cmd)
      cli_command_help(cmd, stdout);
    else
      cli_usage(stdout);
    return ISSU_EXIT_OK;
  }
  if (strcmp(name, "--man") == 0) {
    cli_man(stdout);
    return fflush(stdout) == 0 ? ISSU_EXIT_OK : ISSU_EXIT_USAGE;
  }
  if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
    printf("issu-fleet %s\n", ISSU_VERSION);
    return ISSU_EXIT_OK;
  }
  const struct cli_command *cmd = cli_find(name);
  if (cmd == NULL) {
    fprintf(stderr, "issu-fleet: unknown command '%s'\n\n", name);
    cli_usage(stderr);
    return ISSU_EXIT_USAGE;
  }
  return cmd->run(argc - 1, argv + 1);
}
