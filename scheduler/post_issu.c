/*
 * After the switchover: the old master (policy `issu.old_master`: reboot it and wait until it is
 * back as backup on the target, leave it upgraded but on old code, or skip it), the switchback
 * to the original master (waiting out the hold-down the router announces), and verify.
 */
#include "scheduler/sched_internal.h"

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

static void switchback_start(struct device *dv);

static void after_old_master(struct device *dv)
{
  if (wants_switchback(dv))
    switchback_start(dv);
  else
    verify_start(dv);
}

/* ---- the old master's reboot ---- */

static void old_master_poll(struct device *dv);

static void old_master_versions(struct device *dv, const struct transport_result *r)
{
  struct junos_versions v;
  int old = dv->orig_master;
  if (r->error == TRANSPORT_OK && junos_parse_versions(L(dv), dv->out.n, &v) &&
      strcmp(v.version[old], dv->run->p->target.version) == 0) {
    after_old_master(dv);
    return;
  }
  device_wait(dv, POLL_S, POLL_FLOOR_MS, old_master_poll);
}

static void old_master_state(struct device *dv, const struct transport_result *r)
{
  struct junos_re_status s;
  int old = dv->orig_master;
  if (r->error == TRANSPORT_OK && junos_parse_routing_engines(L(dv), dv->out.n, &s) &&
      s.re[old].up && s.re[old].backup) {
    device_exec(dv, "show version invoke-on all-routing-engines", NULL, old_master_versions);
    return;
  }
  if (r->error == TRANSPORT_OK)
    device_note(dv, device_out_line(dv, "Current state"));
  device_wait(dv, POLL_S, POLL_FLOOR_MS, old_master_poll);
}

static void old_master_poll_now(struct device *dv)
{
  device_exec(dv, "show chassis routing-engine", NULL, old_master_state);
}

static void old_master_poll(struct device *dv)
{
  device_with_session(dv, old_master_poll_now);
}

static void reboot_old_master(struct device *dv);

static void reboot_sent(struct device *dv, const struct transport_result *r)
{
  if (r->error != TRANSPORT_OK) {
    /* The session went; whether the reboot was taken is for the router to tell. */
    device_connect(dv, old_master_poll_now);
    return;
  }
  const char *err = junos_first_error(L(dv), dv->out.n);
  if (err != NULL) {
    device_note(dv, err);
    if (strstr(err, "in progress")) { /* the ISSU is still finishing: ask again shortly */
      device_wait(dv, POLL_S, POLL_FLOOR_MS, reboot_old_master);
      return;
    }
    device_fail(dv, "old-master-reboot-refused", "failure",
                "the router refused to reboot the old master: %s", err);
    return;
  }
  for (size_t i = 0; i < dv->out.n; i++)
    device_note(dv, dv->out.lines[i]);
  device_wait(dv, POLL_S, POLL_FLOOR_MS, old_master_poll);
}

static void reboot_old_master_now(struct device *dv)
{
  /* Answers the "Reboot the system ? [yes,no]" prompt. */
  device_exec(dv, "request system reboot other-routing-engine", "yes\n", reboot_sent);
}

static void reboot_old_master(struct device *dv)
{
  device_with_session(dv, reboot_old_master_now);
}

/* Before rebooting the old master, look: already back on the target (a resumed run whose reboot
 * went out before the crash), or still rebooting, means no second reboot. */
static void examine_versions(struct device *dv, const struct transport_result *r)
{
  struct junos_versions v;
  int old = dv->orig_master;
  if (r->error != TRANSPORT_OK || !junos_parse_versions(L(dv), dv->out.n, &v)) {
    device_wait(dv, POLL_S, POLL_FLOOR_MS, old_master_examine);
    return;
  }
  if (strcmp(v.version[old], dv->run->p->target.version) == 0)
    after_old_master(dv);
  else if (v.unreachable[old])
    device_wait(dv, POLL_S, POLL_FLOOR_MS, old_master_poll);
  else
    reboot_old_master(dv);
}

static void examine_state(struct device *dv, const struct transport_result *r)
{
  struct junos_re_status st;
  int old = dv->orig_master;
  if (r->error != TRANSPORT_OK || !junos_parse_routing_engines(L(dv), dv->out.n, &st)) {
    device_wait(dv, POLL_S, POLL_FLOOR_MS, old_master_examine);
    return;
  }
  if (!st.re[old].up) /* rebooting: our reboot went out */
    device_wait(dv, POLL_S, POLL_FLOOR_MS, old_master_poll);
  else
    device_exec(dv, "show version invoke-on all-routing-engines", NULL, examine_versions);
}

static void old_master_examine_now(struct device *dv)
{
  device_exec(dv, "show chassis routing-engine", NULL, examine_state);
}

void old_master_examine(struct device *dv)
{
  device_with_session(dv, old_master_examine_now);
}

void post_issu_start(struct device *dv)
{
  const struct policy *p = dv->run->p;
  /* The switchover happened; every phase up to it has been passed through. */
  if (dv->phase < PH_SWITCHOVER)
    device_set_phase(dv, PH_SWITCHOVER, "mastership moved to the upgraded RE");
  switch (p->issu.old_master) {
  case OLD_MASTER_SKIP:
    after_old_master(dv);
    return;
  case OLD_MASTER_LEAVE:
    if (dv->phase < PH_OLD_MASTER_UPGRADE)
      device_set_phase(dv, PH_OLD_MASTER_UPGRADE, NULL);
    after_old_master(dv);
    return;
  case OLD_MASTER_REBOOT:
    if (dv->phase < PH_OLD_MASTER_UPGRADE)
      device_set_phase(dv, PH_OLD_MASTER_UPGRADE, NULL);
    device_set_phase(dv, PH_OLD_MASTER_REBOOT, NULL);
    old_master_examine(dv);
    return;
  }
}

/* ---- switchback ---- */

static void switch_check(struct device *dv);

static void switched(struct device *dv, const struct transport_result *r);

static void switchback_master(struct device *dv, const struct transport_result *r)
{
  struct junos_re_status s;
  if (r->error != TRANSPORT_OK || !junos_parse_routing_engines(L(dv), dv->out.n, &s)) {
    device_wait(dv, POLL_S, POLL_FLOOR_MS, switch_check);
    return;
  }
  if (s.master == dv->orig_master) {
    verify_start(dv);
    return;
  }
  /* Not switched (yet): check again, the phase timeout bounds this. */
  device_note(dv, device_out_line(dv, "Current state"));
  device_wait(dv, POLL_S, POLL_FLOOR_MS, switch_check);
}

static void ask_master(struct device *dv)
{
  device_exec(dv, "show chassis routing-engine", NULL, switchback_master);
}

static void switched(struct device *dv, const struct transport_result *r)
{
  if (r->error == TRANSPORT_OK) {
    const char *err = junos_first_error(L(dv), dv->out.n);
    if (err) {
      device_note(dv, err);
      device_fail(dv, "switchback-refused", "failure",
                  "the router refused the mastership switch: %s", err);
      return;
    }
  }
  /* The session usually drops here: the RE we talked to stops being master. */
  device_with_session(dv, ask_master);
}

static void switch_checked(struct device *dv, const struct transport_result *r)
{
  if (r->error != TRANSPORT_OK) {
    device_connect(dv, switch_check);
    return;
  }
  unsigned hold = 0;
  enum junos_switch_check c = junos_parse_switch_check(L(dv), dv->out.n, &hold);
  device_note(dv, device_out_line(dv, NULL));
  switch (c) {
  case SWITCH_READY:
    device_exec(dv, "request chassis routing-engine master switch", "yes\n", switched);
    return;
  case SWITCH_HOLDDOWN:
    /* The router names the wait: it is not a hang, so it does not count against the phase's
     * timeout (the device timeout still bounds it). */
    device_extend_deadline(dv, hold + 5.0);
    device_wait(dv, hold + 5.0, POLL_FLOOR_MS, switch_check);
    return;
  case SWITCH_NOT_READY:
  case SWITCH_UNKNOWN:
    device_wait(dv, POLL_S, POLL_FLOOR_MS, switch_check);
    return;
  }
}

static void switch_check_now(struct device *dv)
{
  device_exec(dv, "request chassis routing-engine master switch check", NULL, switch_checked);
}

static void switch_check(struct device *dv)
{
  device_with_session(dv, switch_check_now);
}

void switchback_resume(struct device *dv)
{
  /* The switch may have happened before the crash: ask who is master before switching. */
  device_with_session(dv, ask_master);
}

static void switchback_start(struct device *dv)
{
  device_set_phase(dv, PH_SWITCHBACK, NULL);
  switch_check(dv);
}

/* ---- verify ---- */

static void verify_versions(struct device *dv);

static void verify_alarms(struct device *dv, const struct transport_result *r)
{
  if (r->error != TRANSPORT_OK) {
    device_connect(dv, verify_versions);
    return;
  }
  struct junos_alarms now;
  junos_parse_alarms(L(dv), dv->out.n, &now);
  char first[300];
  if (junos_alarms_new(&dv->baseline, &now, first, sizeof first) > 0) {
    device_note(dv, first);
    device_fail(dv, "new-alarms", "failure", "a new alarm since preflight: %s", first);
    return;
  }
  device_succeed(dv, PH_DONE);
}

static void verify_switchover(struct device *dv, const struct transport_result *r)
{
  if (r->error != TRANSPORT_OK) {
    device_connect(dv, verify_versions);
    return;
  }
  struct junos_switchover s;
  junos_parse_switchover(L(dv), dv->out.n, &s);
  if (!s.found || !s.gres_on || !s.kernel_ready || !s.ready) {
    /* Replication takes a while after a reboot: ask again until verify's timeout. */
    device_note(dv, device_out_line(dv, "Kernel database"));
    device_wait(dv, VERIFY_RETRY_S, POLL_FLOOR_MS, verify_versions);
    return;
  }
  device_exec(dv, "show chassis alarms", NULL, verify_alarms);
}

static void verify_master(struct device *dv, const struct transport_result *r)
{
  if (r->error != TRANSPORT_OK) {
    device_connect(dv, verify_versions);
    return;
  }
  struct junos_re_status s;
  int want = wants_switchback(dv) ? dv->orig_master : 1 - dv->orig_master;
  if (!junos_parse_routing_engines(L(dv), dv->out.n, &s) || s.master != want) {
    device_note(dv, device_out_line(dv, "Current state"));
    device_fail(dv, "verify-failed", "failure", "re%d should be master, the router says re%d", want,
                s.master);
    return;
  }
  device_exec(dv, "show system switchover invoke-on other-routing-engine", NULL, verify_switchover);
}

static void verify_versions_done(struct device *dv, const struct transport_result *r)
{
  if (r->error != TRANSPORT_OK) {
    device_connect(dv, verify_versions);
    return;
  }
  const struct policy *p = dv->run->p;
  struct junos_versions v;
  junos_parse_versions(L(dv), dv->out.n, &v);
  for (int s = 0; s < 2; s++)
    snprintf(dv->after[s], sizeof dv->after[s], "%s", v.version[s]);
  int newm = 1 - dv->orig_master, old = dv->orig_master;
  const char *target = p->target.version;
  bool ok_new = strcmp(v.version[newm], target) == 0;
  /* The old master: on the target after our reboot; on its old release otherwise (with
   * `leave` the new one is installed and waits for a reboot). */
  bool ok_old =
      p->issu.old_master == OLD_MASTER_REBOOT
          ? strcmp(v.version[old], target) == 0
          : strcmp(v.version[old], dv->before[old]) == 0 || strcmp(v.version[old], target) == 0;
  if (!ok_new || !ok_old) {
    for (size_t i = 0; i < dv->out.n; i++)
      if (strncmp(dv->out.lines[i], "Junos:", 6) == 0 || strstr(dv->out.lines[i], "Could not"))
        device_note(dv, dv->out.lines[i]);
    device_fail(dv, "verify-failed", "failure",
                "after the ISSU re0 runs %s and re1 runs %s "
                "(expected %s on re%d%s)",
                v.version[0][0] ? v.version[0] : "?", v.version[1][0] ? v.version[1] : "?", target,
                ok_new ? old : newm, p->issu.old_master == OLD_MASTER_REBOOT && ok_new ? "" : "");
    return;
  }
  device_exec(dv, "show chassis routing-engine", NULL, verify_master);
}

static void verify_versions_now(struct device *dv)
{
  device_exec(dv, "show version invoke-on all-routing-engines", NULL, verify_versions_done);
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
