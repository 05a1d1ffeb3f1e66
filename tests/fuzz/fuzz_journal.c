/*
 * libFuzzer harness for the journal reader (--resume, ctl release): any bytes, as a file, are read
 * as a journal. Bad numbers (out of range, NaN, huge), a damaged last line, odd fields: nothing
 * may be undefined behaviour, read out of bounds, loop or leak; what is read stays in range.
 */
#include "scheduler/journal.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
  char path[] = "/tmp/fuzz_journal-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0)
    return 0;
  if (write(fd, data, size) != (ssize_t)size) {
    close(fd);
    unlink(path);
    return 0;
  }
  close(fd);
  struct journal_state s;
  char err[512];
  if (journal_load(path, &s, err, sizeof err) == 0) {
    for (size_t i = 0; i < s.nhosts; i++)
      if (s.hosts[i].orig_master < -1 || s.hosts[i].orig_master > 1 || s.hosts[i].phase > PH_COUNT)
        abort(); /* a resume would index an array with it */
    journal_drop_cut(path, &s, err, sizeof err);
  }
  journal_state_free(&s);
  unlink(path);
  return 0;
}
