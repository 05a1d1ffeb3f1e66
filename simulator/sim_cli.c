/*
 * One command line in, Junos's answer out: tokenising (double quotes group words), pipes
 * (| match, | except, | count, | no-more, | display set), the command table with Junos-style
 * abbreviation (each word may be cut short while it stays unambiguous), and the dispatch that
 * locks the router, brings it to the present, runs the command and saves.
 */
#include "simulator/sim.h"
#include "simulator/sim_net.h"

#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 32

/* How a command may be run: only on the master RE (the backup answers Junos's refusal), with its
 * own `| display xml` form, or as a stream whose XML form we do not offer (its text goes out). */
enum {
  MASTER_ONLY = 1 << 0,
  XML = 1 << 1,
  STREAM = 1 << 2,
  RAW = 1 << 3, /* speaks a protocol, not text: no timestamp line, no pipes, no banner */
};

struct command {
  const char *words[6];
  int (*run)(struct sim_ctx *c);
  unsigned how;
};

/* Which commands need the master: the capture shows `show chassis hardware` refused on the
 * backup; the other chassisd commands and every upgrade are treated alike (UNVERIFIED for each
 * one but `show chassis hardware`). */
static const struct command commands[] = {
    {{"show", "version"}, sim_show_version, XML},
    {{"show", "chassis", "routing-engine"}, sim_show_chassis_re, XML | MASTER_ONLY},
    {{"show", "chassis", "in-service-upgrade"}, sim_show_issu, MASTER_ONLY},
    {{"show", "chassis", "alarms"}, sim_show_alarms, XML | MASTER_ONLY},
    {{"show", "system", "alarms"}, sim_show_system_alarms, XML},
    {{"show", "system", "switchover"}, sim_show_switchover, XML},
    {{"show", "system", "storage"}, sim_show_storage, XML},
    {{"show", "task", "replication"}, sim_show_task_replication, XML},
    {{"show", "configuration"}, sim_show_configuration, 0},
    /* The network (sim_show_net.c); the line cards are chassisd's, like the commands above. */
    {{"show", "bgp", "summary"}, sim_show_bgp_summary, XML},
    {{"show", "ospf", "neighbor"}, sim_show_ospf_neighbor, XML},
    {{"show", "isis", "adjacency"}, sim_show_isis_adjacency, XML},
    {{"show", "ldp", "session"}, sim_show_ldp_session, XML},
    {{"show", "interfaces", "terse"}, sim_show_interfaces_terse, XML},
    {{"show", "route", "summary"}, sim_show_route_summary, XML},
    {{"show", "chassis", "fpc", "pic-status"}, sim_show_fpc_pic_status, XML | MASTER_ONLY},
    {{"file", "list"}, sim_file_list, 0},
    {{"file", "checksum"}, sim_file_checksum, XML},
    {{"request", "chassis", "routing-engine", "master", "switch"}, sim_request_switch, MASTER_ONLY},
    {{"request", "system", "reboot"}, sim_request_reboot, 0},
    {{"request", "system", "software", "validate", "in-service-upgrade"},
     sim_request_validate,
     MASTER_ONLY | STREAM},
    {{"request", "system", "software", "in-service-upgrade"},
     sim_request_issu,
     MASTER_ONLY | STREAM},
    {{"request", "system", "software", "add"}, sim_request_software_add, 0},
    {{"request", "vmhost", "software", "in-service-upgrade"},
     sim_request_vmhost_issu,
     MASTER_ONLY | STREAM},
    {{"request", "vmhost", "reboot"}, sim_request_vmhost_reboot, 0},
    {{"scp"}, sim_scp_sink, RAW},
};

/* ---- output through the pipes ---- */

void sim_line(struct sim_out *o, const char *fmt, ...)
{
  char buf[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (o->match_re && regexec(o->match_re, buf, 0, NULL, 0) != 0)
    return;
  if (o->except_re && regexec(o->except_re, buf, 0, NULL, 0) == 0)
    return;
  o->lines++;
  if (!o->count)
    fprintf(o->fp, "%s\n", buf);
}

/* ---- parsing ---- */

/* Splits on unquoted spaces; double quotes group and are removed. Returns the word count. */
static size_t tokenize(const char *s, char **words, size_t max)
{
  size_t n = 0;
  while (*s && n < max) {
    while (*s == ' ' || *s == '\t')
      s++;
    if (!*s)
      break;
    char *w = xmalloc(strlen(s) + 1);
    size_t len = 0;
    bool quoted = false;
    while (*s && (quoted || (*s != ' ' && *s != '\t'))) {
      if (*s == '"')
        quoted = !quoted;
      else
        w[len++] = *s;
      s++;
    }
    w[len] = '\0';
    words[n++] = w;
  }
  return n;
}

/* Splits at unquoted '|': segment 0 is the command, the rest are pipes. */
static size_t split_pipes(const char *line, char **segments, size_t max)
{
  size_t n = 0;
  const char *start = line;
  bool quoted = false;
  for (const char *p = line;; p++) {
    if (*p == '"')
      quoted = !quoted;
    if ((*p == '|' && !quoted) || *p == '\0') {
      if (n < max)
        segments[n++] = xstrndup(start, (size_t)(p - start));
      if (*p == '\0')
        break;
      start = p + 1;
    }
  }
  return n;
}

static void free_words(char **words, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(words[i]);
}

/* The command whose fixed words the input starts with (each input word a prefix of the
 * command's word); on a tie between different commands, the input is ambiguous. */
static const struct command *find_command(char **words, size_t n, size_t *fixed, const char **bad)
{
  const struct command *best = NULL;
  size_t best_len = 0, deepest = 0;
  bool tie = false;
  *bad = n ? words[0] : "";
  for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
    size_t k = 0;
    while (k < 6 && commands[i].words[k] && k < n &&
           strncmp(words[k], commands[i].words[k], strlen(words[k])) == 0)
      k++;
    if (k > deepest) {
      deepest = k;
      *bad = k < n ? words[k] : "";
    }
    if (k == 0 || commands[i].words[k] != NULL)
      continue; /* not all fixed words given */
    if (k > best_len) {
      best = &commands[i];
      best_len = k;
      tie = false;
    } else if (k == best_len)
      tie = true;
  }
  if (best == NULL || tie)
    return NULL;
  *fixed = best_len;
  return best;
}

static int compile(void **re, const char *pattern, FILE *out)
{
  regex_t *r = xmalloc(sizeof *r);
  if (regcomp(r, pattern, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0) {
    free(r);
    fprintf(out, "error: invalid regular expression: %s\n", pattern);
    return -1;
  }
  *re = r;
  return 0;
}

/* Applies one pipe ("match X", "count", ...) to the output settings. */
static int add_pipe(struct sim_out *o, const char *segment, FILE *out)
{
  char *w[MAX_WORDS];
  size_t n = tokenize(segment, w, MAX_WORDS);
  int rc = 0;
  if (n == 0)
    rc = -1;
  else if (strncmp("match", w[0], strlen(w[0])) == 0 && n == 2)
    rc = compile(&o->match_re, w[1], out);
  else if (strncmp("except", w[0], strlen(w[0])) == 0 && n == 2)
    rc = compile(&o->except_re, w[1], out);
  else if (strncmp("count", w[0], strlen(w[0])) == 0 && n == 1)
    o->count = true;
  else if (strncmp("no-more", w[0], strlen(w[0])) == 0 && n == 1)
    ;
  else if (strncmp("display", w[0], strlen(w[0])) == 0 && n == 2 && strcmp(w[1], "set") == 0)
    o->display_set = true;
  else if (strncmp("display", w[0], strlen(w[0])) == 0 && n == 2 && strcmp(w[1], "xml") == 0)
    o->xml = true;
  else
    rc = -1;
  if (rc < 0 && n > 0 && strncmp("match", w[0], strlen(w[0])) != 0 &&
      strncmp("except", w[0], strlen(w[0])) != 0)
    fprintf(out, "error: syntax error: %s\n", w[0]);
  else if (rc < 0 && n < 2)
    fprintf(out, "error: syntax error, expecting <pattern>\n");
  free_words(w, n);
  return rc;
}

static void out_free(struct sim_out *o)
{
  if (o->match_re) {
    regfree(o->match_re);
    free(o->match_re);
  }
  if (o->except_re) {
    regfree(o->except_re);
    free(o->except_re);
  }
}

/* A command without its own XML form, asked for `| display xml`: its text in <output>, the way
 * Junos returns a text-only reply (captures pyez-install-pending-error, pyez-rescue-config).
 * UNVERIFIED for `show configuration`, which real Junos answers with <configuration>. */
static int run_wrapped(const struct command *cmd, struct sim_ctx *c)
{
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  if (mem == NULL)
    return cmd->run(c);
  struct sim_out *real = c->out, plain = {.fp = mem};
  c->out = &plain;
  int rc = cmd->run(c);
  fclose(mem);
  c->out = real;
  text[len && text[len - 1] == '\n' ? len - 1 : len] = '\0';
  sim_xml_open(c);
  sim_xml_output(c, 4, text);
  sim_xml_close(c);
  free(text);
  return rc;
}

int sim_run_command(const char *state_path, const char *command, FILE *in, FILE *out)
{
  return sim_run_command_on(state_path, -1, command, in, out);
}

int sim_run_command_on(const char *state_path, int re, const char *command, FILE *in, FILE *out)
{
  char *segments[8];
  size_t nseg = split_pipes(command, segments, 8);
  char *words[MAX_WORDS];
  size_t n = nseg ? tokenize(segments[0], words, MAX_WORDS) : 0;
  struct sim_out o = {.fp = out};
  int rc = 1;
  size_t fixed = 0;
  const char *bad = "";
  const struct command *cmd = n ? find_command(words, n, &fixed, &bad) : NULL;
  bool raw = cmd && (cmd->how & RAW);
  if (cmd == NULL) {
    fprintf(out, "error: syntax error: %s\n", *bad ? bad : command);
    goto out;
  }
  for (size_t i = 1; i < nseg; i++)
    if (raw || add_pipe(&o, segments[i], out) < 0) {
      if (raw)
        fprintf(out, "error: syntax error: |\n");
      goto out;
    }
  if (cmd->how & STREAM)
    o.xml = false; /* the ISSU console and the replies of request commands stay text */

  struct sim_router r;
  int lock_fd;
  char err[512];
  if (sim_open(state_path, &r, &lock_fd, err, sizeof err) < 0) {
    fprintf(out, "error: junos-sim: %s\n", err);
    rc = 2;
    goto out;
  }
  struct sim_ctx c = {.r = &r, .lock_fd = lock_fd, .out = &o, .in = in, .now = sim_now(&r)};
  c.args = words + fixed;
  c.nargs = n - fixed;
  c.dirty = sim_settle(&r, c.now);
  c.named_re = re == 0 || re == 1;
  c.re = c.named_re ? re : sim_master(&r);
  if (!sim_re_up(&r, c.re, c.now)) {
    /* A rebooting RE answers no connection: the session ends as a failed connect would (the
     * device entry point cuts it, junos_sim.c; UNVERIFIED: the lab's per-RE sshd still accepts
     * TCP, a real RE that reboots does not). */
    fprintf(stderr, "junos-sim: re%d of %s is not reachable (rebooting)\n", c.re, r.hostname);
    rc = SIM_UNREACHABLE;
  } else {
    if (r.cli_timestamp && !raw && !o.xml) {
      char stamp[32];
      sim_clock_text(c.now, stamp, sizeof stamp);
      fprintf(out, "%s\n", stamp);
    }
    if ((cmd->how & MASTER_ONLY) && !r.re[c.re].master)
      rc = sim_refuse_on_backup(&c);
    else if (o.xml && !(cmd->how & XML))
      rc = run_wrapped(cmd, &c);
    else
      rc = cmd->run(&c);
    if (o.count)
      fprintf(out, "Count: %zu lines\n", o.lines);
    /* The prompt banner, as the captures show it after each output ({master} / {backup}): on a
     * session opened on a named RE, and on one whose RE lost mastership while it ran. */
    if (!raw && !o.xml && (c.named_re || !r.re[c.re].master))
      fprintf(out, "\n%s\n", sim_banner(&c));
  }
  if (c.dirty && !c.released && sim_save(&r, err, sizeof err) < 0) {
    fprintf(out, "error: junos-sim: %s\n", err);
    rc = 2;
  }
  sim_close(&r, lock_fd);
out:
  fflush(out);
  out_free(&o);
  free_words(words, n);
  free_words(segments, nseg);
  return rc;
}
