/*
 * YAML 1.1 implicit scalar typing, as PyYAML's SafeLoader resolves it, because that is what
 * Ansible (and so `ansible-inventory --list`) sees: yes/no/on/off are booleans, 010 is octal 8,
 * 1:30 is the sexagesimal 90, 1.5e+3 is a float but 1e3 a string, ~ and the empty scalar are null.
 * Dates stay strings here (Ansible prints them as the same ISO text).
 *
 * Each type is one small matcher, and the resolver walks the table in PyYAML's order.
 */
#include "yamldoc/yamldoc.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool one_of(const char *s, const char *const *words)
{
  for (; *words; words++)
    if (strcmp(s, *words) == 0)
      return true;
  return false;
}

static bool match_null(const char *s, struct yscalar *out)
{
  static const char *const words[] = {"", "~", "null", "Null", "NULL", NULL};
  if (!one_of(s, words))
    return false;
  out->type = YSCALAR_NULL;
  return true;
}

static bool match_bool(const char *s, struct yscalar *out)
{
  static const char *const yes[] = {"yes",  "Yes", "YES", "true", "True",
                                    "TRUE", "on",  "On",  "ON",   NULL};
  static const char *const no[] = {"no",    "No",  "NO",  "false", "False",
                                   "FALSE", "off", "Off", "OFF",   NULL};
  if (one_of(s, yes))
    out->b = true;
  else if (one_of(s, no))
    out->b = false;
  else
    return false;
  out->type = YSCALAR_BOOL;
  return true;
}

/* Digits of `base` and underscores, at least one character. */
static bool all_digits(const char *s, int base)
{
  if (*s == '\0')
    return false;
  for (; *s; s++) {
    int c = (unsigned char)*s;
    bool ok = c == '_' || (base == 2 && (c == '0' || c == '1')) ||
              (base == 8 && c >= '0' && c <= '7') || (base == 10 && isdigit(c)) ||
              (base == 16 && isxdigit(c));
    if (!ok)
      return false;
  }
  return true;
}

/* Accumulates digits (underscores skipped) into *v; false on 64-bit overflow. */
static bool accumulate(const char *s, int base, uint64_t *v)
{
  for (; *s; s++) {
    if (*s == '_')
      continue;
    int c = (unsigned char)*s;
    unsigned digit = isdigit(c) ? (unsigned)(c - '0') : (unsigned)(tolower(c) - 'a' + 10);
    if (*v > (UINT64_MAX - digit) / (unsigned)base)
      return false;
    *v = *v * (unsigned)base + digit;
  }
  return true;
}

/* Sexagesimal "1:30:00": first part [1-9][0-9_]*, then parts of one or two digits, 0-59. */
static bool sexagesimal_int(const char *s, uint64_t *v)
{
  if (*s < '1' || *s > '9')
    return false;
  const char *colon = strchr(s, ':');
  char head[32];
  size_t hl = (size_t)(colon - s);
  if (hl >= sizeof head)
    return false;
  memcpy(head, s, hl);
  head[hl] = '\0';
  if (!all_digits(head, 10) || !accumulate(head, 10, v))
    return false;
  for (const char *p = colon; p && *p == ':';) {
    p++;
    const char *end = p;
    while (isdigit((unsigned char)*end))
      end++;
    size_t n = (size_t)(end - p);
    if (n < 1 || n > 2 || (n == 2 && p[0] > '5') || (*end != ':' && *end != '\0'))
      return false;
    unsigned part = n == 1 ? (unsigned)(p[0] - '0') : (unsigned)((p[0] - '0') * 10 + p[1] - '0');
    if (*v > (UINT64_MAX - part) / 60)
      return false;
    *v = *v * 60 + part;
    p = end;
    if (*p == '\0')
      break;
  }
  return true;
}

/* 1 matched, 0 not an int, -1 an int too large for 64 bits. */
static int match_int(const char *text, struct yscalar *out)
{
  const char *s = text;
  bool neg = false;
  if (*s == '-' || *s == '+')
    neg = *s++ == '-';
  uint64_t v = 0;
  bool ok;
  if (s[0] == '0' && s[1] == 'b')
    ok = all_digits(s + 2, 2) && (accumulate(s + 2, 2, &v) || (v = UINT64_MAX, true));
  else if (s[0] == '0' && s[1] == 'x')
    ok = all_digits(s + 2, 16) && (accumulate(s + 2, 16, &v) || (v = UINT64_MAX, true));
  else if (s[0] == '0' && s[1] != '\0')
    ok = all_digits(s + 1, 8) && (accumulate(s + 1, 8, &v) || (v = UINT64_MAX, true));
  else if (s[0] == '0')
    ok = true;
  else if (strchr(s, ':') != NULL)
    ok = sexagesimal_int(s, &v);
  else
    ok = *s >= '1' && *s <= '9' && all_digits(s, 10) &&
         (accumulate(s, 10, &v) || (v = UINT64_MAX, true));
  if (!ok)
    return 0;
  if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
    return -1;
  out->type = YSCALAR_INT;
  out->i = neg ? (int64_t)(0 - v) : (int64_t)v;
  return 1;
}

static bool match_float(const char *text, struct yscalar *out)
{
  static const char *const inf[] = {".inf", ".Inf", ".INF", NULL};
  static const char *const nan[] = {".nan", ".NaN", ".NAN", NULL};
  const char *s = text;
  bool neg = false;
  if (*s == '-' || *s == '+')
    neg = *s++ == '-';
  if (one_of(s, inf)) {
    out->type = YSCALAR_FLOAT;
    out->f = neg ? -INFINITY : INFINITY;
    return true;
  }
  if (s == text && one_of(s, nan)) {
    out->type = YSCALAR_FLOAT;
    out->f = NAN;
    return true;
  }
  /* [0-9][0-9_]*\.[0-9_]*([eE][-+][0-9]+)?, or \.[0-9_]+(...) without a sign. */
  const char *p = s;
  if (isdigit((unsigned char)*p)) {
    while (isdigit((unsigned char)*p) || *p == '_')
      p++;
  } else if (!(*p == '.' && s == text && (isdigit((unsigned char)p[1]) || p[1] == '_')))
    return false;
  if (*p != '.')
    return false; /* sexagesimal floats are too rare in inventories to be worth the code */
  p++;
  while (isdigit((unsigned char)*p) || *p == '_')
    p++;
  if (*p == 'e' || *p == 'E') {
    p++;
    if (*p != '-' && *p != '+')
      return false;
    p++;
    if (!isdigit((unsigned char)*p))
      return false;
    while (isdigit((unsigned char)*p))
      p++;
  }
  if (*p != '\0')
    return false;
  char buf[128];
  size_t n = 0;
  for (const char *q = text; *q && n + 1 < sizeof buf; q++)
    if (*q != '_')
      buf[n++] = *q;
  buf[n] = '\0';
  out->type = YSCALAR_FLOAT;
  out->f = strtod(buf, NULL);
  return true;
}

int yscalar_resolve(const struct ynode *n, struct yscalar *out)
{
  memset(out, 0, sizeof *out);
  out->type = YSCALAR_STR;
  if (n == NULL) {
    out->type = YSCALAR_NULL;
    return 0;
  }
  if (n->kind != YNODE_SCALAR || !n->plain || strlen(n->text) != n->len || n->len > 100)
    return 0;
  if (match_null(n->text, out) || match_bool(n->text, out))
    return 0;
  int r = match_int(n->text, out);
  if (r < 0) {
    out->type = YSCALAR_STR;
    return -ERANGE;
  }
  if (r == 0 && !match_float(n->text, out))
    out->type = YSCALAR_STR;
  return 0;
}

char *yscalar_json_number(const struct yscalar *s)
{
  switch (s->type) {
  case YSCALAR_NULL:
    return xstrdup("null");
  case YSCALAR_BOOL:
    return xstrdup(s->b ? "true" : "false");
  case YSCALAR_INT:
    return xasprintf("%lld", (long long)s->i);
  case YSCALAR_FLOAT: {
    /* JSON has no infinity or NaN; Python prints Infinity/NaN, which most consumers reject. */
    if (isinf(s->f))
      return xstrdup(s->f > 0 ? "1e999" : "-1e999");
    if (isnan(s->f))
      return xstrdup("null");
    char buf[64];
    for (int prec = 1; prec <= 17; prec++) {
      snprintf(buf, sizeof buf, "%.*g", prec, s->f);
      if (strtod(buf, NULL) == s->f)
        break;
    }
    if (strpbrk(buf, ".en") == NULL)
      strncat(buf, ".0", sizeof buf - strlen(buf) - 1);
    return xstrdup(buf);
  }
  case YSCALAR_STR:
    return NULL;
  }
  return NULL;
}
