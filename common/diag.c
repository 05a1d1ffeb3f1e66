/*
 * Diagnostics list. Every message a user sees about a bad file goes through here, so they all
 * share one shape: FILE:LINE:COL: what is wrong (what was expected).
 */
#include "common/common.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void diag_add(struct diag *d, const char *file, unsigned line, unsigned col, const char *fmt, ...)
{
  size_t max = d->max ? d->max : DIAG_DEFAULT_MAX;
  if (d->count >= max)
    return;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *msg = xmalloc(n > 0 ? (size_t)n + 1 : 1);
  va_start(ap, fmt);
  vsnprintf(msg, n > 0 ? (size_t)n + 1 : 1, fmt, ap);
  va_end(ap);

  char *entry;
  if (file == NULL)
    entry = msg;
  else {
    if (line > 0)
      entry = xasprintf("%s:%u:%u: %s", file, line, col, msg);
    else
      entry = xasprintf("%s: %s", file, msg);
    free(msg);
  }
  /* A message may quote bad input (a host range, a name): control characters in it must never
   * reach a terminal (an ESC sequence could rewrite what the operator sees). */
  for (char *c = entry; *c; c++)
    if ((unsigned char)*c < 0x20 || *c == 0x7f)
      *c = '?';
  d->lines = xgrow(d->lines, &d->cap, d->count + 1, sizeof *d->lines);
  d->lines[d->count++] = entry;
}

bool diag_full(const struct diag *d)
{
  return d->count >= (d->max ? d->max : DIAG_DEFAULT_MAX);
}

void diag_print(const struct diag *d, FILE *out)
{
  for (size_t i = 0; i < d->count; i++)
    fprintf(out, "%s\n", d->lines[i]);
  if (diag_full(d))
    fprintf(out, "(stopped after %zu errors)\n", d->count);
}

void diag_free(struct diag *d)
{
  for (size_t i = 0; i < d->count; i++)
    free(d->lines[i]);
  free(d->lines);
  d->lines = NULL;
  d->count = d->cap = 0;
}

bool diag_contains(const struct diag *d, const char *needle)
{
  for (size_t i = 0; i < d->count; i++)
    if (strstr(d->lines[i], needle) != NULL)
      return true;
  return false;
}
