/*
 * `ctl release` with no run to answer: a run ends (exit 5) when only held routers block it, so
 * the release is journaled directly, under the run's lock, for the next --resume to read.
 */
#include "common/event_schema.h"
#include "scheduler/journal.h"
#include "scheduler/sched_internal.h"

#include <stdlib.h>
#include <string.h>

int rollout_release_offline(const char *journal, const char *router, unsigned uid, char *err,
                            size_t errlen)
{
  struct journal_state js;
  if (journal_load(journal, &js, err, errlen) < 0) {
    journal_state_free(&js);
    return -1;
  }
  char *dir = xstrdup(journal);
  char *slash = strrchr(dir, '/');
  if (slash)
    *slash = '\0';
  else
    snprintf(dir, strlen(dir) + 1, ".");
  struct state_locks *locks = NULL;
  struct event_log *log = NULL;
  int rc = -1;
  if (state_locks_take(dir, js.run_id, NULL, 0, &locks, err, errlen) < 0)
    goto out;
  journal_state_free(&js); /* read again under the lock: the run may have moved on */
  if (journal_load(journal, &js, err, errlen) < 0 ||
      journal_drop_cut(journal, &js, err, errlen) < 0)
    goto out;
  const struct journal_host *h = journal_host(&js, router);
  if (h == NULL || !h->held) {
    snprintf(err, errlen, "%s is %s in run %s", h ? h->name : "that router", h ? "not held" : "not",
             js.run_id);
    goto out;
  }
  if (event_log_reopen(&log, journal, js.run_id, js.last_sequence, NULL, js.time_scale,
                       js.first_wall, js.last_wall, err, errlen) < 0)
    goto out;
  cJSON *ev = event_new(log, "warn", EV_DEVICE_RELEASED, h->name,
                        "%s released by uid %u (no run was live: the next resume frees its slots)",
                        h->name, uid);
  cJSON_AddStringToObject(event_issu(ev), F_BY, "ctl");
  cJSON_AddNumberToObject(cJSON_AddObjectToObject(ev, "user"), "id", uid);
  if (event_write(log, ev) < 0)
    snprintf(err, errlen, "cannot write the journal %s", journal);
  else
    rc = 0;
out:
  event_log_close(log);
  state_locks_release(locks);
  journal_state_free(&js);
  free(dir);
  return rc;
}
