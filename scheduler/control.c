/*
 * The control socket: a Unix socket (mode 0600: only its owner may steer a rollout) that takes
 * one JSON request per line and answers one JSON line: status, approve, pause, resume, drain,
 * release (with "router": a held router's slots are freed, journaled with the peer's uid).
 * `issu-fleet ctl SOCKET COMMAND` is its client. Who approved is the peer's uid (SO_PEERCRED),
 * recorded in the gate-approved event.
 */
#define _GNU_SOURCE /* struct ucred */
#include "scheduler/sched_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_REQUEST 4096

struct control_client {
  uv_pipe_t pipe;
  struct rollout *run;
  struct control_client *prev, *next; /* run->clients */
  char buf[MAX_REQUEST];
  size_t len;
};

static void client_closed(uv_handle_t *h)
{
  struct control_client *c = h->data;
  if (c->prev)
    c->prev->next = c->next;
  else
    c->run->clients = c->next;
  if (c->next)
    c->next->prev = c->prev;
  free(c);
}

static void client_close(struct control_client *c)
{
  if (!uv_is_closing((uv_handle_t *)&c->pipe))
    uv_close((uv_handle_t *)&c->pipe, client_closed);
}

static void reply_written(uv_write_t *w, int status)
{
  (void)status;
  free(w->data);
  free(w);
}

static void reply(struct control_client *c, cJSON *r)
{
  char *text = cJSON_PrintUnformatted(r);
  cJSON_Delete(r);
  if (text == NULL)
    abort();
  size_t len = strlen(text);
  text[len] = '\n';
  uv_write_t *w = xcalloc(1, sizeof *w);
  w->data = text;
  uv_buf_t b = uv_buf_init(text, (unsigned)len + 1);
  if (uv_write(w, (uv_stream_t *)&c->pipe, &b, 1, reply_written) < 0) {
    free(text);
    free(w);
  }
}

static unsigned peer_uid(struct control_client *c)
{
  uv_os_fd_t fd;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (uv_fileno((uv_handle_t *)&c->pipe, &fd) == 0 &&
      getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
    return (unsigned)cred.uid;
  return (unsigned)-1;
}

static cJSON *answer(bool ok, const char *msg)
{
  cJSON *r = cJSON_CreateObject();
  cJSON_AddBoolToObject(r, "ok", ok);
  cJSON_AddStringToObject(r, ok ? "message" : "error", msg);
  return r;
}

static void handle(struct control_client *c, const char *line)
{
  struct rollout *run = c->run;
  cJSON *req = cJSON_Parse(line);
  const cJSON *cmd = req ? cJSON_GetObjectItemCaseSensitive(req, "command") : NULL;
  const char *name = cJSON_IsString(cmd) ? cmd->valuestring : "";
  unsigned uid = peer_uid(c);
  char by[64];
  snprintf(by, sizeof by, "ctl %s by uid %u", name, uid);
  cJSON *r;
  char msg[300];
  if (strcmp(name, "status") == 0)
    r = rollout_status(run);
  else if (strcmp(name, "approve") == 0) {
    long w = rollout_approve(run, uid);
    if (w >= 0)
      snprintf(msg, sizeof msg, "approved: wave %ld (%s) starts", w, run->plan->waves[w].name);
    r = answer(w >= 0, w >= 0 ? msg : "no approval gate is waiting");
  } else if (strcmp(name, "pause") == 0)
    r = rollout_pause(run, true, by) ? answer(true, "paused: no new router starts; routers in "
                                                    "flight go on")
                                     : answer(false, "already paused");
  else if (strcmp(name, "resume") == 0)
    r = rollout_pause(run, false, by) ? answer(true, "resumed") : answer(false, "not paused");
  else if (strcmp(name, "drain") == 0) {
    rollout_drain(run, by);
    r = answer(true, "draining: routers in flight finish, no new starts; the run ends with exit 4");
  } else if (strcmp(name, "release") == 0) {
    const cJSON *router = cJSON_GetObjectItemCaseSensitive(req, "router");
    char err[300];
    if (!cJSON_IsString(router))
      r = answer(false, "release: which router? (ctl SOCKET release ROUTER)");
    else if (rollout_release(run, router->valuestring, uid, err, sizeof err)) {
      snprintf(msg, sizeof msg, "released %.*s: its limit slots are free",
               (int)text_utf8_cut(router->valuestring, 200), router->valuestring);
      r = answer(true, msg);
    } else
      r = answer(false, err);
  } else {
    snprintf(msg, sizeof msg,
             "unknown command (expected status, approve, pause, resume, drain or release)");
    r = answer(false, msg);
  }
  cJSON_Delete(req);
  reply(c, r);
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  (void)suggested;
  struct control_client *c = h->data;
  buf->base = c->buf + c->len;
  buf->len = sizeof c->buf - 1 - c->len;
}

static void read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
  (void)buf;
  struct control_client *c = s->data;
  if (n < 0 || (n == 0 && c->len >= sizeof c->buf - 1)) {
    client_close(c);
    return;
  }
  c->len += (size_t)n;
  c->buf[c->len] = '\0';
  char *nl;
  while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
    *nl = '\0';
    handle(c, c->buf);
    size_t used = (size_t)(nl - c->buf) + 1;
    memmove(c->buf, nl + 1, c->len - used);
    c->len -= used;
  }
  if (c->len >= sizeof c->buf - 1) /* a line longer than any request: not ours to serve */
    client_close(c);
}

static void on_connection(uv_stream_t *server, int status)
{
  struct rollout *run = server->data;
  if (status < 0)
    return;
  struct control_client *c = xcalloc(1, sizeof *c);
  c->run = run;
  if (uv_pipe_init(&run->loop, &c->pipe, 0) < 0) {
    free(c);
    return;
  }
  c->pipe.data = c;
  c->next = run->clients;
  if (run->clients)
    run->clients->prev = c;
  run->clients = c;
  if (uv_accept(server, (uv_stream_t *)&c->pipe) < 0 ||
      uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb) < 0)
    client_close(c);
}

int control_start(struct rollout *run, const char *path, char *err, size_t errlen)
{
  struct sockaddr_un probe;
  if (strlen(path) >= sizeof probe.sun_path) {
    snprintf(err, errlen, "the control socket path %s is longer than %zu characters", path,
             sizeof probe.sun_path - 1);
    return -1;
  }
  /* A socket left by a process that died: the run lock is ours, so nobody listens on it. */
  unlink(path);
  int rc = uv_pipe_init(&run->loop, &run->control, 0);
  if (rc < 0) {
    snprintf(err, errlen, "cannot create the control socket %s: %s", path, uv_strerror(rc));
    return -1;
  }
  run->control.data = run;
  mode_t old = umask(0177); /* born 0600: no window where others could connect */
  rc = uv_pipe_bind(&run->control, path);
  umask(old);
  if (rc == 0)
    rc = uv_listen((uv_stream_t *)&run->control, 16, on_connection);
  if (rc < 0) {
    snprintf(err, errlen, "cannot listen on the control socket %s: %s", path, uv_strerror(rc));
    uv_close((uv_handle_t *)&run->control, NULL);
    return -1;
  }
  chmod(path, 0600);
  run->control_path = xstrdup(path);
  run->control_live = true;
  return 0;
}

void control_stop(struct rollout *run)
{
  if (!run->control_live)
    return;
  uv_close((uv_handle_t *)&run->control, NULL);
  /* Clients still connected: closed with their memory (not by the loop's last sweep, which
   * would leak it). */
  for (struct control_client *c = run->clients; c; c = c->next)
    client_close(c);
  unlink(run->control_path);
  run->control_live = false;
}
