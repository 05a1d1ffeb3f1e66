/*
 * The evaluator: every rule of every test, over the items its XPath selects in each snapshot.
 *
 * Items are matched across the two snapshots by their ids (the values of the test's id XPaths,
 * or their position when a test names none; a repeated id is told apart by its occurrence), so an
 * item that appears or disappears across the ISSU is seen as such, the way JSNAPy documents it:
 * `list-not-less` and `delta` fail an item that disappeared, `list-not-more` one that appeared,
 * and `no-diff` both. A node missing inside an item fails it unless `ignore-null` skips it (the
 * built-in suite skips it only when it was already missing before: no baseline). A command whose
 * answer could not be read fails each test that needs it, naming the command. Nothing is passed
 * silently.
 */
#include "checks/checks_int.h"

#include <libxml/xpathInternals.h>
#include <stdlib.h>
#include <string.h>

/* ---- values ---- */

struct vals {
  char **v;
  size_t n, cap;
};

static void vals_free(struct vals *v)
{
  for (size_t i = 0; i < v->n; i++)
    free(v->v[i]);
  free(v->v);
  memset(v, 0, sizeof *v);
}

static void vals_push(struct vals *v, char *s)
{
  v->v = xgrow(v->v, &v->cap, v->n + 1, sizeof *v->v);
  v->v[v->n++] = s;
}

/* A growable string that starts empty (text_appendf allocates nothing for empty output). */
static char *empty(size_t *cap)
{
  *cap = 1;
  return xcalloc(1, 1);
}

static char *trimmed(const char *s)
{
  while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
    s++;
  size_t l = strlen(s);
  while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t' || s[l - 1] == '\r' || s[l - 1] == '\n'))
    l--;
  return xstrndup(s, l);
}

/* The values `expr` selects from `node`: the text of each selected node, or the one string,
 * number or boolean an expression such as count(...) gives. None when it selects nothing. */
static void node_values(xmlXPathContextPtr ctx, xmlNodePtr node, xmlXPathCompExprPtr expr,
                        struct vals *out)
{
  memset(out, 0, sizeof *out);
  if (expr == NULL || node == NULL)
    return;
  ctx->node = node;
  xmlXPathObjectPtr o = xmlXPathCompiledEval(expr, ctx);
  if (o == NULL)
    return;
  if (o->type == XPATH_NODESET) {
    for (int i = 0; o->nodesetval && i < o->nodesetval->nodeNr; i++) {
      xmlChar *c = xmlNodeGetContent(o->nodesetval->nodeTab[i]);
      vals_push(out, trimmed(c ? (const char *)c : ""));
      xmlFree(c);
    }
  } else {
    xmlChar *c = xmlXPathCastToString(o);
    vals_push(out, trimmed(c ? (const char *)c : ""));
    xmlFree(c);
  }
  xmlXPathFreeObject(o);
}

static char *vals_join(const struct vals *v)
{
  char *buf = NULL;
  size_t len = 0, cap = 0;
  buf = empty(&cap);
  for (size_t i = 0; i < v->n; i++)
    text_appendf(&buf, &len, &cap, "%s%s", i ? ", " : "", v->v[i]);
  return buf;
}

/* ---- items ---- */

struct item {
  char *key;   /* what matches it across snapshots */
  char *label; /* "peer-address=10.0.0.2" */
  struct vals ids;
  xmlNodePtr node;
  unsigned repeats; /* later items with this item's id */
};

/* One snapshot's view of a test: its answer and the items selected in it. */
struct side {
  const struct check_answer *a;
  xmlXPathContextPtr ctx;
  struct item *items;
  size_t n, cap;
  struct strmap index; /* key -> item */
};

static void side_free(struct side *s)
{
  for (size_t i = 0; i < s->n; i++) {
    free(s->items[i].key);
    free(s->items[i].label);
    vals_free(&s->items[i].ids);
  }
  free(s->items);
  strmap_free(&s->index);
  if (s->ctx)
    xmlXPathFreeContext(s->ctx);
  memset(s, 0, sizeof *s);
}

static void item_add(struct side *s, const struct check_test *t, xmlNodePtr node, size_t pos)
{
  struct item it = {0};
  it.node = node;
  size_t kl = 0, kc = 0, ll = 0, lc = 0;
  char *key = empty(&kc), *label = empty(&lc);
  if (t->nids == 0) {
    text_appendf(&key, &kl, &kc, "[%zu]", pos + 1);
    if (!t->first_only)
      text_appendf(&label, &ll, &lc, "[%zu]", pos + 1);
  }
  for (size_t i = 0; i < t->nids; i++) {
    struct vals v;
    node_values(s->ctx, node, t->id_exprs[i], &v);
    char *one = v.n ? xstrdup(v.v[0]) : xstrdup("");
    vals_free(&v);
    text_appendf(&key, &kl, &kc, "%s%s", i ? "\x1f" : "", one);
    text_appendf(&label, &ll, &lc, "%s%s=%s", i ? ", " : "", t->id_labels[i], one);
    vals_push(&it.ids, one);
  }
  /* A repeated id (two alarms with one description) is told apart by its occurrence, so the
   * second one before matches the second one after. The first item of an id counts its repeats
   * (a linear search would make 10,000 interfaces with an empty id quadratic); the occurrence is
   * joined with a control character XML text cannot hold, so it never meets a real id. */
  size_t first;
  if (strmap_get(&s->index, key, &first)) {
    unsigned k = ++s->items[first].repeats + 1;
    char *alt = xasprintf("%s\x1e%u", key, k);
    free(key);
    key = alt;
    text_appendf(&label, &ll, &lc, " #%u", k);
  }
  it.key = key;
  it.label = label;
  s->items = xgrow(s->items, &s->cap, s->n + 1, sizeof *s->items);
  s->items[s->n] = it;
  /* The map borrows the key: its own allocation, so it stays put when the array grows. */
  strmap_put(&s->index, s->items[s->n].key, s->n);
  s->n++;
}

/* Selects the test's items in one snapshot. False when its answer is unusable. */
static bool side_open(struct side *s, const struct check_test *t, const struct check_answer *a)
{
  memset(s, 0, sizeof *s);
  strmap_init(&s->index);
  s->a = a;
  if (a == NULL || a->doc == NULL)
    return false;
  s->ctx = check_xpath_context(a->doc);
  s->ctx->node = a->root;
  xmlXPathObjectPtr o = xmlXPathCompiledEval(t->xpath_expr, s->ctx);
  if (o && o->type == XPATH_NODESET && o->nodesetval) {
    int n = o->nodesetval->nodeNr;
    if (t->first_only && n > 1)
      n = 1;
    for (int i = 0; i < n; i++)
      item_add(s, t, o->nodesetval->nodeTab[i], (size_t)i);
  }
  xmlXPathFreeObject(o);
  return true;
}

static const struct item *side_find(const struct side *s, const char *key)
{
  size_t i;
  return strmap_get(&s->index, key, &i) ? &s->items[i] : NULL;
}

/* ---- failures ---- */

struct ev {
  const struct check_suite *suite;
  struct check_outcome *out;
  size_t cap;
};

/* What a template placeholder reads: the item in each snapshot. */
struct where {
  const struct side *pre, *post;
  const struct item *ipre, *ipost;
};

static char *value_at(const struct side *s, const struct item *it, const char *node, size_t nl)
{
  if (s == NULL || it == NULL)
    return xstrdup("");
  char *x = xstrndup(node, nl);
  xmlXPathCompExprPtr e = check_xpath_compile(x);
  free(x);
  struct vals v;
  node_values(s->ctx, it->node, e, &v);
  if (e)
    xmlXPathFreeCompExpr(e);
  char *r = vals_join(&v);
  vals_free(&v);
  return r;
}

/* The err template with its placeholders filled; the ones checked at load are the only kinds. */
static char *fill(const char *tmpl, const struct where *w)
{
  char *buf = NULL;
  size_t len = 0, cap = 0;
  buf = empty(&cap);
  const struct item *any = w->ipost ? w->ipost : w->ipre;
  for (const char *p = tmpl; *p;) {
    const char *open = strstr(p, "{{");
    if (open == NULL) {
      text_appendf(&buf, &len, &cap, "%s", p);
      break;
    }
    text_appendf(&buf, &len, &cap, "%.*s", (int)(open - p), p);
    char kind;
    const char *node;
    size_t nl = 0, l;
    unsigned idx = 0;
    if ((l = check_placeholder(open + 2, &kind, &node, &nl, &idx)) == 0) {
      text_appendf(&buf, &len, &cap, "{{");
      p = open + 2;
      continue;
    }
    char *v;
    if (kind == 'i')
      v = xstrdup(any && idx < any->ids.n ? any->ids.v[idx] : "");
    else if (kind == 'p')
      v = value_at(w->pre, w->ipre, node, nl);
    else
      v = value_at(w->post, w->ipost, node, nl);
    text_appendf(&buf, &len, &cap, "%s", v);
    free(v);
    p = open + 2 + l;
  }
  return buf;
}

/* "BGP peer 10.0.0.2" for the built-ins (each %s of the noun an id's value, in order: a
 * constant of checks_builtin.c, filled here by hand so no data reaches a printf format), the
 * item's label (or the test's name) otherwise. */
static char *subject(const struct check_test *t, const struct item *it)
{
  if (t->noun && it) {
    char *buf = NULL;
    size_t len = 0, cap = 0, k = 0;
    buf = empty(&cap);
    for (const char *p = t->noun; *p; p++)
      if (p[0] == '%' && p[1] == 's') {
        text_appendf(&buf, &len, &cap, "%s", k < it->ids.n ? it->ids.v[k] : "");
        k++;
        p++;
      } else
        text_appendf(&buf, &len, &cap, "%c", *p);
    return buf;
  }
  return xstrdup(it && it->label[0] ? it->label : t->name);
}

static void fail(struct ev *e, const struct check_test *t, const struct check_rule *r,
                 const struct where *w, const char *pre, const char *post, const char *what)
{
  struct check_outcome *o = e->out;
  o->failures = xgrow(o->failures, &e->cap, o->failure_count + 1, sizeof *o->failures);
  struct check_failure *f = &o->failures[o->failure_count++];
  const struct item *it = w->ipost ? w->ipost : w->ipre;
  f->test = xstrdup(t->name);
  f->command = xstrdup(e->suite->commands[t->command]);
  f->item = xstrdup(it ? it->label : "");
  f->rule = xstrdup(r->text);
  f->pre = xstrdup(pre ? pre : "");
  f->post = xstrdup(post ? post : "");
  /* The test's own message is about an item; a failure of no item (the answer unusable, no item
   * selected) keeps issu-fleet's, which says what went wrong. */
  if (r->err && it != NULL)
    f->message = fill(r->err, w);
  else {
    char *who = subject(t, it);
    f->message = xasprintf("%s: %s (%s)", who, what, r->text);
    free(who);
  }
}

/* ---- the operators ---- */

static bool skipped(const struct check_rule *r, const struct item *it)
{
  for (size_t i = 0; i < r->nskip; i++)
    if (it->ids.n > 0 && strcmp(it->ids.v[0], r->skip[i]) == 0)
      return true;
  return false;
}

static bool same_value(const char *a, const char *b)
{
  double x, y;
  if (strcmp(a, b) == 0)
    return true;
  return check_number(a, &x) && check_number(b, &y) && x == y;
}

static bool vals_has(const struct vals *v, const char *s)
{
  for (size_t i = 0; i < v->n; i++)
    if (same_value(v->v[i], s))
      return true;
  return false;
}

/* A node missing from an item: whether to skip the item (true) or fail it (false). `before` says
 * the missing side is the pre snapshot. */
static bool null_skips(const struct check_rule *r, bool before)
{
  return r->null == CHECK_NULL_SKIP || (r->null == CHECK_NULL_BASELINE && before);
}

static bool sum_of(const struct vals *v, double *out)
{
  double s = 0, x;
  for (size_t i = 0; i < v->n; i++) {
    if (!check_number(v->v[i], &x))
      return false;
    s += x;
  }
  *out = s;
  return true;
}

/* One item present in both snapshots, for the pre/post operators. */
static void compare_item(struct ev *e, const struct check_test *t, const struct check_rule *r,
                         const struct where *w)
{
  if (r->node_expr == NULL)
    return; /* list-not-less/more without a node: presence is the whole rule */
  struct vals pv, qv;
  node_values(w->pre->ctx, w->ipre->node, r->node_expr, &pv);
  node_values(w->post->ctx, w->ipost->node, r->node_expr, &qv);
  char *ps = vals_join(&pv), *qs = vals_join(&qv);
  if (pv.n == 0 || qv.n == 0) {
    if (!null_skips(r, pv.n == 0))
      fail(e, t, r, w, ps, qs,
           pv.n == 0 && qv.n == 0 ? "node missing before and after"
           : pv.n == 0            ? "node missing before"
                                  : "node missing after");
    goto out;
  }
  switch (r->op) {
  case CK_NO_DIFF:
    if (strcmp(ps, qs) != 0) {
      char *what = xasprintf("%s -> %s", ps, qs);
      fail(e, t, r, w, ps, qs, what);
      free(what);
    }
    break;
  case CK_LIST_NOT_LESS:
  case CK_LIST_NOT_MORE: {
    const struct vals *from = r->op == CK_LIST_NOT_LESS ? &pv : &qv;
    const struct vals *to = r->op == CK_LIST_NOT_LESS ? &qv : &pv;
    for (size_t i = 0; i < from->n; i++)
      if (!vals_has(to, from->v[i])) {
        char *what = xasprintf("%s %s", from->v[i],
                               r->op == CK_LIST_NOT_LESS ? "missing after" : "new after");
        fail(e, t, r, w, ps, qs, what);
        free(what);
        break;
      }
    break;
  }
  case CK_DELTA: {
    double a, b;
    if (!sum_of(&pv, &a) || !sum_of(&qv, &b))
      fail(e, t, r, w, ps, qs, "not a number");
    else if (!check_delta_holds(&r->delta, a, b)) {
      char *what = xasprintf("%s -> %s", ps, qs);
      fail(e, t, r, w, ps, qs, what);
      free(what);
    }
    break;
  }
  case CK_IS_EQUAL:
  case CK_NOT_EQUAL:
  case CK_IN_RANGE:
  case CK_NOT_RANGE:
  case CK_IS_GT:
  case CK_IS_LT:
  case CK_EXISTS:
  case CK_NOT_EXISTS:
  case CK_CONTAINS:
  case CK_IS_IN:
  case CK_NOT_IN:
  case CK_ALL_SAME:
  case CK_OP_COUNT:
    break;
  }
out:
  free(ps);
  free(qs);
  vals_free(&pv);
  vals_free(&qv);
}

static void run_prepost(struct ev *e, const struct check_test *t, const struct check_rule *r,
                        const struct side *pre, const struct side *post)
{
  bool want_gone = r->op != CK_LIST_NOT_MORE; /* items only before fail */
  /* A new item has no baseline: the built-ins let it pass no-diff (a PIC that came up). */
  bool want_new =
      r->op == CK_LIST_NOT_MORE || (r->op == CK_NO_DIFF && r->null != CHECK_NULL_BASELINE);
  for (size_t i = 0; i < pre->n; i++) {
    const struct item *a = &pre->items[i];
    if (skipped(r, a))
      continue;
    const struct item *b = side_find(post, a->key);
    struct where w = {pre, post, a, b};
    if (b != NULL)
      compare_item(e, t, r, &w);
    else if (want_gone) {
      struct vals pv;
      node_values(pre->ctx, a->node, r->node_expr, &pv);
      char *ps = vals_join(&pv);
      fail(e, t, r, &w, ps, "", "missing after");
      free(ps);
      vals_free(&pv);
    }
  }
  for (size_t i = 0; want_new && i < post->n; i++) {
    const struct item *b = &post->items[i];
    if (skipped(r, b) || side_find(pre, b->key) != NULL)
      continue;
    struct where w = {pre, post, NULL, b};
    struct vals qv;
    node_values(post->ctx, b->node, r->node_expr, &qv);
    char *qs = vals_join(&qv);
    fail(e, t, r, &w, "", qs, "new after");
    free(qs);
    vals_free(&qv);
  }
}

/* Whether one value satisfies a single-snapshot operator. */
static bool value_holds(const struct check_rule *r, const char *v)
{
  double x;
  switch (r->op) {
  case CK_IS_EQUAL:
    return same_value(v, r->values[0]);
  case CK_NOT_EQUAL:
    return !same_value(v, r->values[0]);
  case CK_IN_RANGE:
    return check_number(v, &x) && x >= r->num[0] && x <= r->num[1];
  case CK_NOT_RANGE:
    return check_number(v, &x) && (x < r->num[0] || x > r->num[1]);
  case CK_IS_GT:
    return check_number(v, &x) && x > r->num[0];
  case CK_IS_LT:
    return check_number(v, &x) && x < r->num[0];
  case CK_CONTAINS:
    return strstr(v, r->values[0]) != NULL;
  case CK_IS_IN:
  case CK_NOT_IN: {
    bool in = false;
    for (size_t i = 0; i < r->nvalues && !in; i++)
      in = same_value(v, r->values[i]);
    return r->op == CK_IS_IN ? in : !in;
  }
  case CK_NO_DIFF:
  case CK_LIST_NOT_LESS:
  case CK_LIST_NOT_MORE:
  case CK_DELTA:
  case CK_EXISTS:
  case CK_NOT_EXISTS:
  case CK_ALL_SAME:
  case CK_OP_COUNT:
    break;
  }
  return true;
}

/* The reference value of all-same: its optional XPath's first value in the snapshot, else the
 * first item's. */
static char *all_same_reference(const struct check_rule *r, const struct side *s)
{
  if (r->nvalues > 0) {
    xmlXPathCompExprPtr x = check_xpath_compile(r->values[0]);
    struct vals v;
    node_values(s->ctx, s->a->root, x, &v);
    if (x)
      xmlXPathFreeCompExpr(x);
    char *ref = v.n ? xstrdup(v.v[0]) : NULL;
    vals_free(&v);
    return ref;
  }
  for (size_t i = 0; i < s->n; i++) {
    struct vals v;
    node_values(s->ctx, s->items[i].node, r->node_expr, &v);
    char *ref = v.n ? xstrdup(v.v[0]) : NULL;
    vals_free(&v);
    if (ref)
      return ref;
  }
  return NULL;
}

static void run_single(struct ev *e, const struct check_test *t, const struct check_rule *r,
                       const struct side *s)
{
  char *ref = r->op == CK_ALL_SAME ? all_same_reference(r, s) : NULL;
  for (size_t i = 0; i < s->n; i++) {
    const struct item *it = &s->items[i];
    if (skipped(r, it))
      continue;
    /* In one snapshot, {{pre[...]}} and {{post[...]}} both read it. */
    struct where w = {s, s, it, it};
    struct vals v;
    node_values(s->ctx, it->node, r->node_expr, &v);
    char *vs = vals_join(&v);
    if (r->op == CK_EXISTS || r->op == CK_NOT_EXISTS) {
      if ((v.n > 0) != (r->op == CK_EXISTS))
        fail(e, t, r, &w, "", vs, v.n > 0 ? "present" : "missing");
    } else if (v.n == 0) {
      if (r->null != CHECK_NULL_SKIP)
        fail(e, t, r, &w, "", "", "node missing");
    } else if (r->op == CK_ALL_SAME) {
      for (size_t k = 0; k < v.n; k++)
        if (ref == NULL || !same_value(v.v[k], ref)) {
          char *what = xasprintf("%s, not %s like the others", v.v[k], ref ? ref : "(none)");
          fail(e, t, r, &w, "", vs, what);
          free(what);
          break;
        }
    } else {
      for (size_t k = 0; k < v.n; k++)
        if (!value_holds(r, v.v[k])) {
          fail(e, t, r, &w, "", vs, v.v[k]);
          break;
        }
    }
    free(vs);
    vals_free(&v);
  }
  free(ref);
}

static void unusable(struct ev *e, const struct check_test *t, const struct check_rule *r,
                     const struct side *s, const char *moment)
{
  struct where w = {0};
  char *what = xasprintf("the %s answer to `%s` is unusable: %s", moment,
                         e->suite->commands[t->command], s->a ? s->a->error : "not taken");
  fail(e, t, r, &w, "", "", what);
  free(what);
}

static void run_rule(struct ev *e, const struct check_test *t, const struct check_rule *r,
                     const struct side *pre, bool pre_ok, const struct side *post, bool post_ok,
                     bool two)
{
  bool prepost = check_op_table[r->op].prepost;
  if (prepost && !two)
    return; /* a pre/post rule has nothing to compare in one snapshot */
  struct check_outcome *o = e->out;
  size_t before = o->failure_count;
  o->tests_run++;
  const struct side *one = two ? post : pre;
  bool one_ok = two ? post_ok : pre_ok;
  if (prepost && !pre_ok)
    unusable(e, t, r, pre, "pre");
  else if (!one_ok)
    unusable(e, t, r, one, two ? "post" : "pre");
  else if (prepost ? pre->n == 0 && post->n == 0 : one->n == 0) {
    /* Nothing selected at all: JSNAPy calls that a failure unless ignore-null is set. */
    if (!t->empty_ok && r->null != CHECK_NULL_SKIP && r->op != CK_NOT_EXISTS) {
      struct where w = {0};
      char *what = xasprintf("no item matches %s", t->xpath);
      fail(e, t, r, &w, "", "", what);
      free(what);
    }
  } else if (prepost)
    run_prepost(e, t, r, pre, post);
  else
    run_single(e, t, r, one);
  if (o->failure_count > before)
    o->tests_failed++;
  else
    o->tests_passed++;
}

int check_evaluate(const struct check_suite *s, const struct check_snapshot *pre,
                   const struct check_snapshot *post, struct check_outcome *out)
{
  memset(out, 0, sizeof *out);
  if (s == NULL || pre == NULL || pre->suite != s || (post && post->suite != s))
    return -1;
  struct ev e = {.suite = s, .out = out};
  for (size_t i = 0; i < s->ntests; i++) {
    const struct check_test *t = &s->tests[i];
    struct side a, b;
    /* A snapshot taken before a file was added to the suite lacks that file's commands. */
    const struct check_answer *pa = t->command < pre->count ? &pre->answers[t->command] : NULL;
    const struct check_answer *qa =
        post && t->command < post->count ? &post->answers[t->command] : NULL;
    bool a_ok = side_open(&a, t, pa);
    bool b_ok = post ? side_open(&b, t, qa) : false;
    if (post == NULL)
      memset(&b, 0, sizeof b);
    for (size_t k = 0; k < t->nrules; k++)
      run_rule(&e, t, &t->rules[k], &a, a_ok, &b, b_ok, post != NULL);
    side_free(&a);
    if (post)
      side_free(&b);
  }
  return 0;
}

void check_outcome_free(struct check_outcome *out)
{
  for (size_t i = 0; i < out->failure_count; i++) {
    struct check_failure *f = &out->failures[i];
    free(f->test);
    free(f->command);
    free(f->item);
    free(f->rule);
    free(f->pre);
    free(f->post);
    free(f->message);
  }
  free(out->failures);
  memset(out, 0, sizeof *out);
}
