/*
 * The router's state file: JSON in, JSON out, one writer at a time.
 *
 * Concurrent sessions to one router are serialised by flock on a sibling ".lock" file (not on
 * the state file itself: the atomic rename replaces that file's inode, and a lock on the old
 * inode would protect nothing). Writes go to a temporary file that is renamed over the old one,
 * so a reader (or a killed writer) sees the old state or the new one, never half of either.
 * No fsync: a simulated router need not survive the host's power loss, and under a loaded disk an
 * fsync can stall a command for seconds, which would make the simulated clock lie.
 */
#include "simulator/sim.h"
#include "simulator/sim_net.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

static const struct {
  const char *name;
  unsigned bit;
} fault_names[] = {
    {"validation-fail", FAULT_VALIDATION_FAIL},
    {"backup-no-return", FAULT_BACKUP_NO_RETURN},
    {"old-master-no-return", FAULT_OLD_MASTER_NO_RETURN},
    {"gres-off", FAULT_GRES_OFF},
    {"nsr-off", FAULT_NSR_OFF},
    {"commit-sync-off", FAULT_COMMIT_SYNC_OFF},
    {"backup-not-ready", FAULT_BACKUP_NOT_READY},
    {"holddown", FAULT_HOLDDOWN},
    {"disk-full", FAULT_DISK_FULL},
    {"package-missing", FAULT_PACKAGE_MISSING},
    {"checksum-mismatch", FAULT_CHECKSUM_MISMATCH},
    {"version-mismatch", FAULT_VERSION_MISMATCH},
    {"no-drop", FAULT_NO_DROP},
};

int sim_fault_parse(const char *name, struct sim_router *r, char *err, size_t errlen)
{
  for (size_t i = 0; i < ARRAY_LEN(fault_names); i++)
    if (strcmp(name, fault_names[i].name) == 0) {
      r->faults |= fault_names[i].bit;
      return 0;
    }
  if (strncmp(name, "hang:", 5) == 0) {
    for (size_t p = 0; p < PHASE_COUNT; p++)
      if (strcmp(name + 5, sim_phase_names[p]) == 0) {
        r->faults |= FAULT_HANG;
        snprintf(r->hang_phase, sizeof r->hang_phase, "%s", name + 5);
        return 0;
      }
    snprintf(err, errlen,
             "unknown phase in '%s' (expected hang:validate, hang:backup-upgrade, "
             "..., hang:old-master-reboot)",
             name);
    return -1;
  }
  if (strncmp(name, "slow:", 5) == 0) {
    char *end;
    double f = strtod(name + 5, &end);
    if (*end == '\0' && f >= 1.0 && f <= 100.0) {
      r->faults |= FAULT_SLOW;
      r->slow_factor = f;
      return 0;
    }
    snprintf(err, errlen, "'%s': the factor must be a number from 1 to 100", name);
    return -1;
  }
  snprintf(err, errlen,
           "unknown fault '%s' (expected validation-fail, backup-no-return, old-master-no-return, "
           "gres-off, nsr-off, commit-sync-off, backup-not-ready, holddown, disk-full, "
           "package-missing, checksum-mismatch, version-mismatch, no-drop, hang:PHASE, "
           "slow:FACTOR)",
           name);
  return -1;
}

void sim_fault_list(const struct sim_router *r, char *buf, size_t len)
{
  buf[0] = '\0';
  for (size_t i = 0; i < ARRAY_LEN(fault_names); i++)
    if (r->faults & fault_names[i].bit)
      snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? "," : "",
               fault_names[i].name);
  if (r->faults & FAULT_HANG)
    snprintf(buf + strlen(buf), len - strlen(buf), "%shang:%s", buf[0] ? "," : "", r->hang_phase);
  if (r->faults & FAULT_SLOW)
    snprintf(buf + strlen(buf), len - strlen(buf), "%sslow:%g", buf[0] ? "," : "", r->slow_factor);
}

static bool suffix_ok(const char *s)
{
  for (; *s; s++)
    if (!isalnum((unsigned char)*s) && *s != '-' && *s != '.' && *s != '_')
      return false;
  return true;
}

/* Per-router lab options (not faults: what a real box may be like). */
int sim_option_parse(const char *name, struct sim_router *r, char *err, size_t errlen)
{
  int net = sim_net_option_parse(name, r, err, errlen);
  if (net != 0)
    return net < 0 ? -1 : 0;
  if (strcmp(name, "vmhost") == 0)
    r->vmhost = true;
  else if (strcmp(name, "stay") == 0)
    r->session_stays = true;
  else if (strcmp(name, "drop") == 0)
    r->session_stays = false;
  else if ((strncmp(name, "re0-suffix:", 11) == 0 || strncmp(name, "re1-suffix:", 11) == 0) &&
           strlen(name + 11) < sizeof r->re[0].suffix && suffix_ok(name + 11))
    snprintf(r->re[name[2] - '0'].suffix, sizeof r->re[0].suffix, "%s", name + 11);
  else {
    snprintf(err, errlen,
             "unknown router option '%s' (expected vmhost, stay, drop, re0-suffix:SUFFIX or "
             "re1-suffix:SUFFIX, a suffix being letters, digits, '-', '.' or '_', at most 23; "
             "or a network fault: peer-lost, prefixes-low, fpc-offline, slow-converge:MINUTES)",
             name);
    return -1;
  }
  return 0;
}

/* ---- JSON ---- */

static double num(const cJSON *o, const char *key, double fallback)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  if (cJSON_IsNumber(v))
    return v->valuedouble;
  if (cJSON_IsString(v) && strcmp(v->valuestring, "never") == 0)
    return SIM_NEVER;
  return fallback;
}

static bool flag(const cJSON *o, const char *key, bool fallback)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsBool(v) ? cJSON_IsTrue(v) : fallback;
}

static void text(const cJSON *o, const char *key, char *dst, size_t len)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  snprintf(dst, len, "%s", cJSON_IsString(v) ? v->valuestring : "");
}

/* JSON has no infinity: a reboot that never ends is written as "never". */
static void add_time(cJSON *o, const char *key, double t)
{
  if (isinf(t))
    cJSON_AddStringToObject(o, key, "never");
  else
    cJSON_AddNumberToObject(o, key, t);
}

/* A whole number from `lo` to `hi` (absent: `fallback`). A lab's state file is edited by hand
 * (faults, a clock); a number out of range is refused by name rather than cast (undefined
 * behaviour) or used as an index (issu.old_master picks one of the two REs). */
static int whole(const cJSON *o, const char *where, const char *key, double lo, double hi,
                 double fallback, double *out, char *err, size_t errlen)
{
  double v = num(o, key, fallback);
  if (v >= lo && v <= hi && v == floor(v)) {
    *out = v;
    return 0;
  }
  snprintf(err, errlen, "the state file's %s%s%s is %g: expected a whole number from %.0f to %.0f",
           where ? where : "", where ? "." : "", key, v, lo, hi);
  return -1;
}

/* The largest whole number a double holds exactly (2^53), and the largest double below 2^64
 * (a seed is written as a double: `lab init --seed K` makes it K * 1000003 + i). */
#define MAX_EXACT 9007199254740992.0
#define MAX_U64 18446744073709549568.0

static const char *const issu_states[] = {"idle", "running", "done", "failed"};

static int from_json(struct sim_router *r, const cJSON *j, char *err, size_t errlen)
{
  if (!cJSON_IsObject(j)) {
    snprintf(err, errlen, "the state file is not a JSON object");
    return -1;
  }
  text(j, "hostname", r->hostname, sizeof r->hostname);
  text(j, "model", r->model, sizeof r->model);
  r->time_scale = num(j, "time_scale", 1);
  if (!(r->time_scale > 0 && r->time_scale <= 1e9)) {
    snprintf(err, errlen, "the state file's time_scale is %g: expected above 0, at most 1e9",
             r->time_scale);
    return -1;
  }
  double v;
  if (whole(j, NULL, "seed", 0, MAX_U64, 1, &v, err, errlen) < 0)
    return -1;
  r->seed = (uint64_t)v;
  r->anchor_real = num(j, "anchor_real", 0);
  r->anchor_sim = num(j, "anchor_sim", 0);
  const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "routing_engines");
  for (int i = 0; i < 2; i++) {
    const cJSON *e = cJSON_GetArrayItem(res, i);
    struct sim_re *re = &r->re[i];
    re->present = e != NULL && flag(e, "present", true);
    re->master = e != NULL && flag(e, "master", false);
    text(e, "version", re->version, sizeof re->version);
    text(e, "pending", re->pending, sizeof re->pending);
    text(e, "reboot_reason", re->reboot_reason, sizeof re->reboot_reason);
    text(e, "suffix", re->suffix, sizeof re->suffix);
    re->booted = num(e, "booted", 0);
    re->down_until = num(e, "down_until", 0);
    re->down_since = num(e, "down_since", 0);
  }
  const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
  r->gres = flag(cfg, "graceful_switchover", true);
  r->nsr = flag(cfg, "nonstop_routing", true);
  r->commit_sync = flag(cfg, "commit_synchronize", true);
  const cJSON *files = cJSON_GetObjectItemCaseSensitive(j, "files");
  const cJSON *f;
  cJSON_ArrayForEach(f, files)
  {
    char path[256];
    text(f, "path", path, sizeof path);
    struct sim_file *sf = sim_add_file(r, path);
    if (whole(f, "files[]", "size", 0, MAX_EXACT, 0, &v, err, errlen) < 0)
      return -1;
    sf->size = (uint64_t)v;
    text(f, "md5", sf->md5, sizeof sf->md5);
    text(f, "sha256", sf->sha256, sizeof sf->sha256);
  }
  const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "storage");
  if (whole(st, "storage", "var_total_kb", 0, MAX_EXACT, 19.0 * 1024 * 1024, &v, err, errlen) < 0)
    return -1;
  r->var_total_kb = (uint64_t)v;
  if (whole(st, "storage", "var_used_kb", 0, MAX_EXACT, floor(8.9 * 1024 * 1024), &v, err, errlen) <
      0)
    return -1;
  r->var_used_kb = (uint64_t)v;
  const cJSON *is = cJSON_GetObjectItemCaseSensitive(j, "issu");
  char state[16];
  text(is, "state", state, sizeof state);
  r->issu.state = ISSU_IDLE;
  for (size_t i = 0; i < ARRAY_LEN(issu_states); i++)
    if (strcmp(state, issu_states[i]) == 0)
      r->issu.state = (enum sim_issu_state)i;
  r->issu.started = num(is, "started", 0);
  text(is, "package", r->issu.package, sizeof r->issu.package);
  text(is, "target", r->issu.target, sizeof r->issu.target);
  text(is, "failure", r->issu.failure, sizeof r->issu.failure);
  const struct {
    const cJSON *o;
    const char *where, *key;
    double hi;
  } counts[] = {
      {is, "issu", "options", UINT_MAX},
      {is, "issu", "old_master", 1},
      {is, "issu", "applied", 1e6},
      {j, NULL, "issu_starts", UINT_MAX},
      {j, NULL, "sessions_dropped", UINT_MAX},
  };
  double got[ARRAY_LEN(counts)];
  for (size_t i = 0; i < ARRAY_LEN(counts); i++)
    if (whole(counts[i].o, counts[i].where, counts[i].key, 0, counts[i].hi, 0, &got[i], err,
              errlen) < 0)
      return -1;
  r->issu.options = (unsigned)got[0];
  r->issu.old_master = (int)got[1];
  r->issu.applied = (size_t)got[2];
  r->issu_starts = (unsigned)got[3];
  r->sessions_dropped = (unsigned)got[4];
  r->steady = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "steady"));
  r->holddown_until = num(j, "holddown_until", 0);
  r->mastership_changed = num(j, "mastership_changed", 0);
  r->vmhost = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "vmhost"));
  r->session_stays = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "session_stays"));
  r->slow_factor = 1;
  const cJSON *faults = cJSON_GetObjectItemCaseSensitive(j, "faults");
  cJSON_ArrayForEach(f, faults)
  {
    if (!cJSON_IsString(f) || sim_fault_parse(f->valuestring, r, err, errlen) < 0)
      return -1;
  }
  /* The network (sim_net.h); absent in state files written before it. */
  const cJSON *net = cJSON_GetObjectItemCaseSensitive(j, "network");
  r->net_recovery = num(net, "recovery", SIM_NET_RECOVERY_DEFAULT);
  if (whole(net, "network", "scale", 1, SIM_NET_SCALE_MAX, 1, &v, err, errlen) < 0)
    return -1;
  r->net_scale = (unsigned)v;
  cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(net, "faults"))
  {
    int known = cJSON_IsString(f) ? sim_net_option_parse(f->valuestring, r, err, errlen) : 0;
    if (known == 0)
      snprintf(err, errlen, "the state file's network faults hold an unknown one: %s",
               cJSON_IsString(f) ? f->valuestring : "(not a string)");
    if (known <= 0)
      return -1;
  }
  const cJSON *style = cJSON_GetObjectItemCaseSensitive(j, "style");
  r->cli_timestamp = flag(style, "cli_timestamp", false);
  r->issu_line_prefix = flag(style, "issu_line_prefix", false);
  r->peer_state_wording = flag(style, "peer_state_wording", false);
  if (!r->re[0].present && !r->re[1].present) {
    snprintf(err, errlen, "the state file has no routing engine");
    return -1;
  }
  return 0;
}

static cJSON *to_json(const struct sim_router *r)
{
  cJSON *j = cJSON_CreateObject();
  cJSON_AddStringToObject(j, "hostname", r->hostname);
  cJSON_AddStringToObject(j, "model", r->model);
  cJSON_AddNumberToObject(j, "time_scale", r->time_scale);
  cJSON_AddNumberToObject(j, "seed", (double)r->seed);
  cJSON_AddNumberToObject(j, "anchor_real", r->anchor_real);
  cJSON_AddNumberToObject(j, "anchor_sim", r->anchor_sim);
  cJSON *res = cJSON_AddArrayToObject(j, "routing_engines");
  for (int i = 0; i < 2; i++) {
    const struct sim_re *re = &r->re[i];
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "slot", i);
    cJSON_AddBoolToObject(e, "present", re->present);
    cJSON_AddBoolToObject(e, "master", re->master);
    cJSON_AddStringToObject(e, "version", re->version);
    cJSON_AddStringToObject(e, "pending", re->pending);
    cJSON_AddStringToObject(e, "reboot_reason", re->reboot_reason);
    if (re->suffix[0])
      cJSON_AddStringToObject(e, "suffix", re->suffix);
    cJSON_AddNumberToObject(e, "booted", re->booted);
    add_time(e, "down_until", re->down_until);
    cJSON_AddNumberToObject(e, "down_since", re->down_since);
    cJSON_AddItemToArray(res, e);
  }
  cJSON *cfg = cJSON_AddObjectToObject(j, "config");
  cJSON_AddBoolToObject(cfg, "graceful_switchover", r->gres);
  cJSON_AddBoolToObject(cfg, "nonstop_routing", r->nsr);
  cJSON_AddBoolToObject(cfg, "commit_synchronize", r->commit_sync);
  cJSON *files = cJSON_AddArrayToObject(j, "files");
  for (size_t i = 0; i < r->nfiles; i++) {
    cJSON *f = cJSON_CreateObject();
    cJSON_AddStringToObject(f, "path", r->files[i].path);
    cJSON_AddNumberToObject(f, "size", (double)r->files[i].size);
    cJSON_AddStringToObject(f, "md5", r->files[i].md5);
    cJSON_AddStringToObject(f, "sha256", r->files[i].sha256);
    cJSON_AddItemToArray(files, f);
  }
  cJSON *st = cJSON_AddObjectToObject(j, "storage");
  cJSON_AddNumberToObject(st, "var_total_kb", (double)r->var_total_kb);
  cJSON_AddNumberToObject(st, "var_used_kb", (double)r->var_used_kb);
  cJSON *is = cJSON_AddObjectToObject(j, "issu");
  cJSON_AddStringToObject(is, "state", issu_states[r->issu.state]);
  cJSON_AddNumberToObject(is, "started", r->issu.started);
  cJSON_AddStringToObject(is, "package", r->issu.package);
  cJSON_AddStringToObject(is, "target", r->issu.target);
  cJSON_AddStringToObject(is, "failure", r->issu.failure);
  cJSON_AddNumberToObject(is, "options", r->issu.options);
  cJSON_AddNumberToObject(is, "old_master", r->issu.old_master);
  cJSON_AddNumberToObject(is, "applied", (double)r->issu.applied);
  cJSON_AddNumberToObject(j, "issu_starts", r->issu_starts);
  cJSON_AddNumberToObject(j, "sessions_dropped", r->sessions_dropped);
  if (r->steady)
    cJSON_AddBoolToObject(j, "steady", true);
  add_time(j, "holddown_until", r->holddown_until);
  cJSON_AddNumberToObject(j, "mastership_changed", r->mastership_changed);
  cJSON_AddBoolToObject(j, "vmhost", r->vmhost);
  cJSON_AddBoolToObject(j, "session_stays", r->session_stays);
  cJSON *faults = cJSON_AddArrayToObject(j, "faults");
  for (size_t i = 0; i < ARRAY_LEN(fault_names); i++)
    if (r->faults & fault_names[i].bit)
      cJSON_AddItemToArray(faults, cJSON_CreateString(fault_names[i].name));
  char extra[64];
  if (r->faults & FAULT_HANG) {
    snprintf(extra, sizeof extra, "hang:%s", r->hang_phase);
    cJSON_AddItemToArray(faults, cJSON_CreateString(extra));
  }
  if (r->faults & FAULT_SLOW) {
    snprintf(extra, sizeof extra, "slow:%g", r->slow_factor);
    cJSON_AddItemToArray(faults, cJSON_CreateString(extra));
  }
  cJSON *net = cJSON_AddObjectToObject(j, "network");
  cJSON_AddNumberToObject(net, "recovery", r->net_recovery);
  cJSON_AddNumberToObject(net, "scale", r->net_scale ? r->net_scale : 1);
  cJSON *net_faults = cJSON_AddArrayToObject(net, "faults");
  char list[128];
  sim_net_fault_list(r, list, sizeof list);
  for (char *word = list, *comma; *word; word = comma ? comma + 1 : word + strlen(word)) {
    comma = strchr(word, ',');
    if (comma)
      *comma = '\0';
    cJSON_AddItemToArray(net_faults, cJSON_CreateString(word));
  }
  cJSON *style = cJSON_AddObjectToObject(j, "style");
  cJSON_AddBoolToObject(style, "cli_timestamp", r->cli_timestamp);
  cJSON_AddBoolToObject(style, "issu_line_prefix", r->issu_line_prefix);
  cJSON_AddBoolToObject(style, "peer_state_wording", r->peer_state_wording);
  return j;
}

/* ---- files ---- */

struct sim_file *sim_find_file(struct sim_router *r, const char *path)
{
  for (size_t i = 0; i < r->nfiles; i++)
    if (strcmp(r->files[i].path, path) == 0)
      return &r->files[i];
  return NULL;
}

struct sim_file *sim_add_file(struct sim_router *r, const char *path)
{
  struct sim_file *f = sim_find_file(r, path);
  if (f != NULL)
    return f;
  r->files = xrealloc(r->files, (r->nfiles + 1) * sizeof *r->files);
  f = &r->files[r->nfiles++];
  memset(f, 0, sizeof *f);
  snprintf(f->path, sizeof f->path, "%s", path);
  return f;
}

void sim_remove_file(struct sim_router *r, const char *path)
{
  struct sim_file *f = sim_find_file(r, path);
  if (f == NULL)
    return;
  size_t i = (size_t)(f - r->files);
  memmove(r->files + i, r->files + i + 1, (r->nfiles - i - 1) * sizeof *r->files);
  r->nfiles--;
}

/* ---- open, save, close ---- */

/* Reads and parses the state file (no lock). */
static int load(const char *path, struct sim_router *r, char *err, size_t errlen)
{
  char *buf = NULL;
  size_t len = 0;
  char why[160];
  if (text_read_file(path, 16u << 20, &buf, &len, why, sizeof why) < 0) {
    snprintf(err, errlen, "%s: %s", path, why);
    return -1;
  }
  cJSON *j = cJSON_ParseWithLength(buf, len);
  free(buf);
  int rc = j ? from_json(r, j, err, errlen) : -1;
  if (j == NULL)
    snprintf(err, errlen, "%s: not valid JSON", path);
  cJSON_Delete(j);
  if (rc < 0)
    sim_router_free(r);
  return rc;
}

int sim_open(const char *path, struct sim_router *r, int *lock_fd, char *err, size_t errlen)
{
  memset(r, 0, sizeof *r);
  snprintf(r->path, sizeof r->path, "%s", path);
  char *lock = xasprintf("%s.lock", path);
  *lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  free(lock);
  if (*lock_fd < 0 || flock(*lock_fd, LOCK_EX) != 0) {
    snprintf(err, errlen, "cannot lock %s.lock: %s", path, strerror(errno));
    if (*lock_fd >= 0)
      close(*lock_fd);
    *lock_fd = -1;
    return -1;
  }
  if (load(path, r, err, errlen) < 0) {
    sim_close(r, *lock_fd);
    *lock_fd = -1;
    return -1;
  }
  return 0;
}

int sim_peek(const char *path, struct sim_router *r, char *err, size_t errlen)
{
  memset(r, 0, sizeof *r);
  snprintf(r->path, sizeof r->path, "%s", path);
  return load(path, r, err, errlen);
}

static int write_atomic(const char *path, const char *data, char *err, size_t errlen)
{
  char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  size_t len = strlen(data), done = 0;
  while (fd >= 0 && done < len) {
    ssize_t n = write(fd, data + done, len - done);
    if (n < 0 && errno != EINTR)
      break;
    done += n > 0 ? (size_t)n : 0;
  }
  bool ok = fd >= 0 && done == len;
  if (fd >= 0 && close(fd) != 0)
    ok = false;
  if (ok && rename(tmp, path) != 0)
    ok = false;
  if (!ok) {
    snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
    unlink(tmp);
    free(tmp);
    return -1;
  }
  free(tmp);
  return 0;
}

int sim_save(const struct sim_router *r, char *err, size_t errlen)
{
  cJSON *j = to_json(r);
  char *text_out = cJSON_Print(j);
  cJSON_Delete(j);
  if (text_out == NULL) {
    snprintf(err, errlen, "out of memory");
    return -1;
  }
  char *with_nl = xasprintf("%s\n", text_out);
  free(text_out);
  int rc = write_atomic(r->path, with_nl, err, errlen);
  free(with_nl);
  return rc;
}

int sim_create(const struct sim_router *r, char *err, size_t errlen)
{
  return sim_save(r, err, errlen);
}

void sim_router_free(struct sim_router *r)
{
  free(r->files);
  r->files = NULL;
  r->nfiles = 0;
}

void sim_close(struct sim_router *r, int lock_fd)
{
  sim_router_free(r);
  if (lock_fd >= 0) {
    flock(lock_fd, LOCK_UN);
    close(lock_fd);
  }
}
