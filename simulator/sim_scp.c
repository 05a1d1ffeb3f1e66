/*
 * scp uploads: the legacy SCP sink protocol ("scp -t PATH"), which is what libssh2's
 * libssh2_scp_send64 runs on the far side. The router keeps the file's size and checksums (the
 * bytes themselves are not needed); checksums come from coreutils' sha256sum and md5sum over a
 * temporary copy, so they are the real digests of what was sent.
 *
 * Protocol: the sink sends \0; the source sends "C0644 SIZE NAME\n" (after an optional
 * "T... \n" times line); the sink acks \0; SIZE bytes and a \0 follow; the sink acks \0.
 * A sink error is \2 and a message line.
 */
#include "simulator/sim.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void ack(void)
{
  fputc(0, stdout);
  fflush(stdout);
}

static int refuse(const char *fmt, ...) ISSU_PRINTF(1, 2);

/* A fatal SCP error: \2, the message, a newline; the source gives up on this file. */
static int refuse(const char *fmt, ...)
{
  va_list ap;
  fputc(2, stdout);
  fprintf(stdout, "scp: ");
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  fputc('\n', stdout);
  fflush(stdout);
  return 1;
}

/* The first word that `cmd FILE` prints (a hex digest), or false. */
static bool digest(const char *cmd, const char *file, char *out, size_t len)
{
  char *line = xasprintf("%s '%s'", cmd, file);
  FILE *p = popen(line, "r");
  free(line);
  if (p == NULL)
    return false;
  char buf[256] = "";
  bool ok = fgets(buf, sizeof buf, p) != NULL;
  ok = pclose(p) == 0 && ok;
  buf[strcspn(buf, " \n")] = '\0';
  snprintf(out, len, "%s", buf);
  return ok && buf[0] != '\0';
}

int sim_scp_sink(struct sim_ctx *c)
{
  const char *target = NULL;
  bool sink = false;
  for (size_t i = 0; i < c->nargs; i++) {
    if (strcmp(c->args[i], "-t") == 0)
      sink = true;
    else if (c->args[i][0] != '-')
      target = c->args[i];
  }
  if (!sink || target == NULL)
    return refuse("%s", "only uploads (scp -t PATH) are supported");
  /* libssh2 quotes the path for the remote shell: 'PATH' (no quote inside, by our CLI rules). */
  char unquoted[512];
  size_t tlen = strlen(target);
  if (tlen >= 2 && target[0] == '\'' && target[tlen - 1] == '\'') {
    snprintf(unquoted, sizeof unquoted, "%.*s", (int)(tlen - 2), target + 1);
    target = unquoted;
  }
  ack();
  char header[512];
  for (;;) {
    if (fgets(header, sizeof header, stdin) == NULL)
      return 0; /* the source is done */
    if (header[0] == 'T') {
      ack();
      continue;
    }
    if (header[0] != 'C')
      return refuse("unexpected protocol line: %s", header);
    unsigned mode;
    unsigned long long size;
    char name[256];
    if (sscanf(header, "C%o %llu %255[^\n]", &mode, &size, name) != 3 || strchr(name, '/'))
      return refuse("bad file header: %s", header);
    char path[512];
    size_t tl = strlen(target);
    bool dir = target[tl - 1] == '/' || strcmp(target, "/var/tmp") == 0;
    snprintf(path, sizeof path, dir ? "%s%s%s" : "%s", target,
             dir && target[tl - 1] != '/' ? "/" : "", name);
    uint64_t avail = c->r->var_total_kb > c->r->var_used_kb
                         ? (c->r->var_total_kb - c->r->var_used_kb) * 1024
                         : 0;
    if ((c->r->faults & FAULT_DISK_FULL) || size > avail)
      return refuse("%s: No space left on device", path);
    char tmp[] = "/tmp/junos-sim-scp-XXXXXX";
    int fd = mkstemp(tmp);
    if (fd < 0)
      return refuse("%s: cannot store the upload", path);
    ack();
    static char buf[1 << 20];
    unsigned long long left = size;
    bool ok = true;
    while (left > 0 && ok) {
      size_t want = left < sizeof buf ? (size_t)left : sizeof buf;
      size_t got = fread(buf, 1, want, stdin);
      if (got == 0)
        ok = false;
      else if (write(fd, buf, got) != (ssize_t)got)
        ok = false;
      left -= got;
    }
    close(fd);
    /* OpenSSH's scp sends a \0 after the data; libssh2's scp_send goes straight to EOF. Like
     * OpenSSH's own sink, take either once every byte has arrived. */
    int trailer = ok ? fgetc(stdin) : EOF;
    struct sim_file f = {0};
    bool digests = ok && (trailer == 0 || trailer == EOF) &&
                   digest("md5sum", tmp, f.md5, sizeof f.md5) &&
                   digest("sha256sum", tmp, f.sha256, sizeof f.sha256);
    unlink(tmp);
    if (!digests)
      return refuse("%s: upload incomplete", path);
    if (c->r->faults & FAULT_CHECKSUM_MISMATCH)
      f.sha256[0] = f.sha256[0] == '0' ? '1' : '0'; /* the copy arrives corrupted */
    struct sim_file *rec = sim_add_file(c->r, path);
    rec->size = size;
    snprintf(rec->md5, sizeof rec->md5, "%s", f.md5);
    snprintf(rec->sha256, sizeof rec->sha256, "%s", f.sha256);
    c->r->var_used_kb += size / 1024;
    c->dirty = true;
    ack();
  }
}
