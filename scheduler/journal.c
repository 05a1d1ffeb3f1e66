/*
 * The journal reader. Tolerant where a crash can leave damage (the last line), strict
 * elsewhere: a line in the middle that is not one of our events means the file is not a journal.
 * Every number read is range-checked before it is converted or used as an index: a damaged or
 * crafted journal is refused or ignored, never undefined behaviour (tests/fuzz/fuzz_journal.c).
 */
#define _DEFAULT_SOURCE /* timegm */
#include "scheduler/journal.h"
#include "common/event_schema.h"
#include "junos/junos_facts.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_WAVES 100000

static const char *str(const cJSON *o, const char *a, const char *b)
{
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
  if (x && b)
    x = cJSON_GetObjectItemCaseSensitive(x, b);
  return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* A number in [lo, hi], or false. NaN and infinities fail the comparisons. */
static bool num_in(const cJSON *o, const char *key, double lo, double hi, double *out)
{
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
  if (!cJSON_IsNumber(x) || !(x->valuedouble >= lo && x->valuedouble <= hi))
    return false;
  *out = x->valuedouble;
  return true;
}

static struct journal_host *host_of(struct journal_state *s, const char *name)
{
  size_t i;
  if (strmap_get(&s->index, name, &i))
    return &s->hosts[i];
  s->hosts = xgrow(s->hosts, &s->hosts_cap, s->nhosts + 1, sizeof *s->hosts);
  struct journal_host *h = &s->hosts[s->nhosts];
  memset(h, 0, sizeof *h);
  h->name = xstrdup(name);
  h->orig_master = -1;
  strmap_put(&s->index, h->name, s->nhosts);
  s->nhosts++;
  return h;
}

double journal_parse_timestamp(const char *text)
{
  if (text == NULL)
    return -1;
  struct tm tm = {0};
  int used = 0;
  if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
             &tm.tm_min, &tm.tm_sec, &used) != 6 ||
      used == 0)
    return -1;
  if (tm.tm_year < 1970 || tm.tm_year > 9999 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
      tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  double frac = 0;
  const char *p = text + used;
  if (*p == '.') {
    double scale = 0.1;
    for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
      frac += (*p - '0') * scale;
  }
  if (strcmp(p, "Z") != 0)
    return -1;
  time_t t = timegm(&tm);
  return t == (time_t)-1 ? -1 : (double)t + frac;
}

/* ---- one handler per action (the report reads the same actions with its own table) ---- */

struct ctx {
  struct journal_state *s;
  const cJSON *ev, *is;
  const char *host;
  double when; /* @timestamp, epoch s; -1 if unreadable */
};

static void on_run_started(struct ctx *c)
{
  struct journal_state *s = c->s;
  /* The run's state is the latest start's: a resume re-judges the budget and says so again. */
  s->halted = false;
  s->halt_reason[0] = '\0';
  double scale;
  s->time_scale = num_in(c->is, "time_scale", 1, 1e6, &scale) ? scale : 1;
  if (s->inventory_hash != NULL)
    return;
  const char *ih = str(c->is, F_INVENTORY_HASH, NULL), *ph = str(c->is, F_POLICY_HASH, NULL),
             *lim = str(c->is, F_LIMIT, NULL);
  s->inventory_hash = xstrdup(ih ? ih : "");
  s->policy_hash = xstrdup(ph ? ph : "");
  s->limit = xstrdup(lim ? lim : "");
}

static void on_gate_approved(struct ctx *c)
{
  struct journal_state *s = c->s;
  double w;
  if (!num_in(c->is, F_WAVE, 0, MAX_WAVES - 1, &w))
    return;
  size_t i = (size_t)w;
  if (i >= s->napproved) {
    s->approved = xrealloc(s->approved, (i + 1) * sizeof *s->approved);
    memset(s->approved + s->napproved, 0, (i + 1 - s->napproved) * sizeof *s->approved);
    s->napproved = i + 1;
  }
  s->approved[i] = true;
}

static void on_budget_exceeded(struct ctx *c)
{
  const char *why = str(c->is, F_REASON, NULL);
  c->s->halted = true;
  snprintf(c->s->halt_reason, sizeof c->s->halt_reason, "%s", why ? why : "the failure budget");
}

static void on_soak_started(struct ctx *c)
{
  double w, soak;
  if (c->when < 0 || !num_in(c->is, F_WAVE, 0, MAX_WAVES - 1, &w) ||
      !num_in(c->is, F_SOAK_S, 0, 1e9, &soak))
    return;
  c->s->soaking = c->s->soak_seen = true;
  c->s->soak_wave = (size_t)w;
  c->s->soak_end = c->when + soak;
}

static void on_soak_finished(struct ctx *c)
{
  c->s->soaking = false;
}

static void on_device_started(struct ctx *c)
{
  struct journal_host *h = host_of(c->s, c->host);
  h->started = true;
  h->finished = h->held = false; /* a retried router starts again */
  h->outcome[0] = h->result[0] = '\0';
  if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->is, F_RESUMED))) {
    h->check_pre = false; /* a fresh start takes its own */
    h->switch_seen = false;
    free(h->check_pre_file);
    h->check_pre_file = NULL;
  }
  /* A resumed router goes on in the phase it was in; a fresh start begins before connect. */
  const char *ph = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->is, F_RESUMED))
                       ? str(c->is, F_PHASE, NULL)
                       : NULL;
  h->phase = ph ? junos_phase_parse(ph) : PH_QUEUED;
  if (h->phase == PH_COUNT || junos_phase_terminal(h->phase))
    h->phase = PH_QUEUED;
  if (h->phase == PH_QUEUED) {
    free(h->baseline); /* a fresh start's preflight journals its own */
    h->baseline = NULL;
  }
}

/* The alarms before the ISSU: what verify compares with, after a resume as in the live run. */
static void on_alarm_baseline(struct ctx *c)
{
  struct journal_host *h = host_of(c->s, c->host);
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(c->is, F_ALARMS), *a;
  if (!cJSON_IsArray(list))
    return;
  if (h->baseline == NULL)
    h->baseline = xcalloc(1, sizeof *h->baseline);
  struct junos_alarm_list *b = h->baseline;
  memset(b, 0, sizeof *b);
  b->found = true;
  b->cut = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c->is, F_ALARMS_CUT));
  cJSON_ArrayForEach(a, list)
  {
    const char *cls = str(a, F_ALARM_CLASS, NULL), *d = str(a, F_ALARM_DESCRIPTION, NULL);
    if (cls == NULL || d == NULL)
      continue;
    if (b->n == JUNOS_ALARMS_MAX) {
      b->cut = true;
      break;
    }
    struct junos_alarm *x = &b->a[b->n++];
    x->cls = junos_alarm_class_parse(cls);
    snprintf(x->description, sizeof x->description, "%s", d);
  }
  b->none = b->n == 0;
  b->reported = (unsigned)b->n;
}

static void on_phase_changed(struct ctx *c)
{
  struct journal_host *h = host_of(c->s, c->host);
  const char *ph = str(c->is, F_PHASE, NULL);
  enum junos_phase p = ph ? junos_phase_parse(ph) : PH_COUNT;
  if (p != PH_COUNT && !junos_phase_terminal(p))
    h->phase = p;
  if (p == PH_SWITCHBACK)
    h->switch_seen = true;
  double om;
  if (num_in(c->is, F_ORIGINAL_MASTER, 0, 1, &om) && (om == 0 || om == 1))
    h->orig_master = (int)om;
  const cJSON *vb = cJSON_GetObjectItemCaseSensitive(c->is, F_VERSIONS_BEFORE);
  for (int r = 0; vb && r < 2; r++) {
    const char *v = str(vb, r ? "re1" : "re0", NULL);
    if (v)
      snprintf(h->before[r], sizeof h->before[r], "%s", v);
  }
}

static void on_device_finished(struct ctx *c)
{
  struct journal_host *h = host_of(c->s, c->host);
  const char *res = str(c->is, F_RESULT, NULL), *out = str(c->ev, "event", "outcome");
  h->finished = true;
  snprintf(h->result, sizeof h->result, "%s", res ? res : "failed");
  snprintf(h->outcome, sizeof h->outcome, "%s", out ? out : "failure");
  /* Unknown means held: the run that wrote this line held it (device-held follows). */
  h->held = strcmp(h->outcome, OUTCOME_UNKNOWN) == 0;
  free(h->baseline);
  h->baseline = NULL;
  free(h->check_pre_file); /* nor its snapshot's name (a resume would find it by the run id) */
  h->check_pre_file = NULL;
}

static void on_check_snapshot(struct ctx *c)
{
  const char *moment = str(c->is, F_CHECKS, F_CHECK_MOMENT);
  if (moment && strcmp(moment, "pre") == 0) {
    struct journal_host *h = host_of(c->s, c->host);
    const char *file = str(c->is, F_CHECKS, F_CHECK_FILE);
    h->check_pre = true;
    free(h->check_pre_file);
    h->check_pre_file = file && *file ? xstrdup(file) : NULL; /* what a resume reads */
  }
}

static void on_device_released(struct ctx *c)
{
  host_of(c->s, c->host)->held = false;
}

static const struct {
  const char *action;
  bool needs_host;
  void (*fn)(struct ctx *c);
} handlers[] = {
    {EV_RUN_STARTED, false, on_run_started},         {EV_GATE_APPROVED, false, on_gate_approved},
    {EV_BUDGET_EXCEEDED, false, on_budget_exceeded}, {EV_SOAK_STARTED, false, on_soak_started},
    {EV_SOAK_FINISHED, false, on_soak_finished},     {EV_DEVICE_STARTED, true, on_device_started},
    {EV_PHASE_CHANGED, true, on_phase_changed},      {EV_DEVICE_FINISHED, true, on_device_finished},
    {EV_DEVICE_RELEASED, true, on_device_released},  {EV_ALARM_BASELINE, true, on_alarm_baseline},
    {EV_CHECK_SNAPSHOT, true, on_check_snapshot},
};

/* Applies one event; false (nothing applied) when it belongs to another run than the lines
 * before it. */
static bool apply(struct journal_state *s, const cJSON *ev)
{
  struct ctx c = {.s = s, .ev = ev, .host = str(ev, "host", "name")};
  c.is = cJSON_GetObjectItemCaseSensitive(ev, "issu");
  double seq;
  /* Sequence numbers are exact in a double up to 2^53. */
  if (num_in(cJSON_GetObjectItemCaseSensitive(ev, "event"), "sequence", 0, 9007199254740992.0,
             &seq) &&
      (uint64_t)seq > s->last_sequence)
    s->last_sequence = (uint64_t)seq;
  const char *run = str(ev, "labels", "run_id");
  if (run && s->run_id && strcmp(run, s->run_id) != 0)
    return false; /* two journals mixed: another run's release or start is none of this one's */
  if (run && s->run_id == NULL)
    s->run_id = xstrdup(run);
  c.when = journal_parse_timestamp(str(ev, "@timestamp", NULL));
  if (c.when >= 0) {
    if (s->first_wall == 0)
      s->first_wall = c.when;
    if (c.when > s->last_wall)
      s->last_wall = c.when;
  }
  const char *action = str(ev, "event", "action");
  for (size_t i = 0; action && i < ARRAY_LEN(handlers); i++)
    if (strcmp(action, handlers[i].action) == 0 && (c.host || !handlers[i].needs_host)) {
      handlers[i].fn(&c);
      return true;
    }
  return true;
}

int journal_load(const char *path, struct journal_state *s, char *err, size_t errlen)
{
  memset(s, 0, sizeof *s);
  strmap_init(&s->index);
  s->time_scale = 1;
  char *buf = NULL;
  size_t len = 0;
  char e[256];
  if (text_read_file(path, (size_t)1 << 30, &buf, &len, e, sizeof e) < 0) {
    snprintf(err, errlen, "%s", e);
    return -1;
  }
  size_t whole = len;
  while (whole > 0 && buf[whole - 1] != '\n')
    whole--;
  s->cut = whole < len;
  s->whole = whole;
  int rc = 0;
  for (size_t off = 0; off < whole;) {
    char *nl = memchr(buf + off, '\n', whole - off);
    *nl = '\0';
    s->lines++;
    cJSON *ev = cJSON_Parse(buf + off);
    if (ev == NULL || !cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(ev, "event"))) {
      snprintf(err, errlen, "%s:%zu: not an issu-fleet event (is this a journal?)", path, s->lines);
      cJSON_Delete(ev);
      rc = -1;
      break;
    }
    if (!apply(s, ev)) {
      snprintf(err, errlen,
               "%s:%zu: a line of run %.64s in the journal of run %.64s (two journals mixed?): "
               "nothing is read from it",
               path, s->lines, str(ev, "labels", "run_id"), s->run_id);
      cJSON_Delete(ev);
      rc = -1;
      break;
    }
    cJSON_Delete(ev);
    off = (size_t)(nl - buf) + 1;
  }
  free(buf);
  if (rc == 0 && s->run_id == NULL) {
    snprintf(err, errlen, "%s: no run in it (empty journal)", path);
    rc = -1;
  }
  return rc;
}

int journal_drop_cut(const char *path, const struct journal_state *s, char *err, size_t errlen)
{
  if (!s->cut)
    return 0;
  if (truncate(path, (off_t)s->whole) < 0) {
    snprintf(err, errlen, "%s: cannot drop the incomplete last line: %s", path, strerror(errno));
    return -1;
  }
  return 0;
}

void journal_state_free(struct journal_state *s)
{
  for (size_t i = 0; i < s->nhosts; i++) {
    free(s->hosts[i].name);
    free(s->hosts[i].baseline);
    free(s->hosts[i].check_pre_file);
  }
  free(s->hosts);
  strmap_free(&s->index);
  free(s->run_id);
  free(s->inventory_hash);
  free(s->policy_hash);
  free(s->limit);
  free(s->approved);
  memset(s, 0, sizeof *s);
}

const struct journal_host *journal_host(const struct journal_state *s, const char *name)
{
  size_t i;
  return strmap_get(&s->index, name, &i) ? &s->hosts[i] : NULL;
}

int journal_file_hash(const char *path, char *hex, size_t len)
{
  char *buf = NULL, e[256];
  size_t n = 0;
  if (text_read_file(path, (size_t)64 << 20, &buf, &n, e, sizeof e) < 0)
    return -1;
  uint64_t h = 0xcbf29ce484222325ULL;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)buf[i];
    h *= 0x100000001b3ULL;
  }
  free(buf);
  snprintf(hex, len, "%016llx", (unsigned long long)h);
  return 0;
}
