/*
 * The event writer. One write(2) per event, then fsync, so a crash leaves whole lines (or one
 * cut line at the end, which the reader of issue 6 tolerates) and never a recorded step that was
 * not durable before it acted.
 */
#include "scheduler/events.h"
#include "scheduler/event_json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

struct event_log {
  int fd;
  FILE *copy;
  bool copy_owned;
  char *path;
  char *run_id;
  uint64_t sequence;
  double start_wall; /* seconds since the epoch when the run started */
  double base_s;     /* the run's clock when this process started it (a resume goes on) */
  uint64_t start_hr; /* uv_hrtime() then */
  double scale;
  bool clock_set; /* ISSU_FLEET_CLOCK_START was honoured */
  int last_errno; /* why the journal could not be written, or 0 */
  /* Bytes of a line the disk took only part of (full, a size limit), still to be cut off before
   * the next line: else that line would be glued to half of this one, no event for --resume. */
  size_t partial;
  /* Lines written by this process; the count when the last deferred line was written (what an
   * operation asking now must wait for: notes need no fsync); and how many are durable. */
  uint64_t written, deferred, synced;
  /* The fsync under way on the threadpool, if any. */
  bool syncing;
  uint64_t sync_target; /* `written` when it started: what it makes durable */
  int sync_errno;
  /* The worker's fsync is over (set under sync_lock): the loop's own event_log_sync waits for it
   * and takes its error, since Linux reports a write-back error to one fsync only. */
  bool sync_worked;
  uv_mutex_t sync_lock;
  uv_cond_t sync_cond;
  uv_work_t sync_req;
  void (*sync_done)(void *data, int rc);
  void *sync_data;
};

/* The --events copy: created 0600 like the journal (it holds router output and names). */
static FILE *open_copy(const char *path)
{
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd < 0)
    return NULL;
  FILE *f = fdopen(fd, "a");
  if (f == NULL)
    close(fd);
  return f;
}

/* The run's clock. A fresh run starts it now (or, in a time-scaled rehearsal, at
 * ISSU_FLEET_CLOCK_START); a resumed run goes on from its journal: from the last @timestamp
 * when time-scaled (simulated time does not pass while no process runs), from the real time
 * since the run's first start otherwise. */
static void start_clock(struct event_log *log, double first_wall, double last_wall)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
  log->start_wall = now;
  log->start_hr = uv_hrtime();
  if (first_wall > 0) {
    log->start_wall = first_wall;
    double base = log->scale > 1 ? last_wall - first_wall : now - first_wall;
    log->base_s = base > 0 ? base : 0;
    return;
  }
  /* Rehearsals and tests may start the clock at a chosen moment (seconds since the epoch), so a
   * maintenance window can be rehearsed at any hour. Only with --time-scale above 1: left in an
   * operator's environment it must not move a real run's window or timestamps. */
  const char *start = getenv("ISSU_FLEET_CLOCK_START");
  if (start == NULL || *start == '\0')
    return;
  char *end;
  double t = strtod(start, &end);
  if (log->scale > 1 && *end == '\0' && t > 0 && t < 253402300800.0) {
    log->start_wall = t;
    log->clock_set = true;
  } else
    fprintf(stderr, "issu-fleet: ISSU_FLEET_CLOCK_START ignored (%s)\n",
            log->scale > 1 ? "not a time in seconds since the epoch"
                           : "honoured only with --time-scale above 1");
}

static int open_common(struct event_log **out, char *path, const char *run_id, int flags,
                       uint64_t last_sequence, const char *copy, double time_scale,
                       double first_wall, double last_wall, char *err, size_t errlen)
{
  struct event_log *log = xcalloc(1, sizeof *log);
  if (uv_mutex_init(&log->sync_lock) != 0 || uv_cond_init(&log->sync_cond) != 0) {
    fprintf(stderr, "issu-fleet: cannot make a lock for the journal\n");
    abort();
  }
  log->path = path;
  log->run_id = xstrdup(run_id);
  log->sequence = last_sequence;
  int rc;
  log->fd = open(log->path, O_WRONLY | O_APPEND | O_CLOEXEC | flags, 0600);
  if (log->fd < 0) {
    rc = -errno;
    snprintf(err, errlen, "cannot %s the journal %s: %s", (flags & O_EXCL) ? "create" : "open",
             log->path, strerror(errno));
    goto fail;
  }
  if (copy != NULL && strcmp(copy, "-") == 0)
    log->copy = stdout;
  else if (copy != NULL) {
    log->copy = open_copy(copy);
    if (log->copy == NULL) {
      rc = -errno;
      snprintf(err, errlen, "cannot open the events file %s: %s", copy, strerror(errno));
      close(log->fd);
      if (flags & O_EXCL)
        unlink(log->path);
      goto fail;
    }
    log->copy_owned = true;
  }
  log->scale = time_scale > 0 ? time_scale : 1;
  start_clock(log, first_wall, last_wall);
  *out = log;
  return 0;
fail:
  free(log->path);
  free(log->run_id);
  uv_cond_destroy(&log->sync_cond);
  uv_mutex_destroy(&log->sync_lock);
  free(log);
  return rc;
}

int event_log_open(struct event_log **out, const char *state_dir, const char *run_id,
                   const char *copy, double time_scale, char *err, size_t errlen)
{
  int rc = dir_create(state_dir, 0700);
  if (rc < 0) {
    snprintf(err, errlen, "cannot create the state directory %s: %s", state_dir, strerror(-rc));
    return rc;
  }
  return open_common(out, xasprintf("%s/%s.jsonl", state_dir, run_id), run_id, O_CREAT | O_EXCL, 0,
                     copy, time_scale, 0, 0, err, errlen);
}

int event_log_reopen(struct event_log **out, const char *path, const char *run_id,
                     uint64_t last_sequence, const char *copy, double time_scale, double first_wall,
                     double last_wall, char *err, size_t errlen)
{
  return open_common(out, xstrdup(path), run_id, 0, last_sequence, copy, time_scale, first_wall,
                     last_wall, err, errlen);
}

bool event_log_clock_set(const struct event_log *log)
{
  return log->clock_set;
}

int event_log_errno(const struct event_log *log)
{
  return log->last_errno;
}

void event_log_close(struct event_log *log)
{
  if (log == NULL)
    return;
  close(log->fd);
  if (log->copy_owned)
    fclose(log->copy);
  else if (log->copy)
    fflush(log->copy);
  free(log->path);
  free(log->run_id);
  uv_cond_destroy(&log->sync_cond);
  uv_mutex_destroy(&log->sync_lock);
  free(log);
}

const char *event_log_path(const struct event_log *log)
{
  return log->path;
}

const char *event_log_run_id(const struct event_log *log)
{
  return log->run_id;
}

double event_log_elapsed(const struct event_log *log)
{
  return log->base_s + (double)(uv_hrtime() - log->start_hr) / 1e9 * log->scale;
}

double event_log_wall(const struct event_log *log)
{
  return log->start_wall + event_log_elapsed(log);
}

void event_timestamp(const struct event_log *log, double elapsed_s, char *buf, size_t len)
{
  double t = log->start_wall + elapsed_s;
  time_t secs = (time_t)t;
  int ms = (int)((t - (double)secs) * 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, len, "%s.%03dZ", base, ms);
}

cJSON *event_new(struct event_log *log, const char *level, const char *action, const char *host,
                 const char *fmt, ...)
{
  char stamp[40], msg[1024];
  event_timestamp(log, event_log_elapsed(log), stamp, sizeof stamp);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  cJSON *ev = cJSON_CreateObject();
  if (ev == NULL)
    abort(); /* out of memory: xalloc's policy */
  cJSON_AddStringToObject(ev, "@timestamp", stamp);
  cJSON_AddStringToObject(ev, "log.level", level);
  cJSON_AddStringToObject(ev, "message", msg);
  cJSON_AddStringToObject(cJSON_AddObjectToObject(ev, "ecs"), "version", "8.11.0");
  cJSON *e = cJSON_AddObjectToObject(ev, "event");
  cJSON_AddStringToObject(e, "kind", "event");
  cJSON_AddStringToObject(e, "dataset", "issu_fleet.rollout");
  cJSON_AddStringToObject(e, "action", action);
  cJSON_AddNumberToObject(e, "sequence", (double)++log->sequence);
  if (host != NULL)
    cJSON_AddStringToObject(cJSON_AddObjectToObject(ev, "host"), "name", host);
  cJSON_AddStringToObject(event_labels(ev), "run_id", log->run_id);
  return ev;
}

static cJSON *child(cJSON *ev, const char *name)
{
  cJSON *o = cJSON_GetObjectItemCaseSensitive(ev, name);
  return o ? o : cJSON_AddObjectToObject(ev, name);
}

cJSON *event_issu(cJSON *ev)
{
  return child(ev, "issu");
}

cJSON *event_labels(cJSON *ev)
{
  return child(ev, "labels");
}

/* With --time-scale, @timestamp is simulated time: event.created then says when the event was
 * really written (microseconds), so a lab run can still be timed against the wall clock. */
static void add_created(const struct event_log *log, cJSON *ev)
{
  if (log->scale == 1)
    return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char day[32], stamp[64];
  strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(stamp, sizeof stamp, "%.20s.%06ldZ", day, (ts.tv_nsec / 1000) % 1000000);
  cJSON_AddStringToObject(cJSON_GetObjectItemCaseSensitive(ev, "event"), "created", stamp);
}

static int write_line(struct event_log *log, cJSON *ev, bool durable);

int event_write(struct event_log *log, cJSON *ev)
{
  return write_line(log, ev, true);
}

int event_write_note(struct event_log *log, cJSON *ev)
{
  return write_line(log, ev, false);
}

int event_write_deferred(struct event_log *log, cJSON *ev)
{
  int rc = write_line(log, ev, false);
  if (rc == 0)
    log->deferred = log->written;
  return rc;
}

bool event_log_unsynced(const struct event_log *log)
{
  return log->deferred > log->synced;
}

int event_log_sync(struct event_log *log)
{
  if (log->syncing) {
    /* A worker's fsync is under way: its verdict first (an error it took is ours too). */
    uv_mutex_lock(&log->sync_lock);
    while (!log->sync_worked)
      uv_cond_wait(&log->sync_cond, &log->sync_lock);
    int e = log->sync_errno;
    uv_mutex_unlock(&log->sync_lock);
    if (e != 0) {
      log->last_errno = e;
      return -1;
    }
  }
  if (!event_log_unsynced(log))
    return 0;
  uint64_t target = log->written;
  if (fsync(log->fd) < 0) {
    log->last_errno = errno;
    return -1;
  }
  log->synced = target;
  return 0;
}

/* On the threadpool: only the fsync (the loop keeps writing to the same descriptor meanwhile;
 * what it writes after the call started waits for the next one). */
static void sync_work(uv_work_t *req)
{
  struct event_log *log = req->data;
  int e = fsync(log->fd) < 0 ? errno : 0;
  uv_mutex_lock(&log->sync_lock);
  log->sync_errno = e;
  log->sync_worked = true;
  uv_cond_signal(&log->sync_cond);
  uv_mutex_unlock(&log->sync_lock);
}

static void sync_after(uv_work_t *req, int status)
{
  struct event_log *log = req->data;
  log->syncing = false;
  int rc = 0;
  if (status != 0 || log->sync_errno != 0) {
    log->last_errno = status != 0 ? ECANCELED : log->sync_errno;
    rc = -1;
  } else {
    if (log->sync_target > log->synced)
      log->synced = log->sync_target;
  }
  log->sync_done(log->sync_data, rc);
}

int event_log_sync_async(struct event_log *log, uv_loop_t *loop, void (*done)(void *data, int rc),
                         void *data)
{
  if (!event_log_unsynced(log) || log->syncing)
    return 0;
  log->syncing = true;
  log->sync_worked = false;
  log->sync_errno = 0;
  log->sync_target = log->written;
  log->sync_done = done;
  log->sync_data = data;
  log->sync_req.data = log;
  if (uv_queue_work(loop, &log->sync_req, sync_work, sync_after) != 0) {
    sync_work(&log->sync_req); /* no threadpool: on the loop, as before */
    sync_after(&log->sync_req, 0);
  }
  return 1;
}

uint64_t event_log_ticket(const struct event_log *log)
{
  return log->deferred;
}

bool event_log_durable(const struct event_log *log, uint64_t ticket)
{
  return log->synced >= ticket;
}

/* Cuts the part of a line a failed write left at the end of the journal. */
static int cut_partial(struct event_log *log)
{
  if (log->partial == 0)
    return 0;
  off_t end = lseek(log->fd, 0, SEEK_END);
  if (end < 0)
    return -1;
  if (end < (off_t)log->partial) { /* shorter than what we wrote: someone else cut it */
    errno = EIO;
    return -1;
  }
  if (ftruncate(log->fd, end - (off_t)log->partial) < 0)
    return -1;
  log->partial = 0;
  return 0;
}

static int write_line(struct event_log *log, cJSON *ev, bool durable)
{
  add_created(log, ev);
  size_t len;
  char *text = event_json_line(ev, &len);
  if (text == NULL) { /* a tree only cJSON prints (none the run builds) */
    text = cJSON_PrintUnformatted(ev);
    if (text == NULL)
      abort();
    len = strlen(text);
    text[len++] = '\n'; /* replaces the terminator: one write for the whole line */
  }
  cJSON_Delete(ev);
  len--; /* the newline is counted below, as before */
  int rc = 0;
  size_t off = 0;
  if (cut_partial(log) < 0) { /* no line after half of one: this one is not written either */
    log->last_errno = errno;
    rc = -1;
  }
  while (rc == 0 && off < len + 1) {
    ssize_t w = write(log->fd, text + off, len + 1 - off);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0) {
      log->last_errno = w < 0 ? errno : ENOSPC;
      rc = -1;
      break;
    }
    off += (size_t)w;
  }
  if (rc < 0 && off > 0) {
    log->partial = off;
    (void)cut_partial(log); /* a full disk lets a file shrink; else tried again before the next */
  }
  if (rc == 0)
    log->written++;
  if (rc == 0 && durable) {
    if (fsync(log->fd) < 0) {
      log->last_errno = errno;
      rc = -1;
    } else
      log->synced = log->written; /* the fsync covers every line before it */
  }
  if (log->copy) {
    fwrite(text, 1, len + 1, log->copy);
    fflush(log->copy);
  }
  free(text);
  return rc;
}
