/*
 * issu-fleet inventory: the inventory as ansible-inventory --list prints it, so an engineer can
 * check that issu-fleet reads their file the way Ansible does.
 */
#include "cli/cli.h"
#include "inventory/inventory.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

int cmd_inventory(int argc, char **argv)
{
  static const struct option options[] = {
      {"inventory", required_argument, NULL, 'i'},
      {"list", no_argument, NULL, 'L'},
      {"limit", required_argument, NULL, 'l'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  struct cli_fleet_args fleet = {0};
  bool list = false;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":i:l:h", options, NULL)) != -1) {
    if (opt != 'p' && cli_fleet_option(&fleet, opt, optarg))
      continue;
    switch (opt) {
    case 'L':
      list = true;
      break;
    default:
      return cli_option_other("inventory", opt, argv);
    }
  }
  if (optind < argc)
    return cli_usage_error("inventory", "unexpected argument '%s'", argv[optind]);
  const char *file = fleet.inventory, *limit = fleet.limit;
  if (file == NULL)
    return cli_usage_error("inventory", "missing -i INVENTORY");
  if (!list)
    return cli_usage_error("inventory", "nothing to do: add --list");

  struct diag d = {0};
  struct inventory *inv = NULL;
  int rc = ISSU_EXIT_OK;
  bool *selected = NULL;
  if (inventory_load(file, &inv, &d) < 0) {
    rc = ISSU_EXIT_USAGE;
    goto out;
  }
  if (limit != NULL) {
    selected = xcalloc(inv->nhosts + 1, sizeof *selected);
    if (inventory_select(inv, limit, selected, &d) < 0) {
      rc = ISSU_EXIT_USAGE;
      goto out;
    }
  }
  cJSON *json = inventory_to_json(inv, selected);
  char *text = cJSON_Print(json);
  if (text == NULL) {
    fprintf(stderr, "issu-fleet inventory: out of memory printing JSON\n");
    rc = ISSU_EXIT_INTERNAL;
  } else
    printf("%s\n", text);
  free(text);
  cJSON_Delete(json);
out:
  diag_print(&d, stderr);
  diag_free(&d);
  free(selected);
  inventory_free(inv);
  return rc;
}
