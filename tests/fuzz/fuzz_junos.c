/*
 * libFuzzer harness for junos/: router output is untrusted input. Any bytes are split into lines
 * the way the transport delivers them, cleaned, classified by the ISSU console table and fed to
 * every parser, text and XML (libxml2 behind junos_facts.h); nothing may read out of bounds, loop
 * or leak. The seeds in corpus/junos/ are small replies written for this harness (the real
 * captures stay in ../shared/captures).
 */
#include "junos/junos.h"
#include "junos/junos_facts.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define MAX_LINES 256

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
  static char clean[MAX_LINES][1024];
  const char *lines[MAX_LINES];
  size_t n = 0;
  for (size_t off = 0; off < size && n < MAX_LINES;) {
    const unsigned char *nl = memchr(data + off, '\n', size - off);
    size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
    if (junos_clean_line((const char *)data + off, len, clean[n], sizeof clean[n]) == LINE_TEXT) {
      lines[n] = clean[n];
      (void)junos_issu_classify(clean[n]);
      n++;
    }
    off += len + 1;
  }
  struct junos_config c;
  junos_parse_config(lines, n, &c);
  junos_first_error(lines, n);

  struct junos_routing_engines xre;
  struct junos_versions_xml xv;
  struct junos_storage_xml xs;
  struct junos_alarm_list *xa = malloc(2 * sizeof *xa);
  struct junos_switchover_xml xso;
  struct junos_replication_xml xr;
  struct junos_checksum_xml xc;
  junos_xml_routing_engines(lines, n, &xre);
  junos_xml_versions(lines, n, &xv);
  junos_xml_storage(lines, n, &xs);
  junos_xml_alarms(lines, n, &xa[0]);
  junos_xml_alarms(lines, n / 2, &xa[1]);
  size_t fresh[4];
  const char *expected[] = {JUNOS_ALARM_BACKUP_RE_ACTIVE};
  junos_alarms_fresh(&xa[1], &xa[0], expected, 1, fresh, 4);
  junos_alarms_show_vmhost(&xa[0]);
  free(xa);
  junos_xml_switchover(lines, n, &xso);
  junos_xml_replication(lines, n, &xr);
  junos_xml_checksum(lines, n, &xc);
  unsigned hold2;
  junos_parse_switch_reply(lines, n, &hold2, NULL);
  junos_pending_install(lines, n, NULL);
  if (n >= 2) {
    junos_same_release(lines[0], lines[1]);
    junos_release_matches(lines[0], lines[1]);
  }
  junos_prompt_of((const char *)data, size < 64 ? size : 64);
  return 0;
}
