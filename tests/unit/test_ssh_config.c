/*
 * ssh_config through OpenSSH (transport/ssh_config.c, scheduler/targets.c): the parser on what
 * the real `ssh -G -F FILE HOST` prints for Host patterns, a per-site ProxyJump and HostKeyAlias;
 * OpenSSH's own errors with their line numbers; the order inventory > ssh_config > defaults;
 * and a lab rollout that reaches its routers through an ssh_config alone. Every test that needs
 * OpenSSH's ssh skips, saying so, when it is not installed.
 */
#define LAB_KNOWN_HOSTS "--known-hosts both"
/* sshd.h before lab.h: its parameter `dir` would shadow lab.h's global of that name. */
#include "sshd.h"
#include "lab.h"
#include "helpers.h"
#include "scheduler/scheduler.h"
#include "transport/transport.h"

#include <limits.h>
#include <sys/stat.h>

#define TARGET "23.4R2-S3.7"

static char tmp[256];

static void need_ssh(void)
{
  if (!transport_ssh_available())
    cr_skip_test("OpenSSH's ssh is not on PATH: ssh_config is read through `ssh -G`");
}

/* Writes an ssh_config into a fresh directory; returns its path (static). */
static const char *write_config(const char *text)
{
  static char path[300];
  snprintf(tmp, sizeof tmp, "/tmp/issu-sshcfg-XXXXXX");
  cr_assert_not_null(mkdtemp(tmp));
  snprintf(path, sizeof path, "%s/config", tmp);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fputs(text, f);
  fclose(f);
  return path;
}

static void cleanup(void)
{
  if (tmp[0])
    sh(NULL, "rm -rf %s", tmp);
  tmp[0] = '\0';
}

/* One `ssh -G` through the runner; the test frees with transport_ssh_query_free. */
static struct transport_ssh_query ask(const char *config, const char *host)
{
  struct transport_ssh_query q = {.host = host, .config_file = config};
  transport_ssh_config_run(&q, 1, 1, 10000);
  return q;
}

static const char *const sites = "Host mx-ams-*\n"
                                 "  ProxyJump ops@bastion-ams:2222\n"
                                 "Host mx-fra-*\n"
                                 "  ProxyJump bastion-fra,inner-fra\n"
                                 "Host mx-*\n"
                                 "  HostName %h.mgmt.example.net\n"
                                 "  User netops\n"
                                 "  Port 830\n"
                                 "  IdentityFile /keys/fleet_ed25519\n"
                                 "  IdentityFile ~/.ssh/id_fleet\n"
                                 "  UserKnownHostsFile /kh/fleet /kh/fleet.old\n"
                                 "  HostKeyAlias fleet-key\n"
                                 "  StrictHostKeyChecking accept-new\n"
                                 "  ConnectTimeout 7\n"
                                 "  ServerAliveInterval 5\n"
                                 "  ServerAliveCountMax 4\n"
                                 "Host bastion-*\n"
                                 "  HostName 10.0.0.1\n"
                                 "  User jump\n";

/* ---- the parser, on what OpenSSH prints ---- */

Test(ssh_config, host_patterns_give_every_setting_issu_fleet_uses, .fini = cleanup)
{
  need_ssh();
  const char *cfg = write_config(sites);
  struct transport_ssh_query q = ask(cfg, "mx-ams-1");
  cr_assert_eq(q.error, 0, "%s", q.message);
  const struct transport_ssh_config *c = &q.config;
  cr_expect_str_eq(c->hostname, "mx-ams-1.mgmt.example.net");
  cr_expect_str_eq(c->user, "netops");
  cr_expect_eq(c->port, 830);
  cr_assert_eq(c->identity_count, 2);
  cr_expect_str_eq(c->identity_files[0], "/keys/fleet_ed25519");
  cr_expect_str_eq(c->identity_files[1], "~/.ssh/id_fleet");
  cr_assert_eq(c->known_hosts_count, 2);
  cr_expect_str_eq(c->known_hosts_files[0], "/kh/fleet");
  cr_expect_str_eq(c->known_hosts_files[1], "/kh/fleet.old");
  cr_expect_str_eq(c->host_key_alias, "fleet-key");
  cr_expect_str_eq(c->strict_host_key_checking, "accept-new");
  cr_expect_eq(c->connect_timeout_s, 7);
  cr_expect_eq(c->server_alive_interval_s, 5);
  cr_expect_eq(c->server_alive_count_max, 4);
  /* The first matching block wins, as in OpenSSH: the site's jump host. */
  cr_expect_str_eq(c->proxy_jump, "ops@bastion-ams:2222");
  cr_expect_null(c->proxy_command);
  transport_ssh_query_free(&q, 1);
}

Test(ssh_config, the_parser_reads_ssh_G_output_captured_whole, .fini = cleanup)
{
  need_ssh();
  const char *cfg = write_config(sites);
  char *out;
  cr_assert_eq(sh(&out, "ssh -G -F %s -- mx-fra-9 </dev/null 2>/dev/null", cfg), 0, "%s", out);
  struct transport_ssh_config c;
  char *error;
  cr_assert_eq(transport_ssh_config_parse(out, strlen(out), &c, &error), 0, "%s", error);
  cr_expect_str_eq(c.proxy_jump, "bastion-fra,inner-fra");
  cr_expect_str_eq(c.hostname, "mx-fra-9.mgmt.example.net");
  transport_ssh_config_free(&c);
  free(out);
}

Test(ssh_config, a_host_no_block_matches_gets_openssh_defaults, .fini = cleanup)
{
  need_ssh();
  const char *cfg = write_config(sites);
  struct transport_ssh_query q = ask(cfg, "core-1");
  cr_assert_eq(q.error, 0, "%s", q.message);
  cr_expect_str_eq(q.config.hostname, "core-1");
  cr_expect_eq(q.config.port, 22);
  cr_expect_null(q.config.proxy_jump);
  cr_expect_null(q.config.host_key_alias);
  cr_expect_eq(q.config.connect_timeout_s, 0);
  transport_ssh_query_free(&q, 1);
}

Test(ssh_config, parser_refuses_what_ssh_G_never_prints)
{
  struct transport_ssh_config c;
  char *error;
  const char *cases[][2] = {
      {"user x\nport 99999\nhostname h\n", "port"},
      {"user x\n", "no hostname"},
      {"hostname h\nconnecttimeout soon\n", "connecttimeout"},
      {"hostname h\nserveralivecountmax -1\n", "serveralivecountmax"},
  };
  for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
    cr_expect_lt(transport_ssh_config_parse(cases[i][0], strlen(cases[i][0]), &c, &error), 0, "%s",
                 cases[i][0]);
    cr_expect(error && strstr(error, cases[i][1]), "%s: %s", cases[i][0], error);
    free(error);
  }
  const char *none = "hostname h\nproxyjump none\n";
  cr_assert_eq(transport_ssh_config_parse(none, strlen(none), &c, &error), 0);
  cr_expect_null(c.proxy_jump, "ProxyJump none is no jump");
  transport_ssh_config_free(&c);
}

/* The fuzzer's first find: a last line without a space was scanned past `len` for one
 * (ASan reports it; the runner's buffer is NUL-terminated, the API's promise is `len`). */
Test(ssh_config, the_parser_reads_only_the_bytes_it_is_given)
{
  const char text[] = "hostname h\nproxyjump";
  char *exact = xmalloc(sizeof text - 1);
  memcpy(exact, text, sizeof text - 1);
  struct transport_ssh_config c;
  char *error;
  cr_assert_eq(transport_ssh_config_parse(exact, sizeof text - 1, &c, &error), 0, "%s", error);
  cr_expect_str_eq(c.hostname, "h");
  transport_ssh_config_free(&c);
  free(exact);
}

Test(ssh_config, proxyjump_values_split_into_hops)
{
  struct transport_jump_spec *j;
  size_t n;
  char *error;
  cr_assert_eq(
      transport_ssh_proxyjump_parse("ops@bastion:2222,inner,ssh://u@h3:22", &j, &n, &error), 0);
  cr_assert_eq(n, 3);
  cr_expect_str_eq(j[0].user, "ops");
  cr_expect_str_eq(j[0].host, "bastion");
  cr_expect_eq(j[0].port, 2222);
  cr_expect_null(j[1].user);
  cr_expect_str_eq(j[1].host, "inner");
  cr_expect_eq(j[1].port, 0);
  cr_expect_str_eq(j[2].user, "u");
  cr_expect_str_eq(j[2].host, "h3");
  transport_jump_specs_free(j, n);
  const char *bad[] = {"a,,b", "a:0", "a:70000", "-oProxyCommand=x",
                       "a;b",  "@h",  "a b",     "1,2,3,4,5,6,7,8,9"};
  for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
    cr_expect_lt(transport_ssh_proxyjump_parse(bad[i], &j, &n, &error), 0, "%s", bad[i]);
    cr_expect_not_null(error, "%s", bad[i]);
    free(error);
  }
}

/* ---- errors: the host, and OpenSSH's FILE line N ---- */

Test(ssh_config, a_bad_line_is_named_with_its_file_and_line, .fini = cleanup)
{
  need_ssh();
  const char *cfg = write_config("Host mx-*\n  User netops\n  Frobnicate yes\n");
  struct transport_ssh_query q = ask(cfg, "mx-1");
  cr_assert_neq(q.error, 0);
  cr_expect(strstr(q.message, "mx-1") && strstr(q.message, cfg) && strstr(q.message, "line 3"),
            "%s", q.message);
  cr_expect_null(strstr(q.message, "\n"), "one line: %s", q.message);
  transport_ssh_query_free(&q, 1);
}

Test(ssh_config, a_host_name_that_could_be_an_option_is_never_passed)
{
  cr_expect(transport_ssh_host_ok("mx-ams-1.example.net"));
  cr_expect(transport_ssh_host_ok("10.0.0.1"));
  cr_expect(transport_ssh_host_ok("2001:db8::1"), "an ansible_host may be an IPv6 address");
  const char *refused[] = {"-oProxyCommand=x", "a b", "a;b", "h$(x)", "", "::1%eth0", "a:b"};
  for (size_t i = 0; i < ARRAY_LEN(refused); i++)
    cr_expect_not(transport_ssh_host_ok(refused[i]), "%s", refused[i]);
  struct transport_ssh_query q = ask(NULL, "-oProxyCommand=touch /tmp/x");
  cr_expect_eq(q.error, TRANSPORT_E_OPTIONS);
  cr_expect_not_null(strstr(q.message, "not a host name"), "%s", q.message);
  transport_ssh_query_free(&q, 1);
}

Test(ssh_config, an_ssh_that_hangs_is_ended_at_the_timeout, .fini = cleanup)
{
  write_config("");
  char fake[320];
  snprintf(fake, sizeof fake, "%s/ssh", tmp);
  FILE *f = fopen(fake, "w");
  cr_assert_not_null(f);
  fputs("#!/bin/sh\nexec sleep 30\n", f);
  fclose(f);
  chmod(fake, 0755);
  setenv("ISSU_SSH", fake, 1);
  struct transport_ssh_query q[3] = {{.host = "a"}, {.host = "b"}, {.host = "c"}};
  cr_expect_lt(transport_ssh_config_run(q, 3, 2, 200), 0);
  for (int i = 0; i < 3; i++) {
    cr_expect_eq(q[i].error, TRANSPORT_E_TIMEOUT);
    cr_expect_not_null(strstr(q[i].message, q[i].host), "%s", q[i].message);
  }
  transport_ssh_query_free(q, 3);
  unsetenv("ISSU_SSH");
}

/* A wrapper that does not exec leaves a grandchild holding the pipes: the timeout still bounds
 * the wait (the criterion timeout fails the test if it does not: the sleeps last 60 s). */
Test(ssh_config, a_grandchild_holding_the_pipes_does_not_outlast_the_timeout, .fini = cleanup,
     .timeout = 30)
{
  write_config("");
  char fake[320];
  snprintf(fake, sizeof fake, "%s/ssh", tmp);
  FILE *f = fopen(fake, "w");
  cr_assert_not_null(f);
  fputs("#!/bin/sh\nsleep 60 &\nsleep 60\n", f);
  fclose(f);
  chmod(fake, 0755);
  setenv("ISSU_SSH", fake, 1);
  struct transport_ssh_query q = {.host = "a"};
  cr_expect_lt(transport_ssh_config_run(&q, 1, 1, 500), 0);
  cr_expect_eq(q.error, TRANSPORT_E_TIMEOUT, "%s", q.message ? q.message : "");
  transport_ssh_query_free(&q, 1);
  unsetenv("ISSU_SSH");
}

Test(ssh_config, many_hosts_are_asked_in_parallel_and_each_answer_is_its_own, .fini = cleanup)
{
  need_ssh();
  const char *cfg = write_config("Host mx-*\n  HostName %h.x\n");
  enum { N = 40 };
  struct transport_ssh_query q[N];
  char names[N][16];
  for (int i = 0; i < N; i++) {
    snprintf(names[i], sizeof names[i], "mx-%d", i);
    q[i] = (struct transport_ssh_query){.host = names[i], .config_file = cfg};
  }
  cr_assert_eq(transport_ssh_config_run(q, N, 8, 10000), 0);
  for (int i = 0; i < N; i++) {
    char want[700];
    snprintf(want, sizeof want, "%s.x", names[i]);
    cr_expect_str_eq(q[i].config.hostname, want);
  }
  transport_ssh_query_free(q, N);
}

/* ---- targets: inventory > ssh_config > defaults ---- */

static struct targets *build_with(const char *yaml, struct inventory **inv, struct diag *d,
                                  bool accept_new)
{
  *inv = inv_ok(yaml);
  size_t hosts[8];
  for (size_t i = 0; i < (*inv)->nhosts; i++)
    hosts[i] = i;
  struct rollout_options o = {.accept_new_host_keys = accept_new};
  struct targets *ts = NULL;
  targets_build(*inv, hosts, (*inv)->nhosts, &o, &ts, d);
  return ts;
}

static struct targets *build(const char *yaml, struct inventory **inv, struct diag *d)
{
  return build_with(yaml, inv, d, false);
}

Test(ssh_config, inventory_variables_win_over_ssh_config, .fini = cleanup)
{
  need_ssh();
  const char *cfg = write_config(sites);
  char *yaml = xasprintf("all:\n  vars: {issu_ssh_config: %s}\n  hosts:\n"
                         "    mx-ams-1: {ansible_port: 2200, ansible_user: admin}\n"
                         "    mx-fra-1: {ansible_ssh_private_key_file: /k/own}\n",
                         cfg);
  struct inventory *inv;
  struct diag d = {0};
  struct targets *ts = build(yaml, &inv, &d);
  cr_assert_eq(d.count, 0, "%s", d.count ? d.lines[0] : "");
  const struct transport_options *a = targets_options(ts, 0), *f = targets_options(ts, 1);
  cr_expect_eq(a->port, 2200);
  cr_expect_eq(targets_source(ts, 0, TARGET_PORT), TARGET_FROM_INVENTORY);
  cr_expect_str_eq(a->user, "admin");
  cr_expect_str_eq(a->key_file, "/keys/fleet_ed25519");
  cr_expect_eq(targets_source(ts, 0, TARGET_KEY), TARGET_FROM_SSH_CONFIG);
  cr_expect_str_eq(a->host, "mx-ams-1.mgmt.example.net");
  cr_expect_eq(targets_source(ts, 0, TARGET_HOST), TARGET_FROM_SSH_CONFIG);
  cr_expect_str_eq(a->known_hosts, "/kh/fleet");
  cr_expect_eq(a->known_hosts_file_count, 2);
  cr_expect_str_eq(a->key_host, "fleet-key");
  cr_expect_eq(a->key_port, 22, "OpenSSH records an aliased key under the bare alias");
  cr_expect_not(a->accept_new_host_keys,
                "ssh_config's accept-new alone does not grant it: --accept-new-host-keys does");
  cr_expect_eq(a->connect_timeout_ms, 7000);
  cr_expect_eq(a->keepalive_s, 5);
  cr_expect_eq(a->keepalive_count, 4);
  /* ops@bastion-ams:2222: the entry's user and port over the hop's own config. */
  cr_assert_eq(a->jump_count, 1);
  cr_expect_str_eq(a->jump[0].host, "10.0.0.1");
  cr_expect_str_eq(a->jump[0].user, "ops");
  cr_expect_eq(a->jump[0].port, 2222);
  cr_expect_eq(f->port, 830);
  cr_expect_str_eq(f->user, "netops");
  cr_expect_str_eq(f->key_file, "/k/own");
  cr_expect_eq(targets_source(ts, 1, TARGET_KEY), TARGET_FROM_INVENTORY);
  cr_assert_eq(f->jump_count, 2);
  cr_expect_str_eq(f->jump[0].user, "jump");
  cr_expect_str_eq(f->jump[1].host, "inner-fra");
  cr_expect_str_eq(targets_ssh_config(ts, 0), cfg);
  targets_free(ts);
  inventory_free(inv);
  diag_free(&d);
  free(yaml);
}

Test(ssh_config, the_first_hops_own_proxyjump_comes_first, .fini = cleanup)
{
  need_ssh();
  const char *cfg = write_config("Host mx-*\n  ProxyJump inner\nHost inner\n  ProxyJump outer\n"
                                 "Host outer\n  Port 2022\n");
  char *yaml = xasprintf("all:\n  vars: {issu_ssh_config: %s}\n  hosts:\n    mx-1:\n", cfg);
  struct inventory *inv;
  struct diag d = {0};
  struct targets *ts = build(yaml, &inv, &d);
  cr_assert_eq(d.count, 0, "%s", d.count ? d.lines[0] : "");
  const struct transport_options *o = targets_options(ts, 0);
  cr_assert_eq(o->jump_count, 2);
  cr_expect_str_eq(o->jump[0].host, "outer");
  cr_expect_eq(o->jump[0].port, 2022);
  cr_expect_str_eq(o->jump[1].host, "inner");
  targets_free(ts);
  inventory_free(inv);
  diag_free(&d);
  free(yaml);
}

Test(ssh_config, a_proxyjump_loop_and_a_proxycommand_are_errors_naming_the_host, .fini = cleanup)
{
  need_ssh();
  const char *cfg = write_config("Host mx-1\n  ProxyJump a\nHost a\n  ProxyJump b\n"
                                 "Host b\n  ProxyJump a\nHost mx-2\n"
                                 "  ProxyCommand sshpass -p hunter2 nc %h %p\n");
  char *yaml =
      xasprintf("all:\n  vars: {issu_ssh_config: %s}\n  hosts:\n    mx-1:\n    mx-2:\n", cfg);
  struct inventory *inv;
  struct diag d = {0};
  struct targets *ts = build(yaml, &inv, &d);
  cr_assert_eq(d.count, 2);
  cr_expect(strstr(d.lines[0], "host 'mx-1'") && strstr(d.lines[0], "ProxyJump"), "%s", d.lines[0]);
  cr_expect(strstr(d.lines[1], "host 'mx-2'") && strstr(d.lines[1], "ProxyCommand"), "%s",
            d.lines[1]);
  cr_expect_null(strstr(d.lines[1], "hunter2"), "the command (a secret) is echoed: %s", d.lines[1]);
  targets_free(ts);
  inventory_free(inv);
  diag_free(&d);
  free(yaml);
}

Test(ssh_config, issu_ssh_config_false_reads_none, .fini = cleanup)
{
  need_ssh();
  const char *cfg = write_config("Frobnicate yes\n");
  (void)cfg;
  struct inventory *inv;
  struct diag d = {0};
  struct targets *ts =
      build("all:\n  vars: {issu_ssh_config: false}\n  hosts:\n    mx-1:\n", &inv, &d);
  cr_assert_eq(d.count, 0);
  cr_expect_null(targets_ssh_config(ts, 0));
  cr_expect_str_eq(targets_options(ts, 0)->host, "mx-1");
  cr_expect_eq(targets_source(ts, 0, TARGET_HOST), TARGET_FROM_DEFAULT);
  targets_free(ts);
  inventory_free(inv);
  diag_free(&d);
  /* A bad config named by the inventory is an error naming the host and OpenSSH's line. */
  char *yaml = xasprintf("all:\n  hosts:\n    mx-1: {issu_ssh_config: %s}\n", cfg);
  ts = build(yaml, &inv, &d);
  cr_assert_eq(d.count, 1);
  cr_expect(strstr(d.lines[0], "inv.yaml:3:") && strstr(d.lines[0], "host 'mx-1'") &&
                strstr(d.lines[0], "line 1"),
            "%s", d.lines[0]);
  targets_free(ts);
  inventory_free(inv);
  diag_free(&d);
  free(yaml);
}

Test(ssh_config, plan_json_sources_names_each_settings_origin, .fini = cleanup)
{
  need_ssh();
  const char *cfg = write_config(sites);
  char path[400];
  snprintf(path, sizeof path, "%s/inv.yaml", tmp);
  FILE *f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f,
          "all:\n  vars: {issu_ssh_config: %s}\n  hosts:\n    mx-ams-1: {ansible_port: 2200}\n"
          "    core-1: {issu_ssh_config: false}\n",
          cfg);
  fclose(f);
  snprintf(path, sizeof path, "%s/policy.yaml", tmp);
  f = fopen(path, "w");
  cr_assert_not_null(f);
  fprintf(f, "target: {version: 23.4R2-S3.7, package: %s}\nwaves: {canary: 1}\n", PKG);
  fclose(f);
  char *out;
  int rc = sh(&out, "%s plan -i %s/inv.yaml -p %s/policy.yaml --json --sources 2>/dev/null",
              ISSU_BINARY, tmp, tmp);
  cr_assert_eq(rc, 0, "%s", out);
  cJSON *j = cJSON_Parse(out);
  cr_assert_not_null(j, "%s", out);
  cJSON *c = cJSON_GetObjectItem(j, "connections");
  cJSON *ams = cJSON_GetObjectItem(c, "mx-ams-1"), *core = cJSON_GetObjectItem(c, "core-1");
  cr_assert(ams && core, "%s", out);
  cJSON *src = cJSON_GetObjectItem(ams, "sources");
  cr_expect_str_eq(cJSON_GetObjectItem(src, "port")->valuestring, "inventory");
  cr_expect_str_eq(cJSON_GetObjectItem(src, "host")->valuestring, "ssh_config");
  cr_expect_str_eq(cJSON_GetObjectItem(src, "jump")->valuestring, "ssh_config");
  cr_expect_str_eq(cJSON_GetObjectItem(ams, "jump")->valuestring, "ops@10.0.0.1:2222");
  cr_expect_eq(cJSON_GetObjectItem(ams, "port")->valueint, 2200);
  cr_expect(cJSON_IsNull(cJSON_GetObjectItem(core, "ssh_config")), "%s", out);
  cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(core, "sources"), "host")->valuestring,
                   "default");
  cJSON_Delete(j);
  free(out);
}

Test(ssh_config, without_ssh_it_is_off_unless_a_file_is_named, .fini = cleanup)
{
  setenv("ISSU_SSH", "/nonexistent/ssh", 1);
  struct inventory *inv;
  struct diag d = {0};
  struct targets *ts = build("all:\n  hosts:\n    mx-1:\n", &inv, &d);
  cr_expect_eq(d.count, 0, "%s", d.count ? d.lines[0] : "");
  cr_expect_null(targets_ssh_config(ts, 0), "no ssh: ssh_config is not read, silently");
  targets_free(ts);
  inventory_free(inv);
  diag_free(&d);
  ts = build("all:\n  hosts:\n    mx-1: {issu_ssh_config: /etc/fleet_config}\n", &inv, &d);
  cr_assert_eq(d.count, 1);
  cr_expect(strstr(d.lines[0], "inv.yaml:3:") && strstr(d.lines[0], "host 'mx-1'") &&
                strstr(d.lines[0], "not on PATH"),
            "%s", d.lines[0]);
  targets_free(ts);
  inventory_free(inv);
  diag_free(&d);
  unsetenv("ISSU_SSH");
}

/* ---- end to end: a lab reached through ssh_config alone ---- */

/* Rewrites the lab's inventory without ansible_host/port/user/key or issu_known_hosts, naming
 * instead an ssh_config with a Host pattern for them (and a block per router for its port). */
static void inventory_through_ssh_config(const char *proxy_jump)
{
  char path[400], line[2048];
  snprintf(path, sizeof path, "%s/ssh_config.test", dir);
  FILE *cfg = fopen(path, "w");
  cr_assert_not_null(cfg);
  cJSON *all = NULL, *st;
  char *out;
  cr_assert_eq(sh(&out, "%s lab status %s --json", JUNOS_SIM_BINARY, dir), 0, "%s", out);
  all = cJSON_Parse(out);
  free(out);
  cJSON_ArrayForEach(st, all)
      fprintf(cfg, "Host %s\n  Port %d\n", cJSON_GetObjectItem(st, "name")->valuestring,
              cJSON_GetObjectItem(st, "port")->valueint);
  cJSON_Delete(all);
  fprintf(cfg,
          "Host mx-*\n  HostName 127.0.0.1\n  User root\n  IdentityFile %s/ssh/id_ed25519\n"
          "  UserKnownHostsFile %s/known_hosts\n  StrictHostKeyChecking yes\n%s",
          dir, dir, proxy_jump ? proxy_jump : "");
  fclose(cfg);
  snprintf(path, sizeof path, "%s/inventory.yaml", dir);
  FILE *in = fopen(path, "r");
  snprintf(path, sizeof path, "%s/inventory.ssh.yaml", dir);
  FILE *o = fopen(path, "w");
  cr_assert(in && o);
  while (fgets(line, sizeof line, in)) {
    if (strstr(line, "ansible_user:") || strstr(line, "ansible_ssh_private_key_file:") ||
        strstr(line, "issu_known_hosts:"))
      continue;
    char *h = strstr(line, "ansible_host:");
    if (h) {
      char *end = strstr(h, "pair:");
      cr_assert_not_null(end, "%s", line);
      memmove(h, end, strlen(end) + 1);
    }
    fputs(line, o);
    if (strcmp(line, "  vars:\n") == 0)
      fprintf(o, "    issu_ssh_config: %s/ssh_config.test\n", dir);
  }
  fclose(in);
  fclose(o);
  cr_assert_eq(sh(&out, "grep -c ansible_ %s", path), 1, "no ansible_ variable is left: %s", out);
  free(out);
}

static struct test_sshd bastion;

static void bastion_stop(void)
{
  test_sshd_stop(&bastion);
  lab_stop();
}

static void expect_upgraded(void)
{
  const char *routers[] = {"mx-ams-1", "mx-ams-2"};
  for (size_t i = 0; i < ARRAY_LEN(routers); i++) {
    cJSON *st = status_of(routers[i]);
    cr_expect_str_eq(cJSON_GetObjectItem(st, "re0_version")->valuestring, TARGET, "%s", routers[i]);
    cr_expect_str_eq(cJSON_GetObjectItem(st, "re1_version")->valuestring, TARGET, "%s", routers[i]);
    cJSON_Delete(st);
  }
}

/* The same lab behind a bastion (a real sshd that forwards) that only ssh_config names: a
 * ProxyJump for the routers' Host pattern, and for the bastion its own Host block with a
 * HostKeyAlias, its own known_hosts and key. The switchovers drop sessions behind it. */
Test(ssh_config, a_lab_rollout_goes_through_the_bastion_ssh_config_names, .timeout = 300,
     .fini = bastion_stop)
{
  need_ssh();
  lab_start(2, 1, NULL);
  /* Connecting through the bastion is what is tested, not how long it may take: under valgrind
   * on a loaded machine two key exchanges in libssh2 outlast the 30 s (wall) floor of the connect
   * phase. 100h at --time-scale 600 is 10 minutes of wall clock. */
  write_policy("waves: {canary: [mx-ams-1], serial: [\"100%\"], soak: 0}\n"
               "issu: {timeouts: {connect: 100h, device: 200h}}\n");
  char *out, lines[1200];
  cr_assert_eq(sh(&out, "mkdir -p %s/bastion && ssh-keygen -q -t ed25519 -N '' -f %s/bastion/host",
                  dir, dir),
               0, "%s", out);
  free(out);
  snprintf(lines, sizeof lines,
           "AllowTcpForwarding yes\nHostKey %s/bastion/host\n"
           "AuthorizedKeysFile %s/ssh/authorized_keys\nLogLevel VERBOSE\n",
           dir, dir);
  test_sshd_start(&bastion, dir, "bastion/sshd", 0, lines);
  /* Its key under the alias only: a check under 127.0.0.1 would find nothing and refuse. */
  cr_assert_eq(sh(&out,
                  "printf 'lab-bastion %%s\\n' \"$(cut -d' ' -f1,2 %s/bastion/host.pub)\" > "
                  "%s/bastion/known_hosts",
                  dir, dir),
               0, "%s", out);
  free(out);
  char jump[900];
  snprintf(jump, sizeof jump,
           "  ProxyJump bastion\nHost bastion\n  HostName 127.0.0.1\n  Port %d\n  User root\n"
           "  IdentityFile %s/ssh/id_ed25519\n  UserKnownHostsFile %s/bastion/known_hosts\n"
           "  HostKeyAlias lab-bastion\n",
           bastion.port, dir, dir);
  inventory_through_ssh_config(jump);
  int rc =
      sh(&out, "%s plan -i %s/inventory.ssh.yaml -p %s/test.yaml --sources", ISSU_BINARY, dir, dir);
  cr_assert_eq(rc, 0, "%s", out);
  char want[64];
  snprintf(want, sizeof want, "root@127.0.0.1:%d", bastion.port);
  cr_expect_not_null(strstr(out, want), "%s", out);
  free(out);
  rc = sh(&out,
          "%s run -i %s/inventory.ssh.yaml -p %s/test.yaml --time-scale 600 --state-dir %s/state "
          "--run-id t --yes </dev/null",
          ISSU_BINARY, dir, dir, dir);
  cr_assert_eq(rc, 0, "%s", out);
  free(out);
  expect_upgraded();
  cr_expect(test_sshd_log_has(&bastion, "Accepted publickey for root"), "the bastion was not used");
  /* The run's routers share their bastion sessions (limits.jump_channels): the whole run logs in
   * to the bastion once, or again after an idle bastion session closed between waves. Each router
   * session opening its own bastion session logged in 10 times here. */
  char *log = test_sshd_read(bastion.log);
  unsigned logins = 0;
  for (const char *q = log; (q = strstr(q, "Accepted publickey for root")); q++)
    logins++;
  free(log);
  cr_expect(logins >= 1 && logins <= 3, "%u logins to the bastion: its sessions were not shared",
            logins);
}

Test(ssh_config, a_lab_rollout_reaches_its_routers_through_ssh_config_alone, .timeout = 300,
     .fini = lab_stop)
{
  need_ssh();
  lab_start(2, 1, NULL);
  /* Connecting through the bastion is what is tested, not how long it may take: under valgrind
   * on a loaded machine two key exchanges in libssh2 outlast the 30 s (wall) floor of the connect
   * phase. 100h at --time-scale 600 is 10 minutes of wall clock. */
  write_policy("waves: {canary: [mx-ams-1], serial: [\"100%\"], soak: 0}\n"
               "issu: {timeouts: {connect: 100h, device: 200h}}\n");
  inventory_through_ssh_config(NULL);
  char *out;
  int rc =
      sh(&out, "%s plan -i %s/inventory.ssh.yaml -p %s/test.yaml --sources", ISSU_BINARY, dir, dir);
  cr_assert_eq(rc, 0, "%s", out);
  cr_expect(strstr(out, "port         ") && strstr(out, "ssh_config"), "%s", out);
  free(out);
  /* check reaches every router the same way, and says where the settings came from. */
  rc = sh(&out,
          "%s check -i %s/inventory.ssh.yaml -p %s/test.yaml --time-scale 600 --state-dir "
          "%s/state-check </dev/null",
          ISSU_BINARY, dir, dir, dir);
  cr_assert_eq(rc, 0, "%s", out);
  /* (user is not counted here: User root is the default when the test runs as root) */
  cr_expect(strstr(out, "Connections: 2 routers read ssh_config") && strstr(out, "port 0/2/0") &&
                strstr(out, "key 0/2/0, known_hosts 0/2/0"),
            "%s", out);
  free(out);
  rc = sh(&out,
          "%s run -i %s/inventory.ssh.yaml -p %s/test.yaml --time-scale 600 --state-dir %s/state "
          "--run-id t --yes </dev/null",
          ISSU_BINARY, dir, dir, dir);
  cr_assert_eq(rc, 0, "%s", out);
  free(out);
  expect_upgraded();
}

/* i16-keys: accepting new keys is the run's choice; ssh_config may only take it away, and each
 * hop has its own StrictHostKeyChecking, ConnectTimeout and ServerAlive* settings. */
Test(ssh_config, accept_new_needs_the_flag_and_each_hop_has_its_own_settings, .fini = cleanup)
{
  need_ssh();
  const char *cfg = write_config("Host mx-strict\n  StrictHostKeyChecking yes\n"
                                 "  ProxyJump bastion\n"
                                 "Host mx-*\n  StrictHostKeyChecking no\n  ConnectTimeout 9\n"
                                 "  ProxyJump bastion\n"
                                 "Host bastion\n  HostName 10.0.0.1\n  ConnectTimeout 3\n"
                                 "  ServerAliveInterval 2\n  ServerAliveCountMax 5\n"
                                 "  StrictHostKeyChecking yes\n");
  char *yaml =
      xasprintf("all:\n  vars: {issu_ssh_config: %s}\n  hosts:\n    mx-1:\n    mx-strict:\n", cfg);
  for (int flag = 0; flag < 2; flag++) {
    struct inventory *inv;
    struct diag d = {0};
    struct targets *ts = build_with(yaml, &inv, &d, flag);
    cr_assert_eq(d.count, 0, "%s", d.count ? d.lines[0] : "");
    const struct transport_options *a = targets_options(ts, 0), *s = targets_options(ts, 1);
    cr_expect_eq(a->accept_new_host_keys, flag, "mx-1 (StrictHostKeyChecking no), flag %d", flag);
    if (flag)
      cr_expect_null(a->strict_host_key_checking);
    else
      cr_expect_str_eq(a->strict_host_key_checking, "no", "named as the user wrote it");
    cr_expect_not(s->accept_new_host_keys, "an explicit yes wins over the flag");
    cr_expect_eq(a->connect_timeout_ms, 9000);
    cr_assert_eq(a->jump_count, 1);
    const struct transport_hop *h = &a->jump[0];
    cr_expect(h->own_settings);
    cr_expect_not(h->accept_new_host_keys, "the hop says yes; the router's no is not inherited");
    cr_expect_eq(h->connect_timeout_ms, 3000);
    cr_expect_eq(h->keepalive_s, 2);
    cr_expect_eq(h->keepalive_count, 5);
    targets_free(ts);
    inventory_free(inv);
    diag_free(&d);
  }
  free(yaml);
}

/* ConnectTimeout may be up to a year in ssh -G's output, and a year of milliseconds is more than
 * 32 bits: a long timeout saturates, it never wraps into a short one (ConnectTimeout 4294968, 49.7
 * days, was 704 ms). */
Test(ssh_config, a_connect_timeout_too_long_for_milliseconds_saturates, .fini = cleanup)
{
  need_ssh();
  const char *cfg = write_config("Host mx-2\n  ConnectTimeout 4294967\n"
                                 "Host mx-*\n  ConnectTimeout 4294968\n  ProxyJump bastion\n"
                                 "Host bastion\n  HostName 10.0.0.1\n  ConnectTimeout 60d\n");
  char *yaml =
      xasprintf("all:\n  vars: {issu_ssh_config: %s}\n  hosts:\n    mx-1:\n    mx-2:\n", cfg);
  struct inventory *inv;
  struct diag d = {0};
  struct targets *ts = build(yaml, &inv, &d);
  cr_assert_eq(d.count, 0, "%s", d.count ? d.lines[0] : "");
  const struct transport_options *a = targets_options(ts, 0), *b = targets_options(ts, 1);
  cr_expect_eq(a->connect_timeout_ms, UINT_MAX, "4294968 s: %u ms", a->connect_timeout_ms);
  cr_assert_eq(a->jump_count, 1);
  cr_expect_eq(a->jump[0].connect_timeout_ms, UINT_MAX, "60d: %u ms",
               a->jump[0].connect_timeout_ms);
  cr_expect_eq(b->connect_timeout_ms, 4294967000u, "the longest that fits is kept exactly");
  targets_free(ts);
  inventory_free(inv);
  diag_free(&d);
  free(yaml);
}

/* Two inventory names for one router (a copy-paste: the same address and port by the same hops,
 * or one name's RE address another's) would be two routers to the run: its locks, pairs and
 * limits counted apart, and one router upgraded twice at once. Refused at load, naming both. */
Test(ssh_config, two_names_that_reach_one_router_are_refused_naming_both, .fini = cleanup)
{
  const struct {
    const char *hosts, *first;
  } cases[] = {
      {"    mx-a: {ansible_host: 192.0.2.1}\n    mx-b: {ansible_host: 192.0.2.1}\n", "'mx-a'"},
      {"    mx-a: {ansible_host: 192.0.2.1, ansible_port: 830}\n"
       "    mx-b: {ansible_host: 192.0.2.1, ansible_port: 830}\n",
       "'mx-a'"},
      {"    mx-a: {ansible_host: 192.0.2.1, issu_re0_host: 192.0.2.10}\n"
       "    mx-b: {ansible_host: 192.0.2.10}\n",
       "'mx-a'"},
      {"    192.0.2.1: {}\n    mx-b: {ansible_host: 192.0.2.1}\n", "'192.0.2.1'"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *yaml = xasprintf("all:\n  vars: {issu_ssh_config: false}\n  hosts:\n%s", cases[i].hosts);
    struct inventory *inv;
    struct diag d = {0};
    struct targets *ts = build(yaml, &inv, &d);
    cr_expect_eq(d.count, 1, "case %zu: %zu errors", i, d.count);
    if (d.count > 0)
      cr_expect(strstr(d.lines[0], "host 'mx-b'") && strstr(d.lines[0], cases[i].first) &&
                    strstr(d.lines[0], "same router"),
                "case %zu: %s", i, d.lines[0]);
    targets_free(ts);
    inventory_free(inv);
    diag_free(&d);
    free(yaml);
  }
  /* Other ports, or an RE address that is the router's own address: other routers, no error;
   * a third name on the first's address and port is refused. */
  struct inventory *inv;
  struct diag d = {0};
  struct targets *ts =
      build("all:\n  vars: {issu_ssh_config: false}\n  hosts:\n"
            "    mx-a: {ansible_host: 127.0.0.1, ansible_port: 2201, issu_re0_host: 127.0.0.1, "
            "issu_re0_port: 2201}\n"
            "    mx-b: {ansible_host: 127.0.0.1, ansible_port: 2203, issu_re0_host: 127.0.0.1, "
            "issu_re0_port: 2204}\n"
            "    mx-c: {ansible_host: 127.0.0.1, ansible_port: 2201}\n",
            &inv, &d);
  cr_expect_eq(d.count, 1, "only mx-c shares mx-a's address: %zu", d.count);
  if (d.count > 0)
    cr_expect(strstr(d.lines[0], "host 'mx-c'") && strstr(d.lines[0], "'mx-a'"), "%s", d.lines[0]);
  targets_free(ts);
  inventory_free(inv);
  diag_free(&d);
}

/* Host names are compared as DNS compares them (any case, with or without the root's dot), and
 * an IPv6 address however it is written: one router under two spellings is still one router. */
Test(ssh_config, one_router_under_two_spellings_of_its_address_is_refused, .fini = cleanup)
{
  const char *cases[] = {
      "    mx-a: {ansible_host: Router1.Example.NET}\n"
      "    mx-b: {ansible_host: router1.example.net}\n",
      "    mx-a: {ansible_host: router1.example.net.}\n"
      "    mx-b: {ansible_host: router1.example.net}\n",
      "    mx-a: {ansible_host: '2001:DB8::1'}\n"
      "    mx-b: {ansible_host: '2001:db8:0:0::1'}\n",
      "    mx-a: {ansible_host: 192.0.2.1, issu_re1_host: '2001:db8::a'}\n"
      "    mx-b: {ansible_host: '2001:0db8:0000::000a'}\n",
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char *yaml = xasprintf("all:\n  vars: {issu_ssh_config: false}\n  hosts:\n%s", cases[i]);
    struct inventory *inv;
    struct diag d = {0};
    struct targets *ts = build(yaml, &inv, &d);
    cr_expect_eq(d.count, 1, "case %zu: %zu errors", i, d.count);
    if (d.count > 0)
      cr_expect(strstr(d.lines[0], "host 'mx-b'") && strstr(d.lines[0], "'mx-a'") &&
                    strstr(d.lines[0], "same router"),
                "case %zu: %s", i, d.lines[0]);
    targets_free(ts);
    inventory_free(inv);
    diag_free(&d);
    free(yaml);
  }
}
