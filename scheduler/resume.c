/*
 * --resume: the same rollout (same inventory and policy) rebuilt from its journal.
 */
#include "scheduler/journal.h"
#include "scheduler/sched_internal.h"

#include <string.h>

/* A resume continues the same rollout: the same inventory and policy, or the operator says so. */
int rollout_resume_check(const struct rollout_options *o, const struct journal_state *js, char *err,
                         size_t errlen)
{
  char ih[32] = "", ph[32] = "";
  journal_file_hash(o->inventory_path, ih, sizeof ih);
  journal_file_hash(o->policy_path, ph, sizeof ph);
  const char *changed = strcmp(ih, js->inventory_hash ? js->inventory_hash : "") != 0
                            ? o->inventory_path
                        : strcmp(ph, js->policy_hash ? js->policy_hash : "") != 0 ? o->policy_path
                                                                                  : NULL;
  if (changed && !o->accept_changed_config) {
    snprintf(err, errlen,
             "%s changed since run %s started; resuming would run a different rollout. Restore "
             "it, or add --accept-changed-config if the change is meant",
             changed, js->run_id);
    return -1;
  }
  if (strcmp(o->limit ? o->limit : "", js->limit ? js->limit : "") != 0 &&
      !o->accept_changed_config) {
    snprintf(err, errlen, "run %s was started with --limit '%s'; resume it with the same limit",
             js->run_id, js->limit ? js->limit : "");
    return -1;
  }
  return 0;
}

/* Rebuilds the run from its journal: finished routers stay finished (failed ones count against
 * the budget unless --retry-failed), routers in flight are asked where they stand and continued,
 * approved gates stay approved. */
void rollout_resume_devices(struct rollout *run, const struct journal_state *js)
{
  for (size_t w = 0; w < run->nwaves && w < js->napproved; w++)
    if (js->approved[w])
      run->gate_approved[w] = run->gate_announced[w] = true;
  for (size_t i = 0; i < run->ndev; i++) {
    struct device *dv = &run->dev[i];
    const struct journal_host *h = journal_host(js, dv->name);
    if (h == NULL || !h->started)
      continue;
    bool failed = h->finished && strcmp(h->result, "failed") == 0;
    if (h->finished && !(failed && run->o->retry_failed)) {
      dv->started = dv->finished = true;
      run->wave_started[dv->wave] = true;
      run->wave_done[dv->wave]++;
      if (failed) {
        dv->outcome = "failure";
        run->failed++;
        run->wave_failed[dv->wave]++;
      } else if (strcmp(h->result, "skipped") == 0)
        run->skipped++;
      else
        run->done++;
      continue;
    }
    if (h->finished)
      continue; /* failed, and --retry-failed: queued again */
    /* In flight when the last run ended. */
    dv->orig_master = h->orig_master;
    memcpy(dv->before, h->before, sizeof dv->before);
    run->wave_started[dv->wave] = true;
    run_limits_take(run->limits, dv->pos);
    run->in_flight++;
    device_resume(dv, h->phase);
  }
  /* The wave to go on with: the first one not finished. */
  while (run->wave < run->nwaves) {
    size_t w = run->wave;
    if (run->wave_done[w] < run->plan->waves[w].nhosts)
      break;
    run->wave++;
  }
}
