/*
 * Lookups over a loaded inventory: hosts and groups by name, merged variables, group membership
 * through nested groups, and scalar values as canonical text (what the planner compares).
 */
#include "inventory/inventory.h"

#include <stdlib.h>
#include <string.h>

long inventory_find_host(const struct inventory *inv, const char *name)
{
  size_t idx;
  return strmap_get(&inv->host_index, name, &idx) ? (long)idx : -1;
}

long inventory_find_group(const struct inventory *inv, const char *name)
{
  size_t idx;
  return strmap_get(&inv->group_index, name, &idx) ? (long)idx : -1;
}

const struct ynode *inventory_host_var(const struct inventory *inv, size_t host, const char *key)
{
  const struct inv_vars *v = &inv->hosts[host].merged;
  for (size_t i = 0; i < v->count; i++)
    if (strcmp(v->items[i].key, key) == 0)
      return v->items[i].value;
  return NULL;
}

const char *inventory_value_text(const struct ynode *value, char *buf, size_t len)
{
  if (value == NULL || value->kind != YNODE_SCALAR)
    return NULL;
  struct yscalar s;
  if (yscalar_resolve(value, &s) != 0 || s.type == YSCALAR_STR)
    return value->text;
  if (s.type == YSCALAR_NULL)
    return NULL;
  char *t = yscalar_json_number(&s);
  snprintf(buf, len, "%s", t);
  free(t);
  return buf;
}

static void mark_ancestors(const struct inventory *inv, size_t group, bool *member)
{
  if (member[group])
    return;
  member[group] = true;
  const struct inv_group *g = &inv->groups[group];
  for (size_t i = 0; i < g->nparents; i++)
    mark_ancestors(inv, g->parents[i], member);
}

void inventory_host_groups(const struct inventory *inv, size_t host, bool *member)
{
  const struct inv_host *h = &inv->hosts[host];
  for (size_t i = 0; i < h->ngroups; i++)
    mark_ancestors(inv, h->groups[i], member);
  member[INVENTORY_GROUP_ALL] = false;
  member[INVENTORY_GROUP_UNGROUPED] = false;
}
