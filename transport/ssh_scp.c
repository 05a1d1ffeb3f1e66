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
static bool open_local(struct ssh *s)
{
  struct transport *t = s->t;
  struct transport_op *op = t->current;
  struct stat st;
  s->file = fopen(op->local_path, "rb");
  if (s->file == NULL || fstat(fileno(s->file), &st) != 0) {
    int e = errno;
    if (s->file)
      fclose(s->file);
    s->file = NULL;
    s->state = S_READY;
    libssh2_channel_free(s->channel); /* an unused channel: no I/O pending */
    s->channel = NULL;
    transport__op_done(t, TRANSPORT_E_FILE, "%s: cannot read %s: %s", t->o.name, op->local_path,
                       strerror(e));
    return false;
  }
  s->size = (uint64_t)st.st_size;
  s->sent = s->reported = 0;
  s->buf_len = s->buf_off = 0;
  if (s->buf == NULL)
    s->buf = xmalloc(UPLOAD_CHUNK);
  /* The channel opened by S_CH_OPEN is not needed: scp_send opens its own. */
  libssh2_channel_free(s->channel);
  s->channel = NULL;
  return true;
}

enum step ssh__scp_open(struct ssh *s)
{
  struct transport *t = s->t;
  struct transport_op *op = t->current;
  if (s->file == NULL && !open_local(s))
    return STEP_STOP;
  s->channel =
      libssh2_scp_send64(s->session, op->remote_path, 0644, (libssh2_int64_t)s->size, 0, 0);
  if (s->channel == NULL) {
    int rc = libssh2_session_last_errno(s->session);
    if (rc == LIBSSH2_ERROR_EAGAIN)
      return STEP_WAIT;
    if (ssh__gone(rc))
      return ssh__op_failed(s, rc, "ending the input");
    fclose(s->file);
    s->file = NULL;
    s->state = S_READY;
    transport__op_done(t, TRANSPORT_E_REMOTE, "%s: the router refused the upload of %s: %s",
                       t->o.name, op->remote_path, ssh__last_error(s));
    return STEP_STOP;
  }
  s->state = S_SCP_WRITE;
  return STEP_NEXT;
}

enum step ssh__scp_write(struct ssh *s)
{
  struct transport *t = s->t;
  struct transport_op *op = t->current;
  while (s->sent < s->size) {
    if (s->buf_off == s->buf_len) {
      s->buf_len = fread(s->buf, 1, UPLOAD_CHUNK, s->file);
      s->buf_off = 0;
      if (s->buf_len == 0) {
        ssh__dead(s, TRANSPORT_E_FILE, "%s shrank while being uploaded", op->local_path);
        return STEP_STOP;
      }
    }
    ssize_t n = libssh2_channel_write(s->channel, s->buf + s->buf_off, s->buf_len - s->buf_off);
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
    }
  }
  fclose(s->file);
  s->file = NULL;
  s->state = S_SCP_EOF;
  return STEP_NEXT;
}

enum step ssh__scp_eof(struct ssh *s)
{
  if (libssh2_channel_send_eof(s->channel) == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  s->state = S_SCP_WAIT_EOF;
  return STEP_NEXT;
}

enum step ssh__scp_wait_eof(struct ssh *s)
{
  if (libssh2_channel_wait_eof(s->channel) == LIBSSH2_ERROR_EAGAIN)
    return STEP_WAIT;
  s->state = S_CH_CLOSE;
  return STEP_NEXT;
}
