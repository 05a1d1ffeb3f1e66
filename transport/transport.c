/*
 * The transport object every back end shares: options, the queue of operations (one runs at a
 * time), the per-operation deadline, bounded line splitting, the handshake limiter, error
 * names and reconnect backoff.
 */
#include "transport/transport_internal.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const struct {
  int code;
  const char *name;
} error_names[] = {
    {TRANSPORT_OK, "ok"},
    {TRANSPORT_E_RESOLVE, "resolve-failed"},
    {TRANSPORT_E_CONNECT, "connect-failed"},
    {TRANSPORT_E_TIMEOUT, "timeout"},
    {TRANSPORT_E_HOSTKEY_UNKNOWN, "hostkey-unknown"},
    {TRANSPORT_E_HOSTKEY_CHANGED, "hostkey-changed"},
    {TRANSPORT_E_HOSTKEY, "hostkey-check-failed"},
    {TRANSPORT_E_AUTH, "auth-failed"},
    {TRANSPORT_E_KEY, "key-unusable"},
    {TRANSPORT_E_PROTOCOL, "ssh-protocol"},
    {TRANSPORT_E_DROPPED, "session-dropped"},
    {TRANSPORT_E_DEAD_PEER, "peer-silent"},
    {TRANSPORT_E_CLOSED, "closed"},
    {TRANSPORT_E_SPAWN, "spawn-failed"},
    {TRANSPORT_E_FILE, "local-file"},
    {TRANSPORT_E_REMOTE, "upload-refused"},
    {TRANSPORT_E_BUSY, "busy"},
    {TRANSPORT_E_OPTIONS, "bad-options"},
    {TRANSPORT_E_JUMP_REFUSED, "jump-refused"},
};

const char *transport_error_name(int error)
{
  for (size_t i = 0; i < ARRAY_LEN(error_names); i++)
    if (error_names[i].code == error)
      return error_names[i].name;
  return "unknown";
}

const char *transport_name(const struct transport *t)
{
  return t->o.name;
}

/* The options' strings are copied; the copies are kept here to be freed. */
static const char *own(struct transport *t, const char *s)
{
  if (s == NULL)
    return NULL;
  char *copy = xstrdup(s);
  t->owned[t->nowned++] = copy;
  return copy;
}

/* The jump chain is copied too, hops and strings, into one block freed with the transport. */
static void copy_jump(struct transport *t, const struct transport_options *o)
{
  t->o.jump = NULL;
  t->o.jump_count = o->jump ? o->jump_count : 0;
  if (t->o.jump_count == 0)
    return;
  struct transport_hop *hops = xcalloc(o->jump_count, sizeof *hops);
  t->jump_copy = hops;
  for (size_t i = 0; i < o->jump_count; i++) {
    hops[i] = o->jump[i];
    const char **fields[] = {&hops[i].host, &hops[i].user, &hops[i].key_file, &hops[i].known_hosts,
                             &hops[i].key_host};
    for (size_t f = 0; f < ARRAY_LEN(fields); f++)
      if (*fields[f] != NULL) {
        char *copy = xstrdup(*fields[f]);
        t->jump_strings = xrealloc(t->jump_strings, (t->njump_strings + 1) * sizeof(char *));
        t->jump_strings[t->njump_strings++] = copy;
        *fields[f] = copy;
      }
  }
  t->o.jump = hops;
}

/* A list of paths (IdentityFile, UserKnownHostsFile) is copied whole, pointers and strings, so a
 * caller's list may go away once transport_new returns. */
static const char *const *copy_list(struct transport *t, const char *const *list, size_t n)
{
  if (list == NULL || n == 0)
    return NULL;
  char **copy = xcalloc(n, sizeof *copy);
  for (size_t i = 0; i < n; i++)
    copy[i] = list[i] ? xstrdup(list[i]) : NULL;
  t->lists = xrealloc(t->lists, (t->nlists + 1) * sizeof *t->lists);
  t->lists[t->nlists] = copy;
  t->list_lens = xrealloc(t->list_lens, (t->nlists + 1) * sizeof *t->list_lens);
  t->list_lens[t->nlists++] = n;
  return (const char *const *)copy;
}

int transport_new(uv_loop_t *loop, const struct transport_options *o, struct transport **out)
{
  struct transport *t = xcalloc(1, sizeof *t);
  t->loop = loop;
  t->o = *o;
  t->o.name = own(t, o->name ? o->name : (o->host ? o->host : "router"));
  t->o.host = own(t, o->host);
  t->o.user = own(t, o->user);
  t->o.key_file = own(t, o->key_file);
  t->o.password_env = own(t, o->password_env);
  t->o.known_hosts = own(t, o->known_hosts);
  t->o.local_command = own(t, o->local_command);
  t->o.key_host = own(t, o->key_host);
  t->o.inventory_file = own(t, o->inventory_file);
  t->o.strict_host_key_checking = own(t, o->strict_host_key_checking);
  copy_jump(t, o);
  t->o.key_files = copy_list(t, o->key_files, o->key_file_count);
  t->o.key_file_count = t->o.key_files ? o->key_file_count : 0;
  t->o.known_hosts_files = copy_list(t, o->known_hosts_files, o->known_hosts_file_count);
  t->o.known_hosts_file_count = t->o.known_hosts_files ? o->known_hosts_file_count : 0;
  if (!t->o.port)
    t->o.port = 22;
  if (!t->o.connect_timeout_ms)
    t->o.connect_timeout_ms = 30000;
  if (!t->o.keepalive_s)
    t->o.keepalive_s = 10;
  if (!t->o.keepalive_count)
    t->o.keepalive_count = 3;
  if (!t->o.max_line)
    t->o.max_line = TRANSPORT_DEFAULT_LINE;
  if (!t->o.max_output)
    t->o.max_output = 8u << 20;
  t->ops = o->kind == TRANSPORT_LOCAL ? &transport__local_ops : &transport__ssh_ops;
  uv_timer_init(loop, &t->op_timer);
  t->op_timer.data = t;
  *out = t;
  return 0;
}

char *transport__vformat(const char *fmt, va_list ap)
{
  va_list copy;
  va_copy(copy, ap);
  int n = vsnprintf(NULL, 0, fmt, copy);
  va_end(copy);
  if (n < 0)
    return xstrdup("(a message that cannot be formatted)");
  char *p = xmalloc((size_t)n + 1);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  return p;
}

/* Messages name these options whole, a few at a time, in TRANSPORT_MESSAGE_MAX bytes: longer
 * ones are refused here rather than cut later. */
static const char *too_long(const struct transport_options *o)
{
  static const struct {
    size_t offset;
    size_t max;
    const char *what;
  } bounds[] = {
      {offsetof(struct transport_options, name), TRANSPORT_MAX_NAME, "the router's name"},
      {offsetof(struct transport_options, host), TRANSPORT_MAX_NAME, "the host"},
      {offsetof(struct transport_options, key_host), TRANSPORT_MAX_NAME, "the host-key name"},
      {offsetof(struct transport_options, user), TRANSPORT_MAX_NAME, "the user"},
      {offsetof(struct transport_options, strict_host_key_checking), TRANSPORT_MAX_NAME,
       "StrictHostKeyChecking"},
      {offsetof(struct transport_options, password_env), TRANSPORT_MAX_NAME,
       "the password variable's name"},
      {offsetof(struct transport_options, key_file), TRANSPORT_MAX_PATH, "the key file's path"},
      {offsetof(struct transport_options, known_hosts), TRANSPORT_MAX_PATH, "the known_hosts path"},
      {offsetof(struct transport_options, inventory_file), TRANSPORT_MAX_PATH,
       "the inventory's path"},
  };
  for (size_t i = 0; i < ARRAY_LEN(bounds); i++) {
    const char *v = *(const char *const *)(const void *)((const char *)o + bounds[i].offset);
    if (v != NULL && strlen(v) > bounds[i].max)
      return bounds[i].what;
  }
  for (size_t i = 0; i < o->jump_count; i++) {
    const struct transport_hop *h = &o->jump[i];
    if ((h->host && strlen(h->host) > TRANSPORT_MAX_NAME) ||
        (h->user && strlen(h->user) > TRANSPORT_MAX_NAME) ||
        (h->key_host && strlen(h->key_host) > TRANSPORT_MAX_NAME))
      return "a jump host's name or user";
    if ((h->key_file && strlen(h->key_file) > TRANSPORT_MAX_PATH) ||
        (h->known_hosts && strlen(h->known_hosts) > TRANSPORT_MAX_PATH))
      return "a jump host's key or known_hosts path";
  }
  /* Every path of a list may be named in one refusal: the lists are bounded as a whole. */
  const struct {
    const char *const *list;
    size_t n;
    const char *what;
  } lists[] = {
      {o->key_files, o->key_file_count, "the IdentityFile list"},
      {o->known_hosts_files, o->known_hosts_file_count, "the UserKnownHostsFile list"},
  };
  for (size_t i = 0; i < ARRAY_LEN(lists); i++) {
    size_t total = 0;
    for (size_t j = 0; lists[i].list && j < lists[i].n; j++)
      total += lists[i].list[j] ? strlen(lists[i].list[j]) + 1 : 0;
    if (total > TRANSPORT_MAX_PATH_LIST)
      return lists[i].what;
  }
  return NULL;
}

int transport_open(struct transport *t, transport_open_cb cb, void *data)
{
  if (t->state != T_NEW)
    return TRANSPORT_E_BUSY;
  t->state = T_OPENING;
  t->open_cb = cb;
  t->open_data = data;
  const char *bad = too_long(&t->o);
  if (bad != NULL) {
    /* The name itself may be the long one: a message names the router by its first bytes. */
    transport__opened(t, TRANSPORT_E_OPTIONS,
                      "%.64s%s: %s is longer than issu-fleet accepts (%u bytes for names, %u for "
                      "paths)",
                      t->o.name, strlen(t->o.name) > 64 ? "..." : "", bad, TRANSPORT_MAX_NAME,
                      TRANSPORT_MAX_PATH);
    return 0;
  }
  t->ops->open(t);
  return 0;
}

/* Into a result's message: every message fits by construction (the options' bounds). */
static void vformat(char *buf, size_t len, const char *fmt, va_list ap)
{
  vsnprintf(buf, len, fmt, ap);
}

static void start_next(struct transport *t);

void transport__opened(struct transport *t, int error, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *msg = transport__vformat(fmt, ap);
  va_end(ap);
  if (error != 0) {
    t->state = T_FAILED;
    t->failure = error;
    free(t->failure_message);
    t->failure_message = xstrdup(msg);
  } else
    t->state = T_READY;
  /* The callback may close the transport (freeing t once its handles are closed, never at
   * once): t is still valid below. */
  if (t->open_cb)
    t->open_cb(t, error, msg, t->open_data);
  if (error != 0)
    transport__fail(t, error, "%s", msg);
  else
    start_next(t);
  free(msg);
}

/* ---- operations ---- */

static void free_op(struct transport_op *op)
{
  free(op->command);
  free(op->input);
  free(op->local_path);
  free(op->remote_path);
  free(op->lines[0].buf);
  free(op->lines[1].buf);
  free(op);
}

static void arm_timer(struct transport *t);

/* The earliest deadline passed: each running operation past its own is ended by its back end
 * (one at a time: ending one may end the others, the session with it). */
static void on_op_timeout(uv_timer_t *timer)
{
  struct transport *t = timer->data;
  uint64_t now = uv_now(t->loop);
  for (;;) {
    struct transport_op *late = NULL;
    for (struct transport_op *op = t->running; op && late == NULL; op = op->next)
      if (!op->timed_out && op->deadline_ms && op->deadline_ms <= now)
        late = op;
    if (late == NULL || t->state == T_CLOSING)
      break;
    late->timed_out = true;
    t->ops->timeout(t, late);
  }
  arm_timer(t);
}

/* One timer per transport, at the earliest deadline of the operations running. */
static void arm_timer(struct transport *t)
{
  uint64_t first = 0;
  for (struct transport_op *op = t->running; op; op = op->next)
    if (!op->timed_out && op->deadline_ms && (first == 0 || op->deadline_ms < first))
      first = op->deadline_ms;
  if (first == 0 || t->op_timer_closed) {
    uv_timer_stop(&t->op_timer);
    return;
  }
  uint64_t now = uv_now(t->loop);
  uv_timer_start(&t->op_timer, on_op_timeout, first > now ? first - now : 0, 0);
}

/* ---- the send gate ---- */

static void hold(struct transport *t)
{
  struct transport_limiter *l = t->o.limiter;
  t->held = true;
  t->next_held = NULL;
  if (l->held_tail)
    ((struct transport *)l->held_tail)->next_held = t;
  else
    l->held_head = t;
  l->held_tail = t;
}

static void unhold(struct transport *t)
{
  struct transport_limiter *l = t->o.limiter;
  if (!t->held)
    return;
  struct transport *prev = NULL;
  for (struct transport *w = l->held_head; w; prev = w, w = w->next_held)
    if (w == t) {
      if (prev)
        prev->next_held = w->next_held;
      else
        l->held_head = w->next_held;
      if (l->held_tail == w)
        l->held_tail = prev;
      break;
    }
  t->held = false;
}

void transport_release_held(struct transport_limiter *l)
{
  /* Only those held now: an operation that a started one's callback queues and the gate holds
   * again goes to the back, for the next release. */
  size_t n = 0;
  for (struct transport *w = l->held_head; w; w = w->next_held)
    n++;
  while (n-- > 0 && l->held_head != NULL) {
    struct transport *t = l->held_head;
    unhold(t);
    start_next(t);
  }
}

/* How many execs may run at once now. */
unsigned transport_channels(const struct transport *t)
{
  unsigned n = t->max_channels ? t->max_channels : 1;
  return t->channel_cap && t->channel_cap < n ? t->channel_cap : n;
}

void transport_set_channels(struct transport *t, unsigned n)
{
  t->max_channels = n ? n : 1;
  start_next(t);
}

/* Whether `op` may start beside the ones running: execs only, up to the channel limit. */
static bool room_for(const struct transport *t, const struct transport_op *op)
{
  if (t->nrunning == 0)
    return true;
  if (op->kind != OP_EXEC || t->running->kind != OP_EXEC)
    return false;
  return t->nrunning < transport_channels(t);
}

bool transport_can_exec_now(const struct transport *t)
{
  if (t->state != T_READY && t->state != T_BUSY)
    return false;
  if (t->head != NULL || t->held)
    return false;
  struct transport_op probe = {.kind = OP_EXEC};
  return room_for(t, &probe);
}

static void start_next(struct transport *t)
{
  while ((t->state == T_READY || t->state == T_BUSY) && t->head != NULL && !t->held &&
         room_for(t, t->head)) {
    struct transport_limiter *l = t->o.limiter;
    if (l != NULL && l->hold != NULL && l->hold(l->hold_data, &t->gate_ticket)) {
      hold(t);
      return;
    }
    t->gate_ticket = 0; /* the next operation asks afresh */
    struct transport_op *op = t->head;
    t->head = op->next;
    if (t->head == NULL)
      t->tail = NULL;
    /* Appended: the running list stays in start order. */
    op->next = NULL;
    struct transport_op **end = &t->running;
    while (*end)
      end = &(*end)->next;
    *end = op;
    t->nrunning++;
    t->state = T_BUSY;
    op->deadline_ms = op->timeout_ms ? uv_now(t->loop) + op->timeout_ms : 0;
    arm_timer(t);
    t->ops->start(t, op); /* may end it at once, or fail the transport */
  }
}

/* Takes a running operation out of the running list. */
static void unlink_running(struct transport *t, struct transport_op *op)
{
  for (struct transport_op **p = &t->running; *p; p = &(*p)->next)
    if (*p == op) {
      *p = op->next;
      op->next = NULL;
      t->nrunning--;
      return;
    }
}

void transport__kick(struct transport *t)
{
  start_next(t);
}

void transport__channel_refused(struct transport *t, struct transport_op *op, unsigned cap)
{
  unlink_running(t, op);
  op->lane = NULL;
  op->timed_out = false;
  t->channel_cap = cap ? cap : 1;
  op->next = t->head; /* first again: it runs when another ends */
  t->head = op;
  if (t->tail == NULL)
    t->tail = op;
  if (t->nrunning == 0 && t->state == T_BUSY)
    t->state = T_READY;
  arm_timer(t);
}

static int enqueue(struct transport *t, struct transport_op *op)
{
  if (t->state == T_CLOSING) {
    free_op(op);
    return TRANSPORT_E_CLOSED;
  }
  if (t->tail)
    t->tail->next = op;
  else
    t->head = op;
  t->tail = op;
  if (t->state == T_FAILED)
    transport__fail(t, t->failure, "%s", t->failure_message ? t->failure_message : "failed");
  else
    start_next(t);
  return 0;
}

static struct transport_op *op_new(enum op_kind kind, unsigned timeout_ms,
                                   transport_done_cb on_done, void *data)
{
  struct transport_op *op = xcalloc(1, sizeof *op);
  op->kind = kind;
  op->timeout_ms = timeout_ms;
  op->on_done = on_done;
  op->data = data;
  return op;
}

int transport_exec(struct transport *t, const char *command, const char *input, unsigned timeout_ms,
                   transport_line_cb on_line, transport_done_cb on_done, void *data)
{
  struct transport_op *op = op_new(OP_EXEC, timeout_ms, on_done, data);
  op->command = xstrdup(command);
  if (input) {
    op->input = xstrdup(input);
    op->input_len = strlen(input);
  }
  op->on_line = on_line;
  return enqueue(t, op);
}

int transport_upload(struct transport *t, const char *local_path, const char *remote_path,
                     unsigned timeout_ms, transport_progress_cb on_progress,
                     transport_done_cb on_done, void *data)
{
  if (strlen(local_path) > TRANSPORT_MAX_PATH || strlen(remote_path) > TRANSPORT_MAX_PATH)
    return TRANSPORT_E_OPTIONS; /* an error would have to name them: refused whole, at once */
  struct transport_op *op = op_new(OP_UPLOAD, timeout_ms, on_done, data);
  op->local_path = xstrdup(local_path);
  op->remote_path = xstrdup(remote_path);
  op->on_progress = on_progress;
  return enqueue(t, op);
}

#define LINE_BUF_MIN 128

/* Bounded line splitting: a line longer than max_line is delivered cut (flagged) and the rest
 * of it dropped; output past max_output is counted but not delivered. The buffer is scanned a
 * line at a time (memchr, memcpy), not a byte at a time: every byte a router prints passes here. */
static void emit(struct transport *t, struct transport_op *op, enum transport_stream s,
                 const char *buf, size_t len)
{
  struct line_buf *lb = &op->lines[s];
  size_t max = t->o.max_line;
  const char *p = buf, *end = buf + len;
  while (p < end) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    size_t seg = (size_t)((nl ? nl : end) - p);
    if (!lb->skipping) {
      /* Grown to what the lines need, not max_line at once: thousands of routers in flight
       * each have a buffer per stream, and most lines are short. Room for the terminator. */
      size_t need = lb->len + (seg < max - lb->len ? seg : max - lb->len) + 1;
      if (need > lb->cap) {
        size_t cap = lb->cap ? lb->cap : LINE_BUF_MIN;
        while (cap < need)
          cap *= 2;
        lb->cap = cap < max + 1 ? cap : max + 1;
        lb->buf = xrealloc(lb->buf, lb->cap);
      }
    }
    if (!lb->skipping && seg > 0) {
      size_t room = max - lb->len;
      memcpy(lb->buf + lb->len, p, seg < room ? seg : room);
      if (seg < room)
        lb->len += seg;
      else { /* the line reached max_line: delivered cut, the rest of it dropped */
        lb->buf[max] = '\0';
        if (op->on_line)
          op->on_line(t, s, lb->buf, max, true, op->data);
        lb->len = 0;
        lb->skipping = true;
      }
    }
    if (nl == NULL)
      break;
    if (!lb->skipping) {
      size_t n = lb->len;
      if (n > 0 && lb->buf[n - 1] == '\r')
        n--;
      lb->buf[n] = '\0';
      if (op->on_line)
        op->on_line(t, s, lb->buf, n, false, op->data);
    }
    lb->len = 0;
    lb->skipping = false;
    p = nl + 1;
  }
}

void transport__output(struct transport *t, struct transport_op *op, enum transport_stream s,
                       const char *buf, size_t len)
{
  if (op == NULL)
    return;
  op->result.bytes += len;
  if (op->result.bytes > t->o.max_output) {
    size_t room = op->result.bytes - len < t->o.max_output
                      ? t->o.max_output - (size_t)(op->result.bytes - len)
                      : 0;
    op->result.truncated = true;
    len = room;
  }
  if (len > 0)
    emit(t, op, s, buf, len);
}

/* Delivers a last line that had no newline, then the result. */
static void finish(struct transport *t, struct transport_op *op, struct transport_result *r)
{
  r->exit_status = op->result.exit_status;
  r->signaled = op->result.signaled;
  memcpy(r->signal_name, op->result.signal_name, sizeof r->signal_name);
  r->bytes = op->result.bytes;
  r->truncated = op->result.truncated;
  for (int s = 0; s < 2; s++) {
    struct line_buf *lb = &op->lines[s];
    if (lb->len > 0 && !lb->skipping && op->on_line) {
      lb->buf[lb->len] = '\0';
      op->on_line(t, (enum transport_stream)s, lb->buf, lb->len, false, op->data);
    }
  }
  if (op->on_done)
    op->on_done(t, r, op->data);
  free_op(op);
}

void transport__op_done(struct transport *t, struct transport_op *op, int error, const char *fmt,
                        ...)
{
  if (op == NULL)
    return;
  unlink_running(t, op);
  op->lane = NULL;
  arm_timer(t);
  struct transport_result r = {.error = error};
  va_list ap;
  va_start(ap, fmt);
  vformat(r.message, sizeof r.message, fmt, ap);
  va_end(ap);
  if (t->state == T_BUSY && t->nrunning == 0)
    t->state = T_READY;
  finish(t, op, &r);
  start_next(t);
}

void transport__fail(struct transport *t, int error, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  char *msg = transport__vformat(fmt, ap);
  va_end(ap);
  if (t->state != T_CLOSING) {
    t->state = T_FAILED;
    t->failure = error;
    free(t->failure_message);
    t->failure_message = xstrdup(msg);
  }
  uv_timer_stop(&t->op_timer);
  /* The running ones first (in start order), then the queued: each ends once, with `error`. A
   * callback may queue more (failed at once by enqueue, or refused when closing). */
  while (t->running != NULL || t->head != NULL) {
    struct transport_op *op = t->running;
    if (op != NULL) {
      unlink_running(t, op);
      if (op->lane != NULL && t->ops->detach)
        t->ops->detach(t, op);
      op->lane = NULL;
    } else {
      op = t->head;
      t->head = op->next;
      if (t->head == NULL)
        t->tail = NULL;
    }
    struct transport_result r = {.error = error};
    snprintf(r.message, sizeof r.message, "%s", msg);
    finish(t, op, &r);
  }
  free(msg);
}

/* ---- close ---- */

static void on_timer_closed(uv_handle_t *h)
{
  struct transport *t = h->data;
  t->op_timer_closed = true;
  transport_close_cb cb = t->close_cb;
  void *data = t->close_data;
  for (size_t i = 0; i < t->nowned; i++)
    free(t->owned[i]);
  for (size_t i = 0; i < t->njump_strings; i++)
    free(t->jump_strings[i]);
  free(t->jump_strings);
  free(t->jump_copy);
  for (size_t i = 0; i < t->nlists; i++) {
    for (size_t j = 0; j < t->list_lens[i]; j++)
      free(t->lists[i][j]);
    free(t->lists[i]);
  }
  free(t->lists);
  free(t->list_lens);
  free(t->failure_message);
  free(t->host_key.base64);
  free(t->host_key.blob);
  free(t);
  if (cb)
    cb(NULL, data);
}

void transport__closed(struct transport *t)
{
  uv_close((uv_handle_t *)&t->op_timer, on_timer_closed);
}

void transport_close(struct transport *t, transport_close_cb cb, void *data)
{
  if (t->state == T_CLOSING)
    return;
  t->close_cb = cb;
  t->close_data = data;
  transport__fail(t, TRANSPORT_E_CLOSED, "%s: the transport was closed", t->o.name);
  if (t->open_cb && t->state == T_OPENING) {
    transport_open_cb ocb = t->open_cb;
    t->open_cb = NULL;
    ocb(t, TRANSPORT_E_CLOSED, "closed while connecting", t->open_data);
  }
  t->state = T_CLOSING;
  unhold(t);
  t->ops->close(t);
}

/* ---- handshake limiter ---- */

void transport__slot_acquire(struct transport *t, void (*go)(struct transport *t))
{
  struct transport_limiter *l = t->o.limiter;
  if (l == NULL || l->max_handshakes == 0 || l->active < l->max_handshakes) {
    if (l != NULL && l->max_handshakes)
      l->active++;
    t->holds_slot = l != NULL && l->max_handshakes;
    go(t);
    return;
  }
  t->slot_go = go;
  t->waiting_slot = true;
  t->next_waiting = NULL;
  if (l->waiting_tail)
    ((struct transport *)l->waiting_tail)->next_waiting = t;
  else
    l->waiting_head = t;
  l->waiting_tail = t;
}

void transport__slot_release(struct transport *t)
{
  struct transport_limiter *l = t->o.limiter;
  if (l == NULL || l->max_handshakes == 0)
    return;
  if (t->waiting_slot) {
    /* Leaving the queue without ever holding a slot. */
    struct transport *prev = NULL;
    for (struct transport *w = l->waiting_head; w; prev = w, w = w->next_waiting)
      if (w == t) {
        if (prev)
          prev->next_waiting = w->next_waiting;
        else
          l->waiting_head = w->next_waiting;
        if (l->waiting_tail == w)
          l->waiting_tail = prev;
        break;
      }
    t->waiting_slot = false;
    return;
  }
  if (!t->holds_slot)
    return;
  t->holds_slot = false;
  if (l->active > 0)
    l->active--;
  struct transport *next = l->waiting_head;
  if (next != NULL) {
    l->waiting_head = next->next_waiting;
    if (l->waiting_head == NULL)
      l->waiting_tail = NULL;
    next->waiting_slot = false;
    next->holds_slot = true;
    l->active++;
    next->slot_go(next);
  }
}

/* ---- helpers ---- */

void transport__base64(const unsigned char *in, size_t len, char *out, size_t outlen)
{
  static const char table[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < len && o + 4 < outlen; i += 3) {
    unsigned v = (unsigned)in[i] << 16;
    if (i + 1 < len)
      v |= (unsigned)in[i + 1] << 8;
    if (i + 2 < len)
      v |= in[i + 2];
    out[o++] = table[(v >> 18) & 63];
    out[o++] = table[(v >> 12) & 63];
    if (i + 1 < len)
      out[o++] = table[(v >> 6) & 63];
    if (i + 2 < len)
      out[o++] = table[v & 63];
  }
  out[o] = '\0'; /* unpadded, as OpenSSH prints SHA256 fingerprints */
}

unsigned transport_backoff_ms(unsigned attempt, unsigned base_ms, unsigned max_ms, uint64_t seed)
{
  uint64_t d = base_ms;
  for (unsigned i = 0; i < attempt && d < max_ms; i++)
    d *= 2;
  if (d > max_ms)
    d = max_ms;
  uint64_t x = seed * 0x9e3779b97f4a7c15ULL + attempt;
  x ^= x >> 31;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  uint64_t jitter = d / 4 ? x % (d / 4 + 1) : 0;
  return (unsigned)(d - jitter);
}
