/*
 * inventory: the Ansible YAML inventory the network team already keeps.
 *
 * Semantics follow ansible-inventory (ansible-core 2.14, the YAML inventory plugin): groups nest
 * through `children`; a host may sit in several groups; implicit `all` and `ungrouped`; host
 * ranges `mx[01:20]`, `[a:f]`, `[1:9:2]` and `host:port`; variables merged with host vars over
 * group vars, deeper groups over their parents, same depth ordered by `ansible_group_priority`
 * then by name (later wins). Where Ansible merely warns and skips (an unknown key in a group, a
 * group that is a list, a duplicate key) we refuse with FILE:LINE:COL, because a silently dropped
 * router is worse at 2 a.m. than an error at 1 a.m.
 *
 * Host order is the order in which hosts first appear in the file.
 */
#ifndef ISSU_INVENTORY_H
#define ISSU_INVENTORY_H

#include "common/common.h"
#include "yamldoc/yamldoc.h"

#include <cjson/cJSON.h>

struct inv_var {
  const char *key;           /* borrowed from the document */
  const struct ynode *value; /* borrowed from the document, or from inventory->synthetic */
};

struct inv_vars {
  struct inv_var *items;
  size_t count, cap;
};

struct inv_group {
  char *name;
  struct inv_vars vars;
  int priority;
  unsigned depth; /* longest path from `all` */
  size_t *children, nchildren, children_cap;
  size_t *parents, nparents, parents_cap;
  size_t *hosts, nhosts, hosts_cap; /* direct members, first-seen order */
  unsigned line, col;
};

struct inv_host {
  char *name;
  struct inv_vars vars;                /* set directly on the host */
  struct inv_vars merged;              /* every variable as Ansible resolves it */
  size_t *groups, ngroups, groups_cap; /* direct memberships */
  unsigned line, col;
};

struct inventory {
  char *file;
  struct ydoc doc;
  struct inv_group *groups;
  size_t ngroups, groups_cap;
  struct inv_host *hosts;
  size_t nhosts, hosts_cap;
  struct strmap group_index, host_index;
  struct ynode **synthetic; /* values we made ourselves: ports from "host:port" */
  size_t nsynthetic, synthetic_cap;
};

#define INVENTORY_GROUP_ALL 0
#define INVENTORY_GROUP_UNGROUPED 1
/* A single range pattern expands to at most this many hosts. */
#define INVENTORY_MAX_RANGE_HOSTS 100000u

int inventory_load(const char *path, struct inventory **out, struct diag *d);
int inventory_load_buffer(const char *name, const char *buf, size_t len, struct inventory **out,
                          struct diag *d);
void inventory_free(struct inventory *inv);
/* Frees the document and every variable, keeping names, groups and memberships: from then on
 * inventory_host_var returns NULL (for a run, once it has copied what it reads). */
void inventory_forget_values(struct inventory *inv);

/* Index of a host or group by name, or -1. */
long inventory_find_host(const struct inventory *inv, const char *name);
long inventory_find_group(const struct inventory *inv, const char *name);
/* The merged value of a host variable, or NULL. */
const struct ynode *inventory_host_var(const struct inventory *inv, size_t host, const char *key);
/* A scalar variable as canonical text ("8" for 010, "true" for yes); NULL if absent or not a
 * scalar. The pointer stays valid until the next call. */
const char *inventory_value_text(const struct ynode *value, char *buf, size_t len);
/* Marks every group the host belongs to, directly or through a child group (not all, ungrouped). */
void inventory_host_groups(const struct inventory *inv, size_t host, bool *member);

/* Host ranges: expands "mx[01:03]" into mx01 mx02 mx03. Returns the count, or -1 with `err`. */
long inventory_expand_range(const char *pattern, char ***out, char *err, size_t errlen);

/*
 * --limit: Ansible host patterns. Terms separated by ',' or ':'; a term is a host or group name
 * with '*' and '?' globs; '&term' intersects, '!term' excludes; "all" and "*" match everything.
 * Sets selected[i] for each chosen host. A term that matches nothing is an error.
 */
int inventory_select(const struct inventory *inv, const char *pattern, bool *selected,
                     struct diag *d);

/* The JSON `ansible-inventory --list` prints for this inventory, restricted to the selected
 * hosts as `--limit` restricts it (all hosts when `selected` is NULL). */
cJSON *inventory_to_json(const struct inventory *inv, const bool *selected);

#endif
