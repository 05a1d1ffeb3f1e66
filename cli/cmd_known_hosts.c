/*
 * issu-fleet known-hosts: the host keys of both routing engines of every router, recorded under
 * the one name issu-fleet connects to.
 *
 * Each RE has its own SSH host keys and the master-only address moves to the new master at a
 * switchover, so after it the same address presents the other RE's key. This reads each RE's key
 * from the RE's own address (issu_re0_host/issu_re1_host, with issu_re0_port/issu_re1_port; an RE
 * without one is reached at the router's own address, whichever RE is master there), through the
 * transport's key scan (key exchange only: no authentication, nothing sent), every router at
 * once on one loop. It prints the fingerprints (as `ssh-keygen -lf` does) and the known_hosts
 * lines to add, and appends them only with --write (fsync'ed, skipping keys already recorded).
 * Standard output is itself a known_hosts fragment: comments and lines.
 */
#include "cli/cli.h"
#include "inventory/inventory.h"
#include "scheduler/scheduler.h"
#include "transport/transport.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#define SCAN_PARALLEL 32
#define SCAN_TIMEOUT_S 10

struct kh_args {
  const char *inventory, *limit, *known_hosts;
  bool write;
  unsigned timeout_s;
};

struct router;

/* One key exchange with one address. */
struct kh_run;

struct scan {
  struct router *router;
  struct kh_run *run;
  const char *label; /* "re0", "re1", or "master" (the router's own address) */
  char *host;
  unsigned port;
  struct transport *t;
  bool done, failed;
  char *error;
  char type[32], fingerprint[64];
  char *base64;
  unsigned char *blob;
  size_t blob_len;
};

struct router {
  size_t host;
  const char *name;
  const struct transport_options *to;
  const char *known_hosts;
  char *kh_name; /* the name the keys are recorded under */
  struct scan scans[3];
  size_t nscans;
};

struct kh_run {
  uv_loop_t loop;
  uv_check_t reaper; /* closes finished scans on the next turn, never inside their callbacks */
  struct transport_limiter limiter;
  struct scan **finished;
  size_t nfinished, finished_cap;
  size_t pending;
};

/* A per-RE address from the inventory: host and port; 0 if absent, -1 (reported) if bad. */
static int re_address(const struct inventory *inv, size_t h, int re, unsigned default_port,
                      char **host, unsigned *port, struct diag *d)
{
  char key[32], buf[1024];
  snprintf(key, sizeof key, "issu_re%d_host", re);
  const struct ynode *n = inventory_host_var(inv, h, key);
  const char *v = inventory_value_text(n, buf, sizeof buf);
  if (n == NULL)
    return 0;
  if (v == NULL || *v == '\0') {
    diag_add(d, inv->file, n->line, n->col, "host '%s': %s: expected a host name or address",
             inv->hosts[h].name, key);
    return -1;
  }
  *host = xstrdup(v);
  *port = default_port;
  snprintf(key, sizeof key, "issu_re%d_port", re);
  n = inventory_host_var(inv, h, key);
  v = inventory_value_text(n, buf, sizeof buf);
  if (n != NULL) {
    char *end;
    unsigned long p = v ? strtoul(v, &end, 10) : 0;
    if (v == NULL || *end != '\0' || p == 0 || p > 65535) {
      diag_add(d, inv->file, n->line, n->col,
               "host '%s': %s: expected a port number from 1 to 65535", inv->hosts[h].name, key);
      free(*host);
      *host = NULL;
      return -1;
    }
    *port = (unsigned)p;
  }
  return 1;
}

static void add_scan(struct router *r, const char *label, char *host, unsigned port)
{
  struct scan *s = &r->scans[r->nscans++];
  s->router = r;
  s->label = label;
  s->host = host;
  s->port = port;
}

/* Which addresses to scan: each RE's own, and the router's address for an RE without one. */
static int plan_router(const struct inventory *inv, const struct targets *ts, size_t h,
                       const struct kh_args *a, struct router *r, struct diag *d)
{
  r->host = h;
  r->name = inv->hosts[h].name;
  r->to = targets_options(ts, h);
  r->known_hosts = a->known_hosts ? a->known_hosts : r->to->known_hosts;
  r->kh_name = transport_known_hosts_name(r->to->host, r->to->port);
  char *host[2] = {NULL, NULL};
  unsigned port[2] = {0, 0};
  int found[2];
  for (int re = 0; re < 2; re++)
    found[re] = re_address(inv, h, re, r->to->port, &host[re], &port[re], d);
  if (found[0] < 0 || found[1] < 0) {
    free(host[0]);
    free(host[1]);
    free(r->kh_name);
    r->kh_name = NULL;
    return -1;
  }
  for (int re = 0; re < 2; re++)
    if (found[re])
      add_scan(r, re == 0 ? "re0" : "re1", host[re], port[re]);
  if (!found[0] || !found[1])
    add_scan(r, "master", xstrdup(r->to->host), r->to->port);
  return 0;
}

static void on_scanned(struct transport *t, int error, const char *message, void *data)
{
  struct scan *s = data;
  struct kh_run *run = s->run;
  if (s->done)
    return;
  const struct transport_host_key *k = transport_host_key(t);
  if (error == 0 && k != NULL) {
    snprintf(s->type, sizeof s->type, "%s", k->type);
    snprintf(s->fingerprint, sizeof s->fingerprint, "%s", k->fingerprint);
    s->base64 = xstrdup(k->base64);
    s->blob = xmalloc(k->blob_len);
    memcpy(s->blob, k->blob, k->blob_len);
    s->blob_len = k->blob_len;
  } else {
    s->failed = true;
    s->error = xstrdup(message ? message : transport_error_name(error));
  }
  s->done = true;
  run->pending--;
  run->finished = xgrow(run->finished, &run->finished_cap, run->nfinished + 1, sizeof(void *));
  run->finished[run->nfinished++] = s;
}

/* Finished scans are closed on the next turn of the loop, never inside their own callback. */
static void reap(uv_check_t *h)
{
  struct kh_run *run = h->data;
  for (size_t i = 0; i < run->nfinished; i++) {
    struct scan *s = run->finished[i];
    if (s->t != NULL)
      transport_close(s->t, NULL, NULL);
    s->t = NULL;
  }
  run->nfinished = 0;
  if (run->pending == 0)
    uv_check_stop(h);
}

static void start_scan(struct kh_run *run, struct scan *s, unsigned timeout_s)
{
  struct router *r = s->router;
  s->run = run;
  char *name = xasprintf("%s %s (%s:%u)", r->name, s->label, s->host, s->port);
  struct transport_options o = {
      .name = name,
      .kind = TRANSPORT_SSH,
      .host = s->host,
      .port = s->port,
      .known_hosts = r->known_hosts,
      .key_host = r->to->host, /* offer the key types recorded for the master-only name first */
      .key_port = r->to->port,
      .scan_host_key = true,
      .limiter = &run->limiter,
      .connect_timeout_ms = timeout_s * 1000,
  };
  run->pending++;
  int rc = transport_new(&run->loop, &o, &s->t);
  free(name);
  if (rc == 0)
    rc = transport_open(s->t, on_scanned, s);
  if (rc != 0 && !s->done)
    on_scanned(s->t, rc, transport_error_name(rc), s);
}

/* The lines one known_hosts file gets. */
struct kh_file {
  const char *path;
  char *lines;
  size_t len, cap, count;
};

static struct kh_file *file_for(struct kh_file **files, size_t *n, size_t *cap, const char *path)
{
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*files)[i].path, path) == 0)
      return &(*files)[i];
  *files = xgrow(*files, cap, *n + 1, sizeof **files);
  struct kh_file *f = &(*files)[(*n)++];
  memset(f, 0, sizeof *f);
  f->path = path;
  return f;
}

/* Keys recorded for the name that neither RE presents: after an RE or a router was replaced,
 * the old key is still trusted until someone removes it. Only said when both REs answered at
 * their own addresses (a key read at the master-only address leaves the other RE unseen). */
static void warn_stale(const struct router *r)
{
  size_t seen = 0;
  for (size_t j = 0; j < r->nscans; j++)
    seen += !r->scans[j].failed && strncmp(r->scans[j].label, "re", 2) == 0;
  if (seen < 2)
    return;
  struct transport_known_key *keys;
  size_t n;
  char *error = NULL;
  if (transport_known_hosts_keys(r->known_hosts, r->to->host, r->to->port, &keys, &n, &error) !=
      0) {
    free(error); /* collect() has said why the file cannot be read */
    return;
  }
  for (size_t i = 0; i < n; i++) {
    bool presented = false;
    for (size_t j = 0; j < r->nscans; j++)
      presented |= !r->scans[j].failed && strcmp(r->scans[j].fingerprint, keys[i].fingerprint) == 0;
    if (!presented)
      fprintf(stderr,
              "issu-fleet known-hosts: %s: %s line %u holds for %s %s %s, which neither RE "
              "presents: if an RE or the router was replaced, remove it (`ssh-keygen -R '%s' -f "
              "%s` removes every key of the name; then run this again with --write)\n",
              r->name, r->known_hosts, keys[i].line, r->kh_name, keys[i].type, keys[i].fingerprint,
              r->kh_name, r->known_hosts);
  }
  free(keys);
}

/* Prints what each scan found and collects the lines to add; returns how many scans failed or
 * found a revoked key. */
static size_t collect(struct router *routers, size_t n, struct kh_file **files, size_t *nfiles)
{
  size_t problems = 0, cap = 0;
  for (size_t i = 0; i < n; i++) {
    struct router *r = &routers[i];
    for (size_t j = 0; j < r->nscans; j++) {
      struct scan *s = &r->scans[j];
      if (s->failed) {
        fprintf(stderr, "issu-fleet known-hosts: %s\n", s->error);
        problems++;
        continue;
      }
      printf("# %s %s %s:%u: %s %s", r->name, s->label, s->host, s->port, s->type, s->fingerprint);
      bool dup = false;
      for (size_t k = 0; k < j; k++)
        dup |= !r->scans[k].failed && r->scans[k].blob_len == s->blob_len &&
               memcmp(r->scans[k].blob, s->blob, s->blob_len) == 0;
      if (dup) {
        printf(" (the same key as above)\n");
        continue;
      }
      struct transport_hostkey_lookup look;
      char *error = NULL;
      if (transport_known_hosts_check(r->known_hosts, r->to->host, r->to->port, s->blob,
                                      s->blob_len, &look, &error) != 0) {
        printf(" (not checked)\n");
        fprintf(stderr, "issu-fleet known-hosts: %s: %s\n", r->name, error);
        free(error);
        problems++;
        continue;
      }
      free(look.recorded);
      if (look.status == TRANSPORT_HOSTKEY_KNOWN) {
        printf(" (already in %s line %u)\n", r->known_hosts, look.line);
        continue;
      }
      if (look.status == TRANSPORT_HOSTKEY_REVOKED) {
        printf(" (REVOKED in %s line %u: not added)\n", r->known_hosts, look.line);
        fprintf(stderr,
                "issu-fleet known-hosts: %s %s (%s:%u) presents %s %s, which %s line %u marks "
                "@revoked: not added\n",
                r->name, s->label, s->host, s->port, s->type, s->fingerprint, r->known_hosts,
                look.line);
        problems++;
        continue;
      }
      printf("\n%s %s %s\n", r->kh_name, s->type, s->base64);
      struct kh_file *f = file_for(files, nfiles, &cap, r->known_hosts);
      text_appendf(&f->lines, &f->len, &f->cap, "%s %s %s\n", r->kh_name, s->type, s->base64);
      f->count++;
    }
    warn_stale(r);
  }
  return problems;
}

static int parse_args(int argc, char **argv, struct kh_args *a)
{
  static const struct option options[] = {
      {"inventory", required_argument, NULL, 'i'},
      {"limit", required_argument, NULL, 'l'},
      {"known-hosts", required_argument, NULL, 'K'},
      {"write", no_argument, NULL, 'w'},
      {"timeout", required_argument, NULL, 'T'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  memset(a, 0, sizeof *a);
  a->timeout_s = SCAN_TIMEOUT_S;
  int opt;
  optind = 1;
  opterr = 0;
  while ((opt = getopt_long(argc, argv, ":i:l:h", options, NULL)) != -1) {
    switch (opt) {
    case 'i':
      a->inventory = optarg;
      break;
    case 'l':
      a->limit = optarg;
      break;
    case 'K':
      a->known_hosts = optarg;
      break;
    case 'w':
      a->write = true;
      break;
    case 'T': {
      char *end;
      unsigned long v = strtoul(optarg, &end, 10);
      if (*end != '\0' || v == 0 || v > 3600)
        return cli_usage_error("known-hosts", "--timeout: expected seconds from 1 to 3600");
      a->timeout_s = (unsigned)v;
      break;
    }
    default:
      return cli_option_other("known-hosts", opt, argv) == ISSU_EXIT_OK ? -1 : ISSU_EXIT_USAGE;
    }
  }
  if (optind < argc)
    return cli_usage_error("known-hosts", "unexpected argument '%s'", argv[optind]);
  if (a->inventory == NULL)
    return cli_usage_error("known-hosts", "missing -i INVENTORY");
  return 0;
}

static int scan_all(struct router *routers, size_t n, const struct kh_args *a)
{
  struct kh_run run = {.limiter = {.max_handshakes = SCAN_PARALLEL}};
  uv_loop_init(&run.loop);
  uv_check_init(&run.loop, &run.reaper);
  run.reaper.data = &run;
  uv_check_start(&run.reaper, reap);
  for (size_t i = 0; i < n; i++)
    for (size_t j = 0; j < routers[i].nscans; j++)
      start_scan(&run, &routers[i].scans[j], a->timeout_s);
  while (run.pending > 0 || run.nfinished > 0)
    uv_run(&run.loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&run.reaper, NULL);
  uv_run(&run.loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&run.loop);
  free(run.finished);
  return rc;
}

int cmd_known_hosts(int argc, char **argv)
{
  struct kh_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc != 0)
    return rc < 0 ? ISSU_EXIT_OK : rc;
  struct diag d = {0};
  struct inventory *inv = NULL;
  struct targets *ts = NULL;
  bool *selected = NULL;
  size_t *hosts = NULL, nhosts = 0;
  struct router *routers = NULL;
  size_t nrouters = 0;
  struct kh_file *files = NULL;
  size_t nfiles = 0;
  rc = ISSU_EXIT_USAGE;
  if (inventory_load(a.inventory, &inv, &d) < 0)
    goto out;
  selected = xcalloc(inv->nhosts + 1, sizeof *selected);
  if (inventory_select(inv, a.limit ? a.limit : "all", selected, &d) < 0)
    goto out;
  hosts = xcalloc(inv->nhosts + 1, sizeof *hosts);
  for (size_t h = 0; h < inv->nhosts; h++)
    if (selected[h])
      hosts[nhosts++] = h;
  struct rollout_options ro = {.inventory_path = a.inventory};
  if (targets_build(inv, hosts, nhosts, &ro, &ts, &d) < 0)
    goto out;
  routers = xcalloc(nhosts + 1, sizeof *routers);
  size_t local = 0;
  for (size_t i = 0; i < nhosts; i++) {
    if (targets_options(ts, hosts[i])->kind != TRANSPORT_SSH) {
      local++; /* a simulated router reached through a local command has no host key */
      continue;
    }
    if (plan_router(inv, ts, hosts[i], &a, &routers[nrouters], &d) < 0)
      continue;
    nrouters++;
  }
  if (d.count > 0)
    goto out;
  if (local > 0)
    fprintf(stderr,
            "issu-fleet known-hosts: %zu router(s) use issu_transport: local (no host key)\n",
            local);
  if (scan_all(routers, nrouters, &a) != 0) {
    fprintf(stderr, "issu-fleet known-hosts: internal error: a handle was left open\n");
    rc = ISSU_EXIT_INTERNAL;
    goto out;
  }
  size_t problems = collect(routers, nrouters, &files, &nfiles);
  rc = problems ? ISSU_EXIT_FAILED : ISSU_EXIT_OK;
  size_t total = 0;
  for (size_t i = 0; i < nfiles; i++)
    total += files[i].count;
  if (nrouters == 0)
    fprintf(stderr, "issu-fleet known-hosts: no router is reached over ssh: nothing to read\n");
  else if (total == 0)
    fprintf(stderr, "issu-fleet known-hosts: every key found is already recorded\n");
  for (size_t i = 0; i < nfiles; i++) {
    if (!a.write) {
      fprintf(stderr,
              "issu-fleet known-hosts: %zu line(s) to add to %s (nothing written: add --write "
              "once the fingerprints are checked)\n",
              files[i].count, files[i].path);
      continue;
    }
    char *error = NULL;
    if (transport_known_hosts_append(files[i].path, files[i].lines, &error) != 0) {
      fprintf(stderr, "issu-fleet known-hosts: %s\n", error);
      free(error);
      rc = ISSU_EXIT_FAILED;
      continue;
    }
    fprintf(stderr, "issu-fleet known-hosts: %zu line(s) appended to %s\n", files[i].count,
            files[i].path);
  }
out:
  diag_print(&d, stderr);
  diag_free(&d);
  for (size_t i = 0; i < nfiles; i++)
    free(files[i].lines);
  free(files);
  for (size_t i = 0; i < nrouters; i++) {
    for (size_t j = 0; j < routers[i].nscans; j++) {
      struct scan *s = &routers[i].scans[j];
      free(s->host);
      free(s->error);
      free(s->base64);
      free(s->blob);
    }
    free(routers[i].kh_name);
  }
  free(routers);
  targets_free(ts);
  free(hosts);
  free(selected);
  inventory_free(inv);
  return rc;
}
