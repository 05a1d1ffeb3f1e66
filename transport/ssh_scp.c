/*
 * SCP upload over the SSH back end: open the local file, ask the router for an SCP sink
 * (libssh2_scp_send64 opens its own channel), write the file in chunks with progress, send EOF
 * and wait for the router's; the channel then closes through the states of ssh_exec.c. A local
 * file that cannot be read, or a router that refuses the upload, ends only the operation; a
 * session that drops ends the session.
 */
#include "transport/ssh_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define UPLOAD_CHUNK (1u << 20)

/* Opens the local file; false (and the operation ended) if it cannot be read. */
static bool open_local(struct ssh *s, struct ssh_chan *c)
{
  struct transport *t = s->t;
  struct transport_op *op = c->op;
  struct stat st;
  s->file = fopen(op->local_path, "rbe"); /* e: O_CLOEXEC (local children spawn meanwhile) */
  if (s->file == NULL || fstat(fileno(s->file), &st) != 0) {
    int e = errno;
    if (s->file)
      fclose(s->file);
    s->file = NULL;
    ssh__chan_done(s, c, TRANSPORT_E_FILE, "%s: cannot read %s: %s", t->o.name, op->local_path,
                   strerror(e));
    return false;
  }
  s->size = (uint64_t)st.st_size;
  s->sent = s->reported = 0;
  s->buf_len = s->buf_off = 0;
  if (s->buf == NULL)
    s->buf = xmalloc(UPLOAD_CHUNK);
  return true;
}

/* An upload runs alone, but a channel abandoned earlier may still be opening: scp_send opens a
 * channel too, and libssh2 opens one at a time. */
enum step ssh__scp_open(struct ssh *s, struct ssh_chan *c)
{
  struct transport *t = s->t;
  struct transport_op *op = c->op;
  if (s->opening != NULL && s->opening != c)
    return STEP_STOP;
  if (s->file == NULL && !open_local(s, c))
    return STEP_STOP;
  s->opening = c;
  c->channel =
      libssh2_scp_send64(s->session, op->remote_path, 0644, (libssh2_int64_t)s->size, 0, 0);
  if (c->channel == NULL) {
    int rc = libssh2_session_last_errno(s->session);
    if (rc == LIBSSH2_ERROR_EAGAIN)
      return STEP_WAIT;
    s->opening = NULL;
    if (ssh__gone(rc))
      return ssh__op_failed(s, rc, "ending the input");
    fclose(s->file);
    s->file = NULL;
    ssh__chan_done(s, c, TRANSPORT_E_REMOTE, "%s: the router refused the upload of %s: %s",
                   t->o.name, op->remote_path, ssh__last_error(s));
    return STEP_STOP;
  }
  s->opening = NULL;
  c->state = S_SCP_WRITE;
  return STEP_NEXT;
}

enum step ssh__scp_write(struct ssh *s, struct ssh_chan *c)
{
  struct transport *t = s->t;
  struct transport_op *op = c->op;
  while (s->sent < s->size) {
    if (s->buf_off == s->buf_len) {
      s->buf_len = fread(s->buf, 1, UPLOAD_CHUNK, s->file);
      s->buf_off = 0;
      if (s->buf_len == 0) {
        ssh__dead(s, TRANSPORT_E_FILE, "%s shrank while being uploaded", op->local_path);
        return STEP_STOP;
      }
    }
    ssize_t n = libssh2_channel_write(c->channel, s->buf + s->buf_off, s->buf_len - s->buf_off);
    if (n == LIBSSH2_ERROR_EAGAIN)
      return STEP_WAIT;
    if (n < 0)
      return ssh__op_failed(s, (int)n, "uploading");
    s->buf_off += (size_t)n;
    s->sent += (uint64_t)n;
    s->last_rx = uv_now(t->loop); /* the peer is taking data: it is alive */
    if (op->on_progress && (s->sent - s->reported >= UPLOAD_CHUNK || s->sent == s->size)) {
      s->reported = s->sent;
      op->on_progress(t, s->sent, s->size, op->data);
      if (s->state == S_DEAD || c->op == NULL)
        return STEP_STOP; /* the callback closed the transport */
    }
  }
  fclose(s->file);
  s->file = NULL;
  c->state = S_SCP_EOF;
  return STEP_NEXT;
}

enum step ssh__scp_eof(struct ssh *s, struct ssh_chan *c)
{
  (void)s;
  if (libssh2_channel_send_eof(c->channel) == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  c->state = S_SCP_WAIT_EOF;
  return STEP_NEXT;
}

enum step ssh__scp_wait_eof(struct ssh *s, struct ssh_chan *c)
{
  (void)s;
  if (libssh2_channel_wait_eof(c->channel) == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  c->state = S_CH_CLOSE;
  return STEP_NEXT;
}
