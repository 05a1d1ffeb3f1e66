/*
 * The policy's `checks:` section (issue 15): which built-in checks run and with which
 * tolerances, the JSNAPy test files, how long a post-check may take to converge, and what a
 * failing pre-check does. The checks themselves live in checks/; this file only reads the keys
 * and builds the suite they describe.
 */
#include "policies/policy_internal.h"

#include <stdlib.h>
#include <string.h>

bool policy_checks_on(const struct policy *p)
{
  bool on = p->checks.files.count > 0;
  for (size_t i = 0; i < CHECK_BUILTIN_COUNT && !on; i++)
    on = !p->checks.off[i];
  return on;
}

/* The built-in checks whose value may be a tolerance (checks.h: JSNAPy's delta forms). */
static bool takes_tolerance(enum check_builtin b)
{
  return b == CHECK_BGP_PREFIXES || b == CHECK_ROUTES;
}

static int builtin_of(const char *name)
{
  for (int b = 0; b < CHECK_BUILTIN_COUNT; b++)
    if (strcmp(check_builtin_name((enum check_builtin)b), name) == 0)
      return b;
  return -1;
}

/* A tolerance is checked by the one who reads it (checks/), at the policy's line:col. */
static int tolerance_ok(struct pctx *c, enum check_builtin b, const struct ynode *v)
{
  struct check_builtin_options o;
  check_builtin_options_default(&o);
  for (int i = 0; i < CHECK_BUILTIN_COUNT; i++)
    o.enabled[i] = i == (int)b;
  o.tolerance[b] = v->text;
  struct check_suite *s = check_suite_new(&o, c->p->file, v->line, v->col, c->d);
  check_suite_free(s);
  return s ? 0 : -1;
}

static int builtin_value(struct pctx *c, struct policy_checks *pc, enum check_builtin b,
                         const struct ynode *v)
{
  const char *name = check_builtin_name(b);
  if (v == NULL || v->kind != YNODE_SCALAR || v->len == 0) {
    perr(c, v, "%s: expected on or off%s (found %s)", name,
         takes_tolerance(b) ? " or a tolerance like \"5%\"" : "", ynode_kind_name(v));
    return -1;
  }
  if (strcmp(v->text, "on") == 0 || strcmp(v->text, "off") == 0) {
    pc->off[b] = v->text[1] == 'f';
    return 0;
  }
  if (!takes_tolerance(b)) {
    perr(c, v, "%s: '%s' is not allowed (expected on or off)", name, v->text);
    return -1;
  }
  if (tolerance_ok(c, b, v) < 0)
    return -1;
  free(pc->tolerance[b]);
  pc->tolerance[b] = xstrdup(v->text);
  pc->tol_line[b] = v->line;
  pc->tol_col[b] = v->col;
  pc->off[b] = false;
  return 0;
}

int parse_check_builtin(struct pctx *c, const struct ynode *n, void *field)
{
  struct policy_checks *pc = field;
  /* `builtin: off` turns the whole built-in suite off (only the files run). */
  if (n && n->kind == YNODE_SCALAR && (strcmp(n->text, "off") == 0 || strcmp(n->text, "on") == 0)) {
    for (int b = 0; b < CHECK_BUILTIN_COUNT; b++)
      pc->off[b] = n->text[1] == 'f';
    return 0;
  }
  if (n == NULL || n->kind != YNODE_MAP) {
    perr(c, n, "expected off, or a mapping like {alarms: off, routes: \"5%%\"} (found %s)",
         ynode_kind_name(n));
    return -1;
  }
  int rc = 0;
  for (size_t i = 0; i < n->count; i++) {
    const struct ynode *k = n->pairs[i].key;
    int b = builtin_of(k->text);
    if (b < 0) {
      const char *names[CHECK_BUILTIN_COUNT];
      for (int j = 0; j < CHECK_BUILTIN_COUNT; j++)
        names[j] = check_builtin_name((enum check_builtin)j);
      const char *near = text_nearest(k->text, names, CHECK_BUILTIN_COUNT);
      perr(c, k, "unknown built-in check '%s' (%s%s%s)", k->text,
           near ? "did you mean '" : "expected bgp-peers, bgp-state, ..., nsr", near ? near : "",
           near ? "'?" : "");
      rc = -1;
      continue;
    }
    if (builtin_value(c, pc, (enum check_builtin)b, n->pairs[i].value) < 0)
      rc = -1;
  }
  return rc;
}

int parse_check_files(struct pctx *c, const struct ynode *n, void *field)
{
  struct policy_labels *files = field;
  size_t items = n && n->kind == YNODE_SEQ ? n->count : 1;
  files->items = xcalloc(items ? items : 1, sizeof *files->items);
  /* Relative to the policy's folder, so a policy and its tests move together. */
  const char *slash = strrchr(c->p->file, '/');
  int rc = 0;
  for (size_t i = 0; i < items; i++) {
    const struct ynode *item = n && n->kind == YNODE_SEQ ? n->items[i] : n;
    if (item == NULL || item->kind != YNODE_SCALAR || item->len == 0 ||
        strlen(item->text) != item->len) {
      perr(c, item, "expected a file path (found %s)", ynode_kind_name(item));
      rc = -1;
      continue;
    }
    char *path = item->text[0] == '/' || slash == NULL
                     ? xstrdup(item->text)
                     : xasprintf("%.*s/%s", (int)(slash - c->p->file), c->p->file, item->text);
    files->items[files->count++] = (struct policy_label){path, item->line, item->col};
  }
  return rc;
}

int parse_pre_check(struct pctx *c, const struct ynode *n, void *field)
{
  if (n && n->kind == YNODE_SCALAR && strcmp(n->text, "fail") == 0)
    *(enum policy_pre_check *)field = PRE_CHECK_FAIL;
  else if (n && n->kind == YNODE_SCALAR && strcmp(n->text, "warn") == 0)
    *(enum policy_pre_check *)field = PRE_CHECK_WARN;
  else {
    perr(c, n, "'%s' is not allowed (expected fail or warn)",
         n && n->kind == YNODE_SCALAR ? n->text : ynode_kind_name(n));
    return -1;
  }
  return 0;
}

/* checks.channels: how many commands of a snapshot run at once on the router's session, each on
 * a channel of its own (1: one after another). At most the suite's nine built-in commands; a
 * router refusing channels is met at run time (the transport waits), not here. */
int parse_check_channels(struct pctx *c, const struct ynode *n, void *field)
{
  const char *text = n && n->kind == YNODE_SCALAR ? n->text : NULL;
  unsigned v = 0;
  bool ok = text != NULL && text[0] >= '1' && text[0] <= '9' && text[1] == '\0';
  if (ok)
    v = (unsigned)(text[0] - '0');
  if (text == NULL) {
    perr(c, n, "expected a whole number from %u to %u (found %s)", CHECK_CHANNELS_MIN,
         CHECK_CHANNELS_MAX, ynode_kind_name(n));
    return -1;
  }
  if (!ok || v < CHECK_CHANNELS_MIN || v > CHECK_CHANNELS_MAX) {
    perr(c, n,
         "'%s' is not allowed (expected a whole number from %u to %u: the commands of a "
         "snapshot run at once, 1 for one after another)",
         text, CHECK_CHANNELS_MIN, CHECK_CHANNELS_MAX);
    return -1;
  }
  *(unsigned *)field = v;
  return 0;
}

struct check_suite *policy_check_suite(const struct policy *p, bool allow_backup_re_active,
                                       struct diag *d)
{
  const struct policy_checks *pc = &p->checks;
  struct check_builtin_options o;
  check_builtin_options_default(&o);
  unsigned line = 0, col = 0;
  for (int b = 0; b < CHECK_BUILTIN_COUNT; b++) {
    o.enabled[b] = !pc->off[b];
    if (pc->tolerance[b]) {
      o.tolerance[b] = pc->tolerance[b];
      if (line == 0) {
        line = pc->tol_line[b];
        col = pc->tol_col[b];
      }
    }
  }
  o.allow_backup_re_active = allow_backup_re_active;
  struct check_suite *s = check_suite_new(&o, p->file, line, col, d);
  if (s == NULL)
    return NULL;
  for (size_t i = 0; i < pc->files.count; i++)
    if (check_suite_add_file(s, pc->files.items[i].name, d) < 0) {
      check_suite_free(s);
      return NULL;
    }
  return s;
}
