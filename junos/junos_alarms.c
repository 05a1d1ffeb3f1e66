/*
 * Alarms (show chassis alarms, show system alarms): XML, or the text form, into a list of
 * class and description; and the comparison against a baseline, with the alarms the caller
 * expects in its situation (junos_facts.h names the two the captures show).
 */
#include "junos/junos_xml.h"
#include "common/common.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

const char *junos_alarm_class_name(enum junos_alarm_class c)
{
  return c == JUNOS_ALARM_MAJOR ? "Major" : c == JUNOS_ALARM_MINOR ? "Minor" : "Other";
}

enum junos_alarm_class junos_alarm_class_parse(const char *s)
{
  return strcasecmp(s, "Major") == 0   ? JUNOS_ALARM_MAJOR
         : strcasecmp(s, "Minor") == 0 ? JUNOS_ALARM_MINOR
                                       : JUNOS_ALARM_OTHER;
}

static struct junos_alarm *add_alarm(struct junos_alarm_list *l)
{
  if (l->n >= JUNOS_ALARMS_MAX) {
    l->cut = true;
    return NULL;
  }
  struct junos_alarm *a = &l->a[l->n++];
  memset(a, 0, sizeof *a);
  return a;
}

/* "1 alarms currently active" / "No alarms currently active" / "2024-08-21 10:18:30 EDT  Minor
 * VMHost 1 Boot from alternate disk" (two or more spaces around the class). */
static void text_alarms(const char *const *lines, size_t n, void *out)
{
  struct junos_alarm_list *l = out;
  for (size_t i = 0; i < n; i++) {
    const char *s = lines[i];
    unsigned long long count;
    char num[16];
    /* A new header starts a new listing: a capture of a loop shows the last one. */
    if (strstr(s, "No alarms currently active")) {
      l->found = l->none = true;
      l->n = 0;
      l->reported = 0;
      continue;
    }
    const char *act = strstr(s, " currently active");
    if (act && (strncmp(s + strcspn(s, " "), " alarms", 7) == 0 ||
                strncmp(s + strcspn(s, " "), " alarm ", 7) == 0)) {
      size_t dl = strcspn(s, " ");
      if (jx_copy(num, sizeof num, s, dl) && jx_to_ull(num, 1000000, &count)) {
        l->found = true;
        l->none = false;
        l->reported = (unsigned)count;
        l->n = 0;
        l->cut = false;
      }
      continue;
    }
    if (!isdigit((unsigned char)s[0]))
      continue;
    static const char *const classes[] = {"  Major  ", "  Minor  "};
    for (size_t c = 0; c < ARRAY_LEN(classes); c++) {
      const char *k = strstr(s, classes[c]);
      if (k == NULL)
        continue;
      struct junos_alarm *a = add_alarm(l);
      if (a == NULL)
        break;
      a->cls = c == 0 ? JUNOS_ALARM_MAJOR : JUNOS_ALARM_MINOR;
      jx_copy(a->time, sizeof a->time, s, (size_t)(k - s));
      const char *d = k + strlen(classes[c]);
      d += strspn(d, " ");
      if (!jx_copy(a->description, sizeof a->description, d, strlen(d)))
        l->cut = true;
      l->found = true;
      break;
    }
  }
}

bool junos_xml_alarms(const char *const *lines, size_t n, struct junos_alarm_list *out)
{
  memset(out, 0, sizeof *out);
  struct jx x;
  if (jx_open(&x, lines, n, &out->reply, NULL)) {
    char num[32];
    unsigned long long count;
    if (jx_node(&x, NULL, F(AL_NONE)) != NULL)
      out->found = out->none = true;
    if (jx_text(&x, NULL, F(AL_COUNT), num, sizeof num) && jx_to_ull(num, 1000000, &count)) {
      out->found = true;
      out->reported = (unsigned)count;
    }
    xmlXPathObjectPtr o = jx_eval(&x, NULL, F(AL_DETAIL));
    for (int i = 0; o && o->nodesetval && i < o->nodesetval->nodeNr; i++) {
      xmlNodePtr d = o->nodesetval->nodeTab[i];
      struct junos_alarm *a = add_alarm(out);
      if (a == NULL)
        break;
      char cls[JUNOS_NAME_MAX];
      jx_text(&x, d, F(AL_CLASS), cls, sizeof cls);
      a->cls = junos_alarm_class_parse(cls);
      jx_text(&x, d, F(AL_TIME), a->time, sizeof a->time);
      if (!jx_text(&x, d, F(AL_DESC), a->description, sizeof a->description))
        out->cut = true;
      out->found = true;
    }
    xmlXPathFreeObject(o);
  }
  if (!out->found)
    jx_text_fallback(&x, &out->reply, lines, n, text_alarms, out);
  jx_close(&x);
  return out->found;
}

unsigned junos_alarms_count(const struct junos_alarm_list *l, enum junos_alarm_class c)
{
  unsigned k = 0;
  for (size_t i = 0; i < l->n; i++)
    k += l->a[i].cls == c;
  return k;
}

size_t junos_alarms_fresh(const struct junos_alarm_list *baseline,
                          const struct junos_alarm_list *now, const char *const *expected,
                          size_t nexpected, size_t *fresh, size_t max)
{
  size_t k = 0;
  for (size_t i = 0; i < now->n; i++) {
    const struct junos_alarm *a = &now->a[i];
    bool known = false;
    for (size_t j = 0; baseline && j < baseline->n && !known; j++)
      known =
          baseline->a[j].cls == a->cls && strcmp(baseline->a[j].description, a->description) == 0;
    for (size_t j = 0; j < nexpected && !known; j++)
      known = strcmp(expected[j], a->description) == 0;
    if (known)
      continue;
    if (k < max)
      fresh[k] = i;
    k++;
  }
  return k;
}

bool junos_alarms_show_vmhost(const struct junos_alarm_list *l)
{
  for (size_t i = 0; i < l->n; i++)
    if (strncasecmp(l->a[i].description, "VMHost", 6) == 0)
      return true;
  return false;
}
