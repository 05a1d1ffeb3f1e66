/*
 * libFuzzer harness for report/: a journal may be cut, edited or not a journal at all. Any bytes
 * are read as one, then every view is made of it; nothing may read out of bounds, loop or leak.
 */
#include "report/report.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
  struct report *r = report_from_buffer("fuzz", (const char *)data, size);
  FILE *sink = fopen("/dev/null", "w");
  if (sink) {
    report_text(r, sink);
    report_html(r, sink);
    fclose(sink);
  }
  cJSON_Delete(report_json(r));
  report_free(r);
  return 0;
}
