/*
 * bench_bastion: routers reached through one bastion (ProxyJump in-process, transport/jump.c)
 * against the same routers reached directly, on one libuv loop.
 *
 *   bench_bastion sessions PORT BASTION KEY KNOWN_HOSTS N M CHANNELS
 *       N routers all in flight, M commands each, first directly, then through the bastion
 *       (CHANNELS per bastion session): CPU per router for both, and bastion sessions opened
 *   bench_bastion upload PORT BASTION KEY KNOWN_HOSTS FILE DEST
 *       one SCP upload through the bastion; prints its wall time in seconds
 *
 * BASTION is the bastion sshd's port on 127.0.0.1; the "routers" are sessions to the sshd on
 * PORT. bench/bastion/run starts both sshds and compares the upload with OpenSSH's `scp -J`.
 */
#include "transport/transport.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double wall(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

struct bench {
  int failed, done_sessions;
  char first_error[TRANSPORT_MESSAGE_MAX];
};

struct session {
  struct bench *b;
  int left;
};

static void fail(struct bench *b, const char *message)
{
  b->failed++;
  if (!b->first_error[0])
    snprintf(b->first_error, sizeof b->first_error, "%s", message);
}

static void on_done(struct transport *t, const struct transport_result *r, void *data)
{
  struct session *s = data;
  if (r->error != 0)
    fail(s->b, r->message);
  if (--s->left > 0 && r->error == 0)
    transport_exec(t, "echo ok", NULL, 0, NULL, on_done, s);
  else
    s->b->done_sessions++;
}

static void on_open(struct transport *t, int error, const char *message, void *data)
{
  struct session *s = data;
  if (error != 0) {
    fail(s->b, message);
    s->b->done_sessions++;
    return;
  }
  transport_exec(t, "echo ok", NULL, 0, NULL, on_done, s);
}

static struct transport_hop bastion;

static struct transport_options options(char **argv, bool jump)
{
  struct transport_options o = {.kind = TRANSPORT_SSH,
                                .host = "127.0.0.1",
                                .port = (unsigned)atoi(argv[1]),
                                .key_file = argv[3],
                                .known_hosts = argv[4],
                                .user = getenv("BENCH_USER"),
                                .connect_timeout_ms = 120000};
  bastion = (struct transport_hop){.host = "127.0.0.1", .port = (unsigned)atoi(argv[2])};
  if (jump) {
    o.jump = &bastion;
    o.jump_count = 1;
  }
  return o;
}

/* One round: n routers, m commands each; returns CPU seconds, or -1 if any failed. */
static double round_of(char **argv, int n, int m, bool jump, unsigned channels, unsigned *opened,
                       double *elapsed)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct transport_limiter limiter = {.max_handshakes = 32};
  struct transport_jump_pool *pool = jump ? transport_jump_pool_new(&loop, channels) : NULL;
  struct bench b = {0};
  struct transport **ts = calloc((size_t)n, sizeof *ts);
  struct session *ss = calloc((size_t)n, sizeof *ss);
  double w0 = wall(), c0 = cpu();
  for (int i = 0; i < n; i++) {
    struct transport_options o = options(argv, jump);
    char name[32];
    snprintf(name, sizeof name, "r%04d", i);
    o.name = name;
    o.limiter = &limiter;
    o.jump_pool = pool;
    ss[i] = (struct session){&b, m};
    transport_new(&loop, &o, &ts[i]);
    transport_open(ts[i], on_open, &ss[i]);
  }
  while (b.done_sessions < n && uv_run(&loop, UV_RUN_ONCE))
    ;
  double w1 = wall(), c1 = cpu();
  *opened = transport_jump_pool_sessions_opened(pool);
  for (int i = 0; i < n; i++)
    transport_close(ts[i], NULL, NULL);
  transport_jump_pool_free(pool);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  free(ts);
  free(ss);
  *elapsed = w1 - w0;
  if (b.failed) {
    fprintf(stderr, "%s: %d failed: %s\n", jump ? "through the bastion" : "direct", b.failed,
            b.first_error);
    return -1;
  }
  return c1 - c0;
}

static int sessions(char **argv)
{
  int n = atoi(argv[5]), m = atoi(argv[6]);
  unsigned channels = (unsigned)atoi(argv[7]), opened = 0, none = 0;
  double wd = 0, wj = 0;
  double direct = round_of(argv, n, m, false, 0, &none, &wd);
  double jump = round_of(argv, n, m, true, channels, &opened, &wj);
  if (direct < 0 || jump < 0)
    return 1;
  printf("%d routers x %d commands, all in flight: direct CPU %.3f s = %.2f ms per router (wall "
         "%.2f s); through one bastion CPU %.3f s = %.2f ms per router (wall %.2f s), %.2f x "
         "direct; bastion sessions opened %u (ceil(%d / %u) = %u)\n",
         n, m, direct, direct * 1000 / n, wd, jump, jump * 1000 / n, wj, jump / direct, opened, n,
         channels, (n + channels - 1) / channels);
  return 0;
}

static bool upload_done;
static struct transport_result upload_result;

static void on_uploaded(struct transport *t, const struct transport_result *r, void *data)
{
  (void)t;
  (void)data;
  upload_result = *r;
  upload_done = true;
}

static void on_upload_open(struct transport *t, int error, const char *message, void *data)
{
  char **argv = data;
  if (error != 0) {
    fprintf(stderr, "%s\n", message);
    upload_done = true;
    upload_result.error = error;
    return;
  }
  transport_upload(t, argv[5], argv[6], 0, NULL, on_uploaded, NULL);
}

static int upload(char **argv)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct transport_options o = options(argv, true);
  struct transport *t;
  transport_new(&loop, &o, &t);
  double w0 = wall();
  transport_open(t, on_upload_open, argv);
  while (!upload_done && uv_run(&loop, UV_RUN_ONCE))
    ;
  double w1 = wall();
  transport_close(t, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (upload_result.error) {
    fprintf(stderr, "upload failed: %s\n", upload_result.message);
    return 1;
  }
  printf("%.3f\n", w1 - w0);
  return 0;
}

int main(int argc, char **argv)
{
  if (argc == 9 && strcmp(argv[1], "sessions") == 0)
    return sessions(argv + 1);
  if (argc == 8 && strcmp(argv[1], "upload") == 0)
    return upload(argv + 1);
  fprintf(stderr, "usage: bench_bastion sessions PORT BASTION KEY KNOWN_HOSTS N M CHANNELS\n"
                  "       bench_bastion upload PORT BASTION KEY KNOWN_HOSTS FILE DEST\n");
  return 2;
}
