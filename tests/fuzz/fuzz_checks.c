/*
 * libFuzzer harness for checks/: a JSNAPy test file is user input and a router's answer is
 * untrusted input. Any bytes are read as a test file; a file that loads is evaluated against two
 * small fixed snapshots (every command answered with the same XML, before and after), so the
 * operators, ids, templates and XPaths the fuzzer invents all run. Input that looks like XML is
 * also put as every answer of the built-in suite and evaluated against the fixed one, and read as
 * a snapshot file. Nothing may read out of bounds, loop or leak. Seeds: corpus/checks/.
 */
#include "checks/checks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static const char before[] =
    "<rpc-reply><interface-information><physical-interface><name>ge-0/0/0</name>"
    "<oper-status>up</oper-status><admin-status>up</admin-status></physical-interface>"
    "<physical-interface><name>ge-0/0/1</name><oper-status>up</oper-status></physical-interface>"
    "<bgp-peer><peer-address>10.0.0.2</peer-address><peer-state>Established</peer-state>"
    "<bgp-rib><received-prefix-count>100</received-prefix-count></bgp-rib></bgp-peer>"
    "<fpc><slot>0</slot><state>Online</state><cpu-total>10</cpu-total></fpc>"
    "</interface-information></rpc-reply>";
static const char after[] =
    "<interface-information><physical-interface><name>ge-0/0/0</name>"
    "<oper-status>down</oper-status></physical-interface>"
    "<physical-interface><name>xe-0/0/0</name><oper-status>up</oper-status></physical-interface>"
    "<bgp-peer><peer-address>10.0.0.2</peer-address><peer-state>Active</peer-state></bgp-peer>"
    "<fpc><slot>0</slot><state>Offline</state><cpu-total>x</cpu-total></fpc>"
    "</interface-information>";

static struct check_snapshot *answered(const struct check_suite *s, const char *xml, size_t len)
{
  struct check_snapshot *snap = check_snapshot_new(s);
  char err[256];
  for (size_t i = 0; i < check_suite_command_count(s); i++)
    (void)check_snapshot_put(snap, i, xml, len, err, sizeof err);
  return snap;
}

static void evaluate(const struct check_suite *s, const struct check_snapshot *pre,
                     const struct check_snapshot *post)
{
  struct check_outcome o;
  if (check_evaluate(s, pre, post, &o) == 0)
    check_outcome_free(&o);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
  struct diag d = {0};
  struct check_suite *s = check_suite_new(NULL, NULL, 0, 0, &d);
  if (check_suite_add_buffer(s, "fuzz.yml", (const char *)data, size, &d) == 0) {
    struct check_snapshot *pre = answered(s, before, strlen(before));
    struct check_snapshot *post = answered(s, after, strlen(after));
    evaluate(s, pre, post);
    evaluate(s, pre, NULL);
    check_snapshot_free(pre);
    check_snapshot_free(post);
  }
  check_suite_free(s);
  if (memchr(data, '<', size) != NULL) {
    /* Built once: the built-in suite and its fixed pre snapshot never change. */
    static struct check_suite *b;
    static struct check_snapshot *pre;
    if (b == NULL) {
      struct check_builtin_options o;
      check_builtin_options_default(&o);
      b = check_suite_new(&o, "policy", 1, 1, &d);
      pre = answered(b, before, strlen(before));
    }
    struct check_snapshot *post = answered(b, (const char *)data, size);
    evaluate(b, pre, post);
    /* The snapshot file reader, on input that starts like a snapshot (only then: a file write
     * per input would cost more than everything else here; no fsync, unlike a save). */
    static const char magic[] = "issu-fleet checks snapshot";
    if (size >= sizeof magic - 1 && memcmp(data, magic, sizeof magic - 1) == 0) {
      char path[64], err[256];
      snprintf(path, sizeof path, "%s/fuzz_checks.%ld.snap",
               access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
      FILE *f = fopen(path, "wb");
      if (f != NULL) {
        fwrite(data, 1, size, f);
        fclose(f);
        struct check_snapshot *back = check_snapshot_load(b, path, err, sizeof err);
        if (back != NULL)
          evaluate(b, pre, back);
        check_snapshot_free(back);
        unlink(path);
      }
    }
    check_snapshot_free(post);
  }
  diag_free(&d);
  return 0;
}
