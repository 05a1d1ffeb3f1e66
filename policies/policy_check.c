/*
 * Checks that need both the policy and the inventory: every host the policy names exists, and
 * is among the hosts of the run.
 */
#include "policies/policy_internal.h"

#include <errno.h>

int policy_check_inventory(const struct policy *p, const struct inventory *inv, struct diag *d)
{
  size_t before = d->count;
  const struct policy_amount *c = &p->waves.canary;
  for (size_t i = 0; c->kind == AMOUNT_HOSTS && i < c->nhosts; i++)
    if (inventory_find_host(inv, c->hosts[i]) < 0)
      diag_add(d, p->file, c->host_lines[i], c->host_cols[i],
               "waves.canary: host '%s' is not in the inventory %s (expected a host name from it)",
               c->hosts[i], inv->file);
  return d->count > before ? -EINVAL : 0;
}
