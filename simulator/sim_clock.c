/*
 * Simulated time and the ISSU timeline.
 *
 * The timeline is a table: the console lines of the field notes (reference §1.1), each at a
 * fraction of its phase, with the effect it has on the router (the backup gets the package, the
 * backup goes down, mastership moves, ...). A router's timeline is that table scaled by the
 * phase durations (about 42 minutes with `reboot`), a seeded jitter of up to 10% per phase, and
 * its faults (a hang, a slow factor, a failure that ends the table early). Settling applies every
 * step whose time has come, so all state is a function of the recorded start time and the clock.
 *
 * Lines marked UNVERIFIED are not in any public capture (reference §1.1); they are kept few and
 * plain so a tolerant parser is not trained on invented wording.
 */
#include "simulator/sim.h"
#include "simulator/sim_hold.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const sim_phase_names[PHASE_COUNT] = {
    "validate",    "backup-upgrade", "backup-reboot",      "daemons",
    "fru-upgrade", "switchover",     "old-master-upgrade", "old-master-reboot",
};

/* Simulated seconds per phase. With `reboot` they add up to 42 minutes (the field notes: "about
 * 40 minutes on my mx480"). */
static const double phase_seconds[PHASE_COUNT] = {180, 540, 420, 180, 420, 60, 360, 360};

#define REBOOT_SECONDS 360.0
#define HOLDDOWN_SECONDS 240.0
#define HOLDDOWN_FAULT_SECONDS 1200.0

/* Which ISSUs a row belongs to. */
enum when {
  ALWAYS = 0,
  IF_VALIDATING = 1 << 0,    /* not with no-validate */
  IF_OLD_MASTER_UP = 1 << 1, /* not with no-old-master-upgrade */
  IF_REBOOT = 1 << 2,        /* only with reboot (and the old master upgraded) */
};

struct row {
  enum sim_phase phase;
  double frac;
  const char *line; /* NULL: no line; {package} {pkgname} {from} {target} {tmaj} {tmin} {backup}
                       {old} are filled in */
  enum sim_effect effect;
  unsigned when;
};

static const struct row timeline[] = {
    {PHASE_VALIDATE, 0.00, "Chassis ISSU Check Done", EFFECT_NONE, ALWAYS},
    {PHASE_VALIDATE, 0.02, "ISSU: Validating Image", EFFECT_NONE, ALWAYS},
    {PHASE_VALIDATE, 0.05, "Checking compatibility with configuration", EFFECT_NONE, IF_VALIDATING},
    {PHASE_VALIDATE, 0.30, "Initializing...", EFFECT_NONE, ALWAYS},
    {PHASE_VALIDATE, 0.35, "Using jbase-{from}", EFFECT_NONE, ALWAYS},
    {PHASE_VALIDATE, 0.50, "Verified manifest signed by PackageProduction_{tmaj}_{tmin}_0",
     EFFECT_NONE, ALWAYS},
    {PHASE_VALIDATE, 0.55, "Verified jbase-{target} signed by PackageProduction_{tmaj}_{tmin}_0",
     EFFECT_NONE, ALWAYS},
    {PHASE_VALIDATE, 0.98, "Using {package}", EFFECT_NONE, ALWAYS},
    {PHASE_BACKUP_UPGRADE, 0.70, "Saving package file in /var/sw/pkg/{pkgname} ...", EFFECT_NONE,
     ALWAYS},
    {PHASE_BACKUP_UPGRADE, 0.85, "Saving state for rollback ...", EFFECT_NONE, ALWAYS},
    {PHASE_BACKUP_UPGRADE, 1.00, "Backup upgrade done", EFFECT_BACKUP_INSTALLED, ALWAYS},
    {PHASE_BACKUP_REBOOT, 0.00, "Rebooting Backup RE", EFFECT_NONE, ALWAYS},
    {PHASE_BACKUP_REBOOT, 0.01, "", EFFECT_NONE, ALWAYS},
    {PHASE_BACKUP_REBOOT, 0.02, "Rebooting {backup}", EFFECT_BACKUP_DOWN, ALWAYS},
    {PHASE_BACKUP_REBOOT, 0.03, "ISSU: Backup RE Prepare Done", EFFECT_NONE, ALWAYS},
    {PHASE_BACKUP_REBOOT, 0.04, "Waiting for Backup RE reboot", EFFECT_NONE, ALWAYS},
    {PHASE_BACKUP_REBOOT, 0.99, "", EFFECT_NONE, ALWAYS},
    {PHASE_BACKUP_REBOOT, 1.00, "GRES operational", EFFECT_NONE, ALWAYS},
    {PHASE_DAEMONS, 0.00, "Initiating Chassis In-Service-Upgrade", EFFECT_NONE, ALWAYS},
    {PHASE_DAEMONS, 0.05, "Chassis ISSU Started", EFFECT_NONE, ALWAYS},
    {PHASE_DAEMONS, 0.10, "ISSU: Preparing Daemons", EFFECT_NONE, ALWAYS},
    {PHASE_DAEMONS, 1.00, "ISSU: Daemons Ready for ISSU", EFFECT_NONE, ALWAYS},
    {PHASE_FRU_UPGRADE, 0.00, "ISSU: Starting Upgrade for FRUs", EFFECT_NONE, ALWAYS},
    {PHASE_SWITCHOVER, 0.00, "ISSU: Preparing for Switchover", EFFECT_NONE, ALWAYS},
    {PHASE_SWITCHOVER, 1.00, NULL, EFFECT_SWITCHOVER, ALWAYS},
    /* UNVERIFIED: no public capture shows what follows the switchover on the new master. */
    {PHASE_OLD_MASTER_UPGRADE, 1.00, "ISSU: Old Master Upgrade Done", EFFECT_OLD_MASTER_INSTALLED,
     IF_OLD_MASTER_UP},
    {PHASE_OLD_MASTER_REBOOT, 0.00, "Rebooting {old}", EFFECT_OLD_MASTER_DOWN,
     IF_OLD_MASTER_UP | IF_REBOOT},
    {PHASE_OLD_MASTER_REBOOT, 1.00, "ISSU: IDLE", EFFECT_DONE, ALWAYS},
};

/* ---- time ---- */

static double real_now(void)
{
  const char *fake = getenv("JUNOS_SIM_REAL_NOW");
  if (fake != NULL && *fake != '\0')
    return strtod(fake, NULL);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double sim_now(const struct sim_router *r)
{
  return r->anchor_sim + (real_now() - r->anchor_real) * r->time_scale;
}

double sim_real_delay(const struct sim_router *r, double t)
{
  double d = (t - sim_now(r)) / (r->time_scale > 0 ? r->time_scale : 1);
  return d > 0 ? d : 0;
}

time_t sim_clock_secs(double t)
{
  /* A clock from a hand-edited state file may be anywhere: kept within years 1970 to 9999
   * rather than cast out of time_t's range (undefined behaviour). */
  const double last = 253402300799.0; /* 9999-12-31 23:59:59 */
  return t > 0 ? (time_t)(t < last ? t : last) : 0;
}

void sim_clock_text(double t, char *buf, size_t len)
{
  time_t secs = sim_clock_secs(t);
  struct tm tm;
  gmtime_r(&secs, &tm);
  strftime(buf, len, "%b %d %H:%M:%S", &tm);
}

double sim_reboot_seconds(const struct sim_router *r)
{
  return REBOOT_SECONDS * ((r->faults & FAULT_SLOW) ? r->slow_factor : 1);
}

double sim_holddown_seconds(const struct sim_router *r)
{
  return (r->faults & FAULT_HOLDDOWN) ? HOLDDOWN_FAULT_SECONDS : HOLDDOWN_SECONDS;
}

void sim_switch_mastership(struct sim_router *r, double t)
{
  int master = sim_master(r);
  r->re[master].master = false;
  r->re[1 - master].master = true;
  r->mastership_changed = t;
  /* After any switch a new one is refused for a while (captures crtc-refused-221s, -229s). */
  double hold = t + sim_holddown_seconds(r);
  if (hold > r->holddown_until)
    r->holddown_until = hold;
}

int sim_master(const struct sim_router *r)
{
  return r->re[1].master && !r->re[0].master ? 1 : 0;
}

bool sim_re_up(const struct sim_router *r, int slot, double now)
{
  const struct sim_re *re = &r->re[slot];
  return re->present && !(re->down_until > 0 && re->down_until > now);
}

/* ---- versions ---- */

/* Splits a version into comparable parts: runs of digits (numbers) and single letters. */
static size_t version_parts(const char *v, long *parts, size_t max)
{
  size_t n = 0;
  while (*v && n < max) {
    if (isdigit((unsigned char)*v)) {
      long x = 0;
      while (isdigit((unsigned char)*v) && x < 100000000)
        x = x * 10 + (*v++ - '0');
      parts[n++] = x;
    } else if (isalpha((unsigned char)*v))
      parts[n++] = -1000 + toupper((unsigned char)*v++); /* letters sort below numbers */
    else
      v++;
  }
  return n;
}

int sim_version_cmp(const char *a, const char *b)
{
  long pa[16], pb[16];
  size_t na = version_parts(a, pa, 16), nb = version_parts(b, pb, 16);
  for (size_t i = 0; i < na && i < nb; i++)
    if (pa[i] != pb[i])
      return pa[i] < pb[i] ? -1 : 1;
  return na < nb ? -1 : na > nb;
}

/* "23.4R2" at the start of `s`: digits '.' digits letter digits. */
static size_t release_len(const char *s)
{
  const char *p = s;
  if (!isdigit((unsigned char)*p))
    return 0;
  while (isdigit((unsigned char)*p))
    p++;
  if (*p++ != '.' || !isdigit((unsigned char)*p))
    return 0;
  while (isdigit((unsigned char)*p))
    p++;
  if (!isupper((unsigned char)*p++) || !isdigit((unsigned char)*p))
    return 0;
  while (isdigit((unsigned char)*p) || (*p == '.' && isdigit((unsigned char)p[1])))
    p++;
  return (size_t)(p - s);
}

bool sim_package_version(const char *path, char *out, size_t len)
{
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  for (const char *p = base; *p; p++) {
    if (p != base && p[-1] != '-')
      continue;
    size_t n = release_len(p);
    if (n == 0)
      continue;
    /* A service release suffix: "-S3.7" (but not the ".tgz" after it). */
    const char *q = p + n;
    if (q[0] == '-' && q[1] == 'S' && isdigit((unsigned char)q[2])) {
      q += 2;
      while (isdigit((unsigned char)*q) || (*q == '.' && isdigit((unsigned char)q[1])))
        q++;
      n = (size_t)(q - p);
    }
    snprintf(out, len, "%.*s", (int)n, p);
    return true;
  }
  return false;
}

/* ---- the timeline ---- */

static uint64_t mix(uint64_t x)
{
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* The simulated duration of a phase on this router: base, jitter (seeded, within 10%), slow. */
static double phase_duration(const struct sim_router *r, enum sim_phase p)
{
  double jitter = r->steady ? 0 : (double)(mix(r->seed * 31 + (uint64_t)p) % 2001) / 10000.0 - 0.1;
  double slow = (r->faults & FAULT_SLOW) ? r->slow_factor : 1.0;
  return phase_seconds[p] * (1.0 + jitter) * slow;
}

static void fill(char *dst, size_t len, const char *tmpl, const struct sim_router *r)
{
  int old = r->issu.old_master, backup = 1 - old;
  const char *base = strrchr(r->issu.package, '/');
  base = base ? base + 1 : r->issu.package;
  long tmaj = 0, tmin = 0;
  sscanf(r->issu.target, "%ld.%ld", &tmaj, &tmin);
  char num[3][24];
  snprintf(num[0], sizeof num[0], "%ld", tmaj);
  snprintf(num[1], sizeof num[1], "%ld", tmin);
  const struct {
    const char *key, *value;
  } vars[] = {
      {"{package}", r->issu.package},
      {"{pkgname}", base},
      {"{from}", r->re[old].version},
      {"{target}", r->issu.target},
      {"{tmaj}", num[0]},
      {"{tmin}", num[1]},
      {"{backup}", backup ? "re1" : "re0"},
      {"{old}", old ? "re1" : "re0"},
  };
  size_t o = 0;
  for (const char *p = tmpl; *p && o + 1 < len;) {
    size_t v;
    for (v = 0; v < ARRAY_LEN(vars); v++)
      if (strncmp(p, vars[v].key, strlen(vars[v].key)) == 0)
        break;
    if (v < ARRAY_LEN(vars)) {
      o += (size_t)snprintf(dst + o, len - o, "%s", vars[v].value);
      if (o >= len)
        o = len - 1;
      p += strlen(vars[v].key);
    } else
      dst[o++] = *p++;
  }
  dst[o] = '\0';
}

static void push(struct sim_step **steps, size_t *n, double at, enum sim_phase phase,
                 const char *line, enum sim_effect effect, double down_for)
{
  *steps = xrealloc(*steps, (*n + 1) * sizeof **steps);
  struct sim_step *s = &(*steps)[(*n)++];
  memset(s, 0, sizeof *s);
  s->at = at;
  s->phase = phase;
  snprintf(s->line, sizeof s->line, "%s", line ? line : "");
  s->effect = effect;
  s->down_for = down_for;
}

/* A failure injected into the timeline: where, and the lines Junos would print. UNVERIFIED
 * wording (no public capture of an MX ISSU abort exists, reference §1.4). */
struct failure {
  unsigned fault;
  enum sim_phase phase;
  double frac;
  const char *lines[2];
};

static const struct failure failures[] = {
    {FAULT_CHECKSUM_MISMATCH,
     PHASE_VALIDATE,
     0.45,
     {"ERROR: {package}: package signature verification failed", "error: ISSU Aborted"}},
    {FAULT_VALIDATION_FAIL,
     PHASE_VALIDATE,
     0.25,
     {"mgd: error: configuration check-out failed", "error: ISSU Aborted"}},
    {FAULT_DISK_FULL,
     PHASE_BACKUP_UPGRADE,
     0.10,
     {"ERROR: no space left on device while installing {pkgname} on {backup}",
      "error: ISSU Aborted"}},
};

size_t sim_timeline(const struct sim_router *r, struct sim_step **steps)
{
  *steps = NULL;
  size_t n = 0;
  double start[PHASE_COUNT + 1], dur[PHASE_COUNT];
  start[0] = 0;
  for (int p = 0; p < PHASE_COUNT; p++) {
    dur[p] = phase_duration(r, (enum sim_phase)p);
    start[p + 1] = start[p] + dur[p];
  }
  unsigned opts = r->issu.options;
  bool validating = !(opts & OPT_NO_VALIDATE);
  bool old_up = !(opts & OPT_NO_OLD_MASTER_UPGRADE);
  bool reboot = (opts & OPT_REBOOT) && old_up;
  int hang = -1;
  for (int p = 0; (r->faults & FAULT_HANG) && p < PHASE_COUNT; p++)
    if (strcmp(r->hang_phase, sim_phase_names[p]) == 0)
      hang = p;
  const struct failure *fail = NULL;
  for (size_t i = 0; i < ARRAY_LEN(failures) && fail == NULL; i++)
    if ((r->faults & failures[i].fault) &&
        (failures[i].fault != FAULT_VALIDATION_FAIL || validating))
      fail = &failures[i];
  bool never = false; /* everything from here on waits forever */
  char line[300];
  for (size_t i = 0; i < ARRAY_LEN(timeline); i++) {
    const struct row *row = &timeline[i];
    if (((row->when & IF_VALIDATING) && !validating) ||
        ((row->when & IF_OLD_MASTER_UP) && !old_up) || ((row->when & IF_REBOOT) && !reboot))
      continue;
    /* Without the old master's reboot, the ISSU ends when its upgrade does. */
    double p_start = start[row->phase], p_dur = dur[row->phase];
    if (row->phase == PHASE_OLD_MASTER_REBOOT && !reboot)
      p_dur = 0;
    if (row->phase == PHASE_OLD_MASTER_UPGRADE && !old_up)
      p_dur = 0;
    double at = p_start + row->frac * p_dur;
    if (fail &&
        (row->phase > fail->phase || (row->phase == fail->phase && row->frac > fail->frac))) {
      for (int k = 0; k < 2; k++) {
        fill(line, sizeof line, fail->lines[k], r);
        double t = start[fail->phase] + fail->frac * dur[fail->phase] + k;
        push(steps, &n, t, fail->phase, line, k == 1 ? EFFECT_FAIL : EFFECT_NONE, 0);
      }
      sim_hold_apply(r, *steps, n); /* a test's hold point (sim_hold.h) */
      return n;
    }
    if ((int)row->phase == hang && row->frac > 0)
      never = true;
    if ((int)row->phase > hang && hang >= 0)
      never = true;
    double down_for = 0;
    if (row->effect == EFFECT_BACKUP_DOWN) {
      down_for = (r->faults & FAULT_BACKUP_NO_RETURN) ? SIM_NEVER : 0.97 * p_dur - at + p_start;
    } else if (row->effect == EFFECT_OLD_MASTER_DOWN)
      down_for = (r->faults & FAULT_OLD_MASTER_NO_RETURN) ? SIM_NEVER : 0.95 * p_dur;
    fill(line, sizeof line, row->line ? row->line : "", r);
    push(steps, &n, never ? SIM_NEVER : at, row->phase, row->line ? line : NULL, row->effect,
         down_for);
  }
  /* A backup RE that never returns stops the ISSU after "Waiting for Backup RE reboot". */
  if (r->faults & FAULT_BACKUP_NO_RETURN) {
    double cut = start[PHASE_BACKUP_REBOOT] + 0.05 * dur[PHASE_BACKUP_REBOOT];
    for (size_t i = 0; i < n; i++)
      if ((*steps)[i].at > cut)
        (*steps)[i].at = SIM_NEVER;
  }
  sim_hold_apply(r, *steps, n); /* a test's hold point (sim_hold.h) */
  return n;
}

/* ---- settling ---- */

/* Routing engines whose reboot has finished by `t` come up: on their pending version, as
 * backup, with the mastership hold-down starting. */
static bool bring_up(struct sim_router *r, double t)
{
  bool changed = false;
  for (int i = 0; i < 2; i++) {
    struct sim_re *re = &r->re[i];
    if (!re->present || re->down_until <= 0 || re->down_until > t)
      continue;
    if (re->pending[0]) {
      _Static_assert(sizeof re->version == sizeof re->pending, "same size");
      memcpy(re->version, re->pending, sizeof re->version);
      re->pending[0] = '\0';
    }
    re->booted = re->down_until;
    double hold = re->down_until + sim_holddown_seconds(r);
    if (hold > r->holddown_until)
      r->holddown_until = hold;
    re->down_until = 0;
    changed = true;
  }
  return changed;
}

static void apply(struct sim_router *r, const struct sim_step *s, double t)
{
  int old = r->issu.old_master, backup = 1 - old;
  switch (s->effect) {
  case EFFECT_NONE:
    break;
  case EFFECT_BACKUP_INSTALLED:
    snprintf(r->re[backup].pending, sizeof r->re[backup].pending, "%s", r->issu.target);
    break;
  case EFFECT_BACKUP_DOWN:
    r->re[backup].down_until = t + s->down_for;
    r->re[backup].down_since = t;
    snprintf(r->re[backup].reboot_reason, sizeof r->re[backup].reboot_reason,
             "Router rebooted after a normal shutdown.");
    break;
  case EFFECT_SWITCHOVER:
    sim_switch_mastership(r, t);
    break;
  case EFFECT_OLD_MASTER_INSTALLED:
    snprintf(r->re[old].pending, sizeof r->re[old].pending, "%s", r->issu.target);
    break;
  case EFFECT_OLD_MASTER_DOWN:
    r->re[old].down_until = t + s->down_for;
    r->re[old].down_since = t;
    snprintf(r->re[old].reboot_reason, sizeof r->re[old].reboot_reason,
             "Router rebooted after a normal shutdown.");
    break;
  case EFFECT_DONE:
    r->issu.state = ISSU_DONE;
    break;
  case EFFECT_FAIL:
    r->issu.state = ISSU_FAILED;
    snprintf(r->issu.failure, sizeof r->issu.failure, "%s", s->line);
    break;
  }
}

bool sim_settle(struct sim_router *r, double now)
{
  bool changed = false;
  if (r->issu.state == ISSU_RUNNING) {
    struct sim_step *steps;
    size_t n = sim_timeline(r, &steps);
    while (r->issu.applied < n && r->issu.state == ISSU_RUNNING) {
      const struct sim_step *s = &steps[r->issu.applied];
      double t = r->issu.started + s->at;
      if (t > now)
        break;
      changed |= bring_up(r, t);
      apply(r, s, t);
      r->issu.applied++;
      changed = true;
    }
    free(steps);
  }
  changed |= bring_up(r, now);
  return changed;
}

const char *sim_issu_state_name(const struct sim_router *r, double now)
{
  switch (r->issu.state) {
  case ISSU_IDLE:
    return "idle";
  case ISSU_DONE:
    return "done";
  case ISSU_FAILED:
    return "failed";
  case ISSU_RUNNING:
    break;
  }
  /* The phase being worked on is the phase of the next step still to come. */
  struct sim_step *steps;
  size_t n = sim_timeline(r, &steps);
  size_t i = 0;
  while (i < n && r->issu.started + steps[i].at <= now)
    i++;
  const char *name = sim_phase_names[i < n ? steps[i].phase : steps[n - 1].phase];
  free(steps);
  return name;
}
