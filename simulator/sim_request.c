/*
 * The commands that change the router: mastership switch, reboots, ISSU validation and the ISSU
 * itself. Junos's own refusals come first (a second ISSU, a downgrade, a missing package, one
 * RE, GRES or NSR off); messages not seen in any public capture are marked UNVERIFIED.
 */
#include "simulator/sim.h"
#include "simulator/sim_hold.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0)
    ;
}

bool sim_confirm(struct sim_ctx *c, const char *question)
{
  fprintf(c->out->fp, "%s [yes,no] (no) ", question);
  fflush(c->out->fp);
  char answer[64] = "";
  if (c->in == NULL || fgets(answer, sizeof answer, c->in) == NULL)
    answer[0] = '\0';
  answer[strcspn(answer, "\r\n")] = '\0';
  fprintf(c->out->fp, "%s\n", answer);
  return strcmp(answer, "yes") == 0;
}

/* The parent pid (via /proc/PID/stat) and the command line (/proc/PID/cmdline). */
static pid_t parent_of(pid_t pid, char *cmdline, size_t len)
{
  pid_t ppid = 0;
  if (sim_proc_stat(pid, &ppid, NULL) < 0)
    return 0;
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/cmdline", (long)pid);
  cmdline[0] = '\0';
  FILE *f = fopen(path, "r");
  if (f != NULL) {
    size_t n = fread(cmdline, 1, len - 1, f);
    cmdline[n] = '\0';
    fclose(f);
  }
  return ppid;
}

void sim_drop_session(void)
{
  fflush(stdout);
  fflush(stderr);
  /* Let sshd forward what was already written, as a real box gets its last lines out. */
  sleep_ms(20);
  /* Behind sshd the session is served by "sshd: user@notty" and its "sshd: user [priv]"
   * monitor; killing both cuts the connection with no exit status, as a switchover does. The
   * walk stops at the listener, which OpenSSH 9 titles "sshd: /usr/sbin/sshd ... [listener]". */
  char cmd[512];
  pid_t pid = getpid();
  for (int depth = 0; depth < 8 && pid > 1; depth++) {
    pid_t parent = parent_of(pid, cmd, sizeof cmd);
    if (strstr(cmd, "[listener]") != NULL || strstr(cmd, "sshd -D") != NULL)
      break;
    if (depth > 0 && strncmp(cmd, "sshd: ", 6) == 0)
      kill(pid, SIGKILL);
    pid = parent;
  }
  /* Locally (no sshd), the session is this process: end it by a signal, without an exit status. */
  signal(SIGKILL, SIG_DFL);
  raise(SIGKILL);
  _exit(137);
}

/* Sleeps `seconds` of real time, or until the session's reader goes away (then exits, as a CLI
 * process does when its terminal closes). A step that never comes waits here until then. */
static void wait_real(double seconds)
{
  struct pollfd p = {.fd = STDOUT_FILENO, .events = 0};
  while (seconds > 0) {
    int ms = seconds > 1.0 ? 1000 : (int)(seconds * 1000) + 1;
    if (poll(&p, 1, ms) > 0 && (p.revents & (POLLERR | POLLHUP)))
      exit(1);
    seconds -= ms / 1000.0;
  }
}

static void relock_save(struct sim_ctx *c, unsigned dropped)
{
  char err[256];
  struct sim_router fresh;
  int fd;
  if (sim_open(c->r->path, &fresh, &fd, err, sizeof err) < 0)
    return;
  sim_settle(&fresh, sim_now(&fresh));
  fresh.sessions_dropped += dropped; /* this session is about to be cut */
  sim_save(&fresh, err, sizeof err);
  sim_close(&fresh, fd);
}

/* ---- mastership ---- */

/* NULL when a graceful switchover can happen now, else Junos's words for why not. */
static const char *switch_refusal(const struct sim_ctx *c, char *buf, size_t len)
{
  const struct sim_router *r = c->r;
  int backup = 1 - sim_master(r);
  if (c->now < r->holddown_until) {
    /* Captures crtc-refused-221s, crtc-refused-11s-then-reconnect-re1, -229s. */
    snprintf(buf, len, "Command aborted. Not ready for mastership switch, try after %.0f secs.",
             r->holddown_until - c->now + 0.5);
    return buf;
  }
  if (!r->gres || !r->re[backup].present || !sim_re_up(r, backup, c->now) ||
      (r->faults & FAULT_BACKUP_NOT_READY)) {
    snprintf(buf, len,
             "warning: Traffic will be interrupted while the PFE is re-initialized\n"
             "Standby Routing Engine is not ready for graceful switchover.");
    return buf;
  }
  return NULL;
}

/* Does a session on the old master survive a switchover? A lab option per router (`stay`), or
 * the older no-drop fault. */
static bool session_stays(const struct sim_router *r)
{
  return r->session_stays || (r->faults & FAULT_NO_DROP);
}

static bool has_arg(const struct sim_ctx *c, const char *word)
{
  for (size_t i = 0; i < c->nargs; i++)
    if (strcmp(c->args[i], word) == 0)
      return true;
  return false;
}

static void print_lines(struct sim_ctx *c, const char *text)
{
  for (const char *p = text; *p;) {
    size_t n = strcspn(p, "\n");
    sim_line(c->out, "%.*s", (int)n, p);
    p += n + (p[n] == '\n');
  }
}

int sim_request_switch(struct sim_ctx *c)
{
  char why[256];
  if (c->r->issu.state == ISSU_RUNNING) {
    /* UNVERIFIED wording: user-initiated GRES is blocked during ISSU (reference §5.2). */
    sim_line(c->out, "error: mastership switch is not allowed while ISSU is in progress");
    return 1;
  }
  if (has_arg(c, "check")) {
    const char *refusal = switch_refusal(c, why, sizeof why);
    print_lines(c, refusal ? refusal : "Switchover Ready");
    return 0;
  }
  if (!has_arg(c, "no-confirm") && !sim_confirm(c, "Toggle mastership between routing engines ?"))
    return 1;
  const char *refusal = switch_refusal(c, why, sizeof why);
  if (refusal != NULL) {
    print_lines(c, refusal);
    return 1;
  }
  /* Capture crtc-accepted: the same session then shows {backup} (the banner, sim_cli.c). */
  sim_line(c->out, "%s", "");
  sim_line(c->out, "Resolving mastership...");
  sim_line(c->out, "Complete. The other routing engine becomes the master.");
  sim_switch_mastership(c->r, c->now);
  bool stays = session_stays(c->r);
  if (!stays)
    c->r->sessions_dropped++; /* the session was on the old master */
  char err[256];
  if (sim_save(c->r, err, sizeof err) < 0) {
    sim_line(c->out, "error: %s", err);
    return 1;
  }
  c->dirty = false;
  if (!stays) {
    sim_close(c->r, c->lock_fd);
    sim_drop_session();
  }
  return 0;
}

/* ---- reboot ---- */

static void reboot_re(struct sim_ctx *c, int slot)
{
  struct sim_router *r = c->r;
  bool old_master = r->issu.state != ISSU_IDLE && slot == r->issu.old_master;
  double dur = sim_reboot_seconds(r);
  r->re[slot].down_until =
      old_master && (r->faults & FAULT_OLD_MASTER_NO_RETURN) ? SIM_NEVER : c->now + dur;
  r->re[slot].down_since = c->now;
  snprintf(r->re[slot].reboot_reason, sizeof r->re[slot].reboot_reason, "%s",
           r->vmhost ? (slot == 0 ? "0x2000:hypervisor reboot" : "0x4000:VJUNOS reboot")
                     : "Router rebooted after a normal shutdown.");
}

/* Reboots the other RE, this RE or both, from a session on RE c->re. A VM-host RE reboots with
 * `request vmhost reboot` (capture request-vmhost-reboot: its XML reply; the text lines here
 * follow it and are UNVERIFIED as text). */
static int reboot(struct sim_ctx *c, bool want_other, bool want_both, bool vmhost)
{
  struct sim_router *r = c->r;
  int self = c->re, other = 1 - self;
  const char *other_name = other ? "re1" : "re0";
  if (r->issu.state == ISSU_RUNNING) {
    sim_line(c->out, "error: reboot is not allowed while ISSU is in progress"); /* UNVERIFIED */
    return 1;
  }
  if ((want_other || want_both) && !r->re[other].present) {
    sim_line(c->out, "warning: Other routing-engine not present");
    if (want_other)
      return 1;
  }
  if (want_other && !sim_re_up(r, other, c->now)) {
    sim_line(c->out, "error: Could not connect to %s : No route to host", other_name);
    return 1;
  }
  /* UNVERIFIED for vmhost: the prompt of `request vmhost reboot` is not in a capture. */
  if (!sim_confirm(c, "Reboot the system ?"))
    return 1;
  char err[256], when[64];
  time_t at = sim_clock_secs(c->now + 60);
  struct tm tm;
  gmtime_r(&at, &tm);
  strftime(when, sizeof when, "%a %b %e %H:%M:%S %Y", &tm); /* "Thu Aug  6 09:27:13 2020" */
  if (vmhost)
    sim_line(c->out, "Initiating vmhost reboot...");
  if (want_other) {
    if (r->re[other].pending[0])
      sim_line(c->out,
               "Reboot consistency check bypassed - jinstall %s will complete installation "
               "upon reboot",
               r->re[other].pending);
    if (vmhost)
      sim_line(c->out, "warning: Rebooting %s in 1 min", other_name);
    else
      sim_line(c->out, "Rebooting %s", other_name); /* UNVERIFIED: no capture of the reply */
    reboot_re(c, other);
    if (sim_save(r, err, sizeof err) < 0) {
      sim_line(c->out, "error: %s", err);
      return 1;
    }
    c->dirty = false;
    return 0;
  }
  /* This RE (and maybe the other) goes down: the session ends with it. */
  if (vmhost) {
    sim_line(c->out, "warning: Rebooting %s in 1 min", self ? "re1" : "re0");
    sim_line(c->out, "warning: Initiating Junos shutdown...");
    sim_line(c->out, "shutdown: [pid %ld]", (long)getpid());
    sim_line(c->out, "Shutdown at %s.", when);
  } else {
    sim_line(c->out, "%s", "");
    sim_line(c->out, "*** FINAL System shutdown message from root@%s ***", r->hostname);
    sim_line(c->out, "System going down IMMEDIATELY");
    sim_line(c->out, "%s", "");
    sim_line(c->out, "Shutdown NOW!");
  }
  /* Capture request-system-reboot__blog (an old master left without `reboot`). */
  if (r->re[self].pending[0])
    sim_line(c->out,
             "Reboot consistency check bypassed - jinstall %s will complete installation "
             "upon reboot",
             r->re[self].pending);
  if (!vmhost)
    sim_line(c->out, "[pid %ld]", (long)getpid());
  bool was_master = r->re[self].master;
  reboot_re(c, self);
  if (want_both && r->re[other].present)
    reboot_re(c, other);
  else if (was_master && r->gres && r->re[other].present && sim_re_up(r, other, c->now))
    sim_switch_mastership(r, c->now);
  r->sessions_dropped++;
  if (sim_save(r, err, sizeof err) < 0) {
    sim_line(c->out, "error: %s", err);
    return 1;
  }
  sim_close(r, c->lock_fd);
  sim_drop_session();
  return 0;
}

/* UNVERIFIED wording: what a VM-host RE says to the plain command, and a plain RE to the vmhost
 * one, is not in any capture. */
static int wrong_family(struct sim_ctx *c, const char *vmhost_command)
{
  if (c->r->vmhost)
    sim_line(c->out, "error: this routing engine runs on a VM host: use '%s'", vmhost_command);
  else
    sim_line(c->out, "error: syntax error: vmhost");
  return 1;
}

int sim_request_reboot(struct sim_ctx *c)
{
  if (c->r->vmhost)
    return wrong_family(c, "request vmhost reboot");
  bool want_other = c->nargs > 0 && strncmp(c->args[0], "other", 5) == 0;
  bool want_both = c->nargs > 0 && strncmp(c->args[0], "both", 4) == 0;
  if (c->nargs > 0 && !want_other && !want_both) {
    sim_line(c->out, "error: syntax error: %s", c->args[0]);
    return 1;
  }
  return reboot(c, want_other, want_both, false);
}

/* `request vmhost reboot [invoke-on other-routing-engine|all-routing-engines]`: a VM-host RE
 * takes invoke-on, not both-routing-engines (ansible-junos-stdlib issue 442: "syntax error,
 * expecting <invoke-on>"). */
int sim_request_vmhost_reboot(struct sim_ctx *c)
{
  if (!c->r->vmhost)
    return wrong_family(c, "");
  bool all = false;
  int other = sim_invoke_target(c, &all);
  bool ok = c->nargs == 0 ||
            (c->nargs == 2 && strcmp(c->args[0], "invoke-on") == 0 && (all || other >= 0));
  if (!ok) {
    sim_line(c->out, "error: syntax error, expecting <invoke-on>");
    return 1;
  }
  return reboot(c, other >= 0 && !all, all, true);
}

/* `request system software add PKG`: with an install pending on this RE, Junos refuses (capture
 * pyez-install-pending-error). Otherwise the package is installed, active after a reboot
 * (UNVERIFIED reply lines: no capture shows an accepted add). */
int sim_request_software_add(struct sim_ctx *c)
{
  struct sim_re *re = &c->r->re[c->re];
  if (c->nargs < 1) {
    sim_line(c->out, "error: syntax error, expecting <package-name>");
    return 1;
  }
  if (re->pending[0]) {
    sim_line(c->out, "There is already an install pending.");
    sim_line(c->out, "    Use the 'request system reboot' command to complete the install,");
    sim_line(c->out, "    or the 'request system software rollback' command to back it out.");
    return 1;
  }
  char version[40];
  if (sim_find_file(c->r, c->args[0]) == NULL) {
    sim_line(c->out, "error: Could not resolve file: %s: No such file or directory", c->args[0]);
    return 1;
  }
  if (!sim_package_version(c->args[0], version, sizeof version)) {
    sim_line(c->out, "error: %s: cannot read the package's version", c->args[0]); /* UNVERIFIED */
    return 1;
  }
  snprintf(re->pending, sizeof re->pending, "%s", version);
  c->dirty = true;
  sim_line(c->out, "Installing package '%s' ...", c->args[0]);  /* UNVERIFIED */
  sim_line(c->out, "Reboot required to complete the install."); /* UNVERIFIED */
  return 0;
}

/* ---- ISSU ---- */

static const struct {
  const char *word;
  unsigned bit;
} issu_options[] = {
    {"reboot", OPT_REBOOT},
    {"no-old-master-upgrade", OPT_NO_OLD_MASTER_UPGRADE},
    {"no-copy", OPT_NO_COPY},
    {"unlink", OPT_UNLINK},
    {"no-validate", OPT_NO_VALIDATE},
    {"no-tcp-syn-check", OPT_NO_TCP_SYN_CHECK},
    {"enhanced-mode", OPT_ENHANCED_MODE},
};

static int parse_options(struct sim_ctx *c, unsigned *options)
{
  *options = 0;
  for (size_t i = 1; i < c->nargs; i++) {
    size_t k;
    for (k = 0; k < ARRAY_LEN(issu_options); k++)
      if (strcmp(c->args[i], issu_options[k].word) == 0)
        break;
    if (k == ARRAY_LEN(issu_options)) {
      sim_line(c->out, "error: syntax error: %s", c->args[i]);
      return -1;
    }
    *options |= issu_options[k].bit;
  }
  return 0;
}

/* Junos's refusals before an ISSU (or its validation) starts. Returns 0 and the target version,
 * or prints the refusal and returns 1. */
static int precheck(struct sim_ctx *c, const char *package, char *target, size_t len)
{
  const struct sim_router *r = c->r;
  int master = sim_master(r), backup = 1 - master;
  if (r->issu.state == ISSU_RUNNING) {
    sim_line(c->out, "error: ISSU is already in progress"); /* UNVERIFIED */
    return 1;
  }
  if (!r->re[backup].present) {
    /* UNVERIFIED: unified ISSU needs two REs (reference §5.2). */
    sim_line(c->out, "error: In-Service-Upgrade requires two routing engines");
    return 1;
  }
  if (!sim_re_up(r, backup, c->now)) {
    sim_line(c->out, "error: Could not connect to %s : No route to host", backup ? "re1" : "re0");
    return 1;
  }
  if (!r->gres) {
    sim_line(c->out, "error: Graceful Switchover is not enabled; ISSU needs "
                     "'set chassis redundancy graceful-switchover'"); /* UNVERIFIED */
    return 1;
  }
  if (!r->nsr) {
    sim_line(c->out, "error: Nonstop Active Routing is not enabled; ISSU needs "
                     "'set routing-options nonstop-routing'"); /* UNVERIFIED */
    return 1;
  }
  if (strcmp(r->re[0].version, r->re[1].version) != 0) {
    sim_line(c->out, "error: routing engines run different versions (re0 %s, re1 %s)",
             r->re[0].version, r->re[1].version); /* UNVERIFIED */
    return 1;
  }
  if (r->faults & FAULT_BACKUP_NOT_READY) {
    sim_line(c->out, "Standby Routing Engine is not ready for graceful switchover.");
    return 1;
  }
  if (sim_find_file(c->r, package) == NULL) {
    sim_line(c->out, "error: Could not resolve file: %s: No such file or directory", package);
    return 1;
  }
  if (!sim_package_version(package, target, len)) {
    sim_line(c->out, "error: %s: cannot read the package's version", package);
    return 1;
  }
  int cmp = sim_version_cmp(target, r->re[master].version);
  if (cmp <= 0) {
    /* Junos aborts a downgrade with a message (reference §1.4; the text is not public). */
    sim_line(c->out, "error: ISSU %s: %s is %s the running %s",
             cmp < 0 ? "does not support "
                       "downgrades"
                     : "has nothing to do",
             target, cmp < 0 ? "older than" : "the same as", r->re[master].version);
    return 1;
  }
  return 0;
}

/* JUNOS_SIM_TRACE=FILE: when each console line left the router (real time, microseconds), for
 * the benchmark of issu-fleet's latency from a router's line to its event. One write per line
 * with O_APPEND, so routers tracing into one file never interleave. */
static void trace_line(const struct sim_ctx *c, const char *line)
{
  const char *path = getenv("JUNOS_SIM_TRACE");
  if (!path || !*path)
    return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  char buf[600];
  int n = snprintf(buf, sizeof buf, "%lld.%06ld %s %s\n", (long long)ts.tv_sec, ts.tv_nsec / 1000,
                   c->r->hostname, line);
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0 || n <= 0)
    return;
  ssize_t w = write(fd, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
  (void)w;
  close(fd);
}

static void issu_line(struct sim_ctx *c, const char *line, double t)
{
  if (c->r->issu_line_prefix && strncmp(line, "ISSU:", 5) == 0) {
    char stamp[32];
    sim_clock_text(t, stamp, sizeof stamp);
    sim_line(c->out, "[%s]:%s", stamp, line);
  } else
    sim_line(c->out, "%s", line);
}

int sim_request_validate(struct sim_ctx *c)
{
  unsigned options;
  char target[40];
  if (c->nargs < 1 || parse_options(c, &options) < 0) {
    if (c->nargs < 1)
      sim_line(c->out, "error: syntax error, expecting <package-name>");
    return 1;
  }
  if (precheck(c, c->args[0], target, sizeof target) != 0)
    return 1;
  issu_line(c, "Chassis ISSU Check Done", c->now);
  issu_line(c, "ISSU: Validating Image", c->now);
  if (!(options & OPT_NO_VALIDATE)) {
    sim_line(c->out, "Checking compatibility with configuration");
    if (c->r->faults & FAULT_VALIDATION_FAIL) {
      sim_line(c->out, "mgd: error: configuration check-out failed");
      sim_line(c->out, "Validation failed"); /* UNVERIFIED */
      return 1;
    }
  }
  if (c->r->faults & FAULT_CHECKSUM_MISMATCH) {
    sim_line(c->out, "ERROR: %s: package signature verification failed", c->args[0]);
    return 1;
  }
  sim_line(c->out, "Validation succeeded"); /* UNVERIFIED */
  return 0;
}

static int issu(struct sim_ctx *c)
{
  struct sim_router *r = c->r;
  unsigned options;
  char target[40];
  if (c->nargs < 1) {
    sim_line(c->out, "error: syntax error, expecting <package-name>");
    return 1;
  }
  if (parse_options(c, &options) < 0 || precheck(c, c->args[0], target, sizeof target) != 0)
    return 1;
  memset(&r->issu, 0, sizeof r->issu);
  r->issu.state = ISSU_RUNNING;
  r->issu.started = c->now;
  snprintf(r->issu.package, sizeof r->issu.package, "%s", c->args[0]);
  snprintf(r->issu.target, sizeof r->issu.target, "%s", target);
  r->issu.options = options;
  r->issu.old_master = sim_master(r);
  r->issu_starts++;
  char err[256];
  if (sim_save(r, err, sizeof err) < 0) {
    sim_line(c->out, "error: %s", err);
    return 1;
  }
  /* From here the router runs on its own clock; this session only narrates it. Release the
   * lock so other sessions can look at the router meanwhile. */
  flock(c->lock_fd, LOCK_UN);
  c->released = true;
  struct sim_step *steps;
  size_t n = sim_timeline(r, &steps);
  int rc = 0;
  bool stays = session_stays(r);
  for (size_t i = 0; i < n; i++) {
    double t = r->issu.started + steps[i].at;
    if (isinf(t)) { /* a test's hold point (sim_hold.h): wait for its release, if not yet */
      sim_hold_wait(r);
      free(steps);
      n = sim_timeline(r, &steps); /* the same steps, their times no longer held */
      t = r->issu.started + steps[i].at;
    }
    wait_real(isinf(t) ? 1e9 : sim_real_delay(r, t));
    /* The old master going down takes a session that stayed on it along (the older no-drop
     * fault keeps even that session, as before). */
    if (steps[i].effect == EFFECT_OLD_MASTER_DOWN && r->session_stays) {
      issu_line(c, steps[i].line, t);
      trace_line(c, steps[i].line);
      fflush(c->out->fp);
      relock_save(c, 1);
      free(steps);
      sim_drop_session();
    }
    if (steps[i].effect != EFFECT_SWITCHOVER) /* the switchover itself prints nothing */
      issu_line(c, steps[i].line, t);
    fflush(c->out->fp);
    if (steps[i].effect != EFFECT_SWITCHOVER)
      trace_line(c, steps[i].line);
    if (steps[i].effect == EFFECT_SWITCHOVER) {
      if (!stays) {
        relock_save(c, 1);
        free(steps);
        sim_drop_session();
      }
      /* The session stays on the old master, now backup: its banner says so at the end. */
      r->re[r->issu.old_master].master = false;
      r->re[1 - r->issu.old_master].master = true;
    }
    if (steps[i].effect == EFFECT_FAIL) {
      rc = 1;
      break;
    }
  }
  free(steps);
  relock_save(c, 0);
  return rc;
}

/* A VM-host RE upgrades with `request vmhost software in-service-upgrade` (PyEZ switches to
 * <request-vmhost-package-in-service-upgrade> for it, reference §6); the plain command is
 * refused there, and the vmhost one on a plain RE (UNVERIFIED wording, wrong_family). */
int sim_request_issu(struct sim_ctx *c)
{
  if (c->r->vmhost)
    return wrong_family(c, "request vmhost software in-service-upgrade");
  return issu(c);
}

int sim_request_vmhost_issu(struct sim_ctx *c)
{
  if (!c->r->vmhost)
    return wrong_family(c, "");
  return issu(c);
}
