/*
 * Loading an Ansible YAML inventory: walk the YAML tree the way Ansible's YAML inventory plugin
 * walks it (group -> vars / children / hosts), then reconcile as InventoryData does (groups with
 * no parent become children of `all`; hosts in no group but `all` go to `ungrouped`), then
 * compute group depths and every host's merged variables.
 */
#include "inventory/inventory.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct loader {
  struct inventory *inv;
  struct diag *d;
};

static void lerr(struct loader *l, const struct ynode *at, const char *fmt, ...) ISSU_PRINTF(3, 4);

static void lerr(struct loader *l, const struct ynode *at, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  diag_add(l->d, l->inv->file, at ? at->line : 0, at ? at->col : 0, "%s", msg);
}

static bool is_null(const struct ynode *n)
{
  struct yscalar s;
  return n == NULL ||
         (n->kind == YNODE_SCALAR && yscalar_resolve(n, &s) == 0 && s.type == YSCALAR_NULL);
}

static void push_index(size_t **arr, size_t *n, size_t *cap, size_t v)
{
  for (size_t i = 0; i < *n; i++)
    if ((*arr)[i] == v)
      return;
  *arr = xgrow(*arr, cap, *n + 1, sizeof **arr);
  (*arr)[(*n)++] = v;
}

static void remove_index(size_t *arr, size_t *n, size_t v)
{
  for (size_t i = 0; i < *n; i++)
    if (arr[i] == v) {
      memmove(arr + i, arr + i + 1, (*n - i - 1) * sizeof *arr);
      (*n)--;
      return;
    }
}

/* Sets a variable, replacing an earlier value of the same key in place (dict semantics). */
static void vars_set(struct inv_vars *vars, const char *key, const struct ynode *value)
{
  for (size_t i = 0; i < vars->count; i++)
    if (strcmp(vars->items[i].key, key) == 0) {
      vars->items[i].value = value;
      return;
    }
  vars->items = xgrow(vars->items, &vars->cap, vars->count + 1, sizeof *vars->items);
  vars->items[vars->count++] = (struct inv_var){key, value};
}

static size_t add_group(struct inventory *inv, const char *name, const struct ynode *at)
{
  size_t idx;
  if (strmap_get(&inv->group_index, name, &idx))
    return idx;
  inv->groups = xgrow(inv->groups, &inv->groups_cap, inv->ngroups + 1, sizeof *inv->groups);
  struct inv_group *g = &inv->groups[inv->ngroups];
  memset(g, 0, sizeof *g);
  g->name = xstrdup(name);
  g->line = at ? at->line : 0;
  g->col = at ? at->col : 0;
  idx = inv->ngroups++;
  /* The map borrows the name, which has its own allocation and so survives the array growing. */
  strmap_put(&inv->group_index, g->name, idx);
  return idx;
}

static size_t add_host(struct inventory *inv, const char *name, const struct ynode *at)
{
  size_t idx;
  if (strmap_get(&inv->host_index, name, &idx))
    return idx;
  inv->hosts = xgrow(inv->hosts, &inv->hosts_cap, inv->nhosts + 1, sizeof *inv->hosts);
  struct inv_host *h = &inv->hosts[inv->nhosts];
  memset(h, 0, sizeof *h);
  h->name = xstrdup(name);
  h->line = at ? at->line : 0;
  h->col = at ? at->col : 0;
  idx = inv->nhosts++;
  strmap_put(&inv->host_index, h->name, idx);
  return idx;
}

/* True when `target` is `from` or one of its descendants. */
static bool reaches(const struct inventory *inv, size_t from, size_t target, unsigned char *seen)
{
  if (from == target)
    return true;
  if (seen[from])
    return false;
  seen[from] = 1;
  const struct inv_group *g = &inv->groups[from];
  for (size_t i = 0; i < g->nchildren; i++)
    if (reaches(inv, g->children[i], target, seen))
      return true;
  return false;
}

static bool add_child(struct loader *l, size_t parent, size_t child, const struct ynode *at)
{
  struct inventory *inv = l->inv;
  unsigned char *seen = xcalloc(inv->ngroups, 1);
  bool cycle = reaches(inv, child, parent, seen);
  free(seen);
  if (cycle) {
    lerr(l, at, "group '%s' cannot be a child of '%s': that makes a loop of groups",
         inv->groups[child].name, inv->groups[parent].name);
    return false;
  }
  struct inv_group *p = &inv->groups[parent], *c = &inv->groups[child];
  push_index(&p->children, &p->nchildren, &p->children_cap, child);
  push_index(&c->parents, &c->nparents, &c->parents_cap, parent);
  return true;
}

static void add_membership(struct inventory *inv, size_t group, size_t host)
{
  struct inv_group *g = &inv->groups[group];
  struct inv_host *h = &inv->hosts[host];
  /* A host is in a few groups, a group may hold 100,000 hosts: the host's list says whether it
   * is there already. Scanning the group's list made a big range quadratic (fuzz_inventory
   * found a 138-byte file that took 15 s under ASan). */
  for (size_t i = 0; i < h->ngroups; i++)
    if (h->groups[i] == group)
      return;
  g->hosts = xgrow(g->hosts, &g->hosts_cap, g->nhosts + 1, sizeof *g->hosts);
  g->hosts[g->nhosts++] = host;
  h->groups = xgrow(h->groups, &h->groups_cap, h->ngroups + 1, sizeof *h->groups);
  h->groups[h->ngroups++] = group;
}

static const struct ynode *synthetic_int(struct inventory *inv, const char *text,
                                         const struct ynode *at)
{
  struct ynode *n = xcalloc(1, sizeof *n);
  n->kind = YNODE_SCALAR;
  n->text = xstrdup(text);
  n->len = strlen(text);
  n->plain = true;
  n->line = at->line;
  n->col = at->col;
  inv->synthetic =
      xgrow(inv->synthetic, &inv->synthetic_cap, inv->nsynthetic + 1, sizeof *inv->synthetic);
  inv->synthetic[inv->nsynthetic++] = n;
  return n;
}

/* Splits "name:port" the way Ansible's parse_address does for plain names and ranges: the port is
 * the digits after the last colon that is outside brackets, when no other such colon exists
 * (so IPv6 addresses stay whole). */
static long split_port(char *pattern)
{
  int depth = 0;
  char *last = NULL;
  int colons = 0;
  for (char *p = pattern; *p; p++) {
    if (*p == '[')
      depth++;
    else if (*p == ']')
      depth--;
    else if (*p == ':' && depth == 0) {
      colons++;
      last = p;
    }
  }
  if (colons != 1 || last == pattern || last[1] == '\0')
    return 0;
  long port = 0;
  for (char *p = last + 1; *p; p++) {
    if (*p < '0' || *p > '9' || port > 65535)
      return 0;
    port = port * 10 + (*p - '0');
  }
  if (port < 1 || port > 65535)
    return 0;
  *last = '\0';
  return port;
}

static void parse_hosts_entry(struct loader *l, size_t group, const struct ynode *key,
                              const struct ynode *vars)
{
  struct inventory *inv = l->inv;
  if (key->kind != YNODE_SCALAR || key->len == 0 || strlen(key->text) != key->len) {
    lerr(l, key, "a host name must be non-empty text");
    return;
  }
  if (!is_null(vars) && vars->kind != YNODE_MAP) {
    lerr(l, vars, "the variables of host '%s' must be a mapping (found %s)", key->text,
         ynode_kind_name(vars));
    return;
  }
  char *pattern = xstrdup(key->text);
  long port = split_port(pattern);
  /* Host names become file names (the router's lock) and terminal text: only the characters
   * Ansible's own practice allows, checked on the pattern (ranges add only letters and digits). */
  size_t bad =
      strspn(pattern, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-[]:");
  if (pattern[bad] != '\0' || strcmp(pattern, ".") == 0 || strcmp(pattern, "..") == 0) {
    unsigned char c = (unsigned char)pattern[bad];
    char shown[8];
    if (c >= 0x21 && c < 0x7f)
      snprintf(shown, sizeof shown, "'%c'", c);
    else
      snprintf(shown, sizeof shown, "0x%02x", c);
    diag_add(l->d, l->inv->file, key->line, key->col + (unsigned)bad,
             "host name: %s is not allowed (expected letters, digits, '.', '_' and '-')",
             pattern[bad] ? shown : "'.' or '..' alone");
    free(pattern);
    return;
  }
  char **names = NULL;
  long n;
  if (strchr(pattern, '[') != NULL) {
    char err[200];
    n = inventory_expand_range(pattern, &names, err, sizeof err);
    if (n < 0) {
      lerr(l, key, "host range '%s': %s", key->text, err);
      free(pattern);
      return;
    }
  } else {
    names = xmalloc(sizeof *names);
    names[0] = xstrdup(pattern);
    n = 1;
  }
  char portbuf[16];
  snprintf(portbuf, sizeof portbuf, "%ld", port);
  bool said = false; /* one error per entry, not one per name of a range */
  for (long i = 0; i < n; i++) {
    size_t ok =
        strspn(names[i], "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-");
    if (names[i][ok] != '\0' || strcmp(names[i], ".") == 0 || strcmp(names[i], "..") == 0) {
      if (!said)
        lerr(l, key, "host name: '%s' is not allowed (expected letters, digits, '.', '_' and '-')",
             names[i]);
      said = true;
      free(names[i]);
      continue;
    }
    bool existed = inventory_find_host(inv, names[i]) >= 0;
    size_t h = add_host(inv, names[i], key);
    add_membership(inv, group, h);
    if (port && !existed)
      vars_set(&inv->hosts[h].vars, "ansible_port", synthetic_int(inv, portbuf, key));
    for (size_t j = 0; vars && vars->kind == YNODE_MAP && j < vars->count; j++)
      vars_set(&inv->hosts[h].vars, vars->pairs[j].key->text, vars->pairs[j].value);
    free(names[i]);
  }
  free(names);
  free(pattern);
}

static void set_group_var(struct loader *l, size_t group, const struct ynode *key,
                          const struct ynode *value)
{
  if (strcmp(key->text, "ansible_group_priority") == 0) {
    struct yscalar s;
    if (value == NULL || value->kind != YNODE_SCALAR || yscalar_resolve(value, &s) != 0 ||
        s.type != YSCALAR_INT || s.i < -1000000 || s.i > 1000000) {
      lerr(l, value ? value : key, "ansible_group_priority must be a whole number (found '%s')",
           value && value->kind == YNODE_SCALAR ? value->text : "a collection");
      return;
    }
    l->inv->groups[group].priority = (int)s.i;
    return;
  }
  vars_set(&l->inv->groups[group].vars, key->text, value);
}

static size_t parse_group(struct loader *l, const struct ynode *name, const struct ynode *data);

/* A section value: a mapping, null (nothing), or a lone string that Ansible reads as {s: null}. */
static void walk_section(struct loader *l, size_t group, const char *section,
                         const struct ynode *value)
{
  if (is_null(value))
    return;
  if (value->kind == YNODE_SEQ) {
    lerr(l, value,
         "'%s' of group '%s' must be a mapping (found a list; write 'name:' per line, "
         "not '- name')",
         section, l->inv->groups[group].name);
    return;
  }
  size_t count = value->kind == YNODE_MAP ? value->count : 1;
  for (size_t i = 0; i < count; i++) {
    const struct ynode *k = value->kind == YNODE_MAP ? value->pairs[i].key : value;
    const struct ynode *v = value->kind == YNODE_MAP ? value->pairs[i].value : NULL;
    if (strcmp(section, "vars") == 0)
      set_group_var(l, group, k, v);
    else if (strcmp(section, "hosts") == 0)
      parse_hosts_entry(l, group, k, v);
    else {
      size_t child = parse_group(l, k, v);
      if (child != SIZE_MAX)
        add_child(l, group, child, k);
    }
  }
}

static size_t parse_group(struct loader *l, const struct ynode *name, const struct ynode *data)
{
  static const char *const sections[] = {"vars", "children", "hosts"};
  if (name->kind != YNODE_SCALAR || name->len == 0 || strlen(name->text) != name->len) {
    lerr(l, name, "a group name must be non-empty text");
    return SIZE_MAX;
  }
  if (!is_null(data) && data->kind != YNODE_MAP) {
    lerr(l, data, "group '%s' must be a mapping with hosts, vars or children (found %s)",
         name->text, ynode_kind_name(data));
    return SIZE_MAX;
  }
  size_t group = add_group(l->inv, name->text, name);
  for (size_t i = 0; data && data->kind == YNODE_MAP && i < data->count; i++) {
    const struct ynode *k = data->pairs[i].key;
    size_t s;
    for (s = 0; s < ARRAY_LEN(sections); s++)
      if (strcmp(k->text, sections[s]) == 0)
        break;
    if (s == ARRAY_LEN(sections)) {
      const char *near = text_nearest(k->text, sections, ARRAY_LEN(sections));
      char *hint = near ? xasprintf("; did you mean '%s'?", near) : xstrdup("");
      char *msg = xasprintf("unexpected key '%s' in group '%s' (expected hosts, vars or "
                            "children%s)",
                            k->text, name->text, hint);
      diag_add(l->d, l->inv->file, k->line, k->col, "%s", msg);
      free(msg);
      free(hint);
      continue;
    }
    walk_section(l, group, sections[s], data->pairs[i].value);
  }
  return group;
}

/* InventoryData.reconcile_inventory: parentless groups join `all`; lonely hosts join `ungrouped`.
 */
static void reconcile(struct loader *l)
{
  struct inventory *inv = l->inv;
  for (size_t g = 0; g < inv->ngroups; g++)
    if (g != INVENTORY_GROUP_ALL && inv->groups[g].nparents == 0)
      add_child(l, INVENTORY_GROUP_ALL, g, NULL);
  bool *leave = xcalloc(inv->nhosts + 1, sizeof *leave);
  for (size_t h = 0; h < inv->nhosts; h++) {
    struct inv_host *host = &inv->hosts[h];
    bool in_ungrouped = false, elsewhere = false;
    for (size_t i = 0; i < host->ngroups; i++) {
      size_t g = host->groups[i];
      if (g == INVENTORY_GROUP_UNGROUPED)
        in_ungrouped = true;
      else if (g != INVENTORY_GROUP_ALL)
        elsewhere = true;
    }
    if (in_ungrouped && elsewhere) {
      leave[h] = true;
      remove_index(host->groups, &host->ngroups, INVENTORY_GROUP_UNGROUPED);
    } else if (!elsewhere && !in_ungrouped)
      add_membership(inv, INVENTORY_GROUP_UNGROUPED, h);
  }
  /* one pass over ungrouped, not one per host that leaves it */
  struct inv_group *u = &inv->groups[INVENTORY_GROUP_UNGROUPED];
  size_t kept = 0;
  for (size_t i = 0; i < u->nhosts; i++)
    if (!leave[u->hosts[i]])
      u->hosts[kept++] = u->hosts[i];
  u->nhosts = kept;
  free(leave);
}

/* Depth = longest path from `all`, as Ansible's add_child keeps it; Kahn's order over the DAG. */
static void compute_depths(struct inventory *inv)
{
  size_t *pending = xcalloc(inv->ngroups, sizeof *pending);
  size_t *queue = xcalloc(inv->ngroups, sizeof *queue);
  size_t head = 0, tail = 0;
  for (size_t g = 0; g < inv->ngroups; g++) {
    pending[g] = inv->groups[g].nparents;
    if (pending[g] == 0)
      queue[tail++] = g;
  }
  while (head < tail) {
    struct inv_group *g = &inv->groups[queue[head++]];
    for (size_t i = 0; i < g->nchildren; i++) {
      struct inv_group *c = &inv->groups[g->children[i]];
      if (c->depth < g->depth + 1)
        c->depth = g->depth + 1;
      if (--pending[g->children[i]] == 0)
        queue[tail++] = g->children[i];
    }
  }
  free(pending);
  free(queue);
}

static const struct inventory *rank_inv;

static int rank_cmp(const void *a, const void *b)
{
  const struct inv_group *x = &rank_inv->groups[*(const size_t *)a];
  const struct inv_group *y = &rank_inv->groups[*(const size_t *)b];
  if (x->depth != y->depth)
    return x->depth < y->depth ? -1 : 1;
  if (x->priority != y->priority)
    return x->priority < y->priority ? -1 : 1;
  return strcmp(x->name, y->name);
}

/* Every host's variables: its groups and their ancestors in (depth, priority, name) order, each
 * overriding the ones before, then the host's own variables (VariableManager's order). */
static void compute_merged_vars(struct inventory *inv)
{
  size_t *order = xcalloc(inv->ngroups, sizeof *order);
  for (size_t g = 0; g < inv->ngroups; g++)
    order[g] = g;
  rank_inv = inv;
  qsort(order, inv->ngroups, sizeof *order, rank_cmp);
  rank_inv = NULL;
  bool *member = xcalloc(inv->ngroups, sizeof *member);
  for (size_t h = 0; h < inv->nhosts; h++) {
    struct inv_host *host = &inv->hosts[h];
    memset(member, 0, inv->ngroups * sizeof *member);
    inventory_host_groups(inv, h, member);
    member[INVENTORY_GROUP_ALL] = true;
    for (size_t i = 0; i < host->ngroups; i++)
      member[host->groups[i]] = true;
    for (size_t r = 0; r < inv->ngroups; r++) {
      const struct inv_group *g = &inv->groups[order[r]];
      if (!member[order[r]])
        continue;
      for (size_t v = 0; v < g->vars.count; v++)
        vars_set(&host->merged, g->vars.items[v].key, g->vars.items[v].value);
    }
    for (size_t v = 0; v < host->vars.count; v++)
      vars_set(&host->merged, host->vars.items[v].key, host->vars.items[v].value);
  }
  free(member);
  free(order);
}

static struct inventory *inventory_new(const char *file)
{
  struct inventory *inv = xcalloc(1, sizeof *inv);
  inv->file = xstrdup(file);
  strmap_init(&inv->group_index);
  strmap_init(&inv->host_index);
  add_group(inv, "all", NULL);
  add_group(inv, "ungrouped", NULL);
  return inv;
}

static int finish_load(struct inventory *inv, struct diag *d, struct inventory **out)
{
  size_t before = d->count;
  struct loader l = {inv, d};
  add_child(&l, INVENTORY_GROUP_ALL, INVENTORY_GROUP_UNGROUPED, NULL);
  const struct ynode *root = inv->doc.root;
  if (root != NULL && !is_null(root) && root->kind != YNODE_MAP)
    lerr(&l, root, "an inventory must be a mapping of group names, like 'all:' (found %s)",
         ynode_kind_name(root));
  for (size_t i = 0; root && root->kind == YNODE_MAP && i < root->count; i++)
    parse_group(&l, root->pairs[i].key, root->pairs[i].value);
  if (d->count > before) {
    inventory_free(inv);
    return -EINVAL;
  }
  reconcile(&l);
  compute_depths(inv);
  compute_merged_vars(inv);
  *out = inv;
  return 0;
}

int inventory_load_buffer(const char *name, const char *buf, size_t len, struct inventory **out,
                          struct diag *d)
{
  *out = NULL;
  struct inventory *inv = inventory_new(name);
  int rc = ydoc_load_buffer(name, buf, len, &inv->doc, d);
  if (rc < 0) {
    inventory_free(inv);
    return rc;
  }
  return finish_load(inv, d, out);
}

int inventory_load(const char *path, struct inventory **out, struct diag *d)
{
  *out = NULL;
  struct inventory *inv = inventory_new(path);
  int rc = ydoc_load_file(path, &inv->doc, d);
  if (rc < 0) {
    inventory_free(inv);
    return rc;
  }
  return finish_load(inv, d, out);
}

/* A run keeps the inventory for its host names, groups and memberships only, for hours: what
 * just loading and planning read (the YAML document, about 1.6 KB per host, and every variable
 * array pointing into it) is freed once the run has copied what it needs. */
void inventory_forget_values(struct inventory *inv)
{
  for (size_t g = 0; g < inv->ngroups; g++) {
    free(inv->groups[g].vars.items);
    inv->groups[g].vars = (struct inv_vars){0};
  }
  for (size_t h = 0; h < inv->nhosts; h++) {
    struct inv_host *host = &inv->hosts[h];
    free(host->vars.items);
    free(host->merged.items);
    host->vars = host->merged = (struct inv_vars){0};
  }
  for (size_t i = 0; i < inv->nsynthetic; i++) {
    free(inv->synthetic[i]->text);
    free(inv->synthetic[i]);
  }
  free(inv->synthetic);
  inv->synthetic = NULL;
  inv->nsynthetic = inv->synthetic_cap = 0;
  ydoc_free(&inv->doc);
}

void inventory_free(struct inventory *inv)
{
  if (inv == NULL)
    return;
  for (size_t g = 0; g < inv->ngroups; g++) {
    struct inv_group *grp = &inv->groups[g];
    free(grp->name);
    free(grp->vars.items);
    free(grp->children);
    free(grp->parents);
    free(grp->hosts);
  }
  for (size_t h = 0; h < inv->nhosts; h++) {
    struct inv_host *host = &inv->hosts[h];
    free(host->name);
    free(host->vars.items);
    free(host->merged.items);
    free(host->groups);
  }
  for (size_t i = 0; i < inv->nsynthetic; i++) {
    free(inv->synthetic[i]->text);
    free(inv->synthetic[i]);
  }
  free(inv->synthetic);
  free(inv->groups);
  free(inv->hosts);
  strmap_free(&inv->group_index);
  strmap_free(&inv->host_index);
  ydoc_free(&inv->doc);
  free(inv->file);
  free(inv);
}
