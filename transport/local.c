/*
 * The local back end: each command is a child process, `/bin/sh -c 'exec COMMAND'` with
 * SSH_ORIGINAL_COMMAND set to the Junos command and stdin/stdout/stderr as pipes: exactly
 * what an sshd ForceCommand sees, so junos-sim and replay scripts work the same both ways.
 * `exec` makes the command the child itself, so a command that ends by a signal (the
 * simulator's dropped session) is seen as one, not as a shell's exit code 137.
 *
 * The child is started with posix_spawn (glibc: clone with CLONE_VM|CLONE_VFORK) rather than
 * uv_spawn, whose fork() copies the parent's page tables and then takes copy-on-write faults:
 * with a thousand routers that was most of issu-fleet's own CPU (bench/RESULTS.md). Its exit is
 * watched through a pidfd on the loop, so reaping one child never looks at another. Several
 * commands may run at once (transport_set_channels): each is a child of its own.
 *
 * posix_spawn runs on libuv's threadpool, not on the loop: CLONE_VFORK suspends the calling
 * thread until the child has reached exec, which on a loaded machine (the child waiting for a
 * CPU) held the whole loop for milliseconds per command: most of a 200-router run's wall time
 * was the loop blocked in clone3, and every console line of every router waited behind it
 * (bench/RESULTS.md). The worker makes the pipes (close-on-exec), spawns and opens the pidfd;
 * the loop wraps the parent's ends. Whatever the loop opens meanwhile must be close-on-exec too,
 * or a child spawned at that moment inherits it.
 */
#define _GNU_SOURCE /* syscall, SYS_pidfd_open */
#include "transport/transport_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* The transport's side: its children, one per running command. */
struct local {
  struct transport *t;
  struct child *children;
};

struct child {
  struct local *l;
  struct transport *t;
  struct transport_op *op; /* NULL once ended from above (failure, close): only reaped */
  struct child *next;
  pid_t pid;
  int pidfd;            /* -1: no pidfd (valgrind, an old kernel): SIGCHLD is watched instead */
  uv_poll_t exit_watch; /* the pidfd: readable once the child has exited */
  uv_signal_t exit_signal;
  uv_pipe_t pipes[3];
  uv_work_t spawn_req; /* the spawn on the threadpool; counted in `open` until it is back */
  bool spawning;       /* no pid yet: a kill waits for the spawn (timed_out, op, closing) */
  bool input;
  int fds[3];   /* the parent's ends, once spawned */
  int spawn_rc; /* 0 or the errno of posix_spawn or pidfd_open */
  int null_fd;  /* standard input without input: the loop's /dev/null; -1 with input */
  char *line;   /* `exec COMMAND`, /bin/sh's -c */
  char *input_copy;
  uv_write_t write_req;
  uv_shutdown_t shutdown_req;
  int open; /* handles of this command still open */
  bool exited, timed_out;
  int64_t exit_status;
  int term_signal;
  char *env_command;
  char **env; /* pointers into environ, copied on the loop (setenv never frees a string) */
};

/* One read buffer for every child: libuv fills it and calls on_read, which copies it out,
 * before it asks for a buffer again, and a loop runs on one thread. Per child it was 64 KiB,
 * most of issu-fleet's memory with a thousand routers in flight. */
static char readbuf[65536];

static void finish_if_done(struct child *l)
{
  if (l->open > 0)
    return;
  struct local *lb = l->l;
  struct transport *t = l->t;
  struct transport_op *op = l->op;
  for (struct child **p = &lb->children; *p; p = &(*p)->next)
    if (*p == l) {
      *p = l->next;
      break;
    }
  if (op)
    op->lane = NULL;
  free(l->env_command);
  free(l->env);
  free(l->line);
  free(l->input_copy);
  bool timed_out = l->timed_out;
  int term_signal = l->term_signal;
  int64_t exit_status = l->exit_status;
  free(l);
  if (t->state == T_CLOSING) {
    if (lb->children == NULL) {
      t->backend = NULL;
      free(lb);
      transport__closed(t);
    }
    return;
  }
  if (op == NULL)
    return;
  if (timed_out) {
    transport__op_done(t, op, TRANSPORT_E_TIMEOUT,
                       "%s: the command did not finish within its time "
                       "limit (stopped)",
                       t->o.name);
    return;
  }
  if (term_signal != 0) {
    transport__op_done(t, op, TRANSPORT_E_DROPPED,
                       "%s: the session ended without an exit status (signal %d)", t->o.name,
                       term_signal);
    return;
  }
  op->result.exit_status = (int)exit_status;
  transport__op_done(t, op, 0, "%s", "");
}

static void on_closed(uv_handle_t *h)
{
  struct child *l = h->data;
  l->open--;
  finish_if_done(l);
}

static void on_watch_closed(uv_handle_t *h)
{
  struct child *l = h->data;
  if (l->pidfd >= 0)
    close(l->pidfd);
  l->pidfd = -1;
  on_closed(h);
}

/* Reaps the child if it has exited; then the watch (pidfd or signal) is closed. */
static void reap(struct child *l)
{
  if (l->exited)
    return;
  int ws = 0;
  pid_t got;
  do
    got = waitpid(l->pid, &ws, WNOHANG);
  while (got < 0 && errno == EINTR);
  if (got == 0)
    return; /* not yet (a spurious wake) */
  l->exited = true;
  l->exit_status = got > 0 && WIFEXITED(ws) ? WEXITSTATUS(ws) : 0;
  l->term_signal = got > 0 && WIFSIGNALED(ws) ? WTERMSIG(ws) : got < 0 ? SIGKILL : 0;
  uv_handle_t *watch =
      l->pidfd >= 0 ? (uv_handle_t *)&l->exit_watch : (uv_handle_t *)&l->exit_signal;
  if (l->pidfd >= 0)
    uv_poll_stop(&l->exit_watch);
  else
    uv_signal_stop(&l->exit_signal);
  uv_close(watch, on_watch_closed);
}

/* Kills the command's process group (see spawn_child), not only its first process: also once
 * that one has exited and been reaped, since what it left running (`sleep 100 &`) may still hold
 * the output pipes, and the command ends only when they close. The group's id is not reused
 * while any process is in it (a stop comes only while the command's handles are open). */
static void stop_child(const struct child *l)
{
  if (l->pid > 0)
    kill(-l->pid, SIGKILL);
}

static void on_child_exit(uv_poll_t *h, int status, int events)
{
  (void)status, (void)events;
  reap(h->data);
}

/* Without a pidfd: every SIGCHLD wakes every running child's watcher, each asks for its own pid
 * only (so another's exit status is never taken). Fine for the few children of a test. */
static void on_sigchld(uv_signal_t *h, int signum)
{
  (void)signum;
  reap(h->data);
}

/* Starts /bin/sh -c LINE with `env`; fds[i] receive the parent's ends of stdin, stdout and
 * stderr. Every signal is reset to its default in the child (issu-fleet ignores SIGPIPE and
 * SIGHUP, a router must not inherit that). Returns 0 or an errno. */
/* Standard input for a command that gets none: /dev/null, opened once (by the loop's thread). */
static int null_input(void)
{
  static int fd = -1;
  if (fd < 0)
    fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  return fd;
}

static int spawn_child(char *line, char **env, int null_fd, pid_t *pid, int fds[3])
{
  bool input = null_fd < 0;
  /* pipes (cheaper than socket pairs): [0] the read end, [1] the write end; no input: stdin is
   * /dev/null, one pipe fewer per command (and fewer descriptors for every later spawn to copy) */
  int pairs[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
  int made = input ? 0 : 1, rc = 0;
  if (!input)
    pairs[0][0] = null_fd;
  for (; made < 3 && rc == 0; made++)
    if (pipe2(pairs[made], O_CLOEXEC) < 0) {
      rc = errno;
      break;
    }
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  if (rc == 0) {
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    for (int i = 0; i < 3; i++) /* dup2 clears close-on-exec on the child's copy */
      posix_spawn_file_actions_adddup2(&fa, pairs[i][i == 0 ? 0 : 1], i);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    /* A process group of its own: a stop kills the command's whole tree (a shell that forked
     * its last command, `sh -c "sleep 30"`, left it holding the output pipes until it ended),
     * and the engineer's Ctrl-C at issu-fleet's terminal does not reach the routers. */
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETPGROUP);
    char *args[] = {(char *)"/bin/sh", (char *)"-c", line, NULL};
    rc = posix_spawn(pid, "/bin/sh", &fa, &attr, args, env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
  }
  for (int i = input ? 0 : 1; i < made; i++) {
    int child = i == 0 ? 0 : 1;
    close(pairs[i][child]);
    if (rc == 0)
      fds[i] = pairs[i][1 - child];
    else
      close(pairs[i][1 - child]);
  }
  return rc;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  (void)suggested;
  (void)h;
  buf->base = readbuf;
  buf->len = sizeof readbuf;
}

static void on_read(uv_stream_t *stream, ssize_t n, const uv_buf_t *buf)
{
  struct child *l = stream->data;
  if (n > 0) {
    enum transport_stream s =
        stream == (uv_stream_t *)&l->pipes[2] ? TRANSPORT_STDERR : TRANSPORT_STDOUT;
    transport__output(l->t, l->op, s, buf->base, (size_t)n);
    return;
  }
  if (n < 0) /* EOF or error: this stream is done */
    uv_close((uv_handle_t *)stream, on_closed);
}

static void on_shutdown(uv_shutdown_t *req, int status)
{
  (void)status;
  struct child *l = req->data;
  uv_close((uv_handle_t *)&l->pipes[0], on_closed);
}

static void on_written(uv_write_t *req, int status)
{
  (void)status;
  struct child *l = req->data;
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
  struct local *lb = xcalloc(1, sizeof *lb);
  lb->t = t;
  t->backend = lb;
  transport__opened(t, 0, "%s: ready", t->o.name);
}

/* On the threadpool: the child, and its pidfd (the pid cannot be reused before it is reaped,
 * which only the loop does). */
static void spawn_work(uv_work_t *req)
{
  struct child *l = req->data;
  l->spawn_rc = spawn_child(l->line, l->env, l->input ? -1 : l->null_fd, &l->pid, l->fds);
  if (l->spawn_rc != 0)
    return;
  l->pidfd = (int)syscall(SYS_pidfd_open, l->pid, 0);
  if (l->pidfd < 0 && errno != ENOSYS) {
    l->spawn_rc = errno;
    kill(-l->pid, SIGKILL);
    waitpid(l->pid, NULL, 0);
    for (int i = l->input ? 0 : 1; i < 3; i++)
      close(l->fds[i]);
  }
}

/* Back on the loop: the child's pipes and exit watch, or the failure. A command ended while it
 * was being spawned (timeout, detach, close) is killed now and only reaped. */
static void spawn_done(uv_work_t *req, int status)
{
  (void)status;
  struct child *l = req->data;
  struct transport *t = l->t;
  l->spawning = false;
  if (l->spawn_rc != 0) {
    struct transport_op *op = l->op;
    int rc = l->spawn_rc;
    if (op)
      op->lane = NULL; /* the failure below ends it: nothing left to detach */
    l->op = NULL;
    l->open = 0;
    finish_if_done(l); /* unlinks and frees it (and completes a close) */
    if (op != NULL && t->state != T_CLOSING)
      transport__fail(t, TRANSPORT_E_SPAWN, "%s: cannot start /bin/sh: %s", t->o.name,
                      strerror(rc));
    return;
  }
  bool input = l->input;
  for (int i = input ? 0 : 1; i < 3; i++) {
    uv_pipe_init(t->loop, &l->pipes[i], 0);
    l->pipes[i].data = l;
    uv_pipe_open(&l->pipes[i], l->fds[i]);
  }
  l->open = input ? 4 : 3;
  if (l->pidfd >= 0) {
    uv_poll_init(t->loop, &l->exit_watch, l->pidfd);
    l->exit_watch.data = l;
    uv_poll_start(&l->exit_watch, UV_READABLE, on_child_exit);
  } else {
    uv_signal_init(t->loop, &l->exit_signal);
    l->exit_signal.data = l;
    uv_signal_start(&l->exit_signal, on_sigchld, SIGCHLD);
    reap(l); /* it may have exited before the watcher was there */
  }
  uv_read_start((uv_stream_t *)&l->pipes[1], on_alloc, on_read);
  uv_read_start((uv_stream_t *)&l->pipes[2], on_alloc, on_read);
  if (l->timed_out || l->op == NULL || t->state == T_CLOSING) {
    stop_child(l);
    if (input)
      uv_close((uv_handle_t *)&l->pipes[0], on_closed);
    return;
  }
  if (input) {
    /* The child's own copy: the write may outlive the op (ended from above while in flight). */
    l->input_copy = xmalloc(l->op->input_len);
    memcpy(l->input_copy, l->op->input, l->op->input_len);
    uv_buf_t b = uv_buf_init(l->input_copy, (unsigned)l->op->input_len);
    l->write_req.data = l;
    if (uv_write(&l->write_req, (uv_stream_t *)&l->pipes[0], &b, 1, on_written) != 0)
      uv_close((uv_handle_t *)&l->pipes[0], on_closed);
  }
}

static void local_start(struct transport *t, struct transport_op *op)
{
  struct local *lb = t->backend;
  if (op->kind == OP_UPLOAD) {
    /* A local router has no file system to copy to: the simulator's files are records. */
    transport__op_done(t, op, TRANSPORT_E_REMOTE, "%s: uploads need the ssh transport", t->o.name);
    return;
  }
  struct child *l = xcalloc(1, sizeof *l);
  l->l = lb;
  l->t = t;
  l->op = op;
  size_t n = 0;
  while (environ[n])
    n++;
  l->env = xcalloc(n + 2, sizeof *l->env);
  size_t k = 0;
  /* The password variable (issu_password_env) is for our own SSH login, never a child's. */
  const char *pw = t->o.password_env;
  size_t pwlen = pw ? strlen(pw) : 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "SSH_ORIGINAL_COMMAND=", 21) != 0 &&
        !(pwlen && strncmp(environ[i], pw, pwlen) == 0 && environ[i][pwlen] == '='))
      l->env[k++] = environ[i];
  l->env_command = xasprintf("SSH_ORIGINAL_COMMAND=%s", op->command);
  l->env[k++] = l->env_command;
  l->env[k] = NULL;
  l->line = xasprintf("exec %s", t->o.local_command);
  l->input = op->input_len > 0;
  /* /dev/null is opened here, on the loop (once): the workers only use the descriptor. */
  l->null_fd = -1;
  if (!l->input && (l->null_fd = null_input()) < 0) {
    int e = errno;
    free(l->env_command);
    free(l->env);
    free(l->line);
    free(l);
    transport__fail(t, TRANSPORT_E_SPAWN, "%s: cannot open /dev/null: %s", t->o.name, strerror(e));
    return;
  }
  l->fds[0] = l->fds[1] = l->fds[2] = -1;
  l->pidfd = -1;
  l->spawning = true;
  l->open = 1; /* the spawn request */
  op->lane = l;
  l->next = lb->children;
  lb->children = l;
  l->spawn_req.data = l;
  if (uv_queue_work(t->loop, &l->spawn_req, spawn_work, spawn_done) != 0) {
    spawn_work(&l->spawn_req); /* no threadpool: on the loop, as before */
    spawn_done(&l->spawn_req, 0);
  }
}

static void local_timeout(struct transport *t, struct transport_op *op)
{
  (void)t;
  struct child *l = op->lane;
  if (l == NULL)
    return;
  l->timed_out = true;
  if (!l->spawning)
    stop_child(l);
}

/* Ended from above (a failure, a close): the child is stopped and only reaped. */
static void local_detach(struct transport *t, struct transport_op *op)
{
  (void)t;
  struct child *l = op->lane;
  if (l == NULL)
    return;
  l->op = NULL;
  if (!l->spawning)
    stop_child(l);
}

static void local_close(struct transport *t)
{
  struct local *lb = t->backend;
  if (lb == NULL) {
    transport__closed(t);
    return;
  }
  if (lb->children == NULL) {
    t->backend = NULL;
    free(lb);
    transport__closed(t);
    return;
  }
  /* Commands are running: stop them; the last finish_if_done() completes the close. */
  for (struct child *l = lb->children; l; l = l->next)
    if (!l->spawning)
      stop_child(l);
}

const struct transport_ops transport__local_ops = {local_open, local_start, local_timeout,
                                                   local_detach, local_close};
