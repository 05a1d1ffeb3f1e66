/*
 * How to reach each router, from its inventory variables (DESIGN.md §4): ansible_host,
 * ansible_port, ansible_user, ansible_ssh_private_key_file, and our issu_* settings. Every value
 * is checked here, before any router is contacted, and a bad one names the file, line and column
 * where it was written.
 */
#include "scheduler/sched_internal.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

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
  v = text_var(inv, h, "ansible_port", &n, buf, sizeof buf);
  to->port = 22;
  if (v != NULL) {
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
  if (v == NULL)
    v = getenv("USER");
  to->user = t->user = xstrdup(v ? v : "root");
  v = text_var(inv, h, "ansible_ssh_private_key_file", &n, buf, sizeof buf);
  if (v != NULL)
    to->key_file = t->key_file = home_path(v);
  v = text_var(inv, h, "issu_known_hosts", &n, buf, sizeof buf);
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

int targets_build(const struct inventory *inv, const size_t *hosts, size_t n,
                  const struct rollout_options *o, struct targets **out, struct diag *d)
{
  struct targets *ts = xcalloc(1, sizeof *ts);
  ts->nhosts = inv->nhosts;
  ts->items = xcalloc(inv->nhosts + 1, sizeof *ts->items);
  size_t before = d->count;
  for (size_t i = 0; i < n; i++)
    build_one(inv, hosts[i], o, &ts->items[hosts[i]], d);
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
