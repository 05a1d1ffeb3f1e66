/*
 * Host ranges, as Ansible's expand_hostname_range reads them: "db[01:10:3]x" expands the first
 * bracket, then recurses for any further bracket. Numeric bounds with a leading zero keep their
 * width (and must have equal widths); single letters give alphabetic ranges (a-z then A-Z, the
 * order of Python's string.ascii_letters). Expansion is bounded so a typo cannot ask for a
 * billion hosts.
 */
#include "inventory/inventory.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

struct names {
  char **items;
  size_t count, cap;
};

static bool parse_number(const char *s, long *out)
{
  if (*s == '\0' || strlen(s) > 9)
    return false;
  long v = 0;
  for (; *s; s++) {
    if (!isdigit((unsigned char)*s))
      return false;
    v = v * 10 + (*s - '0');
  }
  *out = v;
  return true;
}

static int expand(const char *pattern, struct names *out, char *err, size_t errlen)
{
  const char *open = strchr(pattern, '[');
  const char *close = open ? strchr(open, ']') : NULL;
  if (open == NULL) {
    out->items = xgrow(out->items, &out->cap, out->count + 1, sizeof *out->items);
    out->items[out->count++] = xstrdup(pattern);
    return 0;
  }
  if (close == NULL) {
    snprintf(err, errlen, "'[' without a closing ']'");
    return -1;
  }
  char inner[64];
  size_t ilen = (size_t)(close - open - 1);
  if (ilen >= sizeof inner) {
    snprintf(err, errlen, "range is too long");
    return -1;
  }
  memcpy(inner, open + 1, ilen);
  inner[ilen] = '\0';
  char *bounds[3] = {inner, NULL, NULL};
  int nb = 1;
  for (char *p = inner; *p; p++)
    if (*p == ':') {
      if (nb == 3) {
        nb = 4;
        break;
      }
      *p = '\0';
      bounds[nb++] = p + 1;
    }
  if (nb != 2 && nb != 3) {
    snprintf(err, errlen, "a range must be [begin:end] or [begin:end:step]");
    return -1;
  }
  const char *beg = *bounds[0] ? bounds[0] : "0";
  const char *end = bounds[1];
  long step = 1;
  if (*end == '\0') {
    snprintf(err, errlen, "a range must give its end value");
    return -1;
  }
  if (nb == 3 && (!parse_number(bounds[2], &step) || step < 1)) {
    snprintf(err, errlen, "the step of a range must be a whole number of at least 1");
    return -1;
  }
  size_t width = 0;
  if (beg[0] == '0' && beg[1] != '\0') {
    width = strlen(beg);
    if (width != strlen(end)) {
      snprintf(err, errlen, "begin and end of a zero-padded range must have the same width");
      return -1;
    }
  }
  size_t head = (size_t)(open - pattern);
  const char *tail = close + 1;
  const char *lb = strlen(beg) == 1 ? strchr(letters, beg[0]) : NULL;
  const char *le = strlen(end) == 1 ? strchr(letters, end[0]) : NULL;
  long from, to;
  bool alpha = lb != NULL && le != NULL && *beg != '\0' && !isdigit((unsigned char)*beg);
  if (alpha) {
    from = lb - letters;
    to = le - letters;
  } else if (!parse_number(beg, &from) || !parse_number(end, &to)) {
    snprintf(err, errlen, "range bounds must be numbers or single letters ('%s' to '%s')", beg,
             end);
    return -1;
  }
  if (from > to) {
    snprintf(err, errlen, "a range must have begin <= end");
    return -1;
  }
  for (long v = from; v <= to; v += step) {
    if (out->count >= INVENTORY_MAX_RANGE_HOSTS) {
      snprintf(err, errlen, "expands to more than %u hosts", INVENTORY_MAX_RANGE_HOSTS);
      return -1;
    }
    char *name;
    if (alpha)
      name = xasprintf("%.*s%c%s", (int)head, pattern, letters[v], tail);
    else
      name = xasprintf("%.*s%0*ld%s", (int)head, pattern, (int)width, v, tail);
    int rc = expand(name, out, err, errlen);
    free(name);
    if (rc < 0)
      return rc;
  }
  return 0;
}

long inventory_expand_range(const char *pattern, char ***out, char *err, size_t errlen)
{
  struct names names = {0};
  if (expand(pattern, &names, err, errlen) < 0) {
    for (size_t i = 0; i < names.count; i++)
      free(names.items[i]);
    free(names.items);
    *out = NULL;
    return -1;
  }
  *out = names.items;
  return (long)names.count;
}
