/*
 * The journal line printer (scheduler/event_json.h) against cJSON_PrintUnformatted, which
 * printed every journal line before it: byte for byte on events shaped like the run's and on
 * random trees (every byte value in strings and keys, numbers of every size and sign, NaN and
 * infinities, integers at and past the int range, nesting, empty objects and arrays).
 */
#include "scheduler/event_json.h"

#include <criterion/criterion.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t seed = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
  seed ^= seed << 13;
  seed ^= seed >> 7;
  seed ^= seed << 17;
  return seed;
}

static void expect_same(const cJSON *tree)
{
  char *want = cJSON_PrintUnformatted(tree);
  cr_assert_not_null(want);
  size_t len = 0;
  char *got = event_json_line(tree, &len);
  cr_assert_not_null(got);
  size_t wl = strlen(want);
  cr_assert_eq(len, wl + 1, "length %zu, cJSON %zu: %s / %s", len, wl, got, want);
  cr_assert_eq(got[wl], '\n');
  cr_assert_eq(got[wl + 1], '\0');
  cr_assert(memcmp(got, want, wl) == 0, "ours:  %s\ncJSON: %s", got, want);
  free(got);
  cJSON_free(want);
}

static char *random_text(char *buf, size_t cap)
{
  size_t n = rnd() % (cap - 1);
  for (size_t i = 0; i < n; i++) {
    unsigned c = (unsigned)(rnd() % 4 ? 32 + rnd() % 95 : 1 + rnd() % 255);
    buf[i] = (char)c;
  }
  buf[n] = '\0';
  return buf;
}

static double random_number(void)
{
  static const double special[] = {0.0,
                                   -0.0,
                                   1.0,
                                   -1.0,
                                   0.1,
                                   1e-300,
                                   1e300,
                                   DBL_MAX,
                                   -DBL_MAX,
                                   DBL_MIN,
                                   5e-324,
                                   INT_MAX,
                                   INT_MIN,
                                   INT_MAX + 1.0,
                                   INT_MIN - 1.0,
                                   1e15,
                                   1e16,
                                   123456789012345678.0,
                                   0.30000000000000004,
                                   2.5,
                                   1.0 / 3.0};
  switch (rnd() % 6) {
  case 0:
    return special[rnd() % (sizeof special / sizeof special[0])];
  case 1:
    return (double)(int64_t)rnd() / (double)(1 + rnd() % 1000000); /* run-clock seconds */
  case 2:
    return (double)(int32_t)rnd();
  case 3:
    return ldexp((double)(rnd() >> 11), (int)(rnd() % 200) - 150);
  case 4:
    return (double)(rnd() % 100000) / 1000.0; /* durations to the millisecond */
  default: {
    double d;
    uint64_t bits = rnd();
    memcpy(&d, &bits, sizeof d); /* any bit pattern: NaNs and infinities too */
    return d;
  }
  }
}

static cJSON *random_tree(int depth)
{
  char buf[64];
  switch (depth <= 0 ? rnd() % 5 : rnd() % 7) {
  case 0:
    return cJSON_CreateNull();
  case 1:
    return cJSON_CreateBool(rnd() % 2);
  case 2:
    return cJSON_CreateNumber(random_number());
  case 3:
  case 4:
    return cJSON_CreateString(random_text(buf, sizeof buf));
  case 5: {
    cJSON *a = cJSON_CreateArray();
    for (unsigned n = (unsigned)(rnd() % 5); n > 0; n--)
      cJSON_AddItemToArray(a, random_tree(depth - 1));
    return a;
  }
  default: {
    cJSON *o = cJSON_CreateObject();
    for (unsigned n = (unsigned)(rnd() % 6); n > 0; n--)
      cJSON_AddItemToObject(o, random_text(buf, sizeof buf), random_tree(depth - 1));
    return o;
  }
  }
}

Test(events, a_run_event_prints_as_cjson_printed_it)
{
  cJSON *ev = cJSON_CreateObject();
  cJSON_AddStringToObject(ev, "@timestamp", "2026-12-01T18:30:00.123Z");
  cJSON_AddStringToObject(ev, "log.level", "info");
  cJSON_AddStringToObject(ev, "message", "mx-ams-1: validate -> issu \"quoted\" \\ tab\there");
  cJSON *e = cJSON_AddObjectToObject(ev, "event");
  cJSON_AddStringToObject(e, "action", "phase-changed");
  cJSON_AddNumberToObject(e, "sequence", 123456);
  cJSON_AddNumberToObject(e, "duration", 6625.123456789 * 1e9);
  cJSON *is = cJSON_AddObjectToObject(ev, "issu");
  cJSON_AddNumberToObject(is, "device_elapsed_s", 1234.5678901234);
  cJSON_AddNumberToObject(is, "phase_duration_s", 0);
  cJSON_AddStringToObject(is, "line", "[Feb 22 02:37:04]:ISSU: Backup RE Prepare Done\x01\x1f");
  cJSON_AddItemToObject(is, "device_output", cJSON_CreateArray());
  cJSON_AddItemToObject(is, "labels", cJSON_CreateObject());
  cJSON_AddBoolToObject(is, "canary", 1);
  cJSON_AddNullToObject(is, "none");
  cJSON_AddStringToObject(is, "utf8", "r\xc3\xa9seau \xe2\x86\x92 \xff");
  expect_same(ev);
  cJSON_Delete(ev);
}

Test(events, random_trees_print_as_cjson_prints_them)
{
  for (int i = 0; i < 20000; i++) {
    cJSON *t = random_tree(4);
    expect_same(t);
    cJSON_Delete(t);
  }
}

Test(events, a_raw_item_is_left_to_cjson)
{
  cJSON *o = cJSON_CreateObject();
  cJSON_AddRawToObject(o, "raw", "[1,2]");
  size_t len;
  cr_expect_null(event_json_line(o, &len));
  cJSON_Delete(o);
}

/* ---- the group commit's tickets (scheduler/events.h) ---- */

#include "scheduler/events.h"

#include <uv.h>
#include <errno.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>

static int synced_calls, synced_rc;

static void on_synced(void *data, int rc)
{
  (void)data;
  synced_calls++;
  synced_rc = rc;
}

static void write_deferred(struct event_log *log, const char *what)
{
  cr_assert_eq(event_write_deferred(log, event_new(log, "info", "test", NULL, "%s", what)), 0);
}

Test(events, an_operation_waits_only_for_the_lines_written_before_it_asked)
{
  char dir[] = "/tmp/issu-events-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  struct event_log *log = NULL;
  char err[300];
  cr_assert_eq(event_log_open(&log, dir, "tickets", NULL, 1, err, sizeof err), 0, "%s", err);
  uv_loop_t loop;
  uv_loop_init(&loop);
  cr_expect(event_log_durable(log, event_log_ticket(log)), "nothing written: nothing to wait for");
  write_deferred(log, "the ISSU of router a is next");
  uint64_t a = event_log_ticket(log);
  cr_expect_not(event_log_durable(log, a), "a's line is not durable yet");
  /* A note asks for no fsync: a ticket taken after it waits for nothing more. */
  cr_assert_eq(event_write_note(log, event_new(log, "info", "note", NULL, "a note")), 0);
  cr_expect_eq(event_log_ticket(log), a);
  cr_expect_eq(event_log_sync_async(log, &loop, on_synced, NULL), 1);
  /* Written while the fsync is under way: not covered by it, and no second one starts. */
  write_deferred(log, "the ISSU of router b is next");
  uint64_t b = event_log_ticket(log);
  cr_expect_gt(b, a);
  cr_expect_eq(event_log_sync_async(log, &loop, on_synced, NULL), 0, "one fsync at a time");
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_expect_eq(synced_calls, 1);
  cr_expect_eq(synced_rc, 0);
  cr_expect(event_log_durable(log, a), "a goes after the first fsync");
  cr_expect_not(event_log_durable(log, b), "b waits for the next");
  cr_expect(event_log_unsynced(log));
  cr_expect_eq(event_log_sync_async(log, &loop, on_synced, NULL), 1);
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_expect_eq(synced_calls, 2);
  cr_expect(event_log_durable(log, b));
  cr_expect_not(event_log_unsynced(log));
  cr_expect_eq(event_log_sync_async(log, &loop, on_synced, NULL), 0, "nothing waits");
  /* The run's last fsync, on the loop, while a worker's is under way: it waits for the worker's
   * verdict (an error only one fsync would see) and then makes every line durable. */
  write_deferred(log, "the run is over");
  uint64_t c = event_log_ticket(log);
  cr_expect_eq(event_log_sync_async(log, &loop, on_synced, NULL), 1);
  write_deferred(log, "run-finished");
  cr_expect_eq(event_log_sync(log), 0);
  cr_expect(event_log_durable(log, event_log_ticket(log)));
  cr_expect_gt(event_log_ticket(log), c);
  uv_run(&loop, UV_RUN_DEFAULT);
  cr_expect_eq(synced_calls, 3);
  cr_expect_eq(synced_rc, 0);
  cr_expect_not(event_log_unsynced(log));
  cr_expect_eq(uv_loop_close(&loop), 0);
  event_log_close(log);
  char cmd[100];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}

/* A line the disk took only part of (full, or a file size limit) is cut off again: the next
 * line, once there is room, starts a line of its own, so the journal stays one event per line
 * and --resume can read it (a whole line glued to half of one is no event). */
Test(events, a_line_the_disk_took_only_part_of_is_cut_before_the_next_one)
{
  char dir[] = "/tmp/issu-events-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  struct event_log *log = NULL;
  char err[300];
  cr_assert_eq(event_log_open(&log, dir, "partial", NULL, 1, err, sizeof err), 0, "%s", err);
  cr_assert_eq(event_write(log, event_new(log, "info", "first", NULL, "a whole line")), 0);
  char path[64];
  snprintf(path, sizeof path, "%s/partial.jsonl", dir);
  struct stat st;
  cr_assert_eq(stat(path, &st), 0);
  /* Room for ten more bytes: the next line is written in part, then refused (EFBIG). */
  struct rlimit was, small;
  cr_assert_eq(getrlimit(RLIMIT_FSIZE, &was), 0);
  small = was;
  small.rlim_cur = (rlim_t)st.st_size + 10;
  void (*old)(int) = signal(SIGXFSZ, SIG_IGN);
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &small), 0);
  int rc = event_write(log, event_new(log, "info", "second", NULL, "a line cut by the limit"));
  int e = event_log_errno(log);
  cr_assert_eq(setrlimit(RLIMIT_FSIZE, &was), 0);
  signal(SIGXFSZ, old);
  cr_expect_eq(rc, -1, "the cut line is an error");
  cr_expect_eq(e, EFBIG);
  /* Room again: the next line is whole, and every line of the file is one event. */
  cr_assert_eq(event_write(log, event_new(log, "info", "third", NULL, "after room came back")), 0);
  event_log_close(log);
  FILE *f = fopen(path, "r");
  cr_assert_not_null(f);
  char *line = NULL;
  size_t cap = 0, lines = 0;
  while (getline(&line, &cap, f) > 0) {
    cJSON *ev = cJSON_Parse(line);
    cr_expect_not_null(ev, "line %zu is no event: %s", lines + 1, line);
    cJSON_Delete(ev);
    lines++;
  }
  free(line);
  fclose(f);
  cr_expect_eq(lines, 2, "the first and the third");
  char cmd[100];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  cr_expect_eq(system(cmd), 0);
}
