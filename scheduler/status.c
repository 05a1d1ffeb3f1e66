/*
 * What the run is doing, for ctl status and the live view.
 */
#include "scheduler/sched_internal.h"

/* Whether a gate waits for the operator (any wave's: rolling mode announces later ones). */
static bool gate_waits(const struct rollout *run)
{
  for (size_t w = 0; w < run->nwaves; w++)
    if (run->gate_announced[w] && !run->gate_approved[w])
      return true;
  return false;
}

const char *rollout_state(const struct rollout *run)
{
  return run->detached     ? "detached"
         : run->draining   ? "draining"
         : run->halted     ? "halted"
         : run->paused     ? "paused"
         : run->soaking    ? "soaking"
         : gate_waits(run) ? "waiting-approval"
         : run->blocked    ? "blocked"
                           : "running";
}

size_t rollout_queued(const struct rollout *run)
{
  size_t queued = 0;
  for (size_t i = 0; i < run->ndev; i++)
    queued += !run->dev[i].started;
  return queued;
}

cJSON *rollout_status(struct rollout *run)
{
  cJSON *r = cJSON_CreateObject();
  cJSON_AddBoolToObject(r, "ok", true);
  cJSON_AddStringToObject(r, "run_id", event_log_run_id(run->log));
  cJSON_AddStringToObject(r, "state", rollout_state(run));
  size_t w = run->wave < run->nwaves ? run->wave : run->nwaves - 1;
  cJSON_AddNumberToObject(r, "wave", (double)w);
  cJSON_AddStringToObject(r, "wave_name", run->nwaves ? run->plan->waves[w].name : "");
  size_t queued = rollout_queued(run);
  cJSON *c = cJSON_AddObjectToObject(r, "routers");
  cJSON_AddNumberToObject(c, "total", (double)run->ndev);
  cJSON_AddNumberToObject(c, "done", (double)run->done);
  cJSON_AddNumberToObject(c, "skipped", (double)run->skipped);
  cJSON_AddNumberToObject(c, "failed", (double)run->failed);
  cJSON_AddNumberToObject(c, "held", (double)run->held);
  cJSON_AddNumberToObject(c, "in_flight", (double)run->in_flight);
  cJSON_AddNumberToObject(c, "queued", (double)queued);
  long left = (long)run->p->failures.max_failed - (long)run->failed;
  cJSON_AddNumberToObject(r, "budget_left", (double)(left > 0 ? left : 0));
  double now = rollout_now(run);
  cJSON_AddNumberToObject(r, "elapsed_s", now);
  /* the same figures as the live view (estimate.c): learned from this run's routers */
  cJSON_AddNumberToObject(r, "eta_s", estimate_run_remaining(run, now));
  cJSON_AddNumberToObject(r, "router_estimate_s", estimate_device_remaining(run, NULL, now));
  cJSON *list = cJSON_AddArrayToObject(r, "in_flight");
  for (size_t i = 0; i < run->ndev; i++) {
    struct device *dv = &run->dev[i];
    if (!dv->started || dv->finished)
      continue;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "host", dv->name);
    cJSON_AddNumberToObject(o, "wave", (double)dv->wave);
    cJSON_AddStringToObject(o, "phase", junos_phase_name(dv->phase));
    cJSON_AddNumberToObject(o, "elapsed_s", now - dv->started_s);
    cJSON_AddNumberToObject(o, "phase_elapsed_s", now - dv->phase_started_s);
    double to_go = estimate_device_remaining(run, dv, now), elapsed = now - dv->started_s;
    cJSON_AddNumberToObject(o, "remaining_s", to_go);
    cJSON_AddNumberToObject(o, "progress", elapsed + to_go > 0 ? elapsed / (elapsed + to_go) : 0);
    cJSON_AddItemToArray(list, o);
  }
  return r;
}
