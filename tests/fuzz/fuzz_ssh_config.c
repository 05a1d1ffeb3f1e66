/*
 * libFuzzer harness for the ssh_config reader (transport/ssh_config.c): any bytes in as `ssh -G`
 * output, as a ProxyJump value and as OpenSSH's stderr; a clean error or a whole answer out.
 * An answer that parses is checked against what the parser promises: a hostname, a port in
 * range, and a ProxyJump value that either splits into hops of valid host names or is refused.
 */
#include "transport/transport.h"

#include "common/common.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
  struct transport_ssh_config c;
  char *error = NULL;
  if (transport_ssh_config_parse((const char *)data, size, &c, &error) == 0) {
    if (c.hostname == NULL || c.port == 0 || c.port > 65535)
      abort();
    struct transport_jump_spec *j;
    size_t n;
    char *jerror = NULL;
    if (transport_ssh_proxyjump_parse(c.proxy_jump, &j, &n, &jerror) == 0) {
      for (size_t i = 0; i < n; i++)
        if (!transport_ssh_host_ok(j[i].host) || j[i].port > 65535)
          abort();
      transport_jump_specs_free(j, n);
    } else if (jerror == NULL)
      abort();
    free(jerror);
    transport_ssh_config_free(&c);
  } else if (error == NULL)
    abort();
  free(error);
  /* The same bytes as one ProxyJump value (up to the first NUL), and as OpenSSH's stderr. */
  char *text = xstrndup((const char *)data, size);
  struct transport_jump_spec *j;
  size_t n;
  if (transport_ssh_proxyjump_parse(text, &j, &n, &error) == 0) {
    if (n > TRANSPORT_MAX_HOPS)
      abort();
    transport_jump_specs_free(j, n);
  }
  free(error);
  char *clean = transport_ssh_sanitise((const char *)data, size);
  for (const char *p = clean; *p; p++)
    if (*p < 0x20 || *p > 0x7e)
      abort();
  free(clean);
  free(text);
  return 0;
}
