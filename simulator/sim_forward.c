/*
 * The lab's master-only addresses: `junos-sim forward DIR`, started by `lab up`, stopped by
 * `lab down`.
 *
 * A real MX has one management address per RE and a master-only address that moves to the new
 * master at a switchover (MANIFEST.md, "Host keys across an RE switchover"). In a lab each RE is
 * its own sshd (its own host key) on its own port; this one process listens on every router's
 * master-only port and joins each new connection to the port of the RE that is master at that
 * moment, read from the router's state file without its lock (settled to now, not saved), so
 * a session that holds the lock never stalls the forwarder. A connection, once
 * joined, stays with its RE: a session open across a switchover is still on the old master, as
 * on a real box. When the master is rebooting, the connection is closed at once.
 *
 * One process, poll(): a listener per router, two sockets and two 16 KiB buffers per joined
 * connection, at most MAX_LINKS connections at a time (beyond that, new connections wait in the
 * listeners' backlog). Its file limit is raised to the hard limit at start.
 */
/* accept4 and SOCK_NONBLOCK are GNU/Linux. */
#define _GNU_SOURCE

#include "simulator/sim.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LINKS 512
#define BUF_BYTES 16384

struct route {
  char state[600];
  int port, re_port[2];
  int listen_fd;
};

/* One direction of a joined connection: bytes read from `from`, not yet written to `to`. */
struct pipe_dir {
  char buf[BUF_BYTES];
  size_t len;
  bool eof; /* `from` reached its end; `to` is shut for writing once buf is empty */
};

struct link {
  int fd[2];              /* 0: the client, 1: the RE's sshd */
  struct pipe_dir dir[2]; /* dir[k]: from fd[k] to fd[1-k] */
  bool used;
};

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
  (void)sig;
  stopping = 1;
}

static int listen_on(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
      bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 128) != 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  return fd;
}

static int connect_to(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
    if (fd >= 0)
      close(fd);
    return -1;
  }
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

/* The port of the RE that is master now, or -1 if it does not answer (rebooting). */
static int master_port(const struct route *rt)
{
  struct sim_router r;
  char err[512];
  if (sim_peek(rt->state, &r, err, sizeof err) < 0) {
    fprintf(stderr, "junos-sim forward: %s\n", err);
    return -1;
  }
  double now = sim_now(&r);
  sim_settle(&r, now); /* a view: not saved */
  int master = sim_master(&r);
  int port = sim_re_up(&r, master, now) ? rt->re_port[master] : -1;
  sim_router_free(&r);
  return port;
}

static void link_close(struct link *l)
{
  close(l->fd[0]);
  close(l->fd[1]);
  l->used = false;
}

/* Moves bytes for one joined connection after poll; returns false when it is finished. */
static bool link_step(struct link *l, const short revents[2])
{
  for (int k = 0; k < 2; k++) {
    struct pipe_dir *d = &l->dir[k];
    if (!d->eof && d->len < BUF_BYTES && (revents[k] & (POLLIN | POLLHUP | POLLERR))) {
      ssize_t n = read(l->fd[k], d->buf + d->len, BUF_BYTES - d->len);
      if (n > 0)
        d->len += (size_t)n;
      else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        d->eof = true;
    }
  }
  for (int k = 0; k < 2; k++) {
    struct pipe_dir *d = &l->dir[k];
    int to = l->fd[1 - k];
    if (d->len > 0) {
      ssize_t n = write(to, d->buf, d->len);
      if (n > 0) {
        memmove(d->buf, d->buf + n, d->len - (size_t)n);
        d->len -= (size_t)n;
      } else if (n < 0 && errno != EAGAIN && errno != EINTR)
        return false;
    }
    if (d->eof && d->len == 0)
      shutdown(to, SHUT_WR);
  }
  return !(l->dir[0].eof && l->dir[0].len == 0 && l->dir[1].eof && l->dir[1].len == 0);
}

static int load_routes(const char *dir, struct route **routes, size_t *n)
{
  char *path = xasprintf("%s/lab.json", dir), *text = NULL, err[160];
  size_t len;
  int rc = text_read_file(path, 64u << 20, &text, &len, err, sizeof err);
  free(path);
  if (rc < 0) {
    fprintf(stderr, "junos-sim forward: %s\n", err);
    return -1;
  }
  cJSON *lab = cJSON_ParseWithLength(text, len);
  free(text);
  const cJSON *root = cJSON_GetObjectItem(lab, "dir");
  const cJSON *list = cJSON_GetObjectItem(lab, "routers");
  if (!cJSON_IsString(root) || !cJSON_IsArray(list)) {
    fprintf(stderr, "junos-sim forward: %s/lab.json is not a lab index\n", dir);
    cJSON_Delete(lab);
    return -1;
  }
  *n = (size_t)cJSON_GetArraySize(list);
  *routes = xcalloc(*n ? *n : 1, sizeof **routes);
  size_t i = 0;
  const cJSON *rj;
  cJSON_ArrayForEach(rj, list)
  {
    struct route *rt = &(*routes)[i++];
    snprintf(rt->state, sizeof rt->state, "%s/routers/%s.json", root->valuestring,
             cJSON_GetObjectItem(rj, "name")->valuestring);
    rt->port = cJSON_GetObjectItem(rj, "port")->valueint;
    rt->re_port[0] = cJSON_GetObjectItem(rj, "re0_port")->valueint;
    rt->re_port[1] = cJSON_GetObjectItem(rj, "re1_port")->valueint;
    rt->listen_fd = -1;
  }
  cJSON_Delete(lab);
  return 0;
}

int sim_forward_main(int argc, char **argv)
{
  if (argc != 1) {
    fprintf(stderr, "usage: junos-sim forward DIR (lab up starts it)\n");
    return 2;
  }
  struct rlimit lim;
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
  }
  signal(SIGPIPE, SIG_IGN);
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  struct route *routes;
  size_t n;
  if (load_routes(argv[0], &routes, &n) < 0)
    return 2;
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++)
    if ((routes[i].listen_fd = listen_on(routes[i].port)) < 0) {
      fprintf(stderr, "junos-sim forward: Bind to port %d on 127.0.0.1 failed: %s\n",
              routes[i].port, strerror(errno));
      rc = 1;
    }
  struct link *links = xcalloc(MAX_LINKS, sizeof *links);
  struct pollfd *pfd = xcalloc(n + 2 * MAX_LINKS, sizeof *pfd);
  int *owner = xcalloc(2 * MAX_LINKS, sizeof *owner);
  size_t used = 0;
  while (rc == 0 && !stopping) {
    size_t np = 0;
    for (size_t i = 0; i < n; i++)
      pfd[np++] =
          (struct pollfd){.fd = used < MAX_LINKS ? routes[i].listen_fd : -1, .events = POLLIN};
    size_t nl = 0;
    for (int k = 0; k < MAX_LINKS; k++) {
      if (!links[k].used)
        continue;
      for (int s = 0; s < 2; s++) {
        short ev = 0;
        if (!links[k].dir[s].eof && links[k].dir[s].len < BUF_BYTES)
          ev |= POLLIN;
        if (links[k].dir[1 - s].len > 0)
          ev |= POLLOUT;
        pfd[np++] = (struct pollfd){.fd = links[k].fd[s], .events = ev};
      }
      owner[nl++] = k;
    }
    if (poll(pfd, np, 1000) < 0) {
      if (errno == EINTR)
        continue;
      rc = 1;
      break;
    }
    for (size_t j = 0; j < nl; j++) {
      struct link *l = &links[owner[j]];
      short rev[2] = {pfd[n + 2 * j].revents, pfd[n + 2 * j + 1].revents};
      if ((rev[0] | rev[1]) && !link_step(l, rev)) {
        link_close(l);
        used--;
      }
    }
    for (size_t i = 0; i < n && used < MAX_LINKS; i++) {
      if (!(pfd[i].revents & POLLIN))
        continue;
      int client = accept4(routes[i].listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (client < 0)
        continue;
      int port = master_port(&routes[i]);
      int re = port >= 0 ? connect_to(port) : -1;
      if (re < 0) {
        close(client); /* the master does not answer: as a refused connection */
        continue;
      }
      int k = 0;
      while (links[k].used)
        k++;
      memset(&links[k], 0, sizeof links[k]);
      links[k] = (struct link){.fd = {client, re}, .used = true};
      used++;
    }
  }
  for (int k = 0; k < MAX_LINKS; k++)
    if (links[k].used)
      link_close(&links[k]);
  for (size_t i = 0; i < n; i++)
    if (routes[i].listen_fd >= 0)
      close(routes[i].listen_fd);
  free(owner);
  free(pfd);
  free(links);
  free(routes);
  return rc;
}
