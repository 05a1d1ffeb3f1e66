/*
 * The one way in to a fleet for every subcommand that reads one: the shared -i/-p/-l options
 * (one table, one handler) and cli_load_plan(), the load sequence (inventory and policy, the
 * policy against the inventory, --limit, the plan) that `plan`, `run` and `check` share.
 */
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

bool cli_fleet_option(struct cli_fleet_args *a, int opt, const char *arg)
{
  switch (opt) {
  case 'i':
    a->inventory = arg;
    return true;
  case 'p':
    a->policy = arg;
    return true;
  case 'l':
    a->limit = arg;
    return true;
  default:
    return false;
  }
}

int cli_load_plan(const struct cli_fleet_args *a, struct cli_fleet *f, struct diag *d)
{
  memset(f, 0, sizeof *f);
  /* Load both files before reporting, so one run shows the errors of both. */
  int inv_rc = inventory_load(a->inventory, &f->inv, d);
  int pol_rc = policy_load(a->policy, &f->p, d);
  if (inv_rc < 0 || pol_rc < 0)
    return -1;
  if (policy_check_inventory(f->p, f->inv, d) < 0)
    return -1;
  if (a->limit != NULL) {
    f->selected = xcalloc(f->inv->nhosts + 1, sizeof *f->selected);
    if (inventory_select(f->inv, a->limit, f->selected, d) < 0)
      return -1;
  }
  return plan_build(f->p, f->inv, f->selected, &f->plan, d) < 0 ? -1 : 0;
}

void cli_fleet_free(struct cli_fleet *f)
{
  plan_free(&f->plan);
  free(f->selected);
  policy_free(f->p);
  inventory_free(f->inv);
  memset(f, 0, sizeof *f);
}
