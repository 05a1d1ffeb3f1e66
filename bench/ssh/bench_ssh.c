/*
 * bench_ssh: the cost of the SSH transport, measured on one libuv loop.
 *
 *   bench_ssh sessions PORT KEY KNOWN_HOSTS N M   N concurrent sessions, M commands each
 *   bench_ssh upload PORT KEY KNOWN_HOSTS FILE DEST
 *
 * Prints wall time, this process's CPU time (user+sys, getrusage) and peak RSS, per session; for
 * an upload, the throughput. bench/ssh/run starts the sshd and compares with OpenSSH's scp.
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

static long peak_rss_kib(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

struct bench {
  int commands_left_total, failed, done_sessions, sessions;
  int per_session;
  char first_error[TRANSPORT_MESSAGE_MAX];
};

struct session {
  struct bench *b;
  int left;
};

static void on_done(struct transport *t, const struct transport_result *r, void *data)
{
  struct session *s = data;
  if (r->error != 0) {
    s->b->failed++;
    if (!s->b->first_error[0])
      snprintf(s->b->first_error, sizeof s->b->first_error, "%s", r->message);
  }
  if (--s->left > 0 && r->error == 0)
    transport_exec(t, "echo ok", NULL, 0, NULL, on_done, s);
  else
    s->b->done_sessions++;
}

static void on_open(struct transport *t, int error, const char *message, void *data)
{
  struct session *s = data;
  if (error != 0) {
    s->b->failed++;
    s->b->done_sessions++;
    if (!s->b->first_error[0])
      snprintf(s->b->first_error, sizeof s->b->first_error, "%s", message);
    return;
  }
  transport_exec(t, "echo ok", NULL, 0, NULL, on_done, s);
}

static struct transport_options options(const char *port, const char *key, const char *kh)
{
  struct transport_options o = {.kind = TRANSPORT_SSH,
                                .host = "127.0.0.1",
                                .port = (unsigned)atoi(port),
                                .key_file = key,
                                .known_hosts = kh,
                                .user = getenv("BENCH_USER")};
  return o;
}

static int sessions(char **argv)
{
  int n = atoi(argv[4]), m = atoi(argv[5]);
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct transport_limiter limiter = {.max_handshakes = 32};
  struct bench b = {.sessions = n, .per_session = m};
  struct transport **ts = calloc((size_t)n, sizeof *ts);
  struct session *ss = calloc((size_t)n, sizeof *ss);
  long rss0 = peak_rss_kib();
  double w0 = wall(), c0 = cpu();
  for (int i = 0; i < n; i++) {
    struct transport_options o = options(argv[1], argv[2], argv[3]);
    char name[32];
    snprintf(name, sizeof name, "r%04d", i);
    o.name = name;
    o.limiter = &limiter;
    ss[i] = (struct session){&b, m};
    transport_new(&loop, &o, &ts[i]);
    transport_open(ts[i], on_open, &ss[i]);
  }
  while (b.done_sessions < n && uv_run(&loop, UV_RUN_ONCE))
    ;
  double w1 = wall(), c1 = cpu();
  long rss1 = peak_rss_kib();
  for (int i = 0; i < n; i++)
    transport_close(ts[i], NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  printf("sessions %d x commands %d: wall %.2f s, CPU %.3f s = %.2f ms per session (%.3f ms per "
         "command), peak RSS %ld KiB (+%ld KiB = %.1f KiB per session), failed %d%s%s\n",
         n, m, w1 - w0, c1 - c0, (c1 - c0) * 1000 / n, (c1 - c0) * 1000 / (n * m), rss1,
         rss1 - rss0, (double)(rss1 - rss0) / n, b.failed, b.failed ? ": " : "", b.first_error);
  free(ts);
  free(ss);
  return b.failed ? 1 : 0;
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
  transport_upload(t, argv[4], argv[5], 0, NULL, on_uploaded, NULL);
}

static int upload(char **argv)
{
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct transport_options o = options(argv[1], argv[2], argv[3]);
  struct transport *t;
  transport_new(&loop, &o, &t);
  double w0 = 0;
  transport_open(t, on_upload_open, argv);
  w0 = wall();
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
  FILE *f = fopen(argv[4], "rb");
  fseek(f, 0, SEEK_END);
  double mb = (double)ftell(f) / 1e6;
  fclose(f);
  printf("%.3f\n", w1 - w0);
  fprintf(stderr, "issu-fleet SCP: %.0f MB in %.2f s = %.0f MB/s (including connect)\n", mb,
          w1 - w0, mb / (w1 - w0));
  return 0;
}

int main(int argc, char **argv)
{
  if (argc == 7 && strcmp(argv[1], "sessions") == 0)
    return sessions(argv + 1);
  if (argc == 7 && strcmp(argv[1], "upload") == 0)
    return upload(argv + 1);
  fprintf(stderr, "usage: bench_ssh sessions PORT KEY KNOWN_HOSTS N M\n"
                  "       bench_ssh upload PORT KEY KNOWN_HOSTS FILE DEST\n");
  return 2;
}
