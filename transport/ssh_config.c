/*
 * ssh_config through OpenSSH itself: `ssh -G [-F FILE] -- HOST` prints every setting OpenSSH
 * would use for HOST, after Host and Match blocks, tokens and defaults. Asking it, rather than
 * reading ssh_config ourselves, gives the engineer's config exactly OpenSSH's semantics (first
 * value wins, patterns, Include, Match) at the price of one short-lived process per distinct host,
 * at plan time.
 *
 * Two parts: a pure parser of `ssh -G` output and of ProxyJump values (fuzzed), and a runner that
 * starts `ssh -G` for many hosts, a bounded number at once, each under a timeout, with uv_spawn
 * (no shell: a host name never reaches one) on a loop of its own.
 */
#include "transport/transport.h"

#include "common/common.h"

#include <ctype.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- the parser ---- */

/* `ssh -G` prints one "key value" line per setting; the longest we accept (algorithm lists are
 * a few hundred bytes) and the whole output (a few KiB). */
#define SSH_G_MAX_OUTPUT (1u << 20)

static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
  if (!isdigit((unsigned char)*s))
    return false;
  char *end;
  unsigned long v = strtoul(s, &end, 10);
  if (*end != '\0' || v > max)
    return false;
  *out = (unsigned)v;
  return true;
}

static void push(char ***items, size_t *n, const char *s, size_t len)
{
  *items = xrealloc(*items, (*n + 1) * sizeof **items);
  (*items)[(*n)++] = xstrndup(s, len);
}

/* Space-separated words: OpenSSH prints UserKnownHostsFile's files that way (unquoted: a file
 * name with a space cannot be told apart, and is read as two). */
static void push_words(char ***items, size_t *n, const char *v)
{
  while (*v) {
    while (*v == ' ')
      v++;
    size_t len = strcspn(v, " ");
    if (len)
      push(items, n, v, len);
    v += len;
  }
}

static void set_text(char **field, const char *v)
{
  if (*field == NULL) /* OpenSSH prints each once; the first wins, as in ssh_config */
    *field = xstrdup(v);
}

/* One row per setting issu-fleet uses; every other line of `ssh -G` is ignored. */
enum field_kind { F_TEXT, F_PORT, F_SECONDS, F_COUNT, F_LIST, F_WORDS };
struct field {
  const char *key;
  enum field_kind kind;
  size_t offset;       /* of the char * (F_TEXT), unsigned (numbers) or char ** (lists) */
  size_t count_offset; /* lists: of the size_t count */
};
#define TEXT(k, m)                                                                                 \
  {                                                                                                \
    k, F_TEXT, offsetof(struct transport_ssh_config, m), 0                                         \
  }
#define NUM(k, kind, m)                                                                            \
  {                                                                                                \
    k, kind, offsetof(struct transport_ssh_config, m), 0                                           \
  }
#define LIST(k, kind, m, c)                                                                        \
  {                                                                                                \
    k, kind, offsetof(struct transport_ssh_config, m), offsetof(struct transport_ssh_config, c)    \
  }
static const struct field fields[] = {
    TEXT("hostname", hostname),
    TEXT("user", user),
    NUM("port", F_PORT, port),
    LIST("identityfile", F_LIST, identity_files, identity_count),
    LIST("userknownhostsfile", F_WORDS, known_hosts_files, known_hosts_count),
    TEXT("proxyjump", proxy_jump),
    TEXT("proxycommand", proxy_command),
    TEXT("hostkeyalias", host_key_alias),
    TEXT("stricthostkeychecking", strict_host_key_checking),
    NUM("connecttimeout", F_SECONDS, connect_timeout_s),
    NUM("serveraliveinterval", F_SECONDS, server_alive_interval_s),
    NUM("serveralivecountmax", F_COUNT, server_alive_count_max),
};

static int parse_line(const char *line, size_t len, struct transport_ssh_config *c, char **error)
{
  const char *space = memchr(line, ' ', len); /* the line is not NUL-terminated */
  if (space == NULL)
    return 0; /* a key without a value: nothing we use */
  size_t klen = (size_t)(space - line);
  for (size_t i = 0; i < ARRAY_LEN(fields); i++) {
    const struct field *f = &fields[i];
    if (strlen(f->key) != klen || strncmp(f->key, line, klen) != 0)
      continue;
    char *v = xstrndup(line + klen + 1, len - klen - 1);
    char *base = (char *)c;
    int rc = 0;
    switch (f->kind) {
    case F_TEXT:
      if (strcmp(v, "none") != 0 || strcmp(f->key, "hostname") == 0)
        set_text((char **)(base + f->offset), v);
      break;
    case F_PORT:
      if (!parse_uint(v, 65535, (unsigned *)(base + f->offset)) ||
          *(unsigned *)(base + f->offset) == 0)
        rc = -1;
      break;
    case F_SECONDS: /* "none" (connecttimeout unset) and 0 mean OpenSSH's default */
      if (strcmp(v, "none") == 0)
        *(unsigned *)(base + f->offset) = 0;
      else if (!parse_uint(v, 86400 * 365, (unsigned *)(base + f->offset)))
        rc = -1;
      break;
    case F_COUNT:
      if (!parse_uint(v, 1000000, (unsigned *)(base + f->offset)))
        rc = -1;
      break;
    case F_LIST:
      push((char ***)(base + f->offset), (size_t *)(base + f->count_offset), v, strlen(v));
      break;
    case F_WORDS:
      push_words((char ***)(base + f->offset), (size_t *)(base + f->count_offset), v);
      break;
    }
    if (rc < 0)
      *error = xasprintf("ssh -G printed %s '%.64s', which is not a number in range", f->key, v);
    free(v);
    return rc;
  }
  return 0;
}

int transport_ssh_config_parse(const char *text, size_t len, struct transport_ssh_config *out,
                               char **error)
{
  memset(out, 0, sizeof *out);
  *error = NULL;
  if (len > SSH_G_MAX_OUTPUT) {
    *error =
        xasprintf("ssh -G printed %zu bytes, more than the %u expected", len, SSH_G_MAX_OUTPUT);
    return -1;
  }
  /* OpenSSH's own defaults, for the settings it does not print when unset. */
  out->port = 22;
  out->server_alive_count_max = 3;
  size_t pos = 0;
  while (pos < len) {
    const char *line = text + pos;
    const char *nl = memchr(line, '\n', len - pos);
    size_t llen = nl ? (size_t)(nl - line) : len - pos;
    pos += llen + (nl != NULL);
    if (memchr(line, '\0', llen) != NULL) {
      *error = xstrdup("ssh -G printed a NUL byte");
      break;
    }
    if (parse_line(line, llen, out, error) < 0)
      break;
  }
  if (*error == NULL && (out->hostname == NULL || out->hostname[0] == '\0'))
    *error = xstrdup("ssh -G printed no hostname");
  if (*error != NULL) {
    transport_ssh_config_free(out);
    return -1;
  }
  return 0;
}

void transport_ssh_config_free(struct transport_ssh_config *c)
{
  free(c->hostname);
  free(c->user);
  for (size_t i = 0; i < c->identity_count; i++)
    free(c->identity_files[i]);
  free(c->identity_files);
  for (size_t i = 0; i < c->known_hosts_count; i++)
    free(c->known_hosts_files[i]);
  free(c->known_hosts_files);
  free(c->proxy_jump);
  free(c->proxy_command);
  free(c->host_key_alias);
  free(c->strict_host_key_checking);
  memset(c, 0, sizeof *c);
}

bool transport_ssh_host_ok(const char *host)
{
  if (host == NULL || host[0] == '\0' || host[0] == '-' || strlen(host) > TRANSPORT_MAX_NAME)
    return false;
  /* A name or an IPv4 address; or an IPv6 address (an ansible_host may be one): hex digits,
   * ':' and '.', with at least two ':'. */
  const char *colon = strchr(host, ':');
  bool name = true, ipv6 = colon && strchr(colon + 1, ':');
  for (const char *p = host; *p; p++) {
    unsigned char c = (unsigned char)*p;
    name = name && (isalnum(c) || c == '.' || c == '_' || c == '-');
    ipv6 = ipv6 && (isxdigit(c) || c == ':' || c == '.');
  }
  return name || ipv6;
}

/* One entry of a ProxyJump value: [ssh://][user@]host[:port] (ssh(1) -J). */
static int parse_jump(const char *s, size_t len, struct transport_jump_spec *j, char **error)
{
  char *e = xstrndup(s, len), *p = e;
  if (strncmp(p, "ssh://", 6) == 0)
    p += 6;
  char *at = strrchr(p, '@');
  if (at) {
    *at = '\0';
    if (*p == '\0' || strlen(p) > TRANSPORT_MAX_NAME) {
      *error = xasprintf("ProxyJump entry '%.80s': empty or too long user", e);
      goto fail;
    }
    j->user = xstrdup(p);
    p = at + 1;
  }
  char *colon = strchr(p, ':');
  if (colon) {
    *colon = '\0';
    if (!parse_uint(colon + 1, 65535, &j->port) || j->port == 0) {
      *error = xasprintf("ProxyJump entry '%.80s': expected a port from 1 to 65535", e);
      goto fail;
    }
  }
  if (!transport_ssh_host_ok(p)) {
    *error = xasprintf("ProxyJump entry '%.80s': expected a host name of letters, digits, '.', "
                       "'_' and '-'",
                       e);
    goto fail;
  }
  j->host = xstrdup(p);
  free(e);
  return 0;
fail:
  free(e);
  free(j->user);
  j->user = NULL;
  return -1;
}

int transport_ssh_proxyjump_parse(const char *value, struct transport_jump_spec **out, size_t *n,
                                  char **error)
{
  *out = NULL;
  *n = 0;
  *error = NULL;
  if (value == NULL || strcmp(value, "none") == 0)
    return 0;
  size_t cap = 0;
  for (const char *p = value;;) {
    size_t len = strcspn(p, ",");
    if (len == 0) {
      *error = xasprintf("ProxyJump '%.120s': an empty entry", value);
      break;
    }
    if (*n >= TRANSPORT_MAX_HOPS) {
      *error = xasprintf("ProxyJump '%.120s': more than %d hops", value, TRANSPORT_MAX_HOPS);
      break;
    }
    *out = xgrow(*out, &cap, *n + 1, sizeof **out);
    memset(&(*out)[*n], 0, sizeof **out);
    if (parse_jump(p, len, &(*out)[*n], error) < 0)
      break;
    (*n)++;
    if (p[len] == '\0')
      return 0;
    p += len + 1;
  }
  transport_jump_specs_free(*out, *n);
  *out = NULL;
  *n = 0;
  return -1;
}

void transport_jump_specs_free(struct transport_jump_spec *j, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    free(j[i].host);
    free(j[i].user);
  }
  free(j);
}

/* What OpenSSH wrote on stderr, fit for a message: control bytes and non-ASCII become '?', lines
 * join with "; ", and its remark about a terminal (printed when stdin is not one) is dropped. */
char *transport_ssh_sanitise(const char *s, size_t len)
{
  size_t cap = len * 2 + 1, o = 0;
  char *out = xmalloc(cap);
  size_t pos = 0;
  while (pos < len) {
    const char *line = s + pos;
    const char *nl = memchr(line, '\n', len - pos);
    size_t llen = nl ? (size_t)(nl - line) : len - pos;
    pos += llen + (nl != NULL);
    while (llen && (line[llen - 1] == '\r' || line[llen - 1] == ' '))
      llen--;
    if (llen == 0 || (llen >= 15 && strncmp(line, "Pseudo-terminal", 15) == 0))
      continue;
    if (o) {
      memcpy(out + o, "; ", 2);
      o += 2;
    }
    for (size_t i = 0; i < llen; i++) {
      unsigned char ch = (unsigned char)line[i];
      out[o++] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
    }
  }
  out[o] = '\0';
  return out;
}

/* ---- the runner ---- */

/* What one `ssh -G` prints on stderr that we keep: OpenSSH's errors are a line or two. */
#define SSH_G_MAX_STDERR 4096
/* After the timeout's SIGKILL to ssh's process group: how long its pipes may stay open. */
#define SSH_G_KILL_GRACE_MS 500

struct job {
  struct transport_ssh_query *q;
  struct runner *r;
  uv_process_t proc;
  uv_pipe_t out, err;
  uv_timer_t timer;
  char *obuf, *ebuf;
  size_t olen, elen, ocap;
  unsigned pending; /* exit and the two EOFs we wait for */
  unsigned open;    /* handles not yet closed */
  bool exited, timed_out, too_long, out_eof, err_eof;
  int64_t status;
  int term_signal;
};

struct runner {
  uv_loop_t loop;
  struct job *jobs;
  size_t n, next, running;
  unsigned parallel, timeout_ms;
  const char *program;
};

static void start_next(struct runner *r);

static void on_closed(uv_handle_t *h)
{
  struct job *j = h->data;
  if (--j->open == 0) {
    j->r->running--;
    start_next(j->r);
  }
}

static void finish(struct job *j)
{
  struct transport_ssh_query *q = j->q;
  if (j->timed_out) {
    q->error = TRANSPORT_E_TIMEOUT;
    q->message = xasprintf("ssh -G %s did not answer within %u ms", q->host, j->r->timeout_ms);
  } else if (j->too_long) {
    q->error = TRANSPORT_E_PROTOCOL;
    q->message = xasprintf("ssh -G %s printed more than %u bytes", q->host, SSH_G_MAX_OUTPUT);
  } else if (!j->exited || j->status != 0 || j->term_signal != 0) {
    char *why = transport_ssh_sanitise(j->ebuf ? j->ebuf : "", j->elen);
    q->error = TRANSPORT_E_OPTIONS;
    if (j->term_signal)
      q->message = xasprintf("ssh -G %s: ended by signal %d%s%s", q->host, j->term_signal,
                             *why ? ": " : "", why);
    else
      q->message = xasprintf("ssh -G %s: exit status %lld%s%s", q->host, (long long)j->status,
                             *why ? ": " : "", why);
    free(why);
  } else {
    char *error;
    if (transport_ssh_config_parse(j->obuf ? j->obuf : "", j->olen, &q->config, &error) < 0) {
      q->error = TRANSPORT_E_PROTOCOL;
      q->message = xasprintf("ssh -G %s: %s", q->host, error);
      free(error);
    }
  }
  uv_timer_stop(&j->timer);
  free(j->obuf);
  free(j->ebuf);
  j->obuf = j->ebuf = NULL;
  uv_close((uv_handle_t *)&j->timer, on_closed);
  uv_close((uv_handle_t *)&j->out, on_closed);
  uv_close((uv_handle_t *)&j->err, on_closed);
  uv_close((uv_handle_t *)&j->proc, on_closed);
}

static void done_one(struct job *j)
{
  if (--j->pending == 0)
    finish(j);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int term_signal)
{
  struct job *j = p->data;
  j->exited = true;
  j->status = status;
  j->term_signal = term_signal;
  done_one(j); /* the timer runs on: a child of ssh (Match exec) may still hold the pipes */
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  (void)h;
  (void)suggested;
  static char scratch[65536]; /* one loop, one read at a time: copied out in on_read */
  *buf = uv_buf_init(scratch, sizeof scratch);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  struct job *j = s->data;
  bool is_out = s == (uv_stream_t *)&j->out;
  if (nread < 0) {
    uv_read_stop(s);
    *(is_out ? &j->out_eof : &j->err_eof) = true;
    done_one(j);
    return;
  }
  size_t n = (size_t)nread;
  if (is_out) {
    if (j->olen + n > SSH_G_MAX_OUTPUT) {
      j->too_long = true;
      return; /* kept reading to the end, so ssh is not blocked on a full pipe */
    }
    if (j->olen + n + 1 > j->ocap) {
      j->ocap = (j->olen + n + 1) * 2;
      j->obuf = xrealloc(j->obuf, j->ocap);
    }
    memcpy(j->obuf + j->olen, buf->base, n);
    j->olen += n;
    j->obuf[j->olen] = '\0';
  } else {
    if (j->ebuf == NULL)
      j->ebuf = xcalloc(1, SSH_G_MAX_STDERR + 1);
    size_t room = SSH_G_MAX_STDERR - j->elen;
    if (n > room)
      n = room;
    memcpy(j->ebuf + j->elen, buf->base, n);
    j->elen += n;
  }
}

static void on_timeout(uv_timer_t *t)
{
  struct job *j = t->data;
  if (!j->timed_out) {
    /* ssh runs in a process group of its own: what it started (Match exec, a wrapper that does
     * not exec) dies with it, and the pipes they hold close. Whatever escaped the group gets a
     * short grace, then is no longer waited for. */
    j->timed_out = true;
    if (j->proc.pid > 0)
      kill(-j->proc.pid, SIGKILL);
    uv_timer_start(&j->timer, on_timeout, SSH_G_KILL_GRACE_MS, 0);
    return;
  }
  if (!j->exited) {
    uv_process_kill(&j->proc, SIGKILL); /* its exit is still awaited: it cannot outlive this */
    return;
  }
  /* ssh ended but something it started still holds a pipe: stop waiting for it. */
  uv_stream_t *streams[2] = {(uv_stream_t *)&j->out, (uv_stream_t *)&j->err};
  bool *eof[2] = {&j->out_eof, &j->err_eof};
  for (int i = 0; i < 2; i++)
    if (!*eof[i]) {
      uv_read_stop(streams[i]);
      *eof[i] = true;
      done_one(j);
      if (j->pending == 0)
        return; /* finished: the handles are closing */
    }
}

static void start_one(struct runner *r, struct job *j)
{
  struct transport_ssh_query *q = j->q;
  j->r = r;
  if (!transport_ssh_host_ok(q->host)) {
    q->error = TRANSPORT_E_OPTIONS;
    q->message = xasprintf("'%.80s' is not a host name OpenSSH can be asked about (letters, "
                           "digits, '.', '_' and '-')",
                           q->host ? q->host : "");
    return;
  }
  /* argv only: no shell, and "--" so that nothing in a host name is read as an option. */
  char *args[8];
  int a = 0;
  args[a++] = xstrdup(r->program);
  args[a++] = xstrdup("-G");
  if (q->config_file) {
    args[a++] = xstrdup("-F");
    args[a++] = xstrdup(q->config_file);
  }
  args[a++] = xstrdup("--");
  args[a++] = xstrdup(q->host);
  args[a] = NULL;
  uv_pipe_init(&r->loop, &j->out, 0);
  uv_pipe_init(&r->loop, &j->err, 0);
  uv_timer_init(&r->loop, &j->timer);
  j->out.data = j->err.data = j->timer.data = j->proc.data = j;
  uv_stdio_container_t stdio[3] = {
      {.flags = UV_IGNORE},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&j->out},
      {.flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE, .data.stream = (uv_stream_t *)&j->err},
  };
  /* Detached: its own process group (setsid), so the timeout can end everything ssh started. */
  uv_process_options_t po = {.exit_cb = on_exit_cb,
                             .file = args[0],
                             .args = args,
                             .flags = UV_PROCESS_DETACHED,
                             .stdio_count = 3,
                             .stdio = stdio};
  j->open = 4;
  r->running++;
  int rc = uv_spawn(&r->loop, &j->proc, &po);
  for (int i = 0; i < a; i++)
    free(args[i]);
  if (rc < 0) {
    q->error = TRANSPORT_E_SPAWN;
    q->message = xasprintf("cannot run %s -G %s: %s", r->program, q->host, uv_strerror(rc));
    /* libuv initialises the handle even when the spawn fails: it is closed like the others. */
    uv_close((uv_handle_t *)&j->timer, on_closed);
    uv_close((uv_handle_t *)&j->out, on_closed);
    uv_close((uv_handle_t *)&j->err, on_closed);
    uv_close((uv_handle_t *)&j->proc, on_closed);
    return;
  }
  j->pending = 3;
  uv_read_start((uv_stream_t *)&j->out, on_alloc, on_read);
  uv_read_start((uv_stream_t *)&j->err, on_alloc, on_read);
  uv_timer_start(&j->timer, on_timeout, r->timeout_ms, 0);
}

static void start_next(struct runner *r)
{
  while (r->running < r->parallel && r->next < r->n)
    start_one(r, &r->jobs[r->next++]);
}

int transport_ssh_config_run(struct transport_ssh_query *q, size_t n, unsigned parallel,
                             unsigned timeout_ms)
{
  struct runner r = {.n = n,
                     .parallel = parallel ? parallel : 8,
                     .timeout_ms = timeout_ms ? timeout_ms : 10000,
                     .program = getenv("ISSU_SSH") ? getenv("ISSU_SSH") : "ssh"};
  for (size_t i = 0; i < n; i++) {
    memset(&q[i].config, 0, sizeof q[i].config);
    q[i].error = 0;
    q[i].message = NULL;
  }
  if (n == 0)
    return 0;
  int rc = uv_loop_init(&r.loop);
  if (rc < 0)
    return rc;
  r.jobs = xcalloc(n, sizeof *r.jobs);
  for (size_t i = 0; i < n; i++)
    r.jobs[i].q = &q[i];
  start_next(&r);
  uv_run(&r.loop, UV_RUN_DEFAULT);
  uv_loop_close(&r.loop);
  free(r.jobs);
  size_t failed = 0;
  for (size_t i = 0; i < n; i++)
    failed += q[i].error != 0;
  return failed ? -1 : 0;
}

void transport_ssh_query_free(struct transport_ssh_query *q, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    transport_ssh_config_free(&q[i].config);
    free(q[i].message);
    q[i].message = NULL;
  }
}

bool transport_ssh_available(void)
{
  const char *program = getenv("ISSU_SSH") ? getenv("ISSU_SSH") : "ssh";
  if (strchr(program, '/'))
    return access(program, X_OK) == 0;
  const char *path = getenv("PATH");
  if (path == NULL)
    return false;
  for (const char *p = path;;) {
    size_t len = strcspn(p, ":");
    char *full = xasprintf("%.*s/%s", (int)len, len ? p : ".", program);
    bool ok = access(full, X_OK) == 0;
    free(full);
    if (ok)
      return true;
    if (p[len] == '\0')
      return false;
    p += len + 1;
  }
}
