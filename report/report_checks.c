/*
 * The health checks of each router in the report (issue 15): passed or failed, how many tests,
 * how many post attempts, how long the network took to converge, and every item that broke a
 * rule (test, item, pre value, post value, rule), read from the check-* events (docs/events.md).
 */
#include "common/event_schema.h"
#include "report/report.h"

#include "common/common.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

static const cJSON *checks_of(const cJSON *ev)
{
  return cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "issu"), F_CHECKS);
}

static const char *text(const cJSON *o, const char *key)
{
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(x) ? x->valuestring : "";
}

/* A count or a duration: used only when it fits a counter (a damaged journal's 1e113 is the
 * default, never a cast out of range). */
static double number(const cJSON *o, const char *key, double dflt)
{
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(x) && x->valuedouble >= 0 && x->valuedouble <= UINT_MAX ? x->valuedouble
                                                                                : dflt;
}

static void items_free(struct report_checks *c)
{
  for (size_t i = 0; i < c->nitems; i++) {
    struct report_check_item *it = &c->items[i];
    free(it->test), free(it->item), free(it->rule), free(it->pre), free(it->post);
  }
  free(c->items);
  c->items = NULL;
  c->nitems = c->items_left = 0;
}

void report_checks_free(struct report_checks *c)
{
  items_free(c);
}

/* A report is read from files anyone may hand it: the lists are bounded. */
#define ITEMS_MAX 200

void report_checks_event(struct report_router *rt, const char *action, const cJSON *ev)
{
  const cJSON *ck = checks_of(ev);
  if (rt == NULL || !cJSON_IsObject(ck))
    return;
  struct report_checks *c = &rt->checks;
  c->seen = true;
  if (strcmp(action, EV_CHECK_ATTEMPT) == 0) {
    c->attempts = (unsigned)number(ck, F_CHECK_ATTEMPT, c->attempts);
    return;
  }
  bool passed = strcmp(action, EV_CHECK_PASSED) == 0;
  if (!passed && strcmp(action, EV_CHECK_FAILED) != 0)
    return; /* check-snapshot: seen, no verdict */
  const char *moment = text(ck, F_CHECK_MOMENT);
  /* A pre-check that only warned is not the router's verdict when a post one follows, but it
   * is until then. */
  c->verdict = true;
  c->passed = passed;
  snprintf(c->moment, sizeof c->moment, "%s", moment);
  c->tests = (unsigned)number(ck, F_CHECK_TESTS, 0);
  c->tests_failed = (unsigned)number(ck, F_CHECK_FAILED, 0);
  c->attempts = (unsigned)number(ck, F_CHECK_ATTEMPT, c->attempts);
  c->converge_s = number(ck, F_CHECK_CONVERGE_S, -1);
  items_free(c);
  const cJSON *f;
  cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(ck, F_CHECK_FAILURES))
  {
    if (!cJSON_IsObject(f))
      continue;
    if (c->nitems >= ITEMS_MAX) {
      c->items_left++;
      continue;
    }
    c->items = xrealloc(c->items, (c->nitems + 1) * sizeof *c->items);
    c->items[c->nitems++] = (struct report_check_item){
        xstrdup(text(f, "test")), xstrdup(text(f, "item")), xstrdup(text(f, "rule")),
        xstrdup(text(f, "pre")),  xstrdup(text(f, "post")),
    };
  }
  c->items_left += (size_t)number(ck, F_CHECK_FAILURES_LEFT, 0);
}

/* "passed", "FAILED (post)", "-" */
static const char *verdict(const struct report_checks *c, char *buf, size_t len)
{
  if (!c->verdict)
    return c->seen ? "running" : "-";
  snprintf(buf, len, "%s (%s)", c->passed ? "passed" : "FAILED", c->moment);
  return buf;
}

void report_checks_text(const struct report *r, FILE *out)
{
  bool any = false;
  for (size_t i = 0; i < r->nrouters && !any; i++)
    any = r->routers[i].checks.seen;
  if (!any)
    return;
  fprintf(out, "\nchecks\n  %-20s %-16s %6s %6s %8s %10s\n", "ROUTER", "RESULT", "TESTS", "FAILED",
          "ATTEMPTS", "CONVERGED");
  for (size_t i = 0; i < r->nrouters; i++) {
    const struct report_router *rt = &r->routers[i];
    const struct report_checks *c = &rt->checks;
    if (!c->seen)
      continue;
    char v[32], d[32];
    fprintf(out, "  %-20s %-16s %6u %6u %8u %10s\n", rt->name, verdict(c, v, sizeof v), c->tests,
            c->tests_failed, c->attempts,
            c->verdict && c->converge_s >= 0 ? report_duration(c->converge_s, d, sizeof d) : "-");
    for (size_t j = 0; j < c->nitems; j++) {
      const struct report_check_item *it = &c->items[j];
      fprintf(out, "    %s %s: %s -> %s (%s)\n", it->test, it->item, *it->pre ? it->pre : "(none)",
              *it->post ? it->post : "(none)", it->rule);
    }
    if (c->items_left)
      fprintf(out, "    ... and %zu more items\n", c->items_left);
  }
}

cJSON *report_checks_json(const struct report_checks *c)
{
  if (!c->seen)
    return NULL;
  cJSON *o = cJSON_CreateObject();
  cJSON_AddStringToObject(o, "result", !c->verdict ? "running" : c->passed ? "passed" : "failed");
  if (c->verdict)
    cJSON_AddStringToObject(o, "moment", c->moment);
  cJSON_AddNumberToObject(o, "tests", c->tests);
  cJSON_AddNumberToObject(o, "failed", c->tests_failed);
  cJSON_AddNumberToObject(o, "attempts", c->attempts);
  if (c->verdict && c->converge_s >= 0)
    cJSON_AddNumberToObject(o, "converge_s", c->converge_s);
  if (c->nitems) {
    cJSON *a = cJSON_AddArrayToObject(o, "failures");
    for (size_t i = 0; i < c->nitems; i++) {
      const struct report_check_item *it = &c->items[i];
      cJSON *x = cJSON_CreateObject();
      cJSON_AddStringToObject(x, "test", it->test);
      cJSON_AddStringToObject(x, "item", it->item);
      cJSON_AddStringToObject(x, "rule", it->rule);
      cJSON_AddStringToObject(x, "pre", it->pre);
      cJSON_AddStringToObject(x, "post", it->post);
      cJSON_AddItemToArray(a, x);
    }
  }
  if (c->items_left)
    cJSON_AddNumberToObject(o, "failures_left_off", (double)c->items_left);
  return o;
}

static void cell(FILE *out, void (*esc)(FILE *, const char *), const char *s)
{
  fputs("<td>", out);
  esc(out, s);
  fputs("</td>", out);
}

void report_checks_html(const struct report *r, FILE *out, void (*esc)(FILE *, const char *))
{
  bool any = false;
  for (size_t i = 0; i < r->nrouters && !any; i++)
    any = r->routers[i].checks.seen;
  if (!any)
    return;
  fputs("<h2>Health checks</h2>\n<table id=\"checks\"><tr><th>router</th><th>result</th>"
        "<th>tests</th><th>failed</th><th>attempts</th><th>converged in</th></tr>\n",
        out);
  for (size_t i = 0; i < r->nrouters; i++) {
    const struct report_checks *c = &r->routers[i].checks;
    if (!c->seen)
      continue;
    char v[32], d[32];
    fputs("<tr>", out);
    cell(out, esc, r->routers[i].name);
    fprintf(out, "<td class=\"%s\">%s</td>", c->verdict && !c->passed ? "bad" : "",
            verdict(c, v, sizeof v));
    fprintf(out, "<td class=\"n\">%u</td><td class=\"n\">%u</td><td class=\"n\">%u</td>", c->tests,
            c->tests_failed, c->attempts);
    fprintf(out, "<td class=\"n\">%s</td></tr>\n",
            c->verdict && c->converge_s >= 0 ? report_duration(c->converge_s, d, sizeof d) : "-");
  }
  fputs("</table>\n", out);
  /* A row per failed item: what an engineer checks by hand after an upgrade, in one place. */
  bool items = false;
  for (size_t i = 0; i < r->nrouters; i++) {
    const struct report_checks *c = &r->routers[i].checks;
    for (size_t j = 0; j < c->nitems; j++) {
      const struct report_check_item *it = &c->items[j];
      if (!items)
        fputs("<h3>Failed check items</h3>\n<table id=\"check-items\"><tr><th>router</th>"
              "<th>test</th><th>item</th><th>pre</th><th>post</th><th>rule</th></tr>\n",
              out);
      items = true;
      fputs("<tr class=\"check-item\">", out);
      cell(out, esc, r->routers[i].name);
      cell(out, esc, it->test);
      cell(out, esc, it->item);
      cell(out, esc, it->pre);
      cell(out, esc, it->post);
      cell(out, esc, it->rule);
      fputs("</tr>\n", out);
    }
    if (c->items_left) {
      fputs("<tr><td colspan=\"6\">", out);
      esc(out, r->routers[i].name);
      fprintf(out, ": %zu more items (see the check-failed event)</td></tr>\n", c->items_left);
    }
  }
  if (items)
    fputs("</table>\n", out);
}
