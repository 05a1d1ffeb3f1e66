/*
 * --resume: the same rollout (same inventory and policy) rebuilt from its journal.
 */
#include "common/event_schema.h"
#include "scheduler/journal.h"
#include "scheduler/sched_internal.h"
#include "junos/junos_facts.h"

#include <stdlib.h>
#include <string.h>

/* A resume continues the same rollout: the same inventory and policy, or the operator says so. */
int rollout_resume_check(const struct rollout_options *o, const struct journal_state *js, char *err,
                         size_t errlen)
{
  /* The run id names the lock, the socket and every label: the journal's must be one --run-id
   * would have accepted. */
  size_t idlen = strlen(js->run_id);
  if (idlen == 0 || idlen > RUN_ID_MAX ||
      js->run_id[strspn(js->run_id,
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")] !=
          '\0') {
    snprintf(err, errlen,
             "%s: its run id is not a valid --run-id (at most %d letters, digits, '-' "
             "and '_')",
             o->resume, RUN_ID_MAX);
    return -1;
  }
  /* Its timeouts, soaks and clock run at its own speed: another would end a real run's phases
   * hundreds of times too soon (or a lab's far too late). Not given, it is the run's own. */
  if (o->time_scale > 0 && o->time_scale != js->time_scale) {
    snprintf(err, errlen,
             "run %s was started with --time-scale %g; resume it with the same, or without "
             "--time-scale",
             js->run_id, js->time_scale);
    return -1;
  }
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

/* Every router the journal shows in flight or held is in this rollout: one left out (an edited
 * inventory, another --limit, accepted with --accept-changed-config) would never be asked where
 * it stands, and its limit slots would be free while its ISSU may run (its pair partner would
 * start). Released and finished routers may be left out. */
int rollout_resume_covers(const struct rollout *run, const struct journal_state *js, char *err,
                          size_t errlen)
{
  struct strmap names;
  strmap_init(&names);
  for (size_t i = 0; i < run->ndev; i++)
    strmap_put(&names, run->dev[i].name, i);
  const struct journal_host *missing = NULL;
  size_t n = 0, unused;
  for (size_t i = 0; i < js->nhosts; i++) {
    const struct journal_host *h = &js->hosts[i];
    if (h->started && (!h->finished || h->held) && !strmap_get(&names, h->name, &unused)) {
      missing = missing ? missing : h;
      n++;
    }
  }
  strmap_free(&names);
  if (missing == NULL)
    return 0;
  snprintf(err, errlen,
           "run %s: %s%s is %s in its journal and not in this rollout (inventory, --limit): "
           "resumed without it, it would never be asked where it stands and its limit slots "
           "would be free. Resume with it (release a held router first with `issu-fleet ctl "
           "SOCKET release ROUTER` if it is to be left out)",
           js->run_id, missing->name, n > 1 ? " (and others)" : "",
           missing->finished ? "held" : "in flight");
  return -1;
}

/* The failure budget judged again on what the journal says (the same judgement as
 * rollout_device_finished's): over the run, the canary, each wave. */
static bool budget_exceeded(struct rollout *run, char *why, size_t len)
{
  size_t canary_failed = 0;
  for (size_t w = 0; w < run->nwaves; w++)
    if (run->wave_first[w] < run->wave_first[w + 1] && run->dev[run->wave_first[w]].canary)
      canary_failed += run->wave_failed[w];
  for (size_t w = 0; w < run->nwaves; w++) {
    struct budget_state b = {
        .failed = run->failed,
        .canary_failed = canary_failed,
        .wave_failed = run->wave_failed[w],
        .wave_size = run->plan->waves[w].nhosts,
    };
    if ((run->failed || canary_failed || b.wave_failed) &&
        policy_budget_exceeded(run->p, &b, why, len))
      return true;
  }
  return false;
}

/* Rebuilds the run from its journal: finished routers stay finished (failed ones count against
 * the budget unless --retry-failed), held routers stay held (their slots taken) until released,
 * routers in flight are asked where they stand and continued, approved gates stay approved, a
 * halt stays a halt (the budget is judged again; --retry-failed gives it a new chance), and a
 * soak in progress goes on until its planned end. */
/* A router the journal shows finished: counted as it ended (held ones keep their slots). */
static void resume_finished(struct rollout *run, struct device *dv, const struct journal_host *h)
{
  bool failed = strcmp(h->result, "failed") == 0;
  dv->started = dv->finished = true;
  run->wave_started[dv->wave] = true;
  run->wave_done[dv->wave]++;
  if (failed) {
    bool unknown = strcmp(h->outcome, OUTCOME_UNKNOWN) == 0;
    dv->outcome = unknown ? OUTCOME_UNKNOWN : "failure";
    run->failed++;
    run->unknown += unknown;
    run->wave_failed[dv->wave]++;
  } else if (strcmp(h->result, "skipped") == 0)
    run->skipped++;
  else
    run->done++;
  if (h->held) {
    dv->held = true;
    run->held++;
    run_limits_take(run->limits, dv->pos);
  }
}

/* Whether the wave before run->wave still owes its soak: the run ended (a crash) after that
 * wave's last router and before its soak-started line, and no router of the next wave started. */
static bool soak_owed(const struct rollout *run, const struct journal_state *js)
{
  size_t w = run->wave;
  if (w == 0 || w >= run->nwaves || run->p->waves.soak_s == 0 || js->soaking)
    return false;
  if (run->p->waves.mode == MODE_ROLLING && w - 1 > 0)
    return false; /* rolling: only the canary is followed by a soak */
  if (js->soak_seen && js->soak_wave == w - 1)
    return false;
  for (size_t i = 0; i < run->ndev; i++) {
    const struct journal_host *h = journal_host(js, run->dev[i].name);
    if (run->dev[i].wave >= w && h && h->started)
      return false;
  }
  return true;
}

void rollout_resume_devices(struct rollout *run, const struct journal_state *js)
{
  for (size_t w = 0; w < run->nwaves && w < js->napproved; w++)
    if (js->approved[w])
      run->gate_approved[w] = run->gate_announced[w] = true;
  /* First what has ended, and the judgement on it: a halt is journaled before any router in
   * flight is touched again. */
  for (size_t i = 0; i < run->ndev; i++) {
    const struct journal_host *h = journal_host(js, run->dev[i].name);
    bool failed = h && h->finished && strcmp(h->result, "failed") == 0;
    /* A held router is never retried: only the operator's release ends a hold. */
    if (h && h->started && h->finished && !(failed && run->o->retry_failed && !h->held))
      resume_finished(run, &run->dev[i], h);
  }
  /* The wave to go on with: the first one not finished. */
  while (run->wave < run->nwaves) {
    size_t w = run->wave;
    if (run->wave_done[w] < run->plan->waves[w].nhosts)
      break;
    run->wave++;
  }
  char why[300];
  if (budget_exceeded(run, why, sizeof why))
    rollout_halt(run, why);
  else if (js->halted && !run->o->retry_failed) {
    char still[400];
    snprintf(still, sizeof still, "still halted from before the resume: %s", js->halt_reason);
    rollout_halt(run, still);
  }
  if (js->soaking && !run->halted) {
    double left = js->soak_end - event_log_wall(run->log);
    if (left > 0)
      rollout_soak(run, js->soak_wave, left, true);
  } else if (!run->halted && soak_owed(run, js))
    rollout_soak(run, run->wave - 1, (double)run->p->waves.soak_s, false);
  /* Then the routers in flight when the last run ended: asked where they stand. */
  for (size_t i = 0; i < run->ndev; i++) {
    struct device *dv = &run->dev[i];
    const struct journal_host *h = journal_host(js, dv->name);
    if (h == NULL || !h->started || h->finished)
      continue; /* never started, ended (above), or failed and queued again (--retry-failed) */
    dv->orig_master = h->orig_master;
    dv->checks_pre_journaled = h->check_pre;
    if (h->check_pre_file && *h->check_pre_file) {
      free(dv->checks_pre_file);
      dv->checks_pre_file = xstrdup(h->check_pre_file);
    }
    memcpy(device_live(dv)->before, h->before, sizeof device_live(dv)->before);
    if (h->baseline) { /* what verify compares with: the alarms before the ISSU */
      dv->baseline = device_alarms_keep(h->baseline);
    }
    run->wave_started[dv->wave] = true;
    run_limits_take(run->limits, dv->pos);
    run->in_flight++;
    device_resume(dv, h->phase, h->switch_seen);
  }
}
