/*
 * After the switchover: the switchback to the original master (one switch, waiting out the
 * hold-down the router announces; the reconcile step reads the master before and after it),
 * and verify. The old master (policy `issu.old_master`) is Junos's to reboot (`reboot` option)
 * or left with its pending install; the reconcile step watches it (probe.c).
 */
#include "common/event_schema.h"
#include "scheduler/sched_internal.h"

#include "junos/junos_facts.h"

#include <stdlib.h>
#include <string.h>

#define POLL_S 20.0
#define POLL_FLOOR_MS 500
#define VERIFY_RETRY_S 30.0

static const char *const *L(const struct device *dv)
{
  return (const char *const *)dv->out.lines;
}

static bool wants_switchback(const struct device *dv)
{
  const struct policy *p = dv->run->p;
  /* Giving mastership back to an RE that still runs the old release would undo the upgrade. */
  return p->issu.switchback && p->issu.old_master == OLD_MASTER_REBOOT;
}

void post_issu_reach(struct device *dv, enum junos_phase p, const char *line)
{
  /* The facts show how far the router got; every phase on the way was passed through, even
   * those no poll happened to see (a short old-master reboot between two looks). */
  enum policy_old_master om = dv->run->p->issu.old_master;
  const struct {
    enum junos_phase phase;
    bool applies;
    const char *line;
  } way[] = {
      {PH_SWITCHOVER, true, "mastership moved to the upgraded RE"},
      {PH_OLD_MASTER_UPGRADE, om != OLD_MASTER_SKIP, NULL},
      {PH_OLD_MASTER_REBOOT, om == OLD_MASTER_REBOOT, NULL},
  };
  for (size_t i = 0; i < ARRAY_LEN(way); i++)
    if (way[i].applies && dv->phase < way[i].phase && way[i].phase <= p)
      device_set_phase(dv, way[i].phase, way[i].phase == p ? line : way[i].line);
  /* switchback and verify: the step entered next journals its own phase */
}

/* ---- switchback: one mastership switch, the master re-read before it and after it ---- */

#define SWITCH_SETTLE_S 10.0

static void switched(struct device *dv, const struct transport_result *r)
{
  if (r->error == TRANSPORT_OK) {
    unsigned hold = 0;
    /* "Command aborted. Not ready for mastership switch, try after N secs." (captures
     * request-chassis-routing-engine-master-switch__crtc-refused-*): refused, nothing changed;
     * wait it out and look again before the next attempt. */
    if (junos_parse_switch_reply(L(dv), dv->out.n, &hold, NULL) == SWITCH_REPLY_HOLDDOWN) {
      dv->switch_sent = RC_NOT_SENT;
      device_note(dv, device_out_line(dv, "try after"));
      device_extend_deadline(dv, hold + 5.0);
      device_wait(dv, hold + 5.0, POLL_FLOOR_MS, reconcile_step);
      return;
    }
    const char *err = junos_first_error(L(dv), dv->out.n);
    if (err) {
      device_note(dv, err);
      device_fail(dv, "switchback-refused", "failure",
                  "the router refused the mastership switch: %s", err);
      return;
    }
    for (size_t i = 0; i < dv->out.n; i++)
      device_note(dv, dv->out.lines[i]);
  }
  /* The session usually ends here (the RE we talked to stops being master), or stays on it as
   * backup: either way a fresh one asks who is master, after the switch has had time to show. */
  device_drop_session(dv);
  device_wait(dv, SWITCH_SETTLE_S, POLL_FLOOR_MS, reconcile_step);
}

static void switch_checked(struct device *dv, const struct transport_result *r)
{
  if (r->error != TRANSPORT_OK || dv->out.backup) {
    device_drop_session(dv);
    device_wait(dv, POLL_S, POLL_FLOOR_MS, reconcile_step);
    return;
  }
  unsigned hold = 0;
  const char *said = NULL;
  enum junos_switch_reply c = junos_parse_switch_reply(L(dv), dv->out.n, &hold, &said);
  device_note(dv, said ? said : device_out_line(dv, NULL));
  switch (c) {
  case SWITCH_REPLY_READY:
    /* Recorded before it goes out: a resumed run knows a switch may be under way. */
    dv->switch_sent = RC_SENT;
    dv->switch_sent_s = rollout_now(dv->run);
    dv->switch_looks = 0;
    device_exec(dv, "request chassis routing-engine master switch", "yes\n", switched);
    return;
  case SWITCH_REPLY_HOLDDOWN:
    /* The router names the wait: it is not a hang, so it does not count against the phase's
     * timeout (the device timeout still bounds it). */
    device_extend_deadline(dv, hold + 5.0);
    device_wait(dv, hold + 5.0, POLL_FLOOR_MS, reconcile_step);
    return;
  case SWITCH_REPLY_DONE: /* not an answer to a check */
  case SWITCH_REPLY_NOT_READY:
  case SWITCH_REPLY_UNKNOWN:
    device_wait(dv, POLL_S, POLL_FLOOR_MS, reconcile_step);
    return;
  }
}

static void switch_check_now(struct device *dv)
{
  device_exec(dv, "request chassis routing-engine master switch check", NULL, switch_checked);
}

void switchback_go(struct device *dv)
{
  if (dv->phase < PH_SWITCHBACK)
    device_set_phase(dv, PH_SWITCHBACK, NULL);
  /* The reconcile step that chose this has just read the master on this session. */
  device_with_session(dv, switch_check_now);
}

/* ---- verify ---- */

static void verify_versions(struct device *dv);

/* `leave` and `skip` end with the old master on its old release; with `leave` the target is
 * installed there and completes at its next reboot (Junos: "Reboot consistency check bypassed -
 * jinstall ... will complete installation upon reboot"). Said in the journal, not hidden. */
static void note_pending_install(struct device *dv)
{
  struct rollout *run = dv->run;
  int old = dv->orig_master;
  bool leave = run->p->issu.old_master == OLD_MASTER_LEAVE;
  cJSON *ev =
      event_new(run->log, "warn", EV_OLD_MASTER_PENDING, dv->name,
                "%s: re%d (the old master) runs %s%s", dv->name, old,
                device_live(dv)->after[old][0] ? device_live(dv)->after[old] : "its old release",
                leave ? "; the target is installed there and completes at its next "
                        "reboot (pending install)"
                      : "; it was not upgraded (old_master: skip)");
  if (dv->site)
    cJSON_AddStringToObject(event_labels(ev), L_SITE, dv->site);
  cJSON *is = event_issu(ev);
  cJSON_AddNumberToObject(is, F_WAVE, (double)dv->wave);
  cJSON_AddNumberToObject(is, F_OLD_MASTER, old);
  cJSON_AddBoolToObject(is, F_PENDING_INSTALL, leave);
  rollout_note(run, ev);
}

/* A verify command whose session dropped, or sits on the backup RE: start verify over on a
 * fresh session to the master (read-only, so asking again is harmless). */
static bool verify_lost(struct device *dv, const struct transport_result *r,
                        const struct junos_reply *reply)
{
  if (r->error == TRANSPORT_OK && !dv->out.backup && !(reply && device_reply_on_backup(dv, reply)))
    return false;
  device_connect(dv, verify_versions);
  return true;
}

static void verify_alarms(struct device *dv, const struct transport_result *r)
{
  struct junos_alarm_list *now = xcalloc(1, sizeof *now);
  bool parsed = r->error == TRANSPORT_OK && junos_xml_alarms(L(dv), dv->out.n, now);
  if (verify_lost(dv, r, &now->reply)) {
    free(now);
    return;
  }
  if (!parsed || !now->found) {
    /* No alarm information (an empty or unreadable reply) is no verdict on the alarms: asked
     * again, as the releases and the master are, until verify's timeout holds the router. */
    device_note(dv, now->reply.error[0] ? now->reply.error : device_out_line(dv, NULL));
    free(now);
    device_wait(dv, VERIFY_RETRY_S, POLL_FLOOR_MS, verify_versions);
    return;
  }
  if (now->cut) {
    /* More alarms than are kept, or one without its description: whether one of the rest is
     * new cannot be said. No verdict: asked again, and held at verify's timeout. */
    device_note(dv, "verify: the alarm list is longer than what is kept (or an alarm has no "
                    "description): no verdict on new alarms");
    free(now);
    device_wait(dv, VERIFY_RETRY_S, POLL_FLOOR_MS, verify_versions);
    return;
  }
  /* Expected by design: `Backup RE Active` whenever RE1 is left master (captures
   * show-system-alarms__crtc-after-switchover-backup-re-active, ...crtc-loop-backup-re-active). */
  const char *expected[] = {JUNOS_ALARM_BACKUP_RE_ACTIVE};
  size_t nexpected = dv->final_master == 1 ? 1 : 0;
  /* The baseline back in junos_alarms_fresh's form, for this comparison only. */
  struct junos_alarm_list *base = xcalloc(1, sizeof *base);
  if (dv->baseline) {
    base->n = dv->baseline->n;
    base->cut = dv->baseline->cut;
    memcpy(base->a, dv->baseline->a, base->n * sizeof base->a[0]);
  }
  size_t fresh[1];
  size_t n = junos_alarms_fresh(base, now, expected, nexpected, fresh, 1);
  free(base);
  if (n > 0) {
    const struct junos_alarm *a = &now->a[fresh[0]];
    char line[400];
    snprintf(line, sizeof line, "%s %s %s", a->time, junos_alarm_class_name(a->cls),
             a->description);
    device_note(dv, line);
    device_fail(dv, "new-alarms", "failure", "%zu new alarm%s since preflight: %s", n,
                n == 1 ? "" : "s", line);
    free(now);
    return;
  }
  free(now);
  if (dv->run->p->issu.old_master != OLD_MASTER_REBOOT)
    note_pending_install(dv);
  checks_post_start(dv); /* ends the router */
}

/* Errors of an RE's own address that asking again does not mend: its host key (changed,
 * unknown, unreadable), or our credentials. */
static bool lasting(int error)
{
  switch (error) {
  case TRANSPORT_E_HOSTKEY_CHANGED:
  case TRANSPORT_E_HOSTKEY_UNKNOWN:
  case TRANSPORT_E_HOSTKEY:
  case TRANSPORT_E_AUTH:
  case TRANSPORT_E_KEY:
  case TRANSPORT_E_OPTIONS:
    return true;
  default:
    return false;
  }
}

static void verify_switchover(struct device *dv, const struct transport_result *r)
{
  struct junos_switchover_xml s;
  junos_xml_switchover(L(dv), dv->out.n, &s);
  if (lasting(r->error)) {
    /* Not a slow router: asking every 30 s until verify's timeout only hid it behind a
     * phase-timeout. The upgrade is done but not confirmed: held, in the transport's own words
     * (the address, the key presented and those recorded, and the fix). */
    int slot = 1 - dv->final_master;
    device_fail(dv, transport_error_name(r->error), OUTCOME_UNKNOWN,
                "verify: re%d's own address (issu_re%d_host) cannot be used, so the backup RE's "
                "switchover readiness is not confirmed; the router is held until an operator "
                "looks: %s",
                slot, slot, r->message);
    return;
  }
  /* This one is asked on the backup RE itself: its {backup} banner is expected. */
  if (r->error != TRANSPORT_OK) {
    device_wait(dv, VERIFY_RETRY_S, POLL_FLOOR_MS, verify_versions);
    return;
  }
  if (!s.found || !s.gres_on || !s.ready) {
    /* Replication takes a while after a reboot: ask again until verify's timeout. */
    device_note(dv, s.readiness[0] ? s.readiness : device_out_line(dv, "replication"));
    device_wait(dv, VERIFY_RETRY_S, POLL_FLOOR_MS, verify_versions);
    return;
  }
  device_exec(dv, junos_show_command(JUNOS_SHOW_CHASSIS_ALARMS), NULL, verify_alarms);
}

static void verify_master(struct device *dv, const struct transport_result *r)
{
  struct junos_routing_engines *s = xcalloc(1, sizeof *s);
  bool parsed = r->error == TRANSPORT_OK && junos_xml_routing_engines(L(dv), dv->out.n, s);
  if (verify_lost(dv, r, &s->reply)) {
    free(s);
    return;
  }
  int want = wants_switchback(dv) ? dv->orig_master : 1 - dv->orig_master;
  int master = parsed ? s->master : -1;
  bool two = parsed && s->two_masters;
  free(s);
  if (two) {
    device_note(dv, device_out_line(dv, "mastership-state"));
    device_fail(dv, "state-unknown", OUTCOME_UNKNOWN,
                "verify: re0 and re1 both say they are master; the router is held until an "
                "operator looks");
    return;
  }
  if (master < 0) {
    /* No RE named master (an empty or unreadable reply): no verdict, as for the releases
     * above; asked again until verify's timeout, then the reconcile step holds the router. */
    device_note(dv, device_out_line(dv, NULL));
    device_wait(dv, VERIFY_RETRY_S, POLL_FLOOR_MS, verify_versions);
    return;
  }
  if (master != want && wants_switchback(dv)) {
    /* Verify began with the original master master: the upgraded RE master again is a
     * mastership that moved by itself, held as the reconcile step holds it (live or resumed),
     * not failed: a failure frees its slots while its state is unexplained. */
    device_note(dv, device_out_line(dv, "mastership-state"));
    device_fail(dv, "state-unknown", OUTCOME_UNKNOWN,
                "verify: re%d should be master, the router says re%d: the mastership moved by "
                "itself after verify began; it is never switched a second time, and the router "
                "is held until an operator looks",
                want, master);
    return;
  }
  if (master != want) {
    device_note(dv, device_out_line(dv, "mastership-state"));
    device_fail(dv, "verify-failed", "failure", "re%d should be master, the router says re%d", want,
                master);
    return;
  }
  dv->final_master = master;
  /* Answered only on the backup RE, on its own address; without one, the switch check of the
   * next upgrade and the alarms below are what vouch for it. */
  if (!device_exec_on_re(dv, 1 - master, junos_show_command(JUNOS_SHOW_SWITCHOVER),
                         verify_switchover))
    device_exec(dv, junos_show_command(JUNOS_SHOW_CHASSIS_ALARMS), NULL, verify_alarms);
}

static void verify_versions_done(struct device *dv, const struct transport_result *r)
{
  struct junos_versions_xml *v = xcalloc(1, sizeof *v);
  bool parsed = r->error == TRANSPORT_OK && junos_xml_versions(L(dv), dv->out.n, v);
  if (verify_lost(dv, r, &v->reply)) {
    free(v);
    return;
  }
  const struct policy *p = dv->run->p;
  /* An RE that does not answer (an rpc-error naming it, capture
   * show-version-invoke-on-all-routing-engines__pyez-other-re-off), or a reply without the per-RE
   * results, tells nothing of its release: no verdict rests on it. Asked again, as the
   * switchover readiness is, until verify's timeout; the reconcile step then holds the router
   * (its state cannot be established), never fails it as if verify had found it wrong. */
  bool answered = parsed && v->multi;
  for (int s = 0; s < 2 && answered; s++)
    answered = v->re[s].answer.answered && v->re[s].release[0] != '\0';
  if (!answered) {
    for (int s = 0; s < 2; s++)
      if (v->re[s].answer.error[0])
        device_note(dv, v->re[s].answer.error);
    if (!parsed || !v->multi)
      device_note(dv, v->reply.error[0] ? v->reply.error : device_out_line(dv, NULL));
    free(v);
    device_wait(dv, VERIFY_RETRY_S, POLL_FLOOR_MS, verify_versions);
    return;
  }
  char(*after)[48] = device_live(dv)->after;
  for (int s = 0; s < 2; s++)
    snprintf(after[s], sizeof after[s], "%.*s",
             strlen(v->re[s].release) < sizeof after[s] ? (int)sizeof after[s] - 1 : 0,
             v->re[s].release);
  int newm = 1 - dv->orig_master, old = dv->orig_master;
  const char *target = p->target.version;
  bool multi = parsed && v->multi;
  bool ok_new = multi && device_on_target(dv, v->re[newm].release);
  /* The old master: on the target after Junos's reboot; otherwise it answers on its old release
   * (with `leave` the new one is installed and completes at its next reboot). */
  bool ok_old = multi && (p->issu.old_master == OLD_MASTER_REBOOT
                              ? device_on_target(dv, v->re[old].release)
                              : v->re[old].answer.answered && v->re[old].release[0] != '\0');
  if (!ok_new || !ok_old) {
    for (int s = 0; s < 2; s++)
      if (v->re[s].answer.error[0])
        device_note(dv, v->re[s].answer.error);
    device_fail(dv, "verify-failed", "failure",
                "after the ISSU re0 runs %s and re1 runs %s (expected %s on re%d, %s)",
                device_live(dv)->after[0][0] ? device_live(dv)->after[0] : "?",
                device_live(dv)->after[1][0] ? device_live(dv)->after[1] : "?",
                ok_new && p->issu.old_master != OLD_MASTER_REBOOT ? "an answer" : target,
                ok_new ? old : newm, ok_new ? "the old master" : "the upgraded RE");
    free(v);
    return;
  }
  free(v);
  device_exec(dv, junos_show_command(JUNOS_SHOW_ROUTING_ENGINES), NULL, verify_master);
}

static void verify_versions_now(struct device *dv)
{
  device_exec(dv, junos_show_command(JUNOS_SHOW_VERSIONS), NULL, verify_versions_done);
}

static void verify_versions(struct device *dv)
{
  device_with_session(dv, verify_versions_now);
}

void verify_start(struct device *dv)
{
  device_set_phase(dv, PH_VERIFY, NULL);
  verify_versions(dv);
}
