/*
 * Allocation wrappers: every allocation in issu-fleet goes through these, so a failed allocation
 * is reported once, clearly, and the process exits with the internal-error code instead of
 * limping on with a NULL pointer.
 */
#include "common/common.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void out_of_memory(size_t size)
{
  fprintf(stderr, "issu-fleet: out of memory allocating %zu bytes\n", size);
  exit(ISSU_EXIT_INTERNAL);
}

void *xmalloc(size_t size)
{
  void *p = malloc(size ? size : 1);
  if (p == NULL)
    out_of_memory(size);
  return p;
}

void *xcalloc(size_t count, size_t size)
{
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (p == NULL)
    out_of_memory(count * size);
  return p;
}

void *xrealloc(void *ptr, size_t size)
{
  void *p = realloc(ptr, size ? size : 1);
  if (p == NULL)
    out_of_memory(size);
  return p;
}

void *xgrow(void *ptr, size_t *cap, size_t need, size_t elem)
{
  if (need <= *cap)
    return ptr;
  size_t n = *cap ? *cap : 8;
  while (n < need) {
    if (n > SIZE_MAX / 2 / elem)
      out_of_memory(SIZE_MAX);
    n *= 2;
  }
  *cap = n;
  return xrealloc(ptr, n * elem);
}

char *xstrdup(const char *s)
{
  return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
  char *p = xmalloc(n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *xasprintf(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    out_of_memory(0);
  char *p = xmalloc((size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}
