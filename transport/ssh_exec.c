/*
 * The exec states of the SSH back end: open a channel, run the command, write its input, send
 * EOF, read both streams until the channel's EOF, then close, wait for the close and free the
 * channel (the close states are shared with SCP). Reads drain stdout and stderr until both would
 * block before waiting again, because libssh2 may already hold the other stream's packets
 * (reference §1.4). The exit status is read only once the channel is closed (§1.3).
 */
#include "transport/ssh_internal.h"

#include <stdlib.h>
#include <string.h>

enum step ssh__ch_open(struct ssh *s)
{
  s->channel = libssh2_channel_open_session(s->session);
  if (s->channel == NULL) {
    int rc = libssh2_session_last_errno(s->session);
    if (rc == LIBSSH2_ERROR_EAGAIN)
      return STEP_WAIT;
    return ssh__op_failed(s, rc, "opening a channel");
  }
  s->state = s->t->current->kind == OP_EXEC ? S_CH_EXEC : S_SCP_OPEN;
  return STEP_NEXT;
}

enum step ssh__ch_exec(struct ssh *s)
{
  int rc = libssh2_channel_exec(s->channel, s->t->current->command);
  if (rc == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  if (rc != 0)
    return ssh__op_failed(s, rc, "running the command");
  s->input_sent = 0;
  s->state = S_CH_INPUT;
  return STEP_NEXT;
}

enum step ssh__ch_input(struct ssh *s)
{
  struct transport_op *op = s->t->current;
  while (s->input_sent < op->input_len) {
    ssize_t n =
        libssh2_channel_write(s->channel, op->input + s->input_sent, op->input_len - s->input_sent);
    if (n == LIBSSH2_ERROR_EAGAIN)
      return STEP_WAIT;
    if (n < 0)
      return ssh__op_failed(s, (int)n, "writing the command's input");
    s->input_sent += (size_t)n;
  }
  s->state = S_CH_EOF;
  return STEP_NEXT;
}

enum step ssh__ch_eof(struct ssh *s)
{
  int rc = libssh2_channel_send_eof(s->channel);
  if (rc == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  if (rc != 0 && ssh__gone(rc))
    return ssh__op_failed(s, rc, "ending the input");
  s->last_rx = uv_now(s->t->loop);
  s->state = S_CH_READ;
  return STEP_NEXT;
}

enum step ssh__ch_read(struct ssh *s)
{
  char buf[32768];
  /* Drain both streams until both would block: libssh2 may already hold packets of one while we
   * read the other. */
  bool progress = true;
  while (progress) {
    progress = false;
    for (int stream = 0; stream < 2; stream++) {
      ssize_t n = libssh2_channel_read_ex(s->channel, stream, buf, sizeof buf);
      if (n > 0) {
        transport__output(s->t, (enum transport_stream)stream, buf, (size_t)n);
        progress = true;
      } else if (n < 0 && n != LIBSSH2_ERROR_EAGAIN)
        return ssh__op_failed(s, (int)n, "reading the output");
    }
  }
  if (!libssh2_channel_eof(s->channel))
    return STEP_WAIT;
  s->state = S_CH_CLOSE;
  return STEP_NEXT;
}

enum step ssh__ch_close(struct ssh *s)
{
  int rc = libssh2_channel_close(s->channel);
  if (rc == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  if (rc != 0 && ssh__gone(rc))
    return ssh__op_failed(s, rc, "ending the input");
  s->state = S_CH_WAIT_CLOSED;
  return STEP_NEXT;
}

static void exec_done(struct ssh *s)
{
  struct transport_op *op = s->t->current;
  char *sig = NULL;
  size_t sig_len = 0;
  op->result.exit_status = libssh2_channel_get_exit_status(s->channel);
  if (libssh2_channel_get_exit_signal(s->channel, &sig, &sig_len, NULL, NULL, NULL, NULL) == 0 &&
      sig != NULL) {
    op->result.signaled = true;
    snprintf(op->result.signal_name, sizeof op->result.signal_name, "%.*s", (int)sig_len, sig);
    libssh2_free(s->session, sig);
  }
}

enum step ssh__ch_wait_closed(struct ssh *s)
{
  int rc = libssh2_channel_wait_closed(s->channel);
  if (rc == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  if (rc != 0 && ssh__gone(rc))
    return ssh__op_failed(s, rc, "ending the input");
  if (s->t->current->kind == OP_EXEC)
    exec_done(s); /* the exit status is reliable only now (reference §1.3) */
  s->state = S_CH_FREE;
  return STEP_NEXT;
}

enum step ssh__ch_free(struct ssh *s)
{
  int rc = libssh2_channel_free(s->channel);
  if (rc == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  s->channel = NULL;
  s->state = S_READY;
  ssh__stop_poll(s);
  transport__op_done(s->t, 0, "%s", "");
  return STEP_STOP; /* op_done may already have started the next operation */
}
