/*
 * Reading a run's journal back (for --resume and `ctl release` without a live run): the run
 * state of event_schema.h, rebuilt by one reader. Per router: started, finished, its result and
 * outcome, the last phase it entered, its original master, held or released. For the run:
 * halted (and why), the soak in progress and when it ends, approved gates, the clock (first and
 * last @timestamp), the last sequence number, the fingerprints of the inventory and policy.
 * Reading changes nothing: a line cut by a crash at the end is dropped from what is read, and
 * journal_drop_cut truncates it once the caller holds the run's lock.
 */
#ifndef ISSU_SCHEDULER_JOURNAL_H
#define ISSU_SCHEDULER_JOURNAL_H

#include "common/common.h"
#include "junos/junos.h"

#include <stdint.h>

struct junos_alarm_list;

struct journal_host {
  char *name;
  bool started, finished;
  char result[16];        /* done, skipped, failed */
  char outcome[16];       /* success, failure, unknown; "" in flight */
  bool held;              /* outcome unknown, not released (ctl release) */
  enum junos_phase phase; /* the last phase it entered */
  int orig_master;        /* 0 or 1; -1 when not recorded or out of range */
  bool switch_seen;       /* it entered switchback since it (last) started: a switch went out
                           * (or may have) */
  char before[2][48];
  /* The alarms before its ISSU (alarm-baseline), kept while it is in flight only (the reader
   * of a 5,000-router journal holds no list per finished router); NULL: none journaled. */
  struct junos_alarm_list *baseline;
  bool check_pre;       /* a pre snapshot was journaled since it (last) started */
  char *check_pre_file; /* the file that check-snapshot line names (NULL: none) */
};

struct journal_state {
  char *run_id;
  uint64_t last_sequence;
  char *inventory_hash, *policy_hash, *limit;
  struct journal_host *hosts;
  size_t nhosts, hosts_cap;
  struct strmap index;
  bool *approved; /* per wave index, up to napproved */
  size_t napproved;
  bool halted; /* the failure budget halted the run (since its last start) */
  char halt_reason[300];
  bool soaking;      /* a soak started and did not end */
  bool soak_seen;    /* a soak started (soak_wave says after which wave), ended or not */
  size_t soak_wave;  /* the wave it follows */
  double soak_end;   /* when it ends: seconds since the epoch, on the run's clock */
  double first_wall; /* @timestamp of the first event (the run's start), epoch s; 0: none */
  double last_wall;  /* the latest @timestamp, epoch s; 0: none */
  double time_scale; /* the last start's --time-scale (1 if unrecorded) */
  bool cut;          /* the last line was incomplete and is not read */
  size_t whole;      /* bytes of whole lines */
  size_t lines;
};

/* Reads JOURNAL; on error fills `err` and returns -1. Never writes. */
int journal_load(const char *path, struct journal_state *out, char *err, size_t errlen);
/* Drops a cut last line (appending after it would glue two events together). Call only with the
 * run's lock held: another process may be appending. */
int journal_drop_cut(const char *path, const struct journal_state *s, char *err, size_t errlen);
void journal_state_free(struct journal_state *s);
const struct journal_host *journal_host(const struct journal_state *s, const char *name);

/* An ECS @timestamp (YYYY-MM-DDTHH:MM:SS[.fff]Z) as seconds since the epoch; -1 if malformed. */
double journal_parse_timestamp(const char *text);

/* A fingerprint of a file's bytes (FNV-1a 64, hex): enough to notice an edited file. */
int journal_file_hash(const char *path, char *hex, size_t len);

#endif
