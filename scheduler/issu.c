/*
 * The ISSU itself: one `request system software in-service-upgrade` whose console lines move the
 * router through the phases (junos/'s table decides what each line means), and, when the
 * session drops (as it does at the switchover) or the console ends, polling the router until
 * it says where the ISSU stands. Never a second ISSU, never an abort.
 */
#include "scheduler/sched_internal.h"

#include <string.h>

/* How often to ask a router whose console we lost: in policy time, at least 200 ms real. */
#define POLL_S 20.0
#define POLL_FLOOR_MS 500

static void on_issu_line(struct device *dv, const char *line)
{
  device_note(dv, line);
  struct junos_issu_class c = junos_issu_classify(line);
  switch (c.event) {
  case ISSU_LINE_INFO:
    break;
  case ISSU_LINE_PHASE:
    if (c.phase == PH_OLD_MASTER_REBOOT && dv->run->p->issu.old_master != OLD_MASTER_REBOOT) {
      /* "Old Master Upgrade Done" without our reboot to follow: the ISSU's work is over. */
      break;
    }
    if (c.phase > dv->phase)
      device_set_phase(dv, c.phase, line);
    break;
  case ISSU_LINE_FAILED:
    if (dv->issu_error[0] == '\0') {
      snprintf(dv->issu_error, sizeof dv->issu_error, "%s", c.error_code);
      snprintf(dv->issu_failure, sizeof dv->issu_failure, "%.399s", line);
    }
    break;
  case ISSU_LINE_DONE:
    dv->issu_idle = true;
    break;
  }
}

/* The ISSU's console: lines are handled as they come, not when the command ends. */
static void console_line(struct transport *t, enum transport_stream stream, const char *line,
                         size_t len, bool cut, void *data)
{
  (void)stream;
  (void)cut;
  struct device *dv = data;
  if (dv->t != t || dv->finished)
    return;
  char clean[1024];
  if (junos_clean_line(line, len, clean, sizeof clean) == LINE_NOISE)
    return;
  on_issu_line(dv, clean);
}

static void console_done(struct transport *t, const struct transport_result *r, void *data)
{
  struct device *dv = data;
  if (dv->t != t || dv->finished)
    return;
  dv->watching_console = false;
  if (dv->issu_error[0]) {
    /* The router said it failed, in its own words. Before the switchover nothing changed. */
    device_fail(dv, dv->issu_error, "failure", "%s", dv->issu_failure);
    return;
  }
  if (r->error == TRANSPORT_OK && r->exit_status != 0 && !dv->issu_idle &&
      dv->phase == PH_VALIDATE) {
    const char *words = dv->nevidence ? dv->evidence[(dv->nevidence - 1) % EVIDENCE_LINES] : "";
    device_fail(dv, "issu-refused", "failure", "the router refused the ISSU: %s", words);
    return;
  }
  if (r->error != TRANSPORT_OK)
    device_drop_session(dv); /* expected at the switchover: the old master's session ends */
  /* Whatever the console said last, the router is asked where it stands. */
  issu_poll(dv);
}

void issu_start(struct device *dv)
{
  const struct policy *p = dv->run->p;
  if (!device_set_phase(dv, PH_VALIDATE, NULL))
    return;
  static const struct {
    unsigned bit;
    const char *word;
  } words[] = {
      {ISSU_OPT_NO_COPY, "no-copy"},
      {ISSU_OPT_UNLINK, "unlink"},
      {ISSU_OPT_NO_VALIDATE, "no-validate"},
      {ISSU_OPT_NO_TCP_SYN_CHECK, "no-tcp-syn-check"},
      {ISSU_OPT_ENHANCED_MODE, "enhanced-mode"},
  };
  const char *opts[ARRAY_LEN(words)];
  size_t n = 0;
  for (size_t i = 0; i < ARRAY_LEN(words); i++)
    if (p->issu.options & words[i].bit)
      opts[n++] = words[i].word;
  static const enum junos_old_master om[] = {
      [OLD_MASTER_REBOOT] = JUNOS_OLD_MASTER_REBOOT,
      [OLD_MASTER_LEAVE] = JUNOS_OLD_MASTER_LEAVE,
      [OLD_MASTER_SKIP] = JUNOS_OLD_MASTER_SKIP,
  };
  char cmd[700];
  junos_issu_command(cmd, sizeof cmd, p->target.package, opts, n, om[p->issu.old_master]);
  /* Recorded (the phase-changed event above is journaled) before the command goes out: from
   * here on this router is never given a second ISSU. */
  dv->issu_sent = true;
  dv->watching_console = true;
  int rc = transport_exec(dv->t, cmd, NULL, 0, console_line, console_done, dv);
  if (rc < 0)
    device_fail(dv, transport_error_name(rc), "failure", "cannot send the ISSU command: %s",
                transport_error_name(rc));
}

/* ---- polling ---- */

static void poll_state(struct device *dv);

static void poll_again(struct device *dv)
{
  device_wait(dv, POLL_S, POLL_FLOOR_MS, issu_poll);
}

static void after_routing_engines(struct device *dv, const struct transport_result *r)
{
  if (r->error != TRANSPORT_OK) {
    poll_again(dv);
    return;
  }
  struct junos_re_status s;
  if (!junos_parse_routing_engines((const char *const *)dv->out.lines, dv->out.n, &s) ||
      s.master < 0) {
    poll_again(dv);
    return;
  }
  if (s.master == 1 - dv->orig_master) {
    /* Mastership moved to the upgraded RE: the ISSU did its work. */
    post_issu_start(dv);
    return;
  }
  if (dv->resumed && dv->phase == PH_VALIDATE) {
    /* Journaled, never started: the crash came between the journal and the router. */
    device_restart(dv);
    return;
  }
  device_note(dv, device_out_line(dv, "Current state"));
  device_fail(dv, "state-unknown", "unknown",
              "the router reports no ISSU running, yet re%d (the original master) is still "
              "master; the ISSU did not complete and the router must be inspected",
              dv->orig_master);
}

static void after_state(struct device *dv, const struct transport_result *r)
{
  if (r->error != TRANSPORT_OK) {
    poll_again(dv); /* reconnects first when the session was lost */
    return;
  }
  enum junos_phase st = junos_issu_state((const char *const *)dv->out.lines, dv->out.n);
  if (st == PH_FAILED) {
    const char *why = device_out_line(dv, "ISSU failure");
    device_note(dv, why);
    device_fail(dv, "issu-aborted", "failure", "the router reports the ISSU aborted: %s", why);
  } else if (st == PH_DONE) {
    device_exec(dv, "show chassis routing-engine", NULL, after_routing_engines);
  } else if (st == PH_COUNT) {
    device_note(dv, device_out_line(dv, NULL));
    device_fail(dv, "state-unknown", "unknown",
                "show chassis in-service-upgrade does not say where the ISSU stands ('ISSU "
                "state:' is missing); the router must be inspected");
  } else {
    if (st == PH_OLD_MASTER_REBOOT && dv->run->p->issu.old_master != OLD_MASTER_REBOOT)
      st = PH_OLD_MASTER_UPGRADE;
    if (st > dv->phase)
      device_set_phase(dv, st, device_out_line(dv, "ISSU state"));
    poll_again(dv);
  }
}

static void poll_state(struct device *dv)
{
  device_exec(dv, "show chassis in-service-upgrade", NULL, after_state);
}

void issu_poll(struct device *dv)
{
  device_with_session(dv, poll_state);
}
