/*
 * Reading a run's journal back (for --resume): which routers were done, skipped or failed, which
 * were in flight and in which phase, which gates were approved, the last sequence number, and the
 * fingerprints of the inventory and policy the run was started with. A line cut by a crash at the
 * end is dropped (and the file truncated to its last whole line, so appending stays valid).
 */
#ifndef ISSU_SCHEDULER_JOURNAL_H
#define ISSU_SCHEDULER_JOURNAL_H

#include "common/common.h"
#include "junos/junos.h"

#include <stdint.h>

struct journal_host {
  char *name;
  bool started, finished;
  char result[16];        /* done, skipped, failed */
  enum junos_phase phase; /* the last phase it entered */
  int orig_master;        /* -1 when not recorded */
  char before[2][48];
};

struct journal_state {
  char *run_id;
  uint64_t last_sequence;
  char *inventory_hash, *policy_hash, *limit;
  struct journal_host *hosts;
  size_t nhosts, hosts_cap;
  struct strmap index;
  bool *approved; /* per wave index, up to nwaves_seen */
  size_t napproved;
  bool cut; /* the last line was incomplete and was dropped */
  size_t lines;
};

/* Reads JOURNAL; on error fills `err` and returns -1. Truncates a cut last line. */
int journal_load(const char *path, struct journal_state *out, char *err, size_t errlen);
void journal_state_free(struct journal_state *s);
const struct journal_host *journal_host(const struct journal_state *s, const char *name);

/* A fingerprint of a file's bytes (FNV-1a 64, hex): enough to notice an edited file. */
int journal_file_hash(const char *path, char *hex, size_t len);

#endif
