/*
 * The reconcile step: one probe of the router (who is master; each RE's release and whether it
 * answers; which RE our session sits on), one decision (reconcile_decide, a pure function of the
 * phase, those facts, the policy and what was sent) and the action it names. The same step runs
 * after a lost or ended console, on --resume, after a phase timeout and before every command
 * that changes the router, so the live run and the resumed one never differ.
 */
#include "common/event_schema.h"
#include "scheduler/sched_internal.h"

#include "junos/junos_facts.h"

#include <stdlib.h>
#include <string.h>

/* How often to look again while the router works, in policy time (at least POLL_FLOOR_MS). */
#define POLL_S 20.0
#define POLL_FLOOR_MS 500
/* A new session after one that sat on the backup RE: a short pause, the address has moved. */
#define RECONNECT_FLOOR_MS 200

static const char *const *L(const struct device *dv)
{
  return (const char *const *)dv->out.lines;
}

bool device_on_target(const struct device *dv, const char *printed)
{
  return printed && *printed && junos_release_matches(printed, dv->run->p->target.version);
}

bool device_vmhost(const struct device *dv)
{
  switch (dv->run->p->target.vmhost) {
  case VMHOST_YES:
    return true;
  case VMHOST_NO:
    return false;
  case VMHOST_DETECT:
    break;
  }
  return dv->vmhost_seen;
}

bool device_reply_on_backup(const struct device *dv, const struct junos_reply *reply)
{
  return dv->out.backup || reply->not_master || reply->banner == JUNOS_PROMPT_BACKUP;
}

void device_facts_text(const struct device *dv, char *buf, size_t len)
{
  const struct reconcile_facts *f = &dv->facts;
  if (f->on_backup) {
    snprintf(buf, len, "the session is on the backup RE");
    return;
  }
  if (f->answered && f->two_masters) {
    snprintf(buf, len, "re0 and re1 both say master");
    return;
  }
  if (!f->answered) {
    snprintf(buf, len, "the router did not answer");
    return;
  }
  static const struct device_live none; /* not probed yet: nothing printed */
  const struct device_live *lv = dv->live ? dv->live : &none;
  size_t used = 0;
  if (f->master >= 0)
    used = (size_t)snprintf(buf, len, "re%d master", f->master);
  else
    used = (size_t)snprintf(buf, len, "no master");
  for (int s = 0; s < 2 && used < len; s++)
    used += (size_t)snprintf(buf + used, len - used, "; re%d %s", s,
                             lv->probed_unreachable[s] ? "does not answer"
                             : lv->probed[s][0]        ? lv->probed[s]
                                                       : "gives no release");
}

static enum reconcile_old_master old_master_mode(const struct policy *p)
{
  switch (p->issu.old_master) {
  case OLD_MASTER_REBOOT:
    return RC_OLD_REBOOT;
  case OLD_MASTER_LEAVE:
    return RC_OLD_LEAVE;
  case OLD_MASTER_SKIP:
    break;
  }
  return RC_OLD_SKIP;
}

static struct reconcile_input input_of(const struct device *dv)
{
  const struct policy *p = dv->run->p;
  struct reconcile_input in = {
      .phase = dv->phase,
      .orig_master = dv->orig_master,
      .issu = dv->issu_unconfirmed ? RC_MAYBE_SENT
              : dv->issu_sent      ? RC_SENT
                                   : RC_NOT_SENT,
      .sw = dv->switch_sent,
      .console_open = dv->watching_console,
      .console_refused = dv->console_refused,
      .timed_out = dv->timed_out,
      /* A switch shows within seconds of router time; under --time-scale the looks come less
       * often than that, so settled also needs a look after the first one that followed it. */
      .settled =
          dv->switch_looks >= 2 && rollout_now(dv->run) - dv->switch_sent_s >= RECONCILE_SETTLE_S,
      .old_master = old_master_mode(p),
      .switchback = p->issu.switchback,
  };
  return in;
}

/* A decision worth a line in the journal: the first, and each change (not every poll). */
static void note_decision(struct device *dv, const struct reconcile_decision *d)
{
  if (dv->last_action == d->action && d->action != RA_HOLD && d->action != RA_FAIL)
    return;
  dv->last_action = d->action;
  struct rollout *run = dv->run;
  char facts[300];
  device_facts_text(dv, facts, sizeof facts);
  cJSON *ev = event_new(run->log, "info", EV_DEVICE_RECONCILED, dv->name, "%s: %s: %s (%s)",
                        dv->name, reconcile_action_name(d->action), d->why, facts);
  if (dv->site)
    cJSON_AddStringToObject(event_labels(ev), L_SITE, dv->site);
  cJSON *is = event_issu(ev);
  cJSON_AddNumberToObject(is, F_WAVE, (double)dv->wave);
  cJSON_AddStringToObject(is, F_PHASE, junos_phase_name(dv->phase));
  cJSON_AddStringToObject(is, F_DECISION, reconcile_action_name(d->action));
  cJSON_AddStringToObject(is, F_FACTS, facts);
  rollout_note(run, ev);
}

static void wait_again(struct device *dv)
{
  device_wait(dv, POLL_S, POLL_FLOOR_MS, reconcile_step);
}

static void act(struct device *dv, const struct reconcile_decision *d)
{
  char facts[300];
  device_facts_text(dv, facts, sizeof facts);
  switch (d->action) {
  case RA_START_ISSU:
    issu_send(dv);
    return;
  case RA_WAIT_ISSU:
    if (d->phase != PH_COUNT && d->phase > dv->phase)
      device_set_phase(dv, d->phase, facts);
    wait_again(dv);
    return;
  case RA_WAIT_OLD_MASTER:
    post_issu_reach(dv, d->phase != PH_COUNT ? d->phase : PH_OLD_MASTER_UPGRADE, facts);
    wait_again(dv);
    return;
  case RA_SWITCH_BACK:
    post_issu_reach(dv, PH_SWITCHBACK, facts);
    switchback_go(dv);
    return;
  case RA_WAIT_SWITCH:
    wait_again(dv);
    return;
  case RA_VERIFY:
    if (dv->timed_out && dv->phase == PH_VERIFY)
      break; /* verify itself ran out of time: upgraded, not confirmed: held */
    post_issu_reach(dv, PH_VERIFY, facts);
    verify_start(dv);
    return;
  case RA_RECONNECT:
    /* Nothing more goes out on a session whose RE is not master: on the old master, `request
     * system reboot other-routing-engine` would reboot the new one. */
    device_drop_session(dv);
    device_wait(dv, 0, RECONNECT_FLOOR_MS, reconcile_step);
    return;
  case RA_FAIL:
    if (dv->console_refused && device_live(dv)->issu_error[0]) /* the router's own words and code */
      device_fail(dv, device_live(dv)->issu_error, "failure", "%s (%s)",
                  device_live(dv)->issu_failure, facts);
    else
      device_fail(dv, d->code, "failure", "%s (%s)", d->why, facts);
    return;
  case RA_HOLD:
  case RA_COUNT:
    break;
  }
  if (dv->timed_out) {
    device_fail(dv, dv->timeout_code ? dv->timeout_code : d->code, "unknown",
                "%s; the ISSU was left running on the router, not aborted, and the router is held "
                "until an operator looks (%s)",
                device_live(dv)->timeout_why, facts);
    return;
  }
  device_fail(dv, d->code, "unknown", "%s; the router is held until an operator looks (%s)", d->why,
              facts);
}

static void conclude(struct device *dv)
{
  struct reconcile_input in = input_of(dv);
  struct reconcile_decision d = reconcile_decide(&in, &dv->facts);
  if (in.orig_master < 0 && dv->facts.answered && dv->facts.master >= 0 && !dv->issu_sent)
    dv->orig_master = dv->facts.master;
  note_decision(dv, &d);
  act(dv, &d);
}

/* The master read again after the releases: the same master both times, and the releases read
 * between them belong to that master's time (only issu-fleet's own switch, never sent while a
 * look runs, could move it twice). Another master: the ISSU went on between the reads (a
 * switchover, an old master's reboot), so those reads are no one moment: look again. */
static void probe_master_again(struct device *dv, const struct transport_result *r)
{
  struct junos_routing_engines *re = xcalloc(1, sizeof *re);
  bool parsed = r->error == TRANSPORT_OK && junos_xml_routing_engines(L(dv), dv->out.n, re);
  bool same = parsed && re->found && !device_reply_on_backup(dv, &re->reply) &&
              re->master == dv->facts.master;
  int master = parsed && re->found ? re->master : -1;
  free(re);
  if (same) {
    conclude(dv);
    return;
  }
  char line[160];
  snprintf(line, sizeof line,
           "the master moved while the router was read (re%d, then %s%d): look again",
           dv->facts.master, master < 0 ? "none: " : "re", master);
  device_note(dv, line);
  reconcile_step(dv);
}

/* A decision that changes the router or ends the router's run (not a wait, not a reconnect). */
static bool is_act(enum reconcile_action a)
{
  return a != RA_WAIT_ISSU && a != RA_WAIT_OLD_MASTER && a != RA_WAIT_SWITCH && a != RA_RECONNECT;
}

static void decide(struct device *dv)
{
  if (dv->switch_sent != RC_NOT_SENT)
    dv->switch_looks++;
  /* Two reads are two moments. Once the ISSU is out the router changes on its own, and a look
   * that acts (verify, switch back, fail, hold) must rest on one moment: the master is read a
   * second time first. A wait looks again anyway; before the ISSU nothing changes it; out of
   * time, the router is held or failed whatever a second read says (and a router whose every
   * third read fails is not looked at forever). */
  struct reconcile_input in = input_of(dv);
  struct reconcile_decision d = reconcile_decide(&in, &dv->facts);
  if (in.issu != RC_NOT_SENT && dv->facts.answered && !in.timed_out && is_act(d.action)) {
    device_exec(dv, junos_show_command(JUNOS_SHOW_ROUTING_ENGINES), NULL, probe_master_again);
    return;
  }
  conclude(dv);
}

static void probe_versions(struct device *dv, const struct transport_result *r)
{
  struct reconcile_facts *f = &dv->facts;
  struct junos_versions_xml *v = xcalloc(1, sizeof *v);
  bool parsed = r->error == TRANSPORT_OK && junos_xml_versions(L(dv), dv->out.n, v);
  if (!parsed || device_reply_on_backup(dv, &v->reply) || !v->multi) {
    /* Without the per-RE results nothing is known of the other RE. */
    f->on_backup = r->error == TRANSPORT_OK && device_reply_on_backup(dv, &v->reply);
    f->answered = false;
    if (parsed && !v->multi)
      device_note(dv, "show version: no per-RE results in the reply");
    free(v);
    decide(dv);
    return;
  }
  for (int s = 0; s < 2; s++) {
    const struct junos_re_version *re = &v->re[s];
    /* A release too long for our record is never cut: it counts as not answered. */
    struct device_live *lv = device_live(dv);
    bool fits = strlen(re->release) < sizeof lv->probed[s];
    snprintf(lv->probed[s], sizeof lv->probed[s], "%.*s", fits ? (int)sizeof lv->probed[s] - 1 : 0,
             re->release);
    lv->probed_unreachable[s] = !re->answer.answered;
    if (!re->answer.answered && re->answer.error[0])
      device_note(dv, re->answer.error);
    f->up[s] = re->answer.answered && re->release[0] && fits;
    f->on_target[s] = f->up[s] && device_on_target(dv, re->release);
  }
  f->same_release = f->up[0] && f->up[1] && junos_same_release(v->re[0].release, v->re[1].release);
  free(v);
  decide(dv);
}

static void probe_routing_engines(struct device *dv, const struct transport_result *r)
{
  struct reconcile_facts *f = &dv->facts;
  struct junos_routing_engines *re = xcalloc(1, sizeof *re);
  bool parsed = r->error == TRANSPORT_OK && junos_xml_routing_engines(L(dv), dv->out.n, re);
  if (r->error == TRANSPORT_OK && device_reply_on_backup(dv, &re->reply)) {
    f->on_backup = true;
    free(re);
    decide(dv);
    return;
  }
  if (!parsed || !re->found) {
    if (r->error == TRANSPORT_OK)
      device_note(dv, re->reply.error[0] ? re->reply.error : device_out_line(dv, NULL));
    free(re);
    decide(dv); /* not answered */
    return;
  }
  f->answered = true;
  f->master = re->master;
  f->two_masters = re->two_masters;
  for (int s = 0; s < 2; s++)
    if (re->re[s].vmhost)
      dv->vmhost_seen = true;
  free(re);
  device_exec(dv, junos_show_command(JUNOS_SHOW_VERSIONS), NULL, probe_versions);
}

static void probe_now(struct device *dv)
{
  memset(&dv->facts, 0, sizeof dv->facts);
  dv->facts.master = -1;
  memset(device_live(dv)->probed, 0, sizeof device_live(dv)->probed);
  memset(device_live(dv)->probed_unreachable, 0, sizeof device_live(dv)->probed_unreachable);
  device_exec(dv, junos_show_command(JUNOS_SHOW_ROUTING_ENGINES), NULL, probe_routing_engines);
}

bool reconcile_connecting(const struct device *dv)
{
  return dv->after_connect == probe_now || dv->after_connect == reconcile_step;
}

void reconcile_unanswered(struct device *dv)
{
  if (dv->finished)
    return;
  memset(&dv->facts, 0, sizeof dv->facts);
  dv->facts.master = -1;
  memset(device_live(dv)->probed, 0, sizeof device_live(dv)->probed);
  memset(device_live(dv)->probed_unreachable, 0, sizeof device_live(dv)->probed_unreachable);
  decide(dv);
}

void reconcile_step(struct device *dv)
{
  if (dv->finished)
    return;
  device_with_session(dv, probe_now);
}
