/*
 * The journal reader for --resume. Tolerant where a crash can leave damage (the last line), strict
 * elsewhere: a line in the middle that is not one of our events means the file is not a journal.
 */
#include "scheduler/journal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *str(const cJSON *o, const char *a, const char *b)
{
  const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, a);
  if (x && b)
    x = cJSON_GetObjectItemCaseSensitive(x, b);
  return cJSON_IsString(x) ? x->valuestring : NULL;
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

static void apply(struct journal_state *s, const cJSON *ev)
{
  const char *action = str(ev, "event", "action"), *host = str(ev, "host", "name");
  const cJSON *is = cJSON_GetObjectItemCaseSensitive(ev, "issu");
  const cJSON *seq =
      cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ev, "event"), "sequence");
  if (cJSON_IsNumber(seq) && (uint64_t)seq->valuedouble > s->last_sequence)
    s->last_sequence = (uint64_t)seq->valuedouble;
  const char *run = str(ev, "labels", "run_id");
  if (run && s->run_id == NULL)
    s->run_id = xstrdup(run);
  if (action == NULL)
    return;
  if (strcmp(action, "run-started") == 0 && s->inventory_hash == NULL) {
    const char *ih = str(is, "inventory_hash", NULL), *ph = str(is, "policy_hash", NULL),
               *lim = str(is, "limit", NULL);
    s->inventory_hash = xstrdup(ih ? ih : "");
    s->policy_hash = xstrdup(ph ? ph : "");
    s->limit = xstrdup(lim ? lim : "");
  } else if (strcmp(action, "gate-approved") == 0) {
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(is, "wave");
    if (cJSON_IsNumber(w) && w->valuedouble >= 0 && w->valuedouble < 100000) {
      size_t i = (size_t)w->valuedouble;
      if (i >= s->napproved) {
        s->approved = xrealloc(s->approved, (i + 1) * sizeof *s->approved);
        memset(s->approved + s->napproved, 0, (i + 1 - s->napproved) * sizeof *s->approved);
        s->napproved = i + 1;
      }
      s->approved[i] = true;
    }
  } else if (host != NULL && strcmp(action, "device-started") == 0) {
    struct journal_host *h = host_of(s, host);
    h->started = true;
    h->finished = false; /* a retried router starts again */
    /* A resumed router goes on in the phase it was in; a fresh start begins before connect. */
    const char *ph = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(is, "resumed"))
                         ? str(is, "phase", NULL)
                         : NULL;
    h->phase = ph ? junos_phase_parse(ph) : PH_QUEUED;
    if (h->phase == PH_COUNT)
      h->phase = PH_QUEUED;
  } else if (host != NULL && strcmp(action, "phase-changed") == 0) {
    struct journal_host *h = host_of(s, host);
    const char *ph = str(is, "phase", NULL);
    enum junos_phase p = ph ? junos_phase_parse(ph) : PH_COUNT;
    if (p != PH_COUNT && !junos_phase_terminal(p))
      h->phase = p;
    const cJSON *om = cJSON_GetObjectItemCaseSensitive(is, "original_master");
    if (cJSON_IsNumber(om))
      h->orig_master = (int)om->valuedouble;
    const cJSON *vb = cJSON_GetObjectItemCaseSensitive(is, "versions_before");
    for (int r = 0; vb && r < 2; r++) {
      const char *v = str(vb, r ? "re1" : "re0", NULL);
      if (v)
        snprintf(h->before[r], sizeof h->before[r], "%s", v);
    }
  } else if (host != NULL && strcmp(action, "device-finished") == 0) {
    struct journal_host *h = host_of(s, host);
    const char *res = str(is, "result", NULL);
    h->finished = true;
    snprintf(h->result, sizeof h->result, "%s", res ? res : "failed");
  }
}

int journal_load(const char *path, struct journal_state *s, char *err, size_t errlen)
{
  memset(s, 0, sizeof *s);
  strmap_init(&s->index);
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
  if (whole < len) {
    s->cut = true;
    /* Appending after a half line would glue two events together: cut it off. */
    if (truncate(path, (off_t)whole) < 0) {
      snprintf(err, errlen, "%s: cannot drop the incomplete last line: %s", path, strerror(errno));
      free(buf);
      return -1;
    }
  }
  int rc = 0;
  for (size_t off = 0; off < whole;) {
    char *nl = memchr(buf + off, '\n', whole - off);
    *nl = '\0';
    s->lines++;
    cJSON *ev = cJSON_Parse(buf + off);
    if (ev == NULL || cJSON_GetObjectItemCaseSensitive(ev, "event") == NULL) {
      snprintf(err, errlen, "%s:%zu: not an issu-fleet event (is this a journal?)", path, s->lines);
      cJSON_Delete(ev);
      rc = -1;
      break;
    }
    apply(s, ev);
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

void journal_state_free(struct journal_state *s)
{
  for (size_t i = 0; i < s->nhosts; i++)
    free(s->hosts[i].name);
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
