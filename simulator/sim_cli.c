/*
 * One command line in, Junos's answer out: tokenising (double quotes group words), pipes
 * (| match, | except, | count, | no-more, | display set), the command table with Junos-style
 * abbreviation (each word may be cut short while it stays unambiguous), and the dispatch that
 * locks the router, brings it to the present, runs the command and saves.
 */
#include "simulator/sim.h"

#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 32

struct command {
  const char *words[6];
  int (*run)(struct sim_ctx *c);
  bool raw; /* speaks a protocol, not text: no timestamp line, no pipes */
};

static const struct command commands[] = {
    {{"show", "version"}, sim_show_version, false},
    {{"show", "chassis", "routing-engine"}, sim_show_chassis_re, false},
    {{"show", "chassis", "in-service-upgrade"}, sim_show_issu, false},
    {{"show", "chassis", "alarms"}, sim_show_alarms, false},
    {{"show", "system", "switchover"}, sim_show_switchover, false},
    {{"show", "system", "storage"}, sim_show_storage, false},
    {{"show", "task", "replication"}, sim_show_task_replication, false},
    {{"show", "configuration"}, sim_show_configuration, false},
    {{"file", "list"}, sim_file_list, false},
    {{"file", "checksum"}, sim_file_checksum, false},
    {{"request", "chassis", "routing-engine", "master", "switch"}, sim_request_switch, false},
    {{"request", "system", "reboot"}, sim_request_reboot, false},
    {{"request", "system", "software", "validate", "in-service-upgrade"},
     sim_request_validate,
     false},
    {{"request", "system", "software", "in-service-upgrade"}, sim_request_issu, false},
    {{"scp"}, sim_scp_sink, true},
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

int sim_run_command(const char *state_path, const char *command, FILE *in, FILE *out)
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
  if (cmd == NULL) {
    fprintf(out, "error: syntax error: %s\n", *bad ? bad : command);
    goto out;
  }
  for (size_t i = 1; i < nseg; i++)
    if (cmd->raw || add_pipe(&o, segments[i], out) < 0) {
      if (cmd->raw)
        fprintf(out, "error: syntax error: |\n");
      goto out;
    }

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
  if (r.cli_timestamp && !cmd->raw) {
    char stamp[32];
    sim_clock_text(c.now, stamp, sizeof stamp);
    fprintf(out, "%s\n", stamp);
  }
  rc = cmd->run(&c);
  if (o.count)
    fprintf(out, "Count: %zu lines\n", o.lines);
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
