/*
 * The local back end: each command is a child process, `/bin/sh -c 'exec COMMAND'` with
 * SSH_ORIGINAL_COMMAND set to the Junos command and stdin/stdout/stderr as pipes: exactly what
 * an sshd ForceCommand sees, so junos-sim and replay scripts work the same both ways. `exec`
 * makes the command the child itself, so a command that ends by a signal (the simulator's
 * dropped session) is seen as one, not as a shell's exit code 137.
 */
#include "transport/transport_internal.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

extern char **environ;

struct local {
  struct transport *t;
  uv_process_t proc;
  uv_pipe_t pipes[3];
  uv_write_t write_req;
  uv_shutdown_t shutdown_req;
  int open; /* handles of the current command still open */
  bool exited, timed_out;
  int64_t exit_status;
  int term_signal;
  char *env_command;
  char **env;
  char readbuf[65536];
};

static void finish_if_done(struct local *l)
{
  if (l->open > 0)
    return;
  struct transport *t = l->t;
  struct transport_op *op = t->current;
  free(l->env_command);
  free(l->env);
  l->env_command = NULL;
  l->env = NULL;
  if (t->state == T_CLOSING) {
    transport__closed(t);
    free(l);
    return;
  }
  if (op == NULL)
    return;
  if (l->timed_out) {
    transport__op_done(t, TRANSPORT_E_TIMEOUT,
                       "%s: the command did not finish within its time "
                       "limit (stopped)",
                       t->o.name);
    return;
  }
  if (l->term_signal != 0) {
    transport__op_done(t, TRANSPORT_E_DROPPED,
                       "%s: the session ended without an exit status (signal %d)", t->o.name,
                       l->term_signal);
    return;
  }
  op->result.exit_status = (int)l->exit_status;
  transport__op_done(t, 0, "%s", "");
}

static void on_closed(uv_handle_t *h)
{
  struct local *l = h->data;
  l->open--;
  finish_if_done(l);
}

static void on_exit_cb(uv_process_t *p, int64_t status, int signal)
{
  struct local *l = p->data;
  l->exited = true;
  l->exit_status = status;
  l->term_signal = signal;
  uv_close((uv_handle_t *)p, on_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  (void)suggested;
  struct local *l = h->data;
  buf->base = l->readbuf;
  buf->len = sizeof l->readbuf;
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
  struct local *l = stream->data;
  if (n > 0) {
    enum transport_stream s =
        stream == (uv_stream_t *)&l->pipes[2] ? TRANSPORT_STDERR : TRANSPORT_STDOUT;
    transport__output(l->t, s, buf->base, (size_t)n);
    return;
  }
  if (n < 0) /* EOF or error: this stream is done */
    uv_close((uv_handle_t *)stream, on_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
  (void)status;
  struct local *l = req->data;
  uv_close((uv_handle_t *)&l->pipes[0], on_closed);
}

static void on_written(uv_write_t *req, int status)
{
  (void)status;
  struct local *l = req->data;
  l->shutdown_req.data = l;
  if (uv_shutdown(&l->shutdown_req, (uv_stream_t *)&l->pipes[0], on_shutdown) != 0)
    uv_close((uv_handle_t *)&l->pipes[0], on_closed);
}

static void local_open(struct transport *t)
{
  if (t->o.local_command == NULL || t->o.local_command[0] == '\0') {
    transport__opened(t, TRANSPORT_E_SPAWN, "%s: no issu_local_command to run", t->o.name);
    return;
  }
  struct local *l = xcalloc(1, sizeof *l);
  l->t = t;
  t->backend = l;
  transport__opened(t, 0, "%s: ready", t->o.name);
}

static void local_start(struct transport *t)
{
  struct local *l = t->backend;
  struct transport_op *op = t->current;
  if (op->kind == OP_UPLOAD) {
    /* A local router has no file system to copy to: the simulator's files are records. */
    transport__op_done(t, TRANSPORT_E_REMOTE, "%s: uploads need the ssh transport", t->o.name);
    return;
  }
  size_t n = 0;
  while (environ[n])
    n++;
  l->env = xcalloc(n + 2, sizeof *l->env);
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "SSH_ORIGINAL_COMMAND=", 21) != 0)
      l->env[k++] = environ[i];
  l->env_command = xasprintf("SSH_ORIGINAL_COMMAND=%s", op->command);
  l->env[k++] = l->env_command;
  l->env[k] = NULL;
  char *line = xasprintf("exec %s", t->o.local_command);
  char *args[] = {(char *)"/bin/sh", (char *)"-c", line, NULL};
  uv_stdio_container_t stdio[3];
  for (int i = 0; i < 3; i++) {
    uv_pipe_init(t->loop, &l->pipes[i], 0);
    l->pipes[i].data = l;
    stdio[i].flags = UV_CREATE_PIPE | (i == 0 ? UV_READABLE_PIPE : UV_WRITABLE_PIPE);
    stdio[i].data.stream = (uv_stream_t *)&l->pipes[i];
  }
  uv_process_options_t po = {.file = "/bin/sh",
                             .args = args,
                             .env = l->env,
                             .stdio = stdio,
                             .stdio_count = 3,
                             .exit_cb = on_exit_cb};
  l->proc.data = l;
  l->exited = l->timed_out = false;
  l->term_signal = 0;
  int rc = uv_spawn(t->loop, &l->proc, &po);
  free(line);
  l->open = 3;
  if (rc != 0) {
    for (int i = 0; i < 3; i++)
      uv_close((uv_handle_t *)&l->pipes[i], on_closed);
    uv_close((uv_handle_t *)&l->proc, NULL);
    transport__fail(t, TRANSPORT_E_SPAWN, "%s: cannot start /bin/sh: %s", t->o.name,
                    uv_strerror(rc));
    return;
  }
  l->open = 4;
  uv_read_start((uv_stream_t *)&l->pipes[1], on_alloc, on_read);
  uv_read_start((uv_stream_t *)&l->pipes[2], on_alloc, on_read);
  if (op->input_len > 0) {
    uv_buf_t b = uv_buf_init(op->input, (unsigned)op->input_len);
    l->write_req.data = l;
    if (uv_write(&l->write_req, (uv_stream_t *)&l->pipes[0], &b, 1, on_written) != 0)
      uv_close((uv_handle_t *)&l->pipes[0], on_closed);
  } else {
    l->shutdown_req.data = l;
    if (uv_shutdown(&l->shutdown_req, (uv_stream_t *)&l->pipes[0], on_shutdown) != 0)
      uv_close((uv_handle_t *)&l->pipes[0], on_closed);
  }
}

static void local_timeout(struct transport *t)
{
  struct local *l = t->backend;
  l->timed_out = true;
  if (!l->exited)
    uv_process_kill(&l->proc, SIGKILL);
}

static void local_close(struct transport *t)
{
  struct local *l = t->backend;
  if (l == NULL) {
    transport__closed(t);
    return;
  }
  if (l->open == 0) {
    transport__closed(t);
    free(l);
    return;
  }
  /* A command is running: stop it; finish_if_done() completes the close. */
  if (!l->exited)
    uv_process_kill(&l->proc, SIGKILL);
}

const struct transport_ops transport__local_ops = {local_open, local_start, local_timeout,
                                                   local_close};
