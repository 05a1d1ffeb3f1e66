/*
 * The journal line printer (event_json.h). cJSON_PrintUnformatted spent about 36,000
 * instructions on an event of 25 items (callgrind): a locale lookup, a sprintf and an sscanf for
 * every number, a buffer grown by realloc. This one writes into one growing buffer and prints
 * numbers and strings by cJSON 1.7's rules, byte for byte (tests/unit/test_events.c compares the
 * two on random trees).
 */
#include "scheduler/event_json.h"
#include "common/common.h"

#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct out {
  char *buf;
  size_t len, cap;
};

static char *room(struct out *o, size_t n)
{
  if (o->len + n + 2 > o->cap) /* and room for the newline and the NUL */
    o->buf = xgrow(o->buf, &o->cap, o->len + n + 2, 1);
  return o->buf + o->len;
}

static void put(struct out *o, const char *s, size_t n)
{
  memcpy(room(o, n), s, n);
  o->len += n;
}

/* cJSON's print_string_ptr: '"' '\\' and the five short escapes, \u00xx for the other control
 * characters, every other byte (UTF-8 included) as it is. */
static void put_string(struct out *o, const char *s)
{
  if (s == NULL) {
    put(o, "\"\"", 2);
    return;
  }
  put(o, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)s; *p;) {
    const unsigned char *run = p;
    while (*p > 31 && *p != '"' && *p != '\\')
      p++;
    if (p > run)
      put(o, (const char *)run, (size_t)(p - run));
    if (*p == '\0')
      break;
    char esc[8];
    size_t n = 2;
    esc[0] = '\\';
    switch (*p) {
    case '\\':
      esc[1] = '\\';
      break;
    case '"':
      esc[1] = '"';
      break;
    case '\b':
      esc[1] = 'b';
      break;
    case '\f':
      esc[1] = 'f';
      break;
    case '\n':
      esc[1] = 'n';
      break;
    case '\r':
      esc[1] = 'r';
      break;
    case '\t':
      esc[1] = 't';
      break;
    default:
      n = (size_t)snprintf(esc, sizeof esc, "\\u%04x", *p);
      break;
    }
    put(o, esc, n);
    p++;
  }
  put(o, "\"", 1);
}

/* An integral number under 1e15 in magnitude, as "%1.15g" prints it: its digits, no exponent,
 * no point, the sign of -0 kept. */
static int integer_text(char *buf, double d)
{
  unsigned long long v = (unsigned long long)fabs(d);
  char digits[20];
  int n = 0;
  do {
    digits[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  int at = 0;
  if (signbit(d))
    buf[at++] = '-';
  while (n > 0)
    buf[at++] = digits[--n];
  buf[at] = '\0';
  return at;
}

/* cJSON 1.7.15's print_number: null for NaN and infinities, else 15 significant digits if they
 * read back as the same double (its compare_double), else 17; the locale's decimal point
 * printed as '.'. Integers below 1e15 (sequence numbers, counts) print the same without
 * printf. */
static void put_number(struct out *o, const cJSON *item)
{
  double d = item->valuedouble;
  char buf[32];
  int n;
  if (isnan(d) || isinf(d))
    n = snprintf(buf, sizeof buf, "null");
  else if (fabs(d) < 1e15 && d == trunc(d))
    n = integer_text(buf, d);
  else {
    n = snprintf(buf, sizeof buf, "%1.15g", d);
    double back = strtod(buf, NULL);
    double max = fabs(back) > fabs(d) ? fabs(back) : fabs(d);
    if (!(fabs(back - d) <= max * DBL_EPSILON))
      n = snprintf(buf, sizeof buf, "%1.17g", d);
    char point = localeconv()->decimal_point[0];
    for (int i = 0; point != '.' && i < n; i++)
      if (buf[i] == point)
        buf[i] = '.';
  }
  put(o, buf, (size_t)n);
}

static bool put_value(struct out *o, const cJSON *item)
{
  switch (item->type & 0xFF) {
  case cJSON_NULL:
    put(o, "null", 4);
    return true;
  case cJSON_False:
    put(o, "false", 5);
    return true;
  case cJSON_True:
    put(o, "true", 4);
    return true;
  case cJSON_Number:
    put_number(o, item);
    return true;
  case cJSON_String:
    put_string(o, item->valuestring);
    return true;
  case cJSON_Array:
  case cJSON_Object: {
    bool object = (item->type & 0xFF) == cJSON_Object;
    put(o, object ? "{" : "[", 1);
    for (const cJSON *c = item->child; c; c = c->next) {
      if (object) {
        put_string(o, c->string);
        put(o, ":", 1);
      }
      if (!put_value(o, c))
        return false;
      if (c->next)
        put(o, ",", 1);
    }
    put(o, object ? "}" : "]", 1);
    return true;
  }
  default: /* cJSON_Raw (the journal has none) or a damaged type: cJSON's own printer decides */
    return false;
  }
}

char *event_json_line(const cJSON *ev, size_t *len)
{
  struct out o = {0};
  room(&o, 1024);
  if (ev == NULL || !put_value(&o, ev)) {
    free(o.buf);
    return NULL;
  }
  o.buf[o.len++] = '\n';
  o.buf[o.len] = '\0';
  *len = o.len;
  return o.buf;
}
