/*
 * junos-sim lab: a whole fleet of simulated routers behind real OpenSSH on 127.0.0.1.
 *
 * `init` writes one state file per router, a client key, sshd configurations with a host key
 * each (a router's two REs are two sshd identities: sshd K serves RE K%2 of 16 routers, OpenSSH's
 * listener limit; `Match LocalPort` gives each RE's port its own ForceCommand), an Ansible
 * inventory (the master-only port, and each RE's own), a rollout policy, known_hosts, an
 * ssh_config, and the package image the policy stages. `up` starts the sshd processes and the
 * forwarder of the master-only addresses (sim_forward.c) and returns once every port accepts
 * connections; `down` stops them and the sessions they serve; `status` shows every router as its
 * clock has it now.
 */
/* realpath() is XSI. */
#define _XOPEN_SOURCE 700

#include "simulator/sim.h"
#include "simulator/sim_net.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0)
    ;
}

#define ROUTERS_PER_SSHD 16
#define IMAGE_BYTES (1u << 20)

static const char *const site_names[] = {"ams", "fra", "lon", "par", "mad", "mil", "nyc", "chi",
                                         "dfw", "sfo", "sea", "atl", "sin", "syd", "tok", "hkg"};

struct lab {
  char dir[512];
  char self[512];
  size_t devices, sites;
  double time_scale;
  uint64_t seed;
  bool steady;     /* --steady: no jitter */
  bool vmhost;     /* --vmhost: every router's REs run on a VM host */
  bool stays;      /* --switchover stay: sessions stay on the old master at a switchover */
  bool known_both; /* --known-hosts both: the master-only address trusts both REs' keys */
  int base_port;
  double net_recovery; /* --net-recovery: simulated seconds from a switchover to a healthy net */
  unsigned long net_scale; /* --net-scale: the network's size multiplier (benchmarks) */
  char from[40], to[40];
  char **names;
  char **fault_specs;
  size_t nfaults;
};

static int fail(const char *fmt, ...) ISSU_PRINTF(1, 2);

/* Reports a lab error on stderr; returns the usage exit code. */
static int fail(const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "junos-sim lab: ");
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  return 2;
}

/* Runs argv, waits; returns its exit status (or -1). */
static int run(char *const argv[])
{
  pid_t pid = fork();
  if (pid < 0)
    return -1;
  if (pid == 0) {
    execvp(argv[0], argv);
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *path_in(const struct lab *l, const char *rel)
{
  return xasprintf("%s/%s", l->dir, rel);
}

static int write_text(const char *path, const char *text)
{
  FILE *f = fopen(path, "w");
  if (f == NULL)
    return -1;
  fputs(text, f);
  return fclose(f);
}

static char *read_text(const char *path)
{
  char *buf = NULL, err[128];
  size_t len;
  return text_read_file(path, 1 << 20, &buf, &len, err, sizeof err) == 0 ? buf : NULL;
}

static bool port_free(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (fd >= 0)
    close(fd);
  return ok;
}

static bool port_accepts(int port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  if (fd >= 0)
    close(fd);
  return ok;
}

/* The first port the kernel hands out for outgoing connections: lab ports stay below it, or an
 * ssh client's own ephemeral port could take a router's port between init and up. */
static int ephemeral_low(void)
{
  int low = 32768, high;
  FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
  if (f != NULL) {
    if (fscanf(f, "%d %d", &low, &high) != 2)
      low = 32768;
    fclose(f);
  }
  return low;
}

/* A run of `n` free ports between 10000 and the ephemeral range, starting at a point drawn from
 * the seed, the pid and the clock (so labs set up in parallel rarely collide; a collision is
 * caught by `lab up`). */
static int find_ports(size_t n, uint64_t seed)
{
  int low = 10000, high = ephemeral_low();
  if (high - low < (int)n + 1)
    return -1;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t x = seed * 7919 + (uint64_t)getpid() * 104729 + (uint64_t)ts.tv_nsec;
  for (int attempt = 0; attempt < 200; attempt++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    int base = low + (int)((x >> 33) % (uint64_t)(high - low - (int)n));
    size_t ok = 0;
    while (ok < n && port_free(base + (int)ok))
      ok++;
    if (ok == n)
      return base;
  }
  return -1;
}

static bool digest_file(const char *tool, const char *file, char *out, size_t len)
{
  char *cmd = xasprintf("%s '%s'", tool, file);
  FILE *p = popen(cmd, "r");
  free(cmd);
  char buf[200] = "";
  bool ok = p && fgets(buf, sizeof buf, p) != NULL;
  if (p)
    ok = pclose(p) == 0 && ok;
  buf[strcspn(buf, " \n")] = '\0';
  snprintf(out, len, "%s", buf);
  return ok;
}

static const char *user_name(void)
{
  struct passwd *pw = getpwuid(getuid());
  return pw ? pw->pw_name : "root";
}

/* ---- init ---- */

static int parse_init(int argc, char **argv, struct lab *l)
{
  l->devices = 0;
  l->time_scale = 600;
  l->seed = 1;
  l->net_recovery = SIM_NET_RECOVERY_DEFAULT;
  l->net_scale = 1;
  snprintf(l->from, sizeof l->from, "21.4R3-S5.4");
  snprintf(l->to, sizeof l->to, "23.4R2-S3.7");
  for (int i = 0; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    char *end = NULL;
    if (a[0] != '-' && l->dir[0] == '\0') {
      snprintf(l->dir, sizeof l->dir, "%s", a);
      continue;
    }
    if (strcmp(a, "--steady") == 0 || strcmp(a, "--vmhost") == 0) {
      *(a[2] == 's' ? &l->steady : &l->vmhost) = true;
      continue;
    }
    if (v == NULL)
      return fail("option '%s' needs a value", a);
    i++;
    if (strcmp(a, "--devices") == 0)
      l->devices = strtoul(v, &end, 10);
    else if (strcmp(a, "--sites") == 0)
      l->sites = strtoul(v, &end, 10);
    else if (strcmp(a, "--time-scale") == 0)
      l->time_scale = strtod(v, &end);
    else if (strcmp(a, "--seed") == 0)
      l->seed = strtoull(v, &end, 10);
    else if (strcmp(a, "--net-recovery") == 0)
      l->net_recovery = strtod(v, &end);
    else if (strcmp(a, "--net-scale") == 0)
      l->net_scale = strtoul(v, &end, 10);
    else if (strcmp(a, "--base-port") == 0)
      l->base_port = (int)strtol(v, &end, 10);
    else if (strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0) {
      snprintf(strcmp(a, "--from") == 0 ? l->from : l->to, sizeof l->from, "%s", v);
      continue;
    } else if (strcmp(a, "--fault") == 0 || strcmp(a, "--router") == 0) {
      l->fault_specs = xrealloc(l->fault_specs, (l->nfaults + 1) * sizeof *l->fault_specs);
      l->fault_specs[l->nfaults++] = xasprintf("%c:%s", a[2] == 'f' ? 'F' : 'R', v);
      continue;
    } else if (strcmp(a, "--switchover") == 0) {
      if (strcmp(v, "drop") != 0 && strcmp(v, "stay") != 0)
        return fail("--switchover '%s': expected drop or stay", v);
      l->stays = strcmp(v, "stay") == 0;
      continue;
    } else if (strcmp(a, "--known-hosts") == 0) {
      if (strcmp(v, "re0") != 0 && strcmp(v, "both") != 0)
        return fail("--known-hosts '%s': expected re0 or both", v);
      l->known_both = strcmp(v, "both") == 0;
      continue;
    } else
      return fail("unknown option '%s'", a);
    if (end == NULL || *end != '\0')
      return fail("'%s' is not a number", v);
  }
  if (l->dir[0] == '\0')
    return fail("%s", "missing DIR (junos-sim lab init DIR --devices N)");
  if (strpbrk(l->dir, " \t\n'\"\\$`;|&") != NULL)
    return fail("'%s': the lab directory's path must not contain spaces or shell characters",
                l->dir);
  if (l->devices < 1 || l->devices > 5000)
    return fail("%s", "--devices must be from 1 to 5000");
  if (l->sites == 0)
    l->sites = (l->devices + 7) / 8;
  if (l->sites > l->devices)
    l->sites = l->devices;
  if (l->time_scale < 1 || l->time_scale > 100000)
    return fail("%s", "--time-scale must be from 1 to 100000");
  if (!(l->net_recovery >= 1 && l->net_recovery <= 86400))
    return fail("%s", "--net-recovery must be from 1 to 86400 simulated seconds");
  if (l->net_scale < 1 || l->net_scale > SIM_NET_SCALE_MAX)
    return fail("--net-scale must be from 1 to %d", SIM_NET_SCALE_MAX);
  if (sim_version_cmp(l->from, l->to) >= 0)
    return fail("%s", "--to must be a newer version than --from");
  if (l->base_port != 0 && (l->base_port < 1024 || l->base_port + 3 * (int)l->devices > 65535))
    return fail("%s", "--base-port must leave room for every router's three ports (master-only, "
                      "re0, re1) between 1024 and 65535");
  return 0;
}

static void site_name(size_t i, char *buf, size_t len)
{
  if (i < ARRAY_LEN(site_names))
    snprintf(buf, len, "%s", site_names[i]);
  else
    snprintf(buf, len, "s%03zu", i);
}

/* One router's state at the start: both REs on `from`, GRES/NSR/commit sync on, the package in
 * /var/tmp, and its faults applied. */
static int write_router(const struct lab *l, size_t i, const char *name, const char *pkg_path,
                        const struct sim_file *image, const struct sim_router *probe, double now)
{
  unsigned faults_mask = probe->faults;
  struct sim_router r = {0};
  char *path = xasprintf("%s/routers/%s.json", l->dir, name);
  snprintf(r.path, sizeof r.path, "%s", path);
  free(path);
  snprintf(r.hostname, sizeof r.hostname, "%s", name);
  snprintf(r.model, sizeof r.model, "%s", i % 3 == 0 ? "mx960" : "mx480");
  r.time_scale = l->time_scale;
  r.seed = l->seed * 1000003 + i;
  r.steady = l->steady;
  r.anchor_real = now;
  r.anchor_sim = now;
  for (int s = 0; s < 2; s++) {
    r.re[s].present = true;
    r.re[s].master = s == 0;
    snprintf(r.re[s].version, sizeof r.re[s].version, "%s", l->from);
    r.re[s].booted = now - 86400.0 * (30 + (double)((r.seed + (uint64_t)s) % 300));
  }
  r.gres = !(faults_mask & FAULT_GRES_OFF);
  r.nsr = !(faults_mask & FAULT_NSR_OFF);
  r.commit_sync = !(faults_mask & FAULT_COMMIT_SYNC_OFF);
  r.faults = faults_mask;
  snprintf(r.hang_phase, sizeof r.hang_phase, "%s", probe->hang_phase);
  r.slow_factor = probe->slow_factor;
  r.vmhost = probe->vmhost;
  r.session_stays = probe->session_stays;
  r.net_faults = probe->net_faults;
  r.net_slow_minutes = probe->net_slow_minutes;
  r.net_recovery = l->net_recovery;
  r.net_scale = (unsigned)l->net_scale;
  for (int s = 0; s < 2; s++)
    snprintf(r.re[s].suffix, sizeof r.re[s].suffix, "%s", probe->re[s].suffix);
  if (faults_mask & FAULT_VERSION_MISMATCH) {
    /* RE1 one service release behind: a half-finished earlier upgrade. */
    snprintf(r.re[1].version, sizeof r.re[1].version, "%s", "21.4R3-S4.9");
  }
  r.var_total_kb = 19u * 1024 * 1024;
  r.var_used_kb = 8u * 1024 * 1024 + (r.seed % 1024) * 1024;
  if (!(faults_mask & FAULT_PACKAGE_MISSING)) {
    struct sim_file *f = sim_add_file(&r, pkg_path);
    *f = *image;
    snprintf(f->path, sizeof f->path, "%s", pkg_path);
    if (faults_mask & FAULT_CHECKSUM_MISMATCH)
      f->sha256[0] = f->sha256[0] == '0' ? '1' : '0';
  }
  /* Wording that differs across releases, spread over the lab by the seed. */
  r.cli_timestamp = r.seed % 3 == 1;
  r.issu_line_prefix = r.seed % 2 == 1;
  r.peer_state_wording = r.seed % 4 == 3;
  char err[256];
  int rc = sim_create(&r, err, sizeof err);
  sim_router_free(&r);
  if (rc < 0)
    fprintf(stderr, "junos-sim lab: %s\n", err);
  return rc;
}

static int make_image(const struct lab *l, const char *path, struct sim_file *f)
{
  FILE *out = fopen(path, "wb");
  if (out == NULL)
    return -1;
  uint64_t x = l->seed ^ 0x5bd1e995ULL;
  for (size_t i = 0; i < IMAGE_BYTES / 8; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    fwrite(&x, sizeof x, 1, out);
  }
  if (fclose(out) != 0)
    return -1;
  f->size = IMAGE_BYTES;
  return digest_file("md5sum", path, f->md5, sizeof f->md5) &&
                 digest_file("sha256sum", path, f->sha256, sizeof f->sha256)
             ? 0
             : -1;
}

/* Per-router faults and options from --fault HOST=FAULT and --router HOST=OPTION (kept in one
 * list, "F:" or "R:" before each), checked before anything is written. Each router's result is
 * a probe router holding only those fields. */
static int resolve_faults(const struct lab *l, char **names, struct sim_router *probe)
{
  for (size_t i = 0; i < l->devices; i++) {
    probe[i].slow_factor = 1;
    probe[i].vmhost = l->vmhost;
    probe[i].session_stays = l->stays;
  }
  for (size_t f = 0; f < l->nfaults; f++) {
    bool fault = l->fault_specs[f][0] == 'F';
    const char *opt = fault ? "--fault" : "--router", *spec = l->fault_specs[f] + 2;
    const char *eq = strchr(spec, '=');
    if (eq == NULL)
      return fail("%s '%s': expected HOST=%s", opt, spec, fault ? "FAULT" : "OPTION");
    size_t i;
    for (i = 0; i < l->devices; i++)
      if (strlen(names[i]) == (size_t)(eq - spec) && strncmp(spec, names[i], strlen(names[i])) == 0)
        break;
    if (i == l->devices)
      return fail("%s '%s': no router %.*s in this lab (names are mx-SITE-N, from %s to %s)", opt,
                  spec, (int)(eq - spec), spec, names[0], names[l->devices - 1]);
    char err[512];
    if ((fault ? sim_fault_parse : sim_option_parse)(eq + 1, &probe[i], err, sizeof err) < 0)
      return fail("%s %s: %s", opt, spec, err);
  }
  return 0;
}

/* A lab router's ports: the master-only address (the forwarder), then RE0's and RE1's own. */
static int port_of(const struct lab *l, size_t i, int which /* -1: master-only, 0, 1: RE */)
{
  return l->base_port + (int)((size_t)(which + 1) * l->devices + i);
}

/* ssh-keygen for `rel` under the lab, unless it exists; 0 or the usage exit code. */
static int keygen(const struct lab *l, const char *rel)
{
  char *key = path_in(l, rel);
  int rc = 0;
  if (access(key, F_OK) != 0) {
    char *argv_kg[] = {"ssh-keygen",    "-q", "-t", "ed25519", "-N", "", "-C",
                       "junos-sim-lab", "-f", key,  NULL};
    if (run(argv_kg) != 0)
      rc = fail("ssh-keygen failed for %s (is openssh-client installed?)", key);
  }
  free(key);
  return rc;
}

/* "ssh-ed25519 AAAA... comment\n" in FILE.pub: known_hosts wants the type and the key. */
static char *public_key(const struct lab *l, const char *rel)
{
  char *path = xasprintf("%s/%s.pub", l->dir, rel);
  char *pub = read_text(path);
  free(path);
  if (pub == NULL)
    return NULL;
  size_t type_len = strcspn(pub, " ");
  size_t key_len = pub[type_len] ? strcspn(pub + type_len + 1, " \n") : 0;
  char *text = xstrndup(pub, type_len + 1 + key_len);
  free(pub);
  return text;
}

/* The client key, and one host key per sshd: sshd K serves RE K%2 of the routers of group K/2,
 * so a router's two REs always show different keys (routers of one group share theirs). */
static int make_keys(const struct lab *l, size_t nsshd, char **host_keys, char **client_pub)
{
  int rc = keygen(l, "ssh/id_ed25519");
  for (size_t k = 0; k < nsshd && rc == 0; k++) {
    char rel[64];
    snprintf(rel, sizeof rel, "ssh/host-%zu_ed25519_key", k);
    if ((rc = keygen(l, rel)) == 0 && (host_keys[k] = public_key(l, rel)) == NULL)
      rc = fail("cannot read %s/%s.pub", l->dir, rel);
  }
  if (rc != 0)
    return rc;
  char *client_pub_path = path_in(l, "ssh/id_ed25519.pub");
  *client_pub = read_text(client_pub_path);
  free(client_pub_path);
  if (*client_pub == NULL)
    return fail("%s", "cannot read the generated client key");
  return 0;
}

/* The configuration of sshd K: RE K%2 of routers [first, last), listeners, then one Match block
 * each whose ForceCommand names the router and the RE. */
static char *sshd_config(const struct lab *l, char **names, size_t first, size_t last, size_t k,
                         size_t nsshd)
{
  char *conf = NULL;
  size_t len = 0, cap = 0;
  int re = (int)(k % 2);
  text_appendf(&conf, &len, &cap, "# junos-sim lab sshd %zu of %zu: re%d (generated)\n", k + 1,
               nsshd, re);
  for (size_t i = first; i < last; i++)
    text_appendf(&conf, &len, &cap, "ListenAddress 127.0.0.1:%d\n", port_of(l, i, re));
  text_appendf(&conf, &len, &cap,
               "HostKey %s/ssh/host-%zu_ed25519_key\nPidFile %s/sshd/sshd-%zu.pid\n"
               "AuthorizedKeysFile %s/ssh/authorized_keys\n"
               "StrictModes no\nUsePAM no\nPasswordAuthentication no\n"
               "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
               "MaxStartups 500\nMaxSessions 100\nLogLevel ERROR\nPrintMotd no\n"
               "PermitUserEnvironment HOME\n"
               "AllowTcpForwarding no\nX11Forwarding no\n",
               l->dir, k, l->dir, k, l->dir);
  for (size_t i = first; i < last; i++)
    text_appendf(&conf, &len, &cap,
                 "Match LocalPort %d\n    ForceCommand %s device --state %s/routers/%s.json "
                 "--re %d\n",
                 port_of(l, i, re), l->self, l->dir, names[i], re);
  return conf;
}

static int lab_init(int argc, char **argv, const char *self)
{
  struct lab l = {0};
  snprintf(l.self, sizeof l.self, "%s", self);
  int rc = parse_init(argc, argv, &l);
  char **names = NULL, *inv = NULL, *known = NULL, *ssh_cfg = NULL, *policy = NULL;
  char **host_keys = NULL, *client_pub = NULL, *image_path = NULL, *pkg_path = NULL;
  struct sim_router *rf = NULL;
  cJSON *labj = NULL;
  if (rc != 0)
    goto out;

  /* Names first: contiguous blocks per site. Faults are checked against them before anything
   * is written, so a typo leaves no half-made lab behind. */
  size_t per_site = (l.devices + l.sites - 1) / l.sites;
  names = xcalloc(l.devices, sizeof *names);
  for (size_t i = 0; i < l.devices; i++) {
    char sname[24];
    site_name(i / per_site, sname, sizeof sname);
    names[i] = xasprintf("mx-%s-%zu", sname, i % per_site + 1);
  }
  rf = xcalloc(l.devices, sizeof *rf);
  if ((rc = resolve_faults(&l, names, rf)) != 0)
    goto out;

  char abs[512];
  mkdir(l.dir, 0755);
  if (realpath(l.dir, abs) == NULL) {
    rc = fail("cannot create %s: %s", l.dir, strerror(errno));
    goto out;
  }
  snprintf(l.dir, sizeof l.dir, "%s", abs);
  const char *subdirs[] = {"routers", "ssh", "sshd", "images"};
  for (size_t i = 0; i < ARRAY_LEN(subdirs); i++) {
    char *p = path_in(&l, subdirs[i]);
    mkdir(p, 0755);
    free(p);
  }
  if (l.base_port == 0 && (l.base_port = find_ports(3 * l.devices, l.seed)) < 0) {
    rc = fail("%s", "no run of free ports found on 127.0.0.1");
    goto out;
  }
  size_t groups = (l.devices + ROUTERS_PER_SSHD - 1) / ROUTERS_PER_SSHD, nsshd = 2 * groups;
  host_keys = xcalloc(nsshd, sizeof *host_keys);
  if ((rc = make_keys(&l, nsshd, host_keys, &client_pub)) != 0)
    goto out;
  /* sshd runs every ForceCommand through the account's shell; bash run by sshd reads
   * ~/.bashrc, and a heavy one (pyenv, conda) would stall every simulated command. The lab's
   * key sets HOME to an empty directory of the lab for its sessions. */
  char *home = path_in(&l, "home");
  mkdir(home, 0755);
  char *auth = path_in(&l, "ssh/authorized_keys");
  char *auth_line = xasprintf("environment=\"HOME=%s\" %s", home, client_pub);
  write_text(auth, auth_line);
  free(auth_line);
  free(auth);
  free(home);

  /* The package image the policy stages, and where it lives on the routers. */
  char pkg_name[128];
  snprintf(pkg_name, sizeof pkg_name, "junos-install-mx-x86-64-%s.tgz", l.to);
  image_path = xasprintf("%s/images/%s", l.dir, pkg_name);
  pkg_path = xasprintf("/var/tmp/%s", pkg_name);
  struct sim_file image = {0};
  if (make_image(&l, image_path, &image) < 0) {
    rc = fail("cannot write the package image %s (are md5sum and sha256sum there?)", image_path);
    goto out;
  }

  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
  size_t il = 0, ic = 0, kl = 0, kc = 0, sl = 0, sc = 0;
  const char *user = user_name();
  text_appendf(&inv, &il, &ic,
               "# junos-sim lab: %zu simulated MX routers behind OpenSSH on 127.0.0.1\n"
               "# (junos-sim lab up %s; then issu-fleet plan -i %s/inventory.yaml -p "
               "%s/rollout.yaml)\n"
               "all:\n  vars:\n    ansible_user: %s\n"
               "    ansible_ssh_private_key_file: %s/ssh/id_ed25519\n"
               "    issu_known_hosts: %s/known_hosts\n  children:\n",
               l.devices, l.dir, l.dir, l.dir, user, l.dir, l.dir);
  labj = cJSON_CreateObject();
  cJSON_AddStringToObject(labj, "dir", l.dir);
  cJSON_AddNumberToObject(labj, "devices", (double)l.devices);
  cJSON_AddNumberToObject(labj, "time_scale", l.time_scale);
  cJSON_AddNumberToObject(labj, "seed", (double)l.seed);
  cJSON_AddStringToObject(labj, "from", l.from);
  cJSON_AddStringToObject(labj, "to", l.to);
  cJSON *routers = cJSON_AddArrayToObject(labj, "routers");
  for (size_t i = 0; i < l.devices; i++) {
    size_t site = i / per_site, idx = i % per_site + 1;
    char sname[24];
    site_name(site, sname, sizeof sname);
    if (idx == 1)
      text_appendf(&inv, &il, &ic,
                   "    site_%s:\n      vars: {site: %s, region: %s}\n      hosts:\n", sname, sname,
                   site < (l.sites + 1) / 2 ? "eu" : "us");
    int port = port_of(&l, i, -1), re_port[2] = {port_of(&l, i, 0), port_of(&l, i, 1)};
    text_appendf(&inv, &il, &ic,
                 "        %s: {ansible_host: 127.0.0.1, ansible_port: %d, pair: %s-core-%zu,\n"
                 "          issu_re0_host: 127.0.0.1, issu_re0_port: %d,\n"
                 "          issu_re1_host: 127.0.0.1, issu_re1_port: %d,\n"
                 "          issu_local_command: \"%s device --state %s/routers/%s.json\"}\n",
                 names[i], port, sname, (idx + 1) / 2, re_port[0], re_port[1], l.self, l.dir,
                 names[i]);
    /* The master-only address: RE0's key (what an operator who recorded it once has), or both
     * REs' keys with --known-hosts both. Each RE's own address: its own key. */
    const char *key[2] = {host_keys[2 * (i / ROUTERS_PER_SSHD)],
                          host_keys[2 * (i / ROUTERS_PER_SSHD) + 1]};
    text_appendf(&known, &kl, &kc, "[127.0.0.1]:%d %s\n", port, key[0]);
    if (l.known_both)
      text_appendf(&known, &kl, &kc, "[127.0.0.1]:%d %s\n", port, key[1]);
    for (int re = 0; re < 2; re++)
      text_appendf(&known, &kl, &kc, "[127.0.0.1]:%d %s\n", re_port[re], key[re]);
    for (int which = -1; which < 2; which++)
      text_appendf(&ssh_cfg, &sl, &sc,
                   "Host %s%s\n    HostName 127.0.0.1\n    Port %d\n    User %s\n"
                   "    IdentityFile %s/ssh/id_ed25519\n    IdentitiesOnly yes\n"
                   "    UserKnownHostsFile %s/known_hosts\n    StrictHostKeyChecking yes\n"
                   "    BatchMode yes\n    LogLevel ERROR\n\n",
                   names[i],
                   which < 0 ? ""
                   : which   ? "-re1"
                             : "-re0",
                   which < 0 ? port : re_port[which], user, l.dir, l.dir);
    if (write_router(&l, i, names[i], pkg_path, &image, &rf[i], now) < 0) {
      rc = 2;
      goto out;
    }
    cJSON *rj = cJSON_CreateObject();
    cJSON_AddStringToObject(rj, "name", names[i]);
    cJSON_AddNumberToObject(rj, "port", port);
    cJSON_AddNumberToObject(rj, "re0_port", re_port[0]);
    cJSON_AddNumberToObject(rj, "re1_port", re_port[1]);
    cJSON_AddItemToArray(routers, rj);
  }

  /* sshd configurations: two per group of 16 routers (OpenSSH's listener limit), one per RE. */
  cJSON_AddNumberToObject(labj, "sshd_count", (double)nsshd);
  for (size_t k = 0; k < nsshd && rc == 0; k++) {
    size_t first = k / 2 * ROUTERS_PER_SSHD;
    size_t last = first + ROUTERS_PER_SSHD < l.devices ? first + ROUTERS_PER_SSHD : l.devices;
    char *conf = sshd_config(&l, names, first, last, k, nsshd);
    char *conf_path = xasprintf("%s/sshd/sshd-%zu.conf", l.dir, k);
    if (write_text(conf_path, conf) != 0)
      rc = fail("cannot write %s", conf_path);
    free(conf_path);
    free(conf);
  }
  policy = xasprintf("# Rollout policy for the junos-sim lab in %s (see docs/policy.md)\n"
                     "target:\n  version: %s\n  package: %s\n  sha256: %s\n  source: %s\n"
                     "issu:\n  old_master: reboot\n  switchback: true\n"
                     "waves:\n  canary: 1\n  serial: [\"25%%\"]\n  soak: 5m\n"
                     "limits:\n  per: {site: \"50%%\"}\n  exclusive: [pair]\n"
                     "failures:\n  max_failed: 0\n",
                     l.dir, l.to, pkg_path, image.sha256, image_path);
  char *lab_text = cJSON_Print(labj);
  const char *files[][2] = {{"inventory.yaml", inv},
                            {"known_hosts", known},
                            {"ssh_config", ssh_cfg},
                            {"rollout.yaml", policy},
                            {"lab.json", lab_text}};
  for (size_t i = 0; i < ARRAY_LEN(files) && rc == 0; i++) {
    char *p = path_in(&l, files[i][0]);
    if (write_text(p, files[i][1]) != 0)
      rc = fail("cannot write %s", p);
    free(p);
  }
  free(lab_text);
  if (rc == 0)
    printf("lab of %zu routers in %zu sites written to %s (ports %d-%d, %zu sshd and a "
           "forwarder, time scale %g)\n",
           l.devices, l.sites, l.dir, l.base_port, l.base_port + 3 * (int)l.devices - 1, nsshd,
           l.time_scale);
out:
  cJSON_Delete(labj);
  for (size_t i = 0; names && i < l.devices; i++)
    free(names[i]);
  free(names);
  free(rf);
  free(policy);
  free(inv);
  free(known);
  free(ssh_cfg);
  free(image_path);
  free(pkg_path);
  for (size_t k = 0; host_keys && k < 2 * ((l.devices + ROUTERS_PER_SSHD - 1) / ROUTERS_PER_SSHD);
       k++)
    free(host_keys[k]);
  free(host_keys);
  free(client_pub);
  for (size_t f = 0; f < l.nfaults; f++)
    free(l.fault_specs[f]);
  free(l.fault_specs);
  return rc;
}

/* ---- up, down, status ---- */

static cJSON *load_lab(const char *dir)
{
  char *path = xasprintf("%s/lab.json", dir);
  char *text = read_text(path);
  free(path);
  cJSON *j = text ? cJSON_Parse(text) : NULL;
  free(text);
  if (j == NULL)
    fprintf(stderr, "junos-sim lab: %s is not a lab (no readable lab.json; run lab init)\n", dir);
  return j;
}

static pid_t read_pid(const char *path)
{
  char *text = read_text(path);
  pid_t pid = text ? (pid_t)strtol(text, NULL, 10) : 0;
  free(text);
  return pid;
}

/* True while the process runs: a zombie (killed, not yet reaped by a parent that is not us) is
 * gone for our purposes. */
static bool alive(pid_t pid)
{
  char state = 'Z';
  return pid > 0 && kill(pid, 0) == 0 && sim_proc_stat(pid, NULL, &state) == 0 && state != 'Z';
}

/* The lab's daemons: sshd-0 .. sshd-(N-1), then the forwarder of the master-only addresses. */
static char *daemon_file(const char *root, int k, int nsshd, const char *ext)
{
  return k < nsshd ? xasprintf("%s/sshd/sshd-%d.%s", root, k, ext)
                   : xasprintf("%s/sshd/forward.%s", root, ext);
}

static int start_daemon(const char *root, int k, int nsshd, const char *self)
{
  char *run_file = daemon_file(root, k, nsshd, "run");
  if (alive(read_pid(run_file))) {
    free(run_file);
    return 0; /* already up */
  }
  char *conf = daemon_file(root, k, nsshd, "conf");
  char *log = daemon_file(root, k, nsshd, "log");
  char *pid_file = daemon_file(root, k, nsshd, "pid");
  unlink(pid_file); /* a stale one would say this sshd has tried its binds (wait_all_bound) */
  free(pid_file);
  pid_t pid = fork();
  if (pid == 0) {
    /* Detached: its own session, stdin from /dev/null, errors to the log. */
    setsid();
    int in = open("/dev/null", O_RDONLY), err = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, 0);
    dup2(err, 1);
    dup2(err, 2);
    if (k < nsshd)
      execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-e", "-f", conf, (char *)NULL);
    else
      execl(self, self, "forward", root, (char *)NULL);
    _exit(127);
  }
  char pid_text[32];
  snprintf(pid_text, sizeof pid_text, "%ld\n", (long)pid);
  int rc = 0;
  if (pid < 0 || write_text(run_file, pid_text) != 0)
    rc = fail("cannot start %s", k < nsshd ? conf : "the forwarder");
  free(conf);
  free(log);
  free(run_file);
  return rc;
}

/* A daemon's log that names a port it could not bind (`Bind to port N on 127.0.0.1 failed:
 * ...`, sshd's words, which the forwarder uses too): the error tests retry on with other ports
 * (tests/unit/lab.h). 0 when the log names none. */
static int bind_failure(const char *log_text)
{
  const char *b = log_text ? strstr(log_text, "Bind to port ") : NULL;
  if (b == NULL)
    return 0;
  return fail("port %d is taken by another program (%.*s); run lab init again for other ports, "
              "or give --base-port",
              atoi(b + strlen("Bind to port ")), (int)strcspn(b, "\n"), b);
}

/* Waits until `port` accepts a connection; says why not if daemon k died or cannot bind. */
static int wait_port(const char *root, int port, int k, int nsshd, const char *name)
{
  int rc = 0, tries = 0;
  while (!port_accepts(port) && tries++ < 300) {
    char *run_file = daemon_file(root, k, nsshd, "run");
    pid_t pid = read_pid(run_file);
    free(run_file);
    char *log = daemon_file(root, k, nsshd, "log");
    char *log_text = tries > 10 ? read_text(log) : NULL;
    rc = bind_failure(log_text);
    free(log_text);
    int status;
    if (rc == 0 && pid > 0 && waitpid(pid, &status, WNOHANG) == pid) {
      /* The forwarder exits at once on a port it cannot bind: that is a port taken too. */
      char *text = read_text(log);
      if ((rc = bind_failure(text)) == 0) {
        fprintf(stderr, "junos-sim lab: %s for port %d exited: %s",
                k < nsshd ? "sshd" : "forwarder", port, text ? text : "?\n");
        rc = 1;
      }
      free(text);
    }
    free(log);
    if (rc != 0)
      return rc;
    sleep_ms(50);
  }
  if (tries > 300)
    return fail("port %d of %s does not accept connections after 15 s", port, name);
  return 0;
}

/* sshd binds every ListenAddress it can and carries on without the others, and another program
 * listening on one of them makes that port accept as if sshd served it. sshd writes its pid file
 * once every bind has been tried: then its log names any port it could not bind. */
static int wait_all_bound(const char *root, int k, int nsshd)
{
  char *pid_file = daemon_file(root, k, nsshd, "pid");
  int tries = 0;
  while (access(pid_file, F_OK) != 0 && tries++ < 300)
    sleep_ms(50);
  free(pid_file);
  if (tries > 300)
    return fail("sshd %d wrote no pid file within 15 s", k);
  char *log = daemon_file(root, k, nsshd, "log");
  char *text = read_text(log);
  int rc = bind_failure(text);
  free(text);
  free(log);
  return rc;
}

static int lab_up(const char *dir, const char *self)
{
  cJSON *lab = load_lab(dir);
  if (lab == NULL)
    return 2;
  const char *root = cJSON_GetObjectItem(lab, "dir")->valuestring;
  int nsshd = cJSON_GetObjectItem(lab, "sshd_count")->valueint;
  if (geteuid() == 0)
    mkdir("/run/sshd", 0755); /* sshd refuses to start as root without it */
  int rc = 0;
  for (int k = 0; k <= nsshd && rc == 0; k++)
    rc = start_daemon(root, k, nsshd, self);
  /* Ready when every router's three ports accept a connection (or a daemon died: say why). */
  cJSON *routers = cJSON_GetObjectItem(lab, "routers");
  int n = cJSON_GetArraySize(routers);
  for (int i = 0; i < n && rc == 0; i++) {
    const cJSON *rj = cJSON_GetArrayItem(routers, i);
    const char *name = cJSON_GetObjectItem(rj, "name")->valuestring;
    int group = i / ROUTERS_PER_SSHD;
    rc = wait_port(root, cJSON_GetObjectItem(rj, "re0_port")->valueint, 2 * group, nsshd, name);
    if (rc == 0)
      rc = wait_port(root, cJSON_GetObjectItem(rj, "re1_port")->valueint, 2 * group + 1, nsshd,
                     name);
    if (rc == 0)
      rc = wait_port(root, cJSON_GetObjectItem(rj, "port")->valueint, nsshd, nsshd, name);
  }
  for (int k = 0; k < nsshd && rc == 0; k++)
    rc = wait_all_bound(root, k, nsshd);
  if (rc == 0)
    printf("lab up: %d routers on 127.0.0.1, %d sshd and a forwarder\n", n, nsshd);
  cJSON_Delete(lab);
  return rc;
}

/* Signals every descendant of a lab sshd: its open sessions (their monitor, the session
 * process, the junos-sim it runs), which outlive the listener otherwise: a connection held open,
 * or a command waiting on a hung ISSU, would keep running after `lab down`. */
static void stop_sessions(pid_t listener)
{
  struct proc {
    pid_t pid, parent;
  } *procs = NULL;
  size_t n = 0;
  DIR *d = opendir("/proc");
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    char *end;
    long pid = strtol(e->d_name, &end, 10);
    pid_t parent;
    if (*end != '\0' || pid <= 1 || sim_proc_stat((pid_t)pid, &parent, NULL) != 0)
      continue;
    procs = xrealloc(procs, (n + 1) * sizeof *procs);
    procs[n++] = (struct proc){(pid_t)pid, parent};
  }
  if (d != NULL)
    closedir(d);
  /* Breadth first from the listener: `found` grows as children of found processes appear. */
  pid_t *found = xcalloc(n + 1, sizeof *found);
  size_t nf = 0;
  found[nf++] = listener;
  for (size_t i = 0; i < nf; i++)
    for (size_t k = 0; k < n; k++)
      if (procs[k].parent == found[i] && nf < n + 1)
        found[nf++] = procs[k].pid;
  for (size_t i = 1; i < nf; i++)
    kill(found[i], SIGTERM);
  free(found);
  free(procs);
}

static int lab_down(const char *dir)
{
  cJSON *lab = load_lab(dir);
  if (lab == NULL)
    return 2;
  const char *root = cJSON_GetObjectItem(lab, "dir")->valuestring;
  int nsshd = cJSON_GetObjectItem(lab, "sshd_count")->valueint;
  int groups = nsshd + 1; /* and the forwarder */
  pid_t *pids = xcalloc((size_t)groups + 1, sizeof *pids);
  int stopped = 0;
  /* Signal every daemon first, then wait for all of them together. */
  for (int g = 0; g < groups; g++) {
    char *run_file = daemon_file(root, g, nsshd, "run");
    pids[g] = read_pid(run_file);
    if (alive(pids[g]) && g < nsshd)
      stop_sessions(pids[g]);
    if (alive(pids[g]) && kill(pids[g], SIGTERM) == 0)
      stopped++;
    else
      pids[g] = 0;
    unlink(run_file);
    free(run_file);
  }
  for (int t = 0; t < 250; t++) {
    bool any = false;
    for (int g = 0; g < groups; g++) {
      if (pids[g] > 0)
        waitpid(pids[g], NULL, WNOHANG); /* reaps it if it happens to be our child */
      any = any || alive(pids[g]);
    }
    if (!any)
      break;
    sleep_ms(20);
  }
  for (int g = 0; g < groups; g++)
    if (alive(pids[g]))
      kill(pids[g], SIGKILL);
  free(pids);
  printf("lab down: %d daemons stopped (sshd and the forwarder)\n", stopped);
  cJSON_Delete(lab);
  return 0;
}

static int lab_status(const char *dir, bool json)
{
  cJSON *lab = load_lab(dir);
  if (lab == NULL)
    return 2;
  const char *root = cJSON_GetObjectItem(lab, "dir")->valuestring;
  cJSON *routers = cJSON_GetObjectItem(lab, "routers");
  cJSON *out = cJSON_CreateArray();
  if (!json)
    printf("%-14s %-14s %-14s %-6s %-20s %s\n", "ROUTER", "RE0", "RE1", "MASTER", "ISSU", "STARTS");
  cJSON *rj;
  int rc = 0;
  cJSON_ArrayForEach(rj, routers)
  {
    const char *name = cJSON_GetObjectItem(rj, "name")->valuestring;
    char *path = xasprintf("%s/routers/%s.json", root, name);
    struct sim_router r;
    char err[512];
    if (sim_peek(path, &r, err, sizeof err) < 0) { /* a view: no lock, never saved */
      fprintf(stderr, "junos-sim lab: %s\n", err);
      free(path);
      rc = 1;
      continue;
    }
    free(path);
    double now = sim_now(&r);
    sim_settle(&r, now); /* a view: not saved */
    const char *state = sim_issu_state_name(&r, now);
    char v0[48], v1[48];
    snprintf(v0, sizeof v0, "%s%s", r.re[0].version, sim_re_up(&r, 0, now) ? "" : " (down)");
    snprintf(v1, sizeof v1, "%s%s", r.re[1].version, sim_re_up(&r, 1, now) ? "" : " (down)");
    if (json) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "name", name);
      cJSON_AddStringToObject(o, "re0_version", r.re[0].version);
      cJSON_AddStringToObject(o, "re1_version", r.re[1].version);
      cJSON_AddNumberToObject(o, "master", sim_master(&r));
      cJSON_AddStringToObject(o, "issu_state", state);
      cJSON_AddNumberToObject(o, "issu_starts", r.issu_starts);
      cJSON_AddNumberToObject(o, "sessions_dropped", r.sessions_dropped);
      cJSON_AddBoolToObject(o, "re0_up", sim_re_up(&r, 0, now));
      cJSON_AddBoolToObject(o, "re1_up", sim_re_up(&r, 1, now));
      char net_faults[128];
      sim_net_fault_list(&r, net_faults, sizeof net_faults);
      cJSON_AddStringToObject(o, "network", sim_net_state(&r, now));
      cJSON_AddStringToObject(o, "net_faults", net_faults);
      static const char *const ports[] = {"port", "re0_port", "re1_port"};
      for (size_t k = 0; k < ARRAY_LEN(ports); k++) {
        const cJSON *p = cJSON_GetObjectItem(rj, ports[k]);
        if (cJSON_IsNumber(p))
          cJSON_AddNumberToObject(o, ports[k], p->valueint);
      }
      cJSON_AddItemToArray(out, o);
    } else
      printf("%-14s %-14s %-14s re%-4d %-20s %u\n", name, v0, v1, sim_master(&r), state,
             r.issu_starts);
    sim_router_free(&r);
  }
  if (json) {
    char *text = cJSON_PrintUnformatted(out);
    printf("%s\n", text);
    free(text);
  }
  cJSON_Delete(out);
  cJSON_Delete(lab);
  return rc;
}

int sim_lab_main(int argc, char **argv, const char *self)
{
  if (argc < 1)
    return fail("%s", "expected init, up, down or status (see junos-sim --help)");
  const char *verb = argv[0];
  if (strcmp(verb, "init") == 0)
    return lab_init(argc - 1, argv + 1, self);
  if (argc < 2)
    return fail("%s", "missing DIR");
  if (strcmp(verb, "up") == 0)
    return lab_up(argv[1], self);
  if (strcmp(verb, "down") == 0)
    return lab_down(argv[1]);
  if (strcmp(verb, "status") == 0)
    return lab_status(argv[1], argc > 2 && strcmp(argv[2], "--json") == 0);
  return fail("unknown lab command '%s' (expected init, up, down or status)", verb);
}
