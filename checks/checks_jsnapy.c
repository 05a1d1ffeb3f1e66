/*
 * JSNAPy test files, read as JSNAPy reads them (the supported subset, docs/checks.md):
 *
 *   tests_include: [test_bgp]          # which tests run; without it, every test in the file
 *   test_bgp:
 *     - command: show bgp summary      # one command per test (`rpc:` is refused)
 *     - iterate:                       # or `item:` (the first match only)
 *         xpath: //bgp-peer
 *         id: peer-address             # or a list of ids
 *         tests:
 *           - no-diff: peer-state      # OPERATOR: node[, value...]
 *             err: "{{id_0}} went from {{pre['peer-state']}} to {{post['peer-state']}}"
 *             info: "..."
 *             ignore-null: true
 *
 * Everything is checked at load, so a test file never passes silently at the router: an unknown
 * key or operator is an error at its file:line:col with the nearest known name, an XPath that
 * does not compile, a value that is not a number where one is needed, a command that is not a
 * plain `show` command, and a message placeholder other than {{pre[...]}}, {{post[...]}} and
 * {{id_N}} (there is no template engine) are all errors. The reader keeps going after an error
 * so one run lists them all.
 */
#include "checks/checks_int.h"
#include "yamldoc/yamldoc.h"

#include <stdlib.h>
#include <string.h>

struct reader {
  struct check_suite *s;
  const char *file;
  struct diag *d;
  int rc;
};

#define ERR(r, n, ...)                                                                             \
  do {                                                                                             \
    diag_add((r)->d, (r)->file, (n)->line, (n)->col, __VA_ARGS__);                                 \
    (r)->rc = -1;                                                                                  \
  } while (0)

static const char *const step_keys[] = {"command", "rpc", "iterate", "item", "args", "kwargs"};
static const char *const block_keys[] = {"xpath", "id", "tests"};
static const char *const rule_keys[] = {"err", "info", "ignore-null"};

static void unknown_key(struct reader *r, const struct ynode *k, const char *where,
                        const char *const *known, size_t n)
{
  const char *near = text_nearest(k->text, known, n);
  if (near)
    ERR(r, k, "unknown key '%s' in %s (did you mean '%s'?)", k->text, where, near);
  else
    ERR(r, k, "unknown key '%s' in %s", k->text, where);
}

static bool is_scalar(struct reader *r, const struct ynode *n, const char *what)
{
  if (n != NULL && n->kind == YNODE_SCALAR)
    return true;
  if (n != NULL)
    ERR(r, n, "%s must be a single value, not a %s", what, ynode_kind_name(n));
  return false;
}

/* A YAML null (`list-not-less:` with nothing after it). */
static bool is_null(const struct ynode *n)
{
  struct yscalar v;
  return n->kind == YNODE_SCALAR && n->plain && yscalar_resolve(n, &v) == 0 &&
         v.type == YSCALAR_NULL;
}

static char *trim_dup(const char *s, size_t l)
{
  while (l > 0 && (*s == ' ' || *s == '\t')) {
    s++;
    l--;
  }
  while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t'))
    l--;
  return xstrndup(s, l);
}

/* "node, v1, v2" split at commas as JSNAPy splits it. */
static char **split_commas(const char *s, size_t *n)
{
  char **v = NULL;
  size_t cap = 0;
  *n = 0;
  for (const char *p = s;;) {
    size_t l = strcspn(p, ",");
    v = xgrow(v, &cap, *n + 1, sizeof *v);
    v[(*n)++] = trim_dup(p, l);
    if (p[l] == '\0')
      break;
    p += l + 1;
  }
  return v;
}

static xmlXPathCompExprPtr compile(struct reader *r, const struct ynode *at, const char *xpath,
                                   const char *what)
{
  xmlXPathCompExprPtr e = check_xpath_compile(xpath);
  if (e == NULL)
    ERR(r, at, "%s '%s' is not a valid XPath", what, xpath);
  return e;
}

static void read_template(struct reader *r, const struct ynode *v, char **out, const char *key)
{
  if (!is_scalar(r, v, key))
    return;
  size_t where = 0;
  const char *why = check_template_invalid(v->text, &where);
  if (why)
    ERR(r, v, "%s message at character %zu: %s", key, where + 1, why);
  /* Each {{pre['NODE']}} names an XPath: one that does not compile is an error now, not an
   * empty value in the message when the check fails. */
  for (const char *p = v->text; why == NULL && (p = strstr(p, "{{")) != NULL;) {
    char kind;
    const char *node;
    size_t nl = 0;
    unsigned idx;
    size_t l = check_placeholder(p + 2, &kind, &node, &nl, &idx);
    if (kind != 'i') {
      char *x = xstrndup(node, nl);
      xmlXPathCompExprPtr e = compile(r, v, x, "the message's node");
      if (e)
        xmlXPathFreeCompExpr(e);
      free(x);
    }
    p += 2 + l;
  }
  free(*out);
  *out = xstrdup(v->text);
}

/* The operator of one rule map, with its node and values. */
static void read_operator(struct reader *r, struct check_rule *u, const struct ypair *p)
{
  const struct ynode *k = p->key, *v = p->value;
  u->op = (enum check_op)check_op_find(k->text);
  const struct check_op_info *info = &check_op_table[u->op];
  if (!is_scalar(r, v, k->text))
    return;
  size_t n = 0;
  char **parts = is_null(v) ? NULL : split_commas(v->text, &n);
  if (n > 0 && parts[0][0] != '\0') {
    u->node = xstrdup(parts[0]);
    u->node_expr = compile(r, v, u->node, "the node");
  } else if (!info->node_optional)
    ERR(r, v, "%s needs a node (the element it tests, relative to the item)", info->name);
  if (n > 1) {
    u->nvalues = n - 1;
    u->values = xcalloc(u->nvalues, sizeof *u->values);
    for (size_t i = 1; i < n; i++)
      u->values[i - 1] = xstrdup(parts[i]);
  }
  for (size_t i = 0; i < n; i++)
    free(parts[i]);
  free(parts);
  if (u->nvalues < info->min_values || u->nvalues > info->max_values) {
    if (info->max_values == 0)
      ERR(r, v, "%s takes a node only, not %zu value(s) after it", info->name, u->nvalues);
    else if (info->min_values == info->max_values)
      ERR(r, v, "%s takes a node and %u value(s), not %zu", info->name, info->min_values,
          u->nvalues);
    else
      ERR(r, v, "%s takes a node and at least %u value(s)", info->name, info->min_values);
    return;
  }
  for (size_t i = 0; info->numeric && i < u->nvalues && i < 2; i++)
    if (!check_number(u->values[i], &u->num[i]))
      ERR(r, v, "%s: '%s' is not a number", info->name, u->values[i]);
  if (u->op == CK_DELTA && !check_delta_parse(u->values[0], &u->delta))
    ERR(r, v, "delta: '%s' is not one of JSNAPy's forms (N, +N, -N, +-N, each with an optional %%)",
        u->values[0]);
  if ((u->op == CK_IN_RANGE || u->op == CK_NOT_RANGE) && u->num[0] > u->num[1])
    ERR(r, v, "%s: the range %s, %s is empty (low first)", info->name, u->values[0], u->values[1]);
  if (u->op == CK_ALL_SAME && u->nvalues == 1) {
    xmlXPathCompExprPtr e = compile(r, v, u->values[0], "all-same's reference");
    if (e)
      xmlXPathFreeCompExpr(e);
  }
}

/* One map of a `tests:` list: exactly one operator, and err/info/ignore-null. */
static void read_rule(struct reader *r, struct check_test *t, const struct ynode *m)
{
  if (m->kind != YNODE_MAP) {
    ERR(r, m, "a test must be a map such as `- no-diff: peer-state`, not a %s", ynode_kind_name(m));
    return;
  }
  struct check_rule u = {0};
  bool have_op = false;
  u.null = CHECK_NULL_FAIL;
  for (size_t i = 0; i < m->count; i++) {
    const struct ypair *p = &m->pairs[i];
    const struct ynode *k = p->key;
    if (k->kind != YNODE_SCALAR) {
      ERR(r, k, "a key must be a name");
      continue;
    }
    if (check_op_find(k->text) >= 0) {
      if (have_op)
        ERR(r, k, "one operator per test: '%s' follows '%s' (start a new `- ` item)", k->text,
            check_op_table[u.op].name);
      else {
        have_op = true;
        read_operator(r, &u, p);
      }
    } else if (strcmp(k->text, "err") == 0)
      read_template(r, p->value, &u.err, "err");
    else if (strcmp(k->text, "info") == 0)
      read_template(r, p->value, &u.info, "info");
    else if (strcmp(k->text, "ignore-null") == 0) {
      struct yscalar b;
      if (is_scalar(r, p->value, "ignore-null") &&
          (yscalar_resolve(p->value, &b) < 0 || b.type != YSCALAR_BOOL))
        ERR(r, p->value, "ignore-null must be true or false, not '%s'", p->value->text);
      else if (p->value->kind == YNODE_SCALAR)
        u.null = b.b ? CHECK_NULL_SKIP : CHECK_NULL_FAIL;
    } else {
      const char *known[CK_OP_COUNT + ARRAY_LEN(rule_keys)];
      size_t n = 0;
      for (size_t o = 0; o < CK_OP_COUNT; o++)
        known[n++] = check_op_table[o].name;
      for (size_t o = 0; o < ARRAY_LEN(rule_keys); o++)
        known[n++] = rule_keys[o];
      const char *near = text_nearest(k->text, known, n);
      if (near)
        ERR(r, k, "unknown operator or key '%s' (did you mean '%s'?)", k->text, near);
      else
        ERR(r, k,
            "unknown operator or key '%s' (supported: no-diff, list-not-less, list-not-more, "
            "delta, is-equal, not-equal, in-range, not-range, is-gt, is-lt, exists, not-exists, "
            "contains, is-in, not-in, all-same; err, info, ignore-null)",
            k->text);
    }
  }
  if (!have_op) {
    ERR(r, m, "this test names no operator (no-diff, is-equal, ...)");
    check_rule_free(&u);
    return;
  }
  u.text = check_rule_text(&u);
  t->rules = xrealloc(t->rules, (t->nrules + 1) * sizeof *t->rules);
  t->rules[t->nrules++] = u;
}

static void add_id(struct reader *r, struct check_test *t, const struct ynode *n)
{
  if (!is_scalar(r, n, "id"))
    return;
  t->ids = xrealloc(t->ids, (t->nids + 1) * sizeof *t->ids);
  t->id_labels = xrealloc(t->id_labels, (t->nids + 1) * sizeof *t->id_labels);
  t->id_exprs = xrealloc(t->id_exprs, (t->nids + 1) * sizeof *t->id_exprs);
  const char *label = n->text;
  if (strncmp(label, "./", 2) == 0)
    label += 2;
  t->ids[t->nids] = xstrdup(n->text);
  t->id_labels[t->nids] = xstrdup(label);
  t->id_exprs[t->nids] = compile(r, n, n->text, "the id");
  t->nids++;
}

/* An `iterate:` or `item:` block: the items, their ids and the rules. */
static void read_block(struct reader *r, const char *name, int command, const struct ynode *key,
                       const struct ynode *m)
{
  if (m->kind != YNODE_MAP) {
    ERR(r, m, "%s must be a map with xpath, id and tests", key->text);
    return;
  }
  if (command < 0)
    ERR(r, key, "test '%s': %s comes before any `command:`", name, key->text);
  struct check_test *t = check_suite_test_add(r->s);
  t->name = xstrdup(name);
  t->command = command < 0 ? 0 : (size_t)command;
  t->first_only = strcmp(key->text, "item") == 0;
  const struct ynode *tests = NULL;
  for (size_t i = 0; i < m->count; i++) {
    const struct ynode *k = m->pairs[i].key, *v = m->pairs[i].value;
    if (k->kind == YNODE_SCALAR && strcmp(k->text, "xpath") == 0) {
      if (is_scalar(r, v, "xpath") && t->xpath == NULL) {
        t->xpath = xstrdup(v->text);
        t->xpath_expr = compile(r, v, v->text, "xpath");
      }
    } else if (k->kind == YNODE_SCALAR && strcmp(k->text, "id") == 0) {
      if (v->kind == YNODE_SEQ)
        for (size_t j = 0; j < v->count; j++)
          add_id(r, t, v->items[j]);
      else
        add_id(r, t, v);
    } else if (k->kind == YNODE_SCALAR && strcmp(k->text, "tests") == 0)
      tests = v;
    else if (k->kind == YNODE_SCALAR)
      unknown_key(r, k, key->text, block_keys, ARRAY_LEN(block_keys));
    else
      ERR(r, k, "a key must be a name");
  }
  if (t->xpath == NULL)
    ERR(r, m, "%s needs an xpath (the items to test)", key->text);
  if (tests == NULL || tests->kind != YNODE_SEQ || tests->count == 0)
    ERR(r, tests ? tests : m, "%s needs `tests:`, a list of operators", key->text);
  else
    for (size_t j = 0; j < tests->count; j++)
      read_rule(r, t, tests->items[j]);
}

/* One named test: a list of steps, `command:` first, then `iterate:`/`item:` blocks. */
static void read_test(struct reader *r, const struct ynode *name, const struct ynode *body)
{
  if (body->kind != YNODE_SEQ) {
    ERR(r, body, "test '%s' must be a list (`- command: ...`, `- iterate: ...`)", name->text);
    return;
  }
  int command = -1;
  size_t blocks = 0;
  for (size_t i = 0; i < body->count; i++) {
    const struct ynode *step = body->items[i];
    if (step->kind != YNODE_MAP) {
      ERR(r, step, "a step of test '%s' must be a map such as `command: show ...`", name->text);
      continue;
    }
    for (size_t j = 0; j < step->count; j++) {
      const struct ynode *k = step->pairs[j].key, *v = step->pairs[j].value;
      if (k->kind != YNODE_SCALAR) {
        ERR(r, k, "a key must be a name");
        continue;
      }
      if (strcmp(k->text, "command") == 0) {
        if (!is_scalar(r, v, "command"))
          continue;
        char *cmd = trim_dup(v->text, v->len);
        const char *why = check_command_invalid(cmd);
        if (why)
          ERR(r, v, "command '%s' %s", cmd, why);
        else if ((command = check_suite_command_add(r->s, cmd)) < 0)
          ERR(r, v, "more than %d distinct commands in the checks", CHECK_COMMANDS_MAX);
        free(cmd);
      } else if (strcmp(k->text, "rpc") == 0)
        ERR(r, k,
            "rpc: is unsupported (issu-fleet sends CLI commands with `| display xml`: write the "
            "test with `command: show ...`)");
      else if (strcmp(k->text, "args") == 0 || strcmp(k->text, "kwargs") == 0)
        ERR(r, k, "%s: is unsupported (it belongs to rpc:)", k->text);
      else if (strcmp(k->text, "iterate") == 0 || strcmp(k->text, "item") == 0) {
        read_block(r, name->text, command, k, v);
        blocks++;
      } else
        unknown_key(r, k, "a test", step_keys, ARRAY_LEN(step_keys));
    }
  }
  if (command < 0 && r->rc == 0)
    ERR(r, name, "test '%s' has no `command:`", name->text);
  else if (blocks == 0 && r->rc == 0)
    ERR(r, name,
        "test '%s' has no `iterate:` or `item:` (issu-fleet does not diff whole answers: name "
        "the items and operators)",
        name->text);
}

static void read_file(struct reader *r, const struct ynode *root)
{
  if (root == NULL) {
    diag_add(r->d, r->file, 0, 0, "the test file is empty");
    r->rc = -1;
    return;
  }
  if (root->kind != YNODE_MAP) {
    ERR(r, root, "a JSNAPy test file is a map of tests (and tests_include), not a %s",
        ynode_kind_name(root));
    return;
  }
  const struct ynode *include = ynode_get(root, "tests_include");
  const char *names[512];
  size_t nnames = 0;
  for (size_t i = 0; i < root->count && nnames < ARRAY_LEN(names); i++)
    if (root->pairs[i].key->kind == YNODE_SCALAR &&
        strcmp(root->pairs[i].key->text, "tests_include") != 0)
      names[nnames++] = root->pairs[i].key->text;
  if (include == NULL) {
    /* Without tests_include, JSNAPy runs every test the file details. */
    for (size_t i = 0; i < root->count; i++) {
      const struct ypair *p = &root->pairs[i];
      if (p->key->kind != YNODE_SCALAR)
        ERR(r, p->key, "a test's name must be a name");
      else
        read_test(r, p->key, p->value);
    }
    return;
  }
  if (include->kind != YNODE_SEQ) {
    ERR(r, include, "tests_include must be a list of test names");
    return;
  }
  for (size_t i = 0; i < include->count; i++) {
    const struct ynode *n = include->items[i];
    if (!is_scalar(r, n, "a tests_include entry"))
      continue;
    bool dup = false;
    for (size_t j = 0; j < i && !dup; j++)
      dup =
          include->items[j]->kind == YNODE_SCALAR && strcmp(include->items[j]->text, n->text) == 0;
    if (dup)
      continue; /* JSNAPy runs a test named twice once */
    const struct ynode *body = ynode_get(root, n->text);
    if (body == NULL) {
      const char *near = text_nearest(n->text, names, nnames);
      if (near)
        ERR(r, n, "tests_include names '%s', which the file does not define (did you mean '%s'?)",
            n->text, near);
      else
        ERR(r, n, "tests_include names '%s', which the file does not define", n->text);
      continue;
    }
    read_test(r, n, body);
  }
}

int check_suite_add_buffer(struct check_suite *s, const char *name, const char *buf, size_t len,
                           struct diag *d)
{
  struct ydoc doc;
  if (ydoc_load_buffer(name, buf, len, &doc, d) < 0) {
    ydoc_free(&doc);
    return -1;
  }
  size_t before = s->ntests, commands = s->ncommands;
  struct reader r = {s, name, d, 0};
  read_file(&r, doc.root);
  ydoc_free(&doc);
  if (r.rc < 0) {
    /* All or nothing: a file with an error adds no test and no command. */
    for (size_t i = before; i < s->ntests; i++)
      check_test_free(&s->tests[i]);
    s->ntests = before;
    for (size_t i = commands; i < s->ncommands; i++)
      free(s->commands[i]);
    s->ncommands = commands;
  }
  return r.rc;
}

int check_suite_add_file(struct check_suite *s, const char *path, struct diag *d)
{
  char *buf = NULL, err[512];
  size_t len = 0;
  if (text_read_file(path, YDOC_MAX_BYTES, &buf, &len, err, sizeof err) < 0) {
    diag_add(d, path, 0, 0, "%s", err);
    return -1;
  }
  int rc = check_suite_add_buffer(s, path, buf, len, d);
  free(buf);
  return rc;
}
