/*
 * The event stream (DESIGN.md §7): one ECS-shaped JSON object per line, written to the journal
 * STATE_DIR/RUN_ID.jsonl (fsync'ed before the step it records acts) and copied to --events.
 * Sequence numbers strictly increase. Timestamps follow the run's clock, which is simulated time
 * when the run is time-scaled, so a lab run shows the router's real ~40-minute timeline.
 */
#ifndef ISSU_SCHEDULER_EVENTS_H
#define ISSU_SCHEDULER_EVENTS_H

#include "common/common.h"

#include <cjson/cJSON.h>
#include <uv.h>
#include <stdint.h>

struct event_log;

/* Creates STATE_DIR (0700) and the journal RUN_ID.jsonl (must not exist); `copy` is NULL, "-"
 * (stdout) or a file path (appended to). */
int event_log_open(struct event_log **out, const char *state_dir, const char *run_id,
                   const char *copy, double time_scale, char *err, size_t errlen);
/* Appends to an existing journal (--resume): sequence numbers go on after `last_sequence`, the
 * run's clock goes on from the journal's (`first_wall`, `last_wall`: its first and latest
 * @timestamp, seconds since the epoch; 0 if unknown). */
int event_log_reopen(struct event_log **out, const char *path, const char *run_id,
                     uint64_t last_sequence, const char *copy, double time_scale, double first_wall,
                     double last_wall, char *err, size_t errlen);
/* Whether ISSU_FLEET_CLOCK_START set the clock (recorded in run-started). */
bool event_log_clock_set(const struct event_log *log);
/* The errno of the last write or fsync of the journal that failed, or 0. */
int event_log_errno(const struct event_log *log);
void event_log_close(struct event_log *log);
const char *event_log_path(const struct event_log *log);
const char *event_log_run_id(const struct event_log *log);

/* The run's clock: seconds since the run started, in (simulated) policy time. */
double event_log_elapsed(const struct event_log *log);

/* A new event: @timestamp, log.level, message, ecs, event{kind,dataset,action,sequence}, and
 * labels.run_id; `host` adds host.name (NULL for run-wide events). Add fields, then write. */
cJSON *event_new(struct event_log *log, const char *level, const char *action, const char *host,
                 const char *fmt, ...) ISSU_PRINTF(5, 6);
/* The object under "issu" (created on first use), and "labels". */
cJSON *event_issu(cJSON *ev);
cJSON *event_labels(cJSON *ev);
/* Writes the event as one line, fsyncs the journal, copies it, frees it. Returns 0, or -1 when
 * the journal cannot be written (the caller must not act on what it recorded). */
int event_write(struct event_log *log, cJSON *ev);
/* The same for a line that records no state change (a check's verdict, a reconnect): written at
 * once, but not fsync'ed; the next event_write makes it durable. A resume never needs these. */
int event_write_note(struct event_log *log, cJSON *ev);
/* Group commit: the line is written at once as event_write's, its fsync left to the next
 * event_log_sync. The caller must not act on it before that sync succeeded (the run holds every
 * router operation until then: transport_limiter.hold). */
int event_write_deferred(struct event_log *log, cJSON *ev);
/* Lines written by event_write_deferred (or notes after them) and not yet fsync'ed. */
bool event_log_unsynced(const struct event_log *log);
/* fsyncs the journal if it has unsynced lines. 0, or -1 (event_log_errno says why). */
int event_log_sync(struct event_log *log);
/* The same fsync on libuv's threadpool, so the loop goes on reading routers meanwhile: covers
 * the lines written so far; done(data, 0 or -1) runs on the loop. 1 when one was started; 0 when
 * nothing waits or one is already under way (done is then not called for this call). */
int event_log_sync_async(struct event_log *log, uv_loop_t *loop, void (*done)(void *data, int rc),
                         void *data);
/* A ticket for the deferred lines written up to now (lines counted from this process's start),
 * and whether every line up to a ticket is durable: an operation that asked at ticket T may act
 * once event_log_durable(T). */
uint64_t event_log_ticket(const struct event_log *log);
bool event_log_durable(const struct event_log *log, uint64_t ticket);
/* The run's wall clock: seconds since the epoch, advancing `time_scale` times faster than real
 * time (the clock maintenance windows are judged on). */
double event_log_wall(const struct event_log *log);
/* ECS timestamp for a point of the run's clock. */
void event_timestamp(const struct event_log *log, double elapsed_s, char *buf, size_t len);

#endif
