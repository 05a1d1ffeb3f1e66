/*
 * The pieces a rule is made of, shared by the built-in suite and the JSNAPy reader: the operator
 * table (name, snapshots, node, values), JSNAPy's delta forms and numbers, quiet XPath
 * compilation, the command check and the message templates' one supported syntax.
 */
#include "checks/checks_int.h"

#include <ctype.h>
#include <errno.h>
#include <libxml/xpathInternals.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* One row per JSNAPy operator (jnpr/jsnapy/operator.py). The value counts follow JSNAPy's
 * documented forms: `in-range: node, lo, hi`, `is-in: node, v1, v2, ...`, `delta: node, 5%`. */
const struct check_op_info check_op_table[CK_OP_COUNT] = {
    [CK_NO_DIFF] = {"no-diff", true, false, 0, 0, false},
    [CK_LIST_NOT_LESS] = {"list-not-less", true, true, 0, 0, false},
    [CK_LIST_NOT_MORE] = {"list-not-more", true, true, 0, 0, false},
    [CK_DELTA] = {"delta", true, false, 1, 1, false},
    [CK_IS_EQUAL] = {"is-equal", false, false, 1, 1, false},
    [CK_NOT_EQUAL] = {"not-equal", false, false, 1, 1, false},
    [CK_IN_RANGE] = {"in-range", false, false, 2, 2, true},
    [CK_NOT_RANGE] = {"not-range", false, false, 2, 2, true},
    [CK_IS_GT] = {"is-gt", false, false, 1, 1, true},
    [CK_IS_LT] = {"is-lt", false, false, 1, 1, true},
    [CK_EXISTS] = {"exists", false, false, 0, 0, false},
    [CK_NOT_EXISTS] = {"not-exists", false, false, 0, 0, false},
    [CK_CONTAINS] = {"contains", false, false, 1, 1, false},
    [CK_IS_IN] = {"is-in", false, false, 1, CK_VALUES_ANY, false},
    [CK_NOT_IN] = {"not-in", false, false, 1, CK_VALUES_ANY, false},
    [CK_ALL_SAME] = {"all-same", false, false, 0, 1, false},
};

int check_op_find(const char *name)
{
  for (int i = 0; i < CK_OP_COUNT; i++)
    if (strcmp(check_op_table[i].name, name) == 0)
      return i;
  return -1;
}

bool check_number(const char *s, double *out)
{
  while (isspace((unsigned char)*s))
    s++;
  if (*s == '\0')
    return false;
  errno = 0;
  char *end;
  double v = strtod(s, &end);
  while (isspace((unsigned char)*end))
    end++;
  /* strtod also reads "nan", "inf" and hex: a router's counter is none of those. */
  if (errno == ERANGE || *end != '\0' || !isfinite(v) || strpbrk(s, "xXnN") != NULL)
    return false;
  *out = v;
  return true;
}

bool check_delta_parse(const char *s, struct check_delta *out)
{
  memset(out, 0, sizeof *out);
  while (isspace((unsigned char)*s))
    s++;
  if (strncmp(s, "+-", 2) == 0)
    s += 2;
  else if (strncmp(s, "\xc2\xb1", 2) == 0) /* ± */
    s += 2;
  else if (*s == '+' || *s == '-')
    out->sign = *s++ == '+' ? 1 : -1;
  if (!isdigit((unsigned char)*s) && *s != '.')
    return false;
  char num[64];
  size_t l = strlen(s);
  while (l > 0 && isspace((unsigned char)s[l - 1]))
    l--;
  if (l > 0 && s[l - 1] == '%') {
    out->percent = true;
    l--;
  }
  if (l == 0 || l >= sizeof num)
    return false;
  memcpy(num, s, l);
  num[l] = '\0';
  return check_number(num, &out->amount) && out->amount >= 0;
}

bool check_delta_holds(const struct check_delta *d, double pre, double post)
{
  double tol = d->percent ? fabs(pre) * d->amount / 100.0 : d->amount;
  double diff = post - pre;
  /* A hair of slack so that 5% of 20 (a float) admits 21. */
  double eps = 1e-9 * (fabs(pre) + fabs(post) + 1);
  if (d->sign > 0)
    return diff >= -eps && diff <= tol + eps;
  if (d->sign < 0)
    return diff <= eps && -diff <= tol + eps;
  return fabs(diff) <= tol + eps;
}

static void quiet(void *ctx, xmlErrorPtr e)
{
  (void)ctx;
  (void)e;
}

xmlXPathContextPtr check_xpath_context(xmlDocPtr doc)
{
  xmlXPathContextPtr c = xmlXPathNewContext(doc);
  if (c == NULL) {
    fprintf(stderr, "issu-fleet: out of memory (XPath context)\n");
    abort();
  }
  c->error = quiet;
  return c;
}

xmlXPathCompExprPtr check_xpath_compile(const char *xpath)
{
  xmlXPathContextPtr c = check_xpath_context(NULL);
  xmlXPathCompExprPtr e = xmlXPathCtxtCompile(c, (const xmlChar *)xpath);
  xmlXPathFreeContext(c);
  return e;
}

const char *check_command_invalid(const char *command)
{
  size_t l = strlen(command);
  if (l == 0)
    return "is empty";
  if (l > CHECK_COMMAND_MAX)
    return "is longer than 256 characters";
  if (strncmp(command, "show ", 5) != 0)
    return "is not a `show` command (checks only read the router)";
  for (const char *p = command; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '|')
      return "contains '|' (issu-fleet adds `| display xml` itself)";
    if (c == ';')
      return "contains ';'";
    if (c == '\n' || c == '\r')
      return "contains a line break";
    if (c < 0x20 || c >= 0x7f)
      return "contains a character that is not printable ASCII";
  }
  return NULL;
}

char *check_rule_text(const struct check_rule *r)
{
  char *buf = NULL;
  size_t len = 0, cap = 0;
  text_appendf(&buf, &len, &cap, "%s", check_op_table[r->op].name);
  if (r->node)
    text_appendf(&buf, &len, &cap, " %s", r->node);
  for (size_t i = 0; i < r->nvalues; i++)
    text_appendf(&buf, &len, &cap, "%s%s", i == 0 && r->node == NULL ? " " : ", ", r->values[i]);
  return buf;
}

size_t check_placeholder(const char *p, char *kind, const char **node, size_t *nodelen,
                         unsigned *index)
{
  const char *s = p;
  while (*s == ' ')
    s++;
  if (strncmp(s, "pre[", 4) == 0 || strncmp(s, "post[", 5) == 0) {
    *kind = s[1] == 'r' ? 'p' : 'q';
    s += *kind == 'p' ? 4 : 5;
    char quote = *s;
    if (quote != '\'' && quote != '"')
      return 0;
    const char *end = strchr(s + 1, quote);
    if (end == NULL || end == s + 1 || end[1] != ']')
      return 0;
    *node = s + 1;
    *nodelen = (size_t)(end - s - 1);
    s = end + 2;
  } else if (strncmp(s, "id_", 3) == 0 && isdigit((unsigned char)s[3])) {
    *kind = 'i';
    s += 3;
    unsigned v = 0;
    while (isdigit((unsigned char)*s) && v < 1000)
      v = v * 10 + (unsigned)(*s++ - '0');
    *index = v;
  } else
    return 0;
  while (*s == ' ')
    s++;
  if (strncmp(s, "}}", 2) != 0)
    return 0;
  return (size_t)(s + 2 - p);
}

const char *check_template_invalid(const char *tmpl, size_t *where)
{
  for (const char *p = tmpl; (p = strstr(p, "{{")) != NULL;) {
    char kind;
    const char *node;
    size_t nl;
    unsigned idx;
    size_t l = check_placeholder(p + 2, &kind, &node, &nl, &idx);
    if (l == 0) {
      *where = (size_t)(p - tmpl);
      return "only {{pre['NODE']}}, {{post['NODE']}} and {{id_N}} are filled in (no template "
             "engine)";
    }
    p += 2 + l;
  }
  if (strstr(tmpl, "{%") != NULL) {
    *where = (size_t)(strstr(tmpl, "{%") - tmpl);
    return "{% ... %} blocks are not supported (no template engine)";
  }
  return NULL;
}
