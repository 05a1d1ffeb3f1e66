/*
 * A suite: the distinct commands it runs and the tests that read their answers. Built from the
 * built-in ISSU suite (checks_builtin.c) and any JSNAPy test files (checks_jsnapy.c); freed here.
 */
#include "checks/checks_int.h"

#include <stdlib.h>
#include <string.h>

struct check_suite *check_suite_new(const struct check_builtin_options *o, const char *origin,
                                    unsigned line, unsigned col, struct diag *d)
{
  struct check_suite *s = xcalloc(1, sizeof *s);
  if (o != NULL && check_builtin_add(s, o, origin, line, col, d) < 0) {
    check_suite_free(s);
    return NULL;
  }
  return s;
}

void check_rule_free(struct check_rule *r)
{
  free(r->node);
  if (r->node_expr)
    xmlXPathFreeCompExpr(r->node_expr);
  for (size_t i = 0; i < r->nvalues; i++)
    free(r->values[i]);
  free(r->values);
  free(r->text);
  free(r->err);
  free(r->info);
  for (size_t i = 0; i < r->nskip; i++)
    free(r->skip[i]);
  free(r->skip);
  memset(r, 0, sizeof *r);
}

void check_test_free(struct check_test *t)
{
  free(t->name);
  free(t->xpath);
  if (t->xpath_expr)
    xmlXPathFreeCompExpr(t->xpath_expr);
  for (size_t i = 0; i < t->nids; i++) {
    free(t->ids[i]);
    free(t->id_labels[i]);
    if (t->id_exprs[i])
      xmlXPathFreeCompExpr(t->id_exprs[i]);
  }
  free(t->ids);
  free(t->id_labels);
  free(t->id_exprs);
  for (size_t i = 0; i < t->nrules; i++)
    check_rule_free(&t->rules[i]);
  free(t->rules);
  memset(t, 0, sizeof *t);
}

void check_suite_free(struct check_suite *s)
{
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->ncommands; i++)
    free(s->commands[i]);
  free(s->commands);
  for (size_t i = 0; i < s->ntests; i++)
    check_test_free(&s->tests[i]);
  free(s->tests);
  free(s);
}

int check_suite_command_add(struct check_suite *s, const char *command)
{
  for (size_t i = 0; i < s->ncommands; i++)
    if (strcmp(s->commands[i], command) == 0)
      return (int)i;
  if (s->ncommands >= CHECK_COMMANDS_MAX)
    return -1;
  s->commands = xgrow(s->commands, &s->capcommands, s->ncommands + 1, sizeof *s->commands);
  s->commands[s->ncommands] = xstrdup(command);
  return (int)s->ncommands++;
}

struct check_test *check_suite_test_add(struct check_suite *s)
{
  s->tests = xgrow(s->tests, &s->captests, s->ntests + 1, sizeof *s->tests);
  struct check_test *t = &s->tests[s->ntests++];
  memset(t, 0, sizeof *t);
  return t;
}

size_t check_suite_command_count(const struct check_suite *s)
{
  return s ? s->ncommands : 0;
}

const char *check_suite_command(const struct check_suite *s, size_t i)
{
  return s && i < s->ncommands ? s->commands[i] : NULL;
}

size_t check_suite_test_count(const struct check_suite *s)
{
  size_t n = 0;
  for (size_t i = 0; s && i < s->ntests; i++)
    n += s->tests[i].nrules;
  return n;
}
