/*
 * The JSON of `ansible-inventory --list`: every non-empty group with its `hosts` (not for `all`)
 * and `children`, and `_meta.hostvars` with each host's merged variables (hosts without any are
 * left out, as Ansible does). Keys are sorted, as Ansible's sort_keys=True prints them.
 */
#include "inventory/inventory.h"

#include <stdlib.h>
#include <string.h>

static cJSON *node_json(const struct ynode *n)
{
  if (n == NULL)
    return cJSON_CreateNull();
  if (n->kind == YNODE_SEQ) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < n->count; i++)
      cJSON_AddItemToArray(a, node_json(n->items[i]));
    return a;
  }
  if (n->kind == YNODE_MAP) {
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; i < n->count; i++)
      cJSON_AddItemToObject(o, n->pairs[i].key->text, node_json(n->pairs[i].value));
    return o;
  }
  struct yscalar s;
  if (yscalar_resolve(n, &s) != 0 || s.type == YSCALAR_STR)
    return cJSON_CreateString(n->text);
  char *num = yscalar_json_number(&s);
  cJSON *raw = cJSON_CreateRaw(num);
  free(num);
  return raw;
}

static int key_cmp(const void *a, const void *b)
{
  return strcmp((*(cJSON *const *)a)->string, (*(cJSON *const *)b)->string);
}

/* cJSON keeps insertion order; sort an object's members by key, recursively. */
static void sort_object(cJSON *o)
{
  if (!cJSON_IsObject(o) && !cJSON_IsArray(o))
    return;
  size_t n = 0;
  for (cJSON *c = o->child; c; c = c->next)
    n++;
  for (cJSON *c = o->child; c; c = c->next)
    sort_object(c);
  if (!cJSON_IsObject(o) || n < 2)
    return;
  cJSON **items = xcalloc(n, sizeof *items);
  size_t i = 0;
  for (cJSON *c = o->child; c; c = c->next)
    items[i++] = c;
  qsort(items, n, sizeof *items, key_cmp);
  for (i = 0; i < n; i++) {
    items[i]->prev = i ? items[i - 1] : items[n - 1];
    items[i]->next = i + 1 < n ? items[i + 1] : NULL;
  }
  o->child = items[0];
  free(items);
}

/* True when the group, or a group below it, holds a selected host. */
static bool group_has_selected(const struct inventory *inv, size_t g, const bool *selected,
                               unsigned depth)
{
  const struct inv_group *grp = &inv->groups[g];
  for (size_t i = 0; i < grp->nhosts; i++)
    if (selected[grp->hosts[i]])
      return true;
  for (size_t i = 0; depth < 1000 && i < grp->nchildren; i++)
    if (group_has_selected(inv, grp->children[i], selected, depth + 1))
      return true;
  return false;
}

cJSON *inventory_to_json(const struct inventory *inv, const bool *selected)
{
  cJSON *root = cJSON_CreateObject();
  for (size_t g = 0; g < inv->ngroups; g++) {
    const struct inv_group *grp = &inv->groups[g];
    cJSON *obj = cJSON_CreateObject();
    if (g != INVENTORY_GROUP_ALL && grp->nhosts > 0) {
      cJSON *hosts = cJSON_AddArrayToObject(obj, "hosts");
      for (size_t i = 0; i < grp->nhosts; i++)
        if (selected == NULL || selected[grp->hosts[i]])
          cJSON_AddItemToArray(hosts, cJSON_CreateString(inv->hosts[grp->hosts[i]].name));
      if (cJSON_GetArraySize(hosts) == 0)
        cJSON_DeleteItemFromObject(obj, "hosts");
    }
    if (grp->nchildren > 0) {
      cJSON *children = cJSON_AddArrayToObject(obj, "children");
      for (size_t i = 0; i < grp->nchildren; i++)
        if (selected == NULL || group_has_selected(inv, grp->children[i], selected, 0))
          cJSON_AddItemToArray(children, cJSON_CreateString(inv->groups[grp->children[i]].name));
      if (cJSON_GetArraySize(children) == 0 && selected != NULL)
        cJSON_DeleteItemFromObject(obj, "children");
    }
    if (obj->child == NULL)
      cJSON_Delete(obj);
    else
      cJSON_AddItemToObject(root, grp->name, obj);
  }
  cJSON *meta = cJSON_AddObjectToObject(root, "_meta");
  cJSON *hostvars = cJSON_AddObjectToObject(meta, "hostvars");
  for (size_t h = 0; h < inv->nhosts; h++) {
    const struct inv_host *host = &inv->hosts[h];
    if (host->merged.count == 0 || (selected != NULL && !selected[h]))
      continue;
    cJSON *vars = cJSON_CreateObject();
    for (size_t v = 0; v < host->merged.count; v++)
      cJSON_AddItemToObject(vars, host->merged.items[v].key,
                            node_json(host->merged.items[v].value));
    cJSON_AddItemToObject(hostvars, host->name, vars);
  }
  sort_object(root);
  return root;
}
