/*
 * A run's journal as the end-to-end tests read it: its events parsed, and the few fields the
 * tests look at. Each test file reads the journal its own way (checks_e2e also checks every
 * line is UTF-8); what they look at is shared here.
 */
#ifndef ISSU_TEST_JOURNAL_VIEW_H
#define ISSU_TEST_JOURNAL_VIEW_H

#include <cjson/cJSON.h>
#include <stdlib.h>

struct journal {
  cJSON **ev;
  size_t n;
};

__attribute__((unused)) static void journal_free(struct journal *j)
{
  for (size_t i = 0; i < j->n; i++)
    cJSON_Delete(j->ev[i]);
  free(j->ev);
}

/* The string at o.a (or o.a.b), "" when absent. */
__attribute__((unused)) static const char *str_at(const cJSON *o, const char *a, const char *b)
{
  const cJSON *x = cJSON_GetObjectItem(o, a);
  x = x && b ? cJSON_GetObjectItem(x, b) : x;
  return cJSON_IsString(x) ? x->valuestring : "";
}

__attribute__((unused)) static const char *action(const cJSON *e)
{
  return str_at(e, "event", "action");
}

__attribute__((unused)) static const char *host(const cJSON *e)
{
  return str_at(e, "host", "name");
}

#endif
