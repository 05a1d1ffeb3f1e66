/*
 * How long things will take, learning as the run goes. Each phase's expected time is the mean
 * of that phase over the routers that have passed it in this run; until one has, it is the
 * policy's `estimate` split in the proportions of a typical MX480 ISSU (the field notes). A
 * router's time to go is what is left of its current phase plus the later phases; the run's is
 * the slowest router in flight plus, in waves mode, every wave still to come (planned length
 * scaled by what this run has measured, and the soaks), in rolling mode the queued routers in
 * rounds of as many as are in flight. Shared by the live view and `ctl status`.
 */
#include "scheduler/sched_internal.h"

#include <math.h>

/* Percent of a router's whole upgrade, per phase (field notes, MX480: ~40 minutes). */
static const unsigned typical_percent[PH_COUNT] = {
    [PH_CONNECT] = 1,
    [PH_PREFLIGHT] = 3,
    [PH_STAGE] = 2,
    [PH_VALIDATE] = 5,
    [PH_BACKUP_UPGRADE] = 15,
    [PH_BACKUP_REBOOT] = 11,
    [PH_DAEMONS] = 5,
    [PH_FRU_UPGRADE] = 11,
    [PH_SWITCHOVER] = 5,
    [PH_OLD_MASTER_UPGRADE] = 16,
    [PH_OLD_MASTER_REBOOT] = 17,
    [PH_SWITCHBACK] = 5,
    [PH_VERIFY] = 4,
};

void estimate_learn(struct rollout *run, enum junos_phase phase, double seconds)
{
  if (phase <= PH_QUEUED || phase >= PH_DONE || !(seconds >= 0))
    return;
  run->phase_sum[phase] += seconds;
  run->phase_n[phase]++;
}

double estimate_phase(const struct rollout *run, enum junos_phase p)
{
  if (p <= PH_QUEUED || p >= PH_DONE)
    return 0;
  if (run->phase_n[p])
    return run->phase_sum[p] / run->phase_n[p];
  return (double)run->p->estimate_s * typical_percent[p] / 100.0;
}

static double whole_router(const struct rollout *run)
{
  double sum = 0;
  for (int p = PH_CONNECT; p < PH_DONE; p++)
    sum += estimate_phase(run, (enum junos_phase)p);
  return sum;
}

double estimate_device_remaining(const struct rollout *run, const struct device *dv, double now)
{
  if (dv && dv->finished)
    return 0;
  if (!dv || !dv->started || dv->phase == PH_QUEUED)
    return whole_router(run);
  double left = estimate_phase(run, dv->phase) - (now - dv->phase_started_s);
  /* overdue: say little is left rather than nothing, so the bar does not sit at 100% */
  double sum = left > 0 ? left : 0.05 * estimate_phase(run, dv->phase);
  for (int p = dv->phase + 1; p < PH_DONE; p++)
    sum += estimate_phase(run, (enum junos_phase)p);
  return sum;
}

double estimate_run_remaining(const struct rollout *run, double now)
{
  double slowest = 0;
  size_t queued = 0;
  for (size_t i = 0; i < run->ndev; i++) {
    const struct device *dv = &run->dev[i];
    if (dv->started && !dv->finished) {
      double r = estimate_device_remaining(run, dv, now);
      slowest = r > slowest ? r : slowest;
    } else if (!dv->started) {
      queued++;
    }
  }
  if (queued == 0 || run->halted || run->draining || run->detached)
    return slowest;
  double router = whole_router(run);
  double soak_left = run->soaking && run->soak_until_s > now ? run->soak_until_s - now : 0;
  if (run->p->waves.mode == MODE_ROLLING && run->wave > 0) {
    size_t slots = run->in_flight ? run->in_flight : 1;
    return slowest + soak_left + ceil((double)queued / (double)slots) * router;
  }
  /* waves: the current wave's stragglers, then every later wave as planned, stretched by how
   * this run's routers compare with the policy's estimate */
  double ratio = run->p->estimate_s ? router / (double)run->p->estimate_s : 1;
  double total = slowest + soak_left;
  for (size_t w = run->wave; w < run->nwaves; w++) {
    size_t waiting = 0;
    for (size_t i = run->wave_first[w]; i < run->wave_first[w + 1]; i++)
      waiting += !run->dev[i].started;
    if (waiting == 0)
      continue;
    const struct plan_wave *pw = &run->plan->waves[w];
    double planned = (double)(pw->end_s - pw->start_s) * ratio;
    if (w == run->wave && run->wave_started[w])
      total += router; /* routers of the running wave held back by a limit: one more round */
    else
      total += planned + (w > run->wave && w > 0 ? (double)run->p->waves.soak_s : 0);
  }
  return total;
}
