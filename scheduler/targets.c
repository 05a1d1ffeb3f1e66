/*
 * How to reach each router, from its inventory variables (DESIGN.md §4): ansible_host,
 * ansible_port, ansible_user, ansible_ssh_private_key_file, and our issu_* settings, over what
 * OpenSSH's ssh_config decides for the host (`ssh -G`, asked once per distinct host; issue 16).
 * The order is Ansible's: inventory variables win, then ssh_config, then our defaults. Every
 * value is checked here, before any router is contacted, and a bad one names the file, line and
 * column where it was written (and OpenSSH's "FILE line N" for a bad ssh_config).
 */
#include "scheduler/sched_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct targets {
  size_t nhosts;
  struct target *items; /* by inventory host index */
};

static char *home_path(const char *path)
{
  if (path[0] == '~' && (path[1] == '/' || path[1] == '\0')) {
    const char *home = getenv("HOME");
    return xasprintf("%s%s", home ? home : "", path + 1);
  }
  return xstrdup(path);
}

static const char *text_var(const struct inventory *inv, size_t host, const char *key,
                            const struct ynode **node, char *buf, size_t len)
{
  *node = inventory_host_var(inv, host, key);
  return inventory_value_text(*node, buf, len);
}

static bool env_name_ok(const char *s)
{
  if (!(isalpha((unsigned char)s[0]) || s[0] == '_'))
    return false;
  for (; *s; s++)
    if (!(isalnum((unsigned char)*s) || *s == '_'))
      return false;
  return true;
}

static void bad(struct diag *d, const struct inventory *inv, size_t host, const struct ynode *n,
                const char *key, const char *what)
{
  unsigned line = n ? n->line : inv->hosts[host].line, col = n ? n->col : inv->hosts[host].col;
  diag_add(d, inv->file, line, col, "host '%s': %s: %s", inv->hosts[host].name, key, what);
}

/* issu_ssh_config: absent or true, OpenSSH's own files when ssh is installed; false, off; a path,
 * that file (`ssh -F`). False when the value is bad (reported into d). */
static bool ssh_config_choice(const struct inventory *inv, size_t h, struct target *t,
                              struct diag *d)
{
  char buf[1024];
  const struct ynode *n;
  const char *v = text_var(inv, h, "issu_ssh_config", &n, buf, sizeof buf);
  if (v != NULL && strcmp(v, "false") == 0)
    return true;
  if (v == NULL || strcmp(v, "true") == 0) {
    t->use_ssh_config = transport_ssh_available();
    return true;
  }
  if (*v == '\0' || strlen(v) > TRANSPORT_MAX_PATH) {
    bad(d, inv, h, n, "issu_ssh_config", "expected false, true or an ssh_config file");
    return false;
  }
  if (!transport_ssh_available()) {
    bad(d, inv, h, n, "issu_ssh_config",
        "an ssh_config file is named but OpenSSH's ssh is not on PATH to read it (install "
        "openssh-client, or set issu_ssh_config: false)");
    return false;
  }
  t->use_ssh_config = true;
  t->ssh_config = home_path(v);
  return true;
}

static void build_one(const struct inventory *inv, size_t h, const struct rollout_options *o,
                      struct target *t, struct diag *d)
{
  char buf[1024];
  const struct ynode *n;
  const char *v;
  struct transport_options *to = &t->options;
  to->name = inv->hosts[h].name;
  to->inventory_file = inv->file; /* a refused host key's message names the fix */
  to->accept_new_host_keys = o->accept_new_host_keys;
  to->use_agent = getenv("SSH_AUTH_SOCK") != NULL;
  v = text_var(inv, h, "issu_transport", &n, buf, sizeof buf);
  if (v == NULL || strcmp(v, "ssh") == 0)
    to->kind = TRANSPORT_SSH;
  else if (strcmp(v, "local") == 0)
    to->kind = TRANSPORT_LOCAL;
  else {
    bad(d, inv, h, n, "issu_transport", "expected ssh or local");
    return;
  }
  if (to->kind == TRANSPORT_LOCAL) {
    v = text_var(inv, h, "issu_local_command", &n, buf, sizeof buf);
    if (v == NULL || *v == '\0') {
      bad(d, inv, h, n, "issu_local_command",
          "issu_transport is local but no command is set (expected the command that answers "
          "for the router, such as 'junos-sim device --state FILE')");
      return;
    }
    to->local_command = t->local_command = xstrdup(v);
    /* Not for a login here, but named so the child never inherits it (transport/local.c). */
    v = text_var(inv, h, "issu_password_env", &n, buf, sizeof buf);
    if (v != NULL && env_name_ok(v))
      to->password_env = t->password_env = xstrdup(v);
    return;
  }
  v = text_var(inv, h, "ansible_host", &n, buf, sizeof buf);
  to->host = t->host = xstrdup(v ? v : inv->hosts[h].name);
  t->ask = t->host; /* as Ansible runs `ssh ansible_host`: ssh_config matches this name */
  t->source[TARGET_HOST] = v ? TARGET_FROM_INVENTORY : TARGET_FROM_DEFAULT;
  if (!ssh_config_choice(inv, h, t, d))
    return;
  v = text_var(inv, h, "ansible_port", &n, buf, sizeof buf);
  to->port = 22;
  if (v != NULL) {
    t->source[TARGET_PORT] = TARGET_FROM_INVENTORY;
    char *end;
    unsigned long port = strtoul(v, &end, 10);
    if (*end != '\0' || port == 0 || port > 65535) {
      bad(d, inv, h, n, "ansible_port", "expected a port number from 1 to 65535");
      return;
    }
    to->port = (unsigned)port;
  }
  for (int r = 0; r < 2; r++) {
    char key[24];
    snprintf(key, sizeof key, "issu_re%d_host", r);
    v = text_var(inv, h, key, &n, buf, sizeof buf);
    if (v == NULL || *v == '\0')
      continue;
    t->re_host[r] = xstrdup(v);
    t->re_port[r] = to->port;
    snprintf(key, sizeof key, "issu_re%d_port", r);
    v = text_var(inv, h, key, &n, buf, sizeof buf);
    if (v != NULL) {
      char *end;
      unsigned long port = strtoul(v, &end, 10);
      if (*end != '\0' || port == 0 || port > 65535) {
        bad(d, inv, h, n, key, "expected a port number from 1 to 65535");
        return;
      }
      t->re_port[r] = (unsigned)port;
    }
  }
  v = text_var(inv, h, "ansible_user", &n, buf, sizeof buf);
  t->source[TARGET_USER] = v ? TARGET_FROM_INVENTORY : TARGET_FROM_DEFAULT;
  if (v == NULL)
    v = getenv("USER");
  to->user = t->user = xstrdup(v ? v : "root");
  v = text_var(inv, h, "ansible_ssh_private_key_file", &n, buf, sizeof buf);
  if (v != NULL) {
    to->key_file = t->key_file = home_path(v);
    t->source[TARGET_KEY] = TARGET_FROM_INVENTORY;
  }
  v = text_var(inv, h, "issu_known_hosts", &n, buf, sizeof buf);
  t->source[TARGET_KNOWN_HOSTS] = v ? TARGET_FROM_INVENTORY : TARGET_FROM_DEFAULT;
  to->known_hosts = t->known_hosts = home_path(v ? v : "~/.ssh/known_hosts");
  v = text_var(inv, h, "issu_password_env", &n, buf, sizeof buf);
  if (v != NULL) {
    if (!env_name_ok(v)) {
      bad(d, inv, h, n, "issu_password_env",
          "expected the name of an environment variable (the password itself never goes in "
          "the inventory)");
      return;
    }
    to->password_env = t->password_env = xstrdup(v);
  }
  if (inventory_host_var(inv, h, "ansible_password") ||
      inventory_host_var(inv, h, "ansible_ssh_pass")) {
    n = inventory_host_var(inv, h, "ansible_password");
    bad(d, inv, h, n ? n : inventory_host_var(inv, h, "ansible_ssh_pass"), "ansible_password",
        "passwords are not read from the inventory; set issu_password_env to the name of an "
        "environment variable that holds it");
  }
}

/* ---- ssh_config: what OpenSSH decides, asked once per distinct (file, host) ---- */

enum { SSH_G_PARALLEL = 8, SSH_G_TIMEOUT_MS = 10000 };

/* The answers of `ssh -G`, by "FILE\nHOST"; entry 0 is OpenSSH's defaults (`-F /dev/null`),
 * against which a setting is told to come from ssh_config or not. */
struct ssh_cache {
  struct strmap map;
  struct transport_ssh_query *q;
  char **keys;
  size_t n, cap, asked;
};

static size_t cache_want(struct ssh_cache *c, const char *file, const char *host)
{
  char *key = xasprintf("%s\n%s", file ? file : "", host);
  size_t at;
  if (strmap_get(&c->map, key, &at)) {
    free(key);
    return at;
  }
  c->q = xgrow(c->q, &c->cap, c->n + 1, sizeof *c->q);
  c->keys = xrealloc(c->keys, (c->n + 1) * sizeof *c->keys);
  c->keys[c->n] = key; /* the map borrows it */
  memset(&c->q[c->n], 0, sizeof *c->q);
  c->q[c->n].host = xstrdup(host);
  c->q[c->n].config_file = file ? xstrdup(file) : NULL;
  strmap_put(&c->map, key, c->n);
  return c->n++;
}

static void cache_free(struct ssh_cache *c)
{
  transport_ssh_query_free(c->q, c->n);
  for (size_t i = 0; i < c->n; i++) {
    free(c->keys[i]);
    free((void *)(uintptr_t)c->q[i].host);
    free((void *)(uintptr_t)c->q[i].config_file);
  }
  free(c->keys);
  free(c->q);
  strmap_free(&c->map);
}

/* The answer for (file, host): NULL while it is not asked yet (and asked in the next round). */
static const struct transport_ssh_query *cache_get(struct ssh_cache *c, const char *file,
                                                   const char *host)
{
  size_t i = cache_want(c, file, host);
  return i < c->asked ? &c->q[i] : NULL;
}

static char *keep(struct target *t, char *s)
{
  t->owned = xrealloc(t->owned, (t->nowned + 1) * sizeof *t->owned);
  return t->owned[t->nowned++] = s;
}

/* ssh -G's ConnectTimeout (up to a year) in milliseconds: more than 49.7 days does not fit 32
 * bits, and saturates rather than wrap into a short timeout. */
static unsigned ms_of(unsigned seconds)
{
  return seconds > UINT_MAX / 1000 ? UINT_MAX : seconds * 1000;
}

static bool same_list(char *const *a, size_t na, char *const *b, size_t nb)
{
  if (na != nb)
    return false;
  for (size_t i = 0; i < na; i++)
    if (strcmp(a[i], b[i]) != 0)
      return false;
  return true;
}

/* The full ProxyJump chain for an answer, outermost first: its ProxyJump entries, after the
 * first hop's own chain (OpenSSH reaches the first hop with that hop's own ssh_config; the later
 * hops are reached through the earlier ones). 0 complete, 1 waiting for answers, -1 *error. */
static int chain_of(struct ssh_cache *c, const char *file, const struct transport_ssh_config *cfg,
                    unsigned depth, struct transport_jump_spec **out, size_t *n, char **error)
{
  *out = NULL;
  *n = 0;
  if (cfg->proxy_command) {
    /* The command itself is not echoed: it may hold a secret (sshpass -p ...) bound for logs. */
    *error = xasprintf("ProxyCommand is set for %s, and issu-fleet cannot run one: reach "
                       "routers through ProxyJump instead",
                       cfg->hostname ? cfg->hostname : "this host");
    return -1;
  }
  if (cfg->proxy_jump == NULL)
    return 0;
  struct transport_jump_spec *specs;
  size_t ns;
  if (transport_ssh_proxyjump_parse(cfg->proxy_jump, &specs, &ns, error) < 0)
    return -1;
  if (ns == 0) {
    free(specs);
    return 0;
  }
  const struct transport_ssh_query *first = NULL;
  int rc = 0;
  for (size_t i = 0; i < ns; i++) {
    const struct transport_ssh_query *hq = cache_get(c, file, specs[i].host);
    if (i == 0)
      first = hq;
    if (hq == NULL)
      rc = 1;
  }
  if (rc == 0 && first->error == 0 && first->config.proxy_jump) {
    if (depth >= TRANSPORT_MAX_HOPS) {
      *error = xasprintf("ProxyJump chain longer than %d hops (a loop?) at '%s'",
                         TRANSPORT_MAX_HOPS, specs[0].host);
      rc = -1;
    } else {
      struct transport_jump_spec *pre;
      size_t npre;
      rc = chain_of(c, file, &first->config, depth + 1, &pre, &npre, error);
      if (rc == 0 && npre + ns > TRANSPORT_MAX_HOPS) {
        *error = xasprintf("ProxyJump chain longer than %d hops (a loop?) at '%s'",
                           TRANSPORT_MAX_HOPS, specs[0].host);
        rc = -1;
      }
      if (rc == 0) {
        pre = xrealloc(pre, (npre + ns) * sizeof *pre);
        memcpy(pre + npre, specs, ns * sizeof *specs);
        free(specs);
        specs = pre;
        ns += npre;
      } else
        transport_jump_specs_free(pre, npre);
    }
  }
  if (rc != 0) {
    transport_jump_specs_free(specs, ns);
    return rc;
  }
  *out = specs;
  *n = ns;
  return 0;
}

/* Expanded paths of a list OpenSSH printed, kept by the target. */
static const char **paths_of(struct target *t, char *const *items, size_t n)
{
  const char **out = xcalloc(n + 1, sizeof *out);
  for (size_t i = 0; i < n; i++)
    out[i] = keep(t, home_path(items[i]));
  return out;
}

/* The first readable key: what a jump host uses, and what the plan shows as the router's key
 * (the router's transport tries each of key_files in turn, as OpenSSH does). */
static const char *first_readable(const char **files, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (access(files[i], R_OK) == 0)
      return files[i];
  return n ? files[0] : NULL;
}

/* StrictHostKeyChecking yes set for this host (OpenSSH's default is ask). */
static bool strict_yes(const struct transport_ssh_config *cfg,
                       const struct transport_ssh_config *def)
{
  const char *v = cfg->strict_host_key_checking, *d = def->strict_host_key_checking;
  return v && (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0) && !(d && strcmp(v, d) == 0);
}

/* ssh_config's settings under the inventory's: each one the inventory did not set, and that
 * OpenSSH's answer sets apart from its defaults. */
static int apply(struct ssh_cache *c, struct target *t, const struct transport_ssh_config *cfg,
                 const struct transport_ssh_config *def, char **error)
{
  struct transport_options *to = &t->options;
  bool o_accept_new = to->accept_new_host_keys; /* the run's --accept-new-host-keys */
  if (strcasecmp(cfg->hostname, t->ask) != 0) {
    /* As with `ssh ansible_host`: HostName maps the name, wherever the name came from. */
    to->host = keep(t, xstrdup(cfg->hostname));
    t->source[TARGET_HOST] = TARGET_FROM_SSH_CONFIG;
  }
  if (t->source[TARGET_PORT] != TARGET_FROM_INVENTORY && cfg->port != def->port) {
    to->port = cfg->port;
    t->source[TARGET_PORT] = TARGET_FROM_SSH_CONFIG;
  }
  if (t->source[TARGET_USER] != TARGET_FROM_INVENTORY && cfg->user && def->user &&
      strcmp(cfg->user, def->user) != 0) {
    to->user = keep(t, xstrdup(cfg->user));
    t->source[TARGET_USER] = TARGET_FROM_SSH_CONFIG;
  }
  /* OpenSSH's default key list is not used: the transport takes ed25519 and ECDSA keys only, and
   * ssh-agent already serves whatever keys the engineer loaded. */
  if (t->source[TARGET_KEY] != TARGET_FROM_INVENTORY && cfg->identity_count &&
      !same_list(cfg->identity_files, cfg->identity_count, def->identity_files,
                 def->identity_count)) {
    t->key_files = paths_of(t, cfg->identity_files, cfg->identity_count);
    to->key_files = t->key_files;
    to->key_file_count = cfg->identity_count;
    to->key_file = first_readable(t->key_files, cfg->identity_count);
    t->source[TARGET_KEY] = TARGET_FROM_SSH_CONFIG;
  }
  if (t->source[TARGET_KNOWN_HOSTS] != TARGET_FROM_INVENTORY && cfg->known_hosts_count &&
      !same_list(cfg->known_hosts_files, cfg->known_hosts_count, def->known_hosts_files,
                 def->known_hosts_count)) {
    t->known_hosts_files = paths_of(t, cfg->known_hosts_files, cfg->known_hosts_count);
    to->known_hosts_files = t->known_hosts_files;
    to->known_hosts_file_count = cfg->known_hosts_count;
    to->known_hosts = t->known_hosts_files[0];
    t->source[TARGET_KNOWN_HOSTS] = TARGET_FROM_SSH_CONFIG;
  }
  if (cfg->host_key_alias) {
    /* OpenSSH records an aliased key under the bare alias, whatever the port. */
    to->key_host = keep(t, xstrdup(cfg->host_key_alias));
    to->key_port = 22;
    t->source[TARGET_OTHER] = TARGET_FROM_SSH_CONFIG;
  }
  /* Accepting new host keys is opt-in (--accept-new-host-keys): ssh_config may only take it
   * away (an explicit StrictHostKeyChecking yes), never grant it, and no never turns off the
   * check of a CHANGED key. */
  if (to->accept_new_host_keys && strict_yes(cfg, def)) {
    to->accept_new_host_keys = false;
    t->source[TARGET_OTHER] = TARGET_FROM_SSH_CONFIG;
  }
  const char *strict = cfg->strict_host_key_checking;
  if (!to->accept_new_host_keys && strict && !strict_yes(cfg, def) &&
      (strcmp(strict, "accept-new") == 0 || strcmp(strict, "no") == 0 ||
       strcmp(strict, "false") == 0 || strcmp(strict, "off") == 0))
    /* Named if a key is refused, in the user's word (ssh -G prints no as "false"). */
    to->strict_host_key_checking = keep(t, xstrdup(strcmp(strict, "accept-new") ? "no" : strict));
  if (cfg->connect_timeout_s) {
    to->connect_timeout_ms = ms_of(cfg->connect_timeout_s);
    t->source[TARGET_OTHER] = TARGET_FROM_SSH_CONFIG;
  }
  if (cfg->server_alive_interval_s) {
    to->keepalive_s = cfg->server_alive_interval_s;
    to->keepalive_count = cfg->server_alive_count_max ? cfg->server_alive_count_max : 1;
    t->source[TARGET_OTHER] = TARGET_FROM_SSH_CONFIG;
  }
  struct transport_jump_spec *specs;
  size_t ns;
  int rc = chain_of(c, t->ssh_config, cfg, 0, &specs, &ns, error);
  if (rc != 0 || ns == 0)
    return rc;
  t->jump = xcalloc(ns, sizeof *t->jump);
  for (size_t i = 0; i < ns && rc == 0; i++) {
    const struct transport_ssh_query *hq = cache_get(c, t->ssh_config, specs[i].host);
    if (hq == NULL || hq->error) {
      *error = xasprintf("jump host %s: %s", specs[i].host,
                         hq ? hq->message : "not asked (chain too deep)");
      rc = -1;
      break;
    }
    const struct transport_ssh_config *hc = &hq->config;
    if (hc->proxy_command) {
      *error = xasprintf("jump host %s: ProxyCommand is set, and issu-fleet cannot run one",
                         specs[i].host);
      rc = -1;
      break;
    }
    struct transport_hop *hop = &t->jump[i];
    hop->host = keep(t, xstrdup(hc->hostname));
    hop->port = specs[i].port ? specs[i].port : hc->port;
    hop->user = keep(t, xstrdup(specs[i].user ? specs[i].user : hc->user ? hc->user : "root"));
    if (!same_list(hc->identity_files, hc->identity_count, def->identity_files,
                   def->identity_count) &&
        hc->identity_count) {
      const char **keys = paths_of(t, hc->identity_files, hc->identity_count);
      hop->key_file = first_readable(keys, hc->identity_count);
      free(keys);
    }
    if (!same_list(hc->known_hosts_files, hc->known_hosts_count, def->known_hosts_files,
                   def->known_hosts_count) &&
        hc->known_hosts_count)
      hop->known_hosts = keep(t, home_path(hc->known_hosts_files[0]));
    if (hc->host_key_alias) {
      hop->key_host = keep(t, xstrdup(hc->host_key_alias));
      hop->key_port = 22;
    }
    /* The hop's own ssh_config, not the router's: as `ssh -J` reaches it. */
    hop->own_settings = true;
    hop->accept_new_host_keys = o_accept_new && !strict_yes(hc, def);
    hop->connect_timeout_ms = ms_of(hc->connect_timeout_s);
    if (hc->server_alive_interval_s) {
      hop->keepalive_s = hc->server_alive_interval_s;
      hop->keepalive_count = hc->server_alive_count_max ? hc->server_alive_count_max : 1;
    }
  }
  if (rc == 0) {
    to->jump = t->jump;
    to->jump_count = ns;
    t->source[TARGET_JUMP] = TARGET_FROM_SSH_CONFIG;
  }
  transport_jump_specs_free(specs, ns);
  return rc;
}

/* Asks OpenSSH about every selected ssh router (and then their jump hosts, a round per level of
 * ProxyJump), then merges the answers under the inventory's settings. */
static void resolve_ssh_config(const struct inventory *inv, struct targets *ts, const size_t *hosts,
                               size_t n, struct diag *d)
{
  struct ssh_cache c = {0};
  strmap_init(&c.map);
  cache_want(&c, "/dev/null", "issu-fleet-defaults");
  bool any = false;
  for (size_t i = 0; i < n; i++) {
    struct target *t = &ts->items[hosts[i]];
    if (t->use_ssh_config && t->options.kind == TRANSPORT_SSH && t->ask) {
      cache_want(&c, t->ssh_config, t->ask);
      any = true;
    }
  }
  if (!any) {
    cache_free(&c);
    return;
  }
  /* Rounds: each asks what the last one's answers named (jump hosts), until nothing is new. */
  for (unsigned round = 0; round <= TRANSPORT_MAX_HOPS + 1 && c.asked < c.n; round++) {
    transport_ssh_config_run(c.q + c.asked, c.n - c.asked, SSH_G_PARALLEL, SSH_G_TIMEOUT_MS);
    c.asked = c.n;
    for (size_t i = 0; i < n; i++) {
      struct target *t = &ts->items[hosts[i]];
      if (!t->use_ssh_config || t->options.kind != TRANSPORT_SSH || t->ask == NULL)
        continue;
      const struct transport_ssh_query *q = cache_get(&c, t->ssh_config, t->ask);
      struct transport_jump_spec *specs;
      size_t ns;
      char *error = NULL;
      if (q && q->error == 0 &&
          chain_of(&c, t->ssh_config, &q->config, 0, &specs, &ns, &error) == 0)
        transport_jump_specs_free(specs, ns);
      free(error);
    }
  }
  const struct transport_ssh_query *def = &c.q[0];
  if (def->error) {
    diag_add(d, inv->file, 0, 0, "ssh_config: OpenSSH's defaults could not be read: %s",
             def->message);
    cache_free(&c);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    size_t h = hosts[i];
    struct target *t = &ts->items[h];
    if (!t->use_ssh_config || t->options.kind != TRANSPORT_SSH || t->ask == NULL)
      continue;
    const struct transport_ssh_query *q = cache_get(&c, t->ssh_config, t->ask);
    char *error = NULL;
    if (q == NULL)
      error = xstrdup("ProxyJump chain too deep to resolve");
    else if (q->error)
      error = xstrdup(q->message);
    else if (apply(&c, t, &q->config, &def->config, &error) != 0 && error == NULL)
      error = xstrdup("ProxyJump chain too deep to resolve");
    if (error) {
      bad(d, inv, h, inventory_host_var(inv, h, "issu_ssh_config"), "ssh_config", error);
      free(error);
    }
  }
  cache_free(&c);
}

/* "HOST:PORT" as DNS and IPv6 compare addresses: a name in any case, with or without the root's
 * dot; an IPv6 address in its one canonical text, in brackets. */
static char *address_port(const char *host, unsigned port)
{
  size_t n = strlen(host);
  char *name = xstrndup(host, n > 1 && host[n - 1] == '.' ? n - 1 : n);
  for (char *c = name; *c; c++)
    *c = (char)tolower((unsigned char)*c);
  struct in6_addr a6;
  char text[INET6_ADDRSTRLEN];
  char *e = inet_pton(AF_INET6, name, &a6) == 1 && inet_ntop(AF_INET6, &a6, text, sizeof text)
                ? xasprintf("[%s]:%u", text, port ? port : 22)
                : xasprintf("%s:%u", name, port ? port : 22);
  free(name);
  return e;
}

/* "HOST:PORT" reached through the hops of `to` (none: directly): where a session lands. */
static char *endpoint(const struct transport_options *to, const char *host, unsigned port)
{
  char *e = address_port(host, port);
  for (size_t i = to->jump_count; i-- > 0;) {
    char *hop = address_port(to->jump[i].host, to->jump[i].port);
    char *via = xasprintf("%s via %s", e, hop);
    free(hop);
    free(e);
    e = via;
  }
  return e;
}

/* Two inventory names that reach one router (the same address and port by the same hops, or one
 * name's RE address another's: a copy-paste) would be two routers to the run: locks, pairs and
 * limits counted apart, and one router upgraded twice at once. Refused, naming both. A local
 * command names no router (one /bin/false may answer for many): only SSH is compared. */
static void refuse_shared_routers(const struct inventory *inv, const struct targets *ts,
                                  const size_t *hosts, size_t n, struct diag *d)
{
  struct strmap seen;
  strmap_init(&seen);
  char **keys = xcalloc(3 * n + 1, sizeof *keys);
  size_t nkeys = 0;
  for (size_t i = 0; i < n; i++) {
    size_t h = hosts[i];
    const struct target *t = &ts->items[h];
    const struct transport_options *to = &t->options;
    if (to->kind != TRANSPORT_SSH || to->host == NULL)
      continue;
    const char *addr[3] = {to->host, t->re_host[0], t->re_host[1]};
    unsigned port[3] = {to->port, t->re_port[0], t->re_port[1]};
    for (int a = 0; a < 3; a++) {
      if (addr[a] == NULL)
        continue;
      char *key = endpoint(to, addr[a], port[a]);
      size_t other;
      if (!strmap_get(&seen, key, &other)) {
        strmap_put(&seen, key, h);
        keys[nkeys++] = key;
        continue;
      }
      if (other != h) {
        char what[600];
        snprintf(what, sizeof what,
                 "reaches the same router as host '%s' (%s): one router under two names would "
                 "be upgraded twice at once; remove one, or give each its own address",
                 inv->hosts[other].name, key);
        bad(d, inv, h, inventory_host_var(inv, h, "ansible_host"), "ansible_host", what);
        free(key);
        break; /* one line per host */
      }
      free(key);
    }
  }
  strmap_free(&seen);
  for (size_t i = 0; i < nkeys; i++)
    free(keys[i]);
  free(keys);
}

int targets_build(const struct inventory *inv, const size_t *hosts, size_t n,
                  const struct rollout_options *o, struct targets **out, struct diag *d)
{
  struct targets *ts = xcalloc(1, sizeof *ts);
  ts->nhosts = inv->nhosts;
  ts->items = xcalloc(inv->nhosts + 1, sizeof *ts->items);
  size_t before = d->count;
  for (size_t i = 0; i < n; i++)
    build_one(inv, hosts[i], o, &ts->items[hosts[i]], d);
  if (d->count == before)
    resolve_ssh_config(inv, ts, hosts, n, d);
  if (d->count == before)
    refuse_shared_routers(inv, ts, hosts, n, d);
  *out = ts;
  return d->count > before ? -1 : 0;
}

void targets_free(struct targets *ts)
{
  if (ts == NULL)
    return;
  for (size_t i = 0; i < ts->nhosts; i++) {
    struct target *t = &ts->items[i];
    free(t->host);
    free(t->user);
    free(t->key_file);
    free(t->known_hosts);
    free(t->password_env);
    free(t->local_command);
    free(t->re_host[0]);
    free(t->re_host[1]);
    for (size_t k = 0; k < t->nowned; k++)
      free(t->owned[k]);
    free(t->owned);
    free(t->jump);
    free(t->key_files);
    free(t->known_hosts_files);
    free(t->ssh_config);
  }
  free(ts->items);
  free(ts);
}

const struct target *targets_get(const struct targets *ts, size_t host)
{
  return &ts->items[host];
}

const struct transport_options *targets_options(const struct targets *ts, size_t host)
{
  return &ts->items[host].options;
}

enum target_source targets_source(const struct targets *ts, size_t host, enum target_field f)
{
  return (enum target_source)ts->items[host].source[f];
}

const char *targets_ssh_config(const struct targets *ts, size_t host)
{
  const struct target *t = &ts->items[host];
  if (!t->use_ssh_config || t->options.kind != TRANSPORT_SSH)
    return NULL;
  return t->ssh_config ? t->ssh_config : "~/.ssh/config";
}
