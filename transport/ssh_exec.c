/*
 * The channels of the SSH back end: each running operation has its own channel and its own
 * state machine (open a channel, run the command, write its input, send EOF, read both streams
 * until the channel's EOF, then close, wait for the close and free the channel; the close states
 * are shared with SCP). Several execs run at once on one session (transport_set_channels).
 *
 * libssh2 1.10 allows this with two rules (reference §1.2): one channel open at a time (its
 * state is the session's), and a call that left a packet half sent is repeated, alone, before
 * any other call may send (else BAD_USE). Reads drain stdout and stderr until both would block,
 * and the rounds go on until no channel moves and no byte came off the socket: reading one
 * channel may take another's packets off the socket (§1.4). The exit status is read only once
 * the channel is closed (§1.3).
 */
#include "transport/ssh_internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* LIBSSH2_ERROR_CHANNEL_FAILURE: the server answered the open with a refusal (OpenSSH's
 * MaxSessions: "administratively prohibited"). */
static bool refused(int rc)
{
  return rc == LIBSSH2_ERROR_CHANNEL_FAILURE;
}

static void chan_unlink(struct ssh *s, struct ssh_chan *c)
{
  for (struct ssh_chan **p = &s->chans; *p; p = &(*p)->next)
    if (*p == c) {
      *p = c->next;
      break;
    }
  if (s->opening == c)
    s->opening = NULL;
  if (s->tx_chan == c)
    s->tx_chan = NULL;
  if (c->op)
    c->op->lane = NULL;
  free(c);
}

struct ssh_chan *ssh__chan_new(struct ssh *s, struct transport_op *op)
{
  struct ssh_chan *c = xcalloc(1, sizeof *c);
  c->op = op;
  c->state = op->kind == OP_EXEC ? S_CH_OPEN : S_SCP_OPEN;
  op->lane = c;
  struct ssh_chan **end = &s->chans;
  while (*end)
    end = &(*end)->next;
  *end = c;
  return c;
}

void ssh__chans_free(struct ssh *s)
{
  while (s->chans) {
    struct ssh_chan *c = s->chans;
    if (c->channel)
      libssh2_channel_free(c->channel);
    c->channel = NULL;
    chan_unlink(s, c);
  }
}

void ssh__chan_done(struct ssh *s, struct ssh_chan *c, int error, const char *fmt, ...)
{
  struct transport_op *op = c->op;
  c->op = NULL;
  if (op)
    op->lane = NULL;
  chan_unlink(s, c);
  if (op == NULL) {
    /* An abandoned channel freed its place on the server: a command waiting for one goes. */
    if (s->state == S_READY && s->t->state != T_CLOSING)
      transport__kick(s->t);
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  char *msg = transport__vformat(fmt, ap);
  va_end(ap);
  transport__op_done(s->t, op, error, "%s", msg);
  free(msg);
}

void ssh__chan_abandon(struct ssh *s, struct ssh_chan *c)
{
  struct transport_op *op = c->op;
  c->op = NULL;
  c->abandoned = true;
  if (op)
    op->lane = NULL;
  if (c->channel == NULL && s->opening != c) {
    chan_unlink(s, c); /* never asked for: nothing to close */
  }
  if (op)
    transport__op_done(s->t, op, TRANSPORT_E_TIMEOUT,
                       "%s: the command did not finish within its time limit (its channel was "
                       "closed; the session goes on)",
                       s->t->o.name);
}

/* Whether some channel of ours is open (or closing): one ending makes room on the server. A
 * refusal with none is the server refusing every channel: a failure, as it always was. */
static bool others_hold_channels(const struct ssh *s)
{
  for (const struct ssh_chan *c = s->chans; c; c = c->next)
    if (c->channel != NULL)
      return true;
  return false;
}

/* The server refused a channel while others are open (OpenSSH's MaxSessions): not the router
 * failing. Every operation whose channel is not open yet (the refused one and those waiting to
 * open) goes back to the queue in its order, and the transport runs at most as many at once as
 * are open now (at least one: a channel being closed will make room, transport__kick). */
static unsigned open_channels(const struct ssh *s)
{
  unsigned open = 0;
  for (const struct ssh_chan *c = s->chans; c; c = c->next)
    open += c->channel != NULL && !c->abandoned;
  return open;
}

static void requeue_unopened(struct ssh *s)
{
  unsigned open = open_channels(s);
  struct ssh_chan *back[64];
  size_t n = 0;
  for (struct ssh_chan *c = s->chans; c && n < ARRAY_LEN(back); c = c->next)
    if (c->channel == NULL && c->op != NULL && c->state == S_CH_OPEN)
      back[n++] = c;
  s->opening = NULL;
  s->chans_changed = true;
  /* Last first: each goes to the head of the queue, so they end up in their order. */
  while (n-- > 0) {
    struct ssh_chan *c = back[n];
    struct transport_op *op = c->op;
    c->op = NULL;
    chan_unlink(s, c);
    transport__channel_refused(s->t, op, open ? open : 1);
  }
}

bool ssh__chans_retrying(const struct ssh *s)
{
  for (const struct ssh_chan *c = s->chans; c; c = c->next)
    if (c->retry_at != 0)
      return true;
  return false;
}

static enum step ch_open(struct ssh *s, struct ssh_chan *c)
{
  if (s->opening != NULL && s->opening != c)
    return STEP_STOP; /* libssh2 opens one channel at a time: after the one opening */
  if (c->retry_at != 0) {
    if (uv_now(s->t->loop) < c->retry_at)
      return STEP_STOP; /* the tick asks again */
    c->retry_at = 0;
  }
  s->opening = c;
  c->channel = libssh2_channel_open_session(s->session);
  if (c->channel == NULL) {
    int rc = libssh2_session_last_errno(s->session);
    if (rc == LIBSSH2_ERROR_EAGAIN)
      return STEP_WAIT;
    s->opening = NULL;
    if (c->abandoned && !ssh__gone(rc)) {
      /* Its command timed out while it opened: a refusal (or any answer but a dead session) is
       * for no one. Asked again it would be refused again for as long as the others run, and
       * refused once they have ended it would fail the session. A refusal still says what the
       * server takes (channel_cap): the next open, refused while it lets go of one, is asked
       * again as after any refusal. */
      if (refused(rc))
        s->t->channel_cap = open_channels(s) ? open_channels(s) : 1;
      ssh__chan_done(s, c, 0, "%s", "");
      return STEP_STOP;
    }
    if (refused(rc) && others_hold_channels(s)) {
      requeue_unopened(s);
      return STEP_STOP;
    }
    /* OpenSSH frees a session's place only after it has read our close of it, and may read the
     * next open in the same batch: a server that refused a channel before (channel_cap), or one
     * refusing right after we closed one of ours (MaxSessions 1: under valgrind the last one was
     * gone on our side before sshd had read its close), is asked again on the next ticks before
     * the refusal is taken for a failure; it takes one channel at a time from then on. */
    if (refused(rc) && (s->t->channel_cap != 0 || s->chans_freed > 0) &&
        c->refusals < SSH_OPEN_RETRIES) {
      if (s->t->channel_cap == 0)
        s->t->channel_cap = 1;
      c->refusals++;
      c->retry_at = uv_now(s->t->loop) + 1;
      return STEP_STOP;
    }
    return ssh__op_failed(s, rc, "opening a channel");
  }
  s->opening = NULL;
  c->state = c->abandoned ? S_CH_CLOSE : S_CH_EXEC;
  return STEP_NEXT;
}

static enum step ch_exec(struct ssh *s, struct ssh_chan *c)
{
  /* An abandoned channel whose request was half sent repeats it: libssh2 sends the packet it
   * built on the first call, the command is not read again. */
  int rc = libssh2_channel_exec(c->channel, c->op ? c->op->command : "");
  if (rc == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  if (rc != 0)
    return ssh__op_failed(s, rc, "running the command");
  c->input_sent = 0;
  c->state = c->op ? S_CH_INPUT : S_CH_CLOSE;
  return STEP_NEXT;
}

static enum step ch_input(struct ssh *s, struct ssh_chan *c)
{
  struct transport_op *op = c->op;
  if (op == NULL) {
    /* Abandoned with its packet half sent (run_chan): libssh2 sends the rest of the packet it
     * built, not these bytes (the op and its input are gone); then the channel closes. */
    static const char rest[1];
    ssize_t n = libssh2_channel_write(c->channel, rest, sizeof rest);
    if (n == LIBSSH2_ERROR_EAGAIN)
      return STEP_WAIT;
    c->state = S_CH_CLOSE;
    return STEP_NEXT;
  }
  while (c->input_sent < op->input_len) {
    ssize_t n =
        libssh2_channel_write(c->channel, op->input + c->input_sent, op->input_len - c->input_sent);
    if (n == LIBSSH2_ERROR_EAGAIN)
      return STEP_WAIT;
    if (n < 0)
      return ssh__op_failed(s, (int)n, "writing the command's input");
    c->input_sent += (size_t)n;
  }
  c->state = S_CH_EOF;
  return STEP_NEXT;
}

static enum step ch_eof(struct ssh *s, struct ssh_chan *c)
{
  int rc = libssh2_channel_send_eof(c->channel);
  if (rc == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  if (rc != 0 && ssh__gone(rc))
    return ssh__op_failed(s, rc, "ending the input");
  s->last_rx = uv_now(s->t->loop);
  c->state = S_CH_READ;
  return STEP_NEXT;
}

/* One pass over both streams: 1 if any bytes came, 0 if none, -1 if the step ended. */
static int read_pass(struct ssh *s, struct ssh_chan *c, enum step *ended)
{
  char buf[32768];
  int got = 0;
  for (int stream = 0; stream < 2; stream++) {
    ssize_t n = libssh2_channel_read_ex(c->channel, stream, buf, sizeof buf);
    if (n > 0) {
      s->progress = true;
      got = 1;
      transport__output(s->t, c->op, (enum transport_stream)stream, buf, (size_t)n);
      if (s->state == S_DEAD || c->op == NULL) {
        *ended = STEP_STOP; /* the line's callback closed the transport */
        return -1;
      }
    } else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN) {
      *ended = ssh__op_failed(s, (int)n, "reading the output");
      return -1;
    }
  }
  return got;
}

static enum step ch_read(struct ssh *s, struct ssh_chan *c)
{
  /* Drain both streams until both would block: libssh2 may already hold packets of one while we
   * read the other. Reading one stream can also take the other's last bytes and the EOF off the
   * socket in the same call: once the EOF is seen, one more pass must find nothing before the
   * channel is closed (else those bytes would be lost with it). */
  enum step ended = STEP_STOP;
  for (;;) {
    int got = read_pass(s, c, &ended);
    if (got < 0)
      return ended;
    if (got > 0)
      continue;
    if (!libssh2_channel_eof(c->channel))
      return STEP_WAIT;
    got = read_pass(s, c, &ended);
    if (got < 0)
      return ended;
    if (got == 0)
      break;
  }
  c->state = S_CH_CLOSE;
  return STEP_NEXT;
}

static enum step ch_close(struct ssh *s, struct ssh_chan *c)
{
  int rc = libssh2_channel_close(c->channel);
  if (rc == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  if (rc != 0 && ssh__gone(rc))
    return ssh__op_failed(s, rc, "ending the input");
  /* An abandoned channel saw no EOF: libssh2 would refuse to wait for its close. */
  c->state = c->abandoned ? S_CH_FREE : S_CH_WAIT_CLOSED;
  return STEP_NEXT;
}

static void exec_done(struct ssh *s, struct ssh_chan *c)
{
  struct transport_op *op = c->op;
  char *sig = NULL;
  size_t sig_len = 0;
  op->result.exit_status = libssh2_channel_get_exit_status(c->channel);
  if (libssh2_channel_get_exit_signal(c->channel, &sig, &sig_len, NULL, NULL, NULL, NULL) == 0 &&
      sig != NULL) {
    op->result.signaled = true;
    snprintf(op->result.signal_name, sizeof op->result.signal_name, "%.*s", (int)sig_len, sig);
    libssh2_free(s->session, sig);
  }
}

static enum step ch_wait_closed(struct ssh *s, struct ssh_chan *c)
{
  int rc = libssh2_channel_wait_closed(c->channel);
  if (rc == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  if (rc != 0 && ssh__gone(rc))
    return ssh__op_failed(s, rc, "ending the input");
  if (c->op && c->op->kind == OP_EXEC)
    exec_done(s, c); /* the exit status is reliable only now (reference §1.3) */
  c->state = S_CH_FREE;
  return STEP_NEXT;
}

static enum step ch_free(struct ssh *s, struct ssh_chan *c)
{
  int rc = libssh2_channel_free(c->channel);
  if (rc == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  c->channel = NULL;
  s->progress = true;
  s->chans_freed++;
  ssh__chan_done(s, c, 0, "%s", "");
  return STEP_STOP; /* the channel is gone; op_done may already have started the next operation */
}

static const ssh_chan_fn chan_steps[S_COUNT] = {
    [S_CH_OPEN] = ch_open,
    [S_CH_EXEC] = ch_exec,
    [S_CH_INPUT] = ch_input,
    [S_CH_EOF] = ch_eof,
    [S_CH_READ] = ch_read,
    [S_SCP_OPEN] = ssh__scp_open,
    [S_SCP_WRITE] = ssh__scp_write,
    [S_SCP_EOF] = ssh__scp_eof,
    [S_SCP_WAIT_EOF] = ssh__scp_wait_eof,
    [S_CH_CLOSE] = ch_close,
    [S_CH_WAIT_CLOSED] = ch_wait_closed,
    [S_CH_FREE] = ch_free,
};

/* Whether a state is one an abandoned channel leaves for its close (nothing half done). */
static bool skippable(enum ssh_state st)
{
  return st == S_CH_EXEC || st == S_CH_INPUT || st == S_CH_EOF || st == S_CH_READ;
}

/* Runs one channel until it waits or stops; `moved`: its state changed. */
static enum step run_chan(struct ssh *s, struct ssh_chan *c, bool *moved)
{
  /* The channel whose last call left a packet half sent repeats that call first, abandoned or
   * not: libssh2 takes no other packet until that one is sent whole. */
  bool repeat = s->tx_chan == c;
  s->tx_chan = NULL;
  for (;;) {
    if (c->abandoned && skippable(c->state) && !repeat)
      c->state = S_CH_CLOSE;
    repeat = false;
    enum ssh_state was = c->state;
    enum step r = chan_steps[c->state](s, c);
    if (r != STEP_NEXT)
      return r;
    if (c->state != was)
      *moved = true;
  }
}

/* Whether the last call left a packet half sent: it must be repeated before any other. */
static bool half_sent(struct ssh *s)
{
  return (libssh2_session_block_directions(s->session) & LIBSSH2_SESSION_BLOCK_OUTBOUND) != 0;
}

/* One round over the channels; false if the session died or closed under it, or a channel
 * must be repeated alone (`*blocked`). */
static bool round_once(struct ssh *s, bool *moved, bool *blocked)
{
  if (s->tx_chan != NULL) {
    struct ssh_chan *c = s->tx_chan;
    enum step r = run_chan(s, c, moved); /* clears tx_chan */
    if (s->state == S_DEAD)
      return false;
    if (r == STEP_WAIT && half_sent(s)) {
      s->tx_chan = c;
      *blocked = true;
      return false;
    }
  }
  s->chans_changed = false;
  for (struct ssh_chan *c = s->chans, *next; c; c = next) {
    next = c->next; /* a channel may free itself in its step; others only through a refusal */
    enum step r = run_chan(s, c, moved);
    if (s->state == S_DEAD)
      return false;
    if (s->chans_changed) {
      *moved = true; /* `next` may be gone: the next round starts from the head */
      return true;
    }
    if (r == STEP_WAIT && half_sent(s)) {
      s->tx_chan = c;
      *blocked = true;
      return false;
    }
  }
  return true;
}

void ssh__run_chans(struct ssh *s)
{
  if (s->in_run) {
    s->run_again = true; /* a callback started an operation: the round on the stack runs it */
    return;
  }
  s->in_run = true;
  for (;;) {
    bool blocked = false;
    s->run_again = false;
    s->progress = false;
    bool moved = false;
    uint64_t rx = s->rx_count;
    if (!round_once(s, &moved, &blocked))
      break;
    if (!moved && !s->progress && !s->run_again && rx == s->rx_count)
      break;
  }
  s->in_run = false;
  if (s->state == S_DEAD)
    return;
  if (s->chans == NULL)
    ssh__stop_poll(s); /* idle: nothing is read until the next operation (as before) */
  else if (s->link != NULL)
    ssh__arm(s); /* behind a jump host: the chain's outermost socket waits for it */
  else {
    /* Readable while channels are open (their data, closes and replies come that way), writable
     * only while a packet is half sent: a channel waiting to ask again (retry_at) never spins
     * on a writable socket. */
    int events = UV_READABLE;
    if (libssh2_session_block_directions(s->session) & LIBSSH2_SESSION_BLOCK_OUTBOUND)
      events |= UV_WRITABLE;
    ssh__poll(s, events);
  }
}
