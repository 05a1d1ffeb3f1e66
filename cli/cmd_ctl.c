/*
 * issu-fleet ctl SOCKET status|approve|pause|resume|drain|release ROUTER: steers a running
 * rollout through its control socket (one JSON request, one JSON reply). Plain blocking sockets:
 * it is a one-shot client, not part of the event loop. `release` also works when the run has
 * ended (it ends, exit 5, when held routers block it): it is then journaled for the next resume.
 */
#include "cli/cli.h"
#include "scheduler/scheduler.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static const char *const ctl_commands[] = {"status", "approve", "pause",
                                           "resume", "drain",   "release"};

/* Sends one request and returns the reply line (caller frees), or NULL with `err`. */
static char *exchange(const char *path, const char *command, const char *router, int *errno_out,
                      char *err, size_t errlen)
{
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof addr.sun_path) {
    snprintf(err, errlen, "%s: the path is too long for a Unix socket", path);
    return NULL;
  }
  memcpy(addr.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
    *errno_out = errno;
    snprintf(err, errlen,
             "cannot reach the run at %s: %s (is it running? the socket is "
             "STATE_DIR/RUN_ID.sock)",
             path, strerror(errno));
    if (fd >= 0)
      close(fd);
    return NULL;
  }
  struct timeval tv = {.tv_sec = 10};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  cJSON *rq = cJSON_CreateObject();
  cJSON_AddStringToObject(rq, "command", command);
  if (router)
    cJSON_AddStringToObject(rq, "router", router);
  char *body = cJSON_PrintUnformatted(rq);
  cJSON_Delete(rq);
  if (body == NULL)
    abort();
  char *req = xasprintf("%s\n", body);
  free(body);
  bool sent = write(fd, req, strlen(req)) == (ssize_t)strlen(req);
  free(req);
  size_t len = 0, cap = 4096;
  char *buf = xmalloc(cap);
  while (sent) {
    if (cap - len < 1024)
      buf = xrealloc(buf, cap *= 2);
    ssize_t n = read(fd, buf + len, cap - len - 1);
    if (n <= 0)
      break;
    len += (size_t)n;
    if (memchr(buf, '\n', len))
      break;
  }
  close(fd);
  buf[len] = '\0';
  if (!sent || strchr(buf, '\n') == NULL) {
    snprintf(err, errlen, "%s: no answer from the run", path);
    free(buf);
    return NULL;
  }
  return buf;
}

static double num(const cJSON *o, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* A duration the run answered, in whole seconds: 0 for one that is none (negative, or longer
 * than any run), never a conversion out of range (undefined behaviour). */
static uint64_t seconds(const cJSON *o, const char *key)
{
  double s = num(o, key);
  return s >= 0 && s < 1e15 ? (uint64_t)s : 0;
}

static const char *str(const cJSON *o, const char *key)
{
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : "";
}

static void print_status(const cJSON *r)
{
  const cJSON *c = cJSON_GetObjectItemCaseSensitive(r, "routers");
  char el[32], eta[32];
  text_duration(seconds(r, "elapsed_s"), el, sizeof el);
  text_duration(seconds(r, "eta_s"), eta, sizeof eta);
  printf("run %s: %s, wave %.0f (%s), elapsed %s, about %s to go\n", str(r, "run_id"),
         str(r, "state"), num(r, "wave"), str(r, "wave_name"), el, eta);
  printf("routers: %.0f done, %.0f skipped, %.0f failed (%.0f held), %.0f in flight, %.0f queued "
         "(of %.0f); failure budget left: %.0f\n",
         num(c, "done"), num(c, "skipped"), num(c, "failed"), num(c, "held"), num(c, "in_flight"),
         num(c, "queued"), num(c, "total"), num(r, "budget_left"));
  const cJSON *list = cJSON_GetObjectItemCaseSensitive(r, "in_flight"), *o;
  if (cJSON_GetArraySize(list) > 0)
    printf("\n%-20s %4s  %-20s %9s %9s %9s %5s\n", "ROUTER", "WAVE", "PHASE", "ELAPSED", "IN PHASE",
           "TO GO", "DONE");
  cJSON_ArrayForEach(o, list)
  {
    char a[32], b[32], c2[32];
    text_duration(seconds(o, "elapsed_s"), a, sizeof a);
    text_duration(seconds(o, "phase_elapsed_s"), b, sizeof b);
    text_duration(seconds(o, "remaining_s"), c2, sizeof c2);
    printf("%-20s %4.0f  %-20s %9s %9s %9s %4.0f%%\n", str(o, "host"), num(o, "wave"),
           str(o, "phase"), a, b, c2, num(o, "progress") * 100);
  }
}

int cmd_ctl(int argc, char **argv)
{
  static const struct option options[] = {
      {"json", no_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  bool json = false;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
    if (opt == 'j')
      json = true;
    else
      return cli_option_other("ctl", opt, argv);
  }
  if (argc - optind < 2)
    return cli_usage_error("ctl", "expected SOCKET and a command");
  const char *path = argv[optind], *command = argv[optind + 1];
  bool release = strcmp(command, "release") == 0;
  if (argc - optind != (release ? 3 : 2))
    return cli_usage_error("ctl", release ? "release: expected one ROUTER"
                                          : "expected SOCKET and a command");
  const char *router = release ? argv[optind + 2] : NULL;
  size_t k;
  for (k = 0; k < ARRAY_LEN(ctl_commands); k++)
    if (strcmp(command, ctl_commands[k]) == 0)
      break;
  if (k == ARRAY_LEN(ctl_commands)) {
    const char *near = text_nearest(command, ctl_commands, ARRAY_LEN(ctl_commands));
    return cli_usage_error("ctl",
                           "unknown command '%s'%s%s%s (expected status, approve, pause, "
                           "resume, drain or release)",
                           command, near ? " (did you mean '" : "", near ? near : "",
                           near ? "'?)" : "");
  }
  char err[512];
  int conn_errno = 0;
  char *line = exchange(path, command, router, &conn_errno, err, sizeof err);
  size_t plen = strlen(path);
  if (line == NULL && release && (conn_errno == ENOENT || conn_errno == ECONNREFUSED) && plen > 5 &&
      strcmp(path + plen - 5, ".sock") == 0) {
    /* No run answers: release in the journal beside the socket (STATE_DIR/RUN_ID.jsonl). */
    char *journal = xasprintf("%.*s.jsonl", (int)(plen - 5), path);
    int rc = rollout_release_offline(journal, router, (unsigned)getuid(), err, sizeof err);
    free(journal);
    if (rc < 0) {
      fprintf(stderr, "issu-fleet ctl: %s\n", err);
      return ISSU_EXIT_FAILED;
    }
    printf("released %s in the journal (no run is live): resume the run to go on\n", router);
    return ISSU_EXIT_OK;
  }
  if (line == NULL) {
    fprintf(stderr, "issu-fleet ctl: %s\n", err);
    return ISSU_EXIT_USAGE;
  }
  cJSON *r = cJSON_Parse(line);
  bool ok = r && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "ok"));
  if (json)
    fputs(line, stdout);
  else if (r && ok && strcmp(command, "status") == 0)
    print_status(r);
  else if (r)
    fprintf(ok ? stdout : stderr, "%s%s\n",
            ok ? "" : "issu-fleet ctl: ", str(r, ok ? "message" : "error"));
  else
    fprintf(stderr, "issu-fleet ctl: the run answered something that is not JSON\n");
  cJSON_Delete(r);
  free(line);
  return ok ? ISSU_EXIT_OK : ISSU_EXIT_FAILED;
}
