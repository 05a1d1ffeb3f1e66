/*
 * junos-sim behind real OpenSSH: `lab init` + `lab up`, plain `ssh -F DIR/ssh_config`, a whole
 * ISSU whose session is cut at switchover, the reconnect that finds RE1 master, an scp upload
 * whose checksum the router reports, and a 200-router lab. Waits are on states, never on
 * wall-clock thresholds: each poll loop has only a generous upper bound against hanging.
 */
#include "common/common.h"

#include <criterion/criterion.h>
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lab.h"

Test(sim_lab, plain_openssh_reaches_every_router, .fini = lab_stop)
{
  lab_start(4, 2, NULL);
  char *out;
  cr_expect_eq(sh(&out, "ssh -F %s/ssh_config mx-ams-1 'show version | match Junos:'", dir), 0,
               "%s", out);
  cr_expect(strstr(out, "Junos: 21.4R3-S5.4"), "%s", out);
  free(out);
  cr_expect_eq(sh(&out, "ssh -F %s/ssh_config mx-fra-2 'show chassis routing-engine'", dir), 0);
  cr_expect(strstr(out, "Current state                  Master"), "%s", out);
  free(out);
  cr_expect_eq(sh(&out, "ssh -F %s/ssh_config mx-fra-2 'show nonsense'", dir), 1, "%s", out);
  cr_expect(strstr(out, "syntax error"), "%s", out);
  free(out);
  lab_stop();
}

Test(sim_lab, an_issu_over_ssh_drops_at_switchover_and_the_reconnect_finds_re1_master,
     .fini = lab_stop)
{
  lab_start(4, 2, "--known-hosts both");
  char *out;
  int rc = sh(&out,
              "ssh -F %s/ssh_config mx-ams-1 'request system software in-service-upgrade " PKG
              " reboot'",
              dir);
  cr_expect_eq(rc, 255, "the connection is cut, as at a real switchover (exit %d): %s", rc, out);
  cr_expect(strstr(out, "ISSU: Preparing for Switchover"), "%s", out);
  cr_expect(strstr(out, "ISSU: IDLE") == NULL, "%s", out);
  free(out);
  /* Reconnect, as a tool would: the router carried on without the session. */
  bool reconnected = false;
  for (int i = 0; i < 100 && !reconnected; i++) {
    reconnected =
        sh(&out, "ssh -F %s/ssh_config mx-ams-1 'show chassis routing-engine'", dir) == 0 &&
        strstr(out, "  Slot 1:\n    Current state                  Master") != NULL &&
        strstr(out, "{master}") != NULL;
    free(out);
    if (!reconnected)
      pause_ms(100);
  }
  cr_expect(reconnected, "after the switchover RE1 is master");
  /* Wait for the old master's reboot to finish: both REs on the target, one ISSU. */
  bool finished = false;
  for (int i = 0; i < 300 && !finished; i++) {
    cJSON *st = status_of("mx-ams-1");
    finished = strcmp(cJSON_GetObjectItem(st, "issu_state")->valuestring, "done") == 0 &&
               cJSON_IsTrue(cJSON_GetObjectItem(st, "re0_up"));
    if (finished) {
      cr_expect_str_eq(cJSON_GetObjectItem(st, "re0_version")->valuestring, "23.4R2-S3.7");
      cr_expect_str_eq(cJSON_GetObjectItem(st, "re1_version")->valuestring, "23.4R2-S3.7");
      cr_expect_eq(cJSON_GetObjectItem(st, "master")->valueint, 1);
      cr_expect_eq(cJSON_GetObjectItem(st, "issu_starts")->valueint, 1);
    }
    cJSON_Delete(st);
    if (!finished)
      pause_ms(100);
  }
  cr_expect(finished, "the ISSU finished on the router's own clock");
  cJSON *other = status_of("mx-ams-2");
  cr_expect_eq(cJSON_GetObjectItem(other, "issu_starts")->valueint, 0);
  cJSON_Delete(other);
  lab_stop();
}

Test(sim_lab, an_scp_upload_lands_with_its_real_checksum, .fini = lab_stop)
{
  lab_start(2, 2, "--fault mx-ams-1=package-missing");
  char *out;
  char *image = xasprintf("%s/images/junos-install-mx-x86-64-23.4R2-S3.7.tgz", dir);
  cr_assert_eq(sh(&out, "sha256sum %s", image), 0);
  char sha[65];
  snprintf(sha, sizeof sha, "%s", out);
  free(out);
  cr_expect_eq(sh(&out, "ssh -F %s/ssh_config mx-ams-1 'file list /var/tmp/'", dir), 0);
  cr_expect(strstr(out, "junos-install") == NULL, "missing before the upload: %s", out);
  free(out);
  cr_expect_eq(sh(&out, "scp -O -q -F %s/ssh_config %s mx-ams-1:/var/tmp/", dir, image), 0, "%s",
               out);
  free(out);
  cr_expect_eq(sh(&out, "ssh -F %s/ssh_config mx-ams-1 'file checksum sha-256 " PKG "'", dir), 0);
  cr_expect(strstr(out, sha), "expected %s in: %s", sha, out);
  free(out);
  free(image);
  lab_stop();
}

Test(sim_lab, lab_status_reports_every_router_as_json, .fini = lab_stop)
{
  lab_start(3, 2, NULL);
  char *out;
  cr_assert_eq(sh(&out, "%s lab status %s --json", JUNOS_SIM_BINARY, dir), 0);
  cJSON *all = cJSON_Parse(out);
  free(out);
  cr_assert(cJSON_IsArray(all));
  cr_expect_eq(cJSON_GetArraySize(all), 3);
  cJSON *first = cJSON_GetArrayItem(all, 0);
  static const char *const keys[] = {"name",   "re0_version", "re1_version",
                                     "master", "issu_state",  "issu_starts"};
  for (size_t i = 0; i < ARRAY_LEN(keys); i++)
    cr_expect_not_null(cJSON_GetObjectItem(first, keys[i]), "missing %s", keys[i]);
  cr_expect_str_eq(cJSON_GetObjectItem(first, "issu_state")->valuestring, "idle");
  cJSON_Delete(all);
  lab_stop();
}

Test(sim_lab, a_lab_of_200_routers_comes_up_and_answers, .timeout = 120, .fini = lab_stop)
{
  lab_start(200, 2, NULL);
  char *out;
  cr_expect_eq(sh(&out, "ssh -F %s/ssh_config mx-ams-1 'show version | match Hostname'", dir), 0);
  cr_expect(strstr(out, "Hostname: mx-ams-1"), "%s", out);
  free(out);
  cr_expect_eq(sh(&out, "ssh -F %s/ssh_config mx-fra-100 'show version | match Hostname'", dir), 0);
  cr_expect(strstr(out, "Hostname: mx-fra-100"), "%s", out);
  free(out);
  cr_expect_eq(sh(&out, "ssh -F %s/ssh_config mx-fra-100-re1 'show version | match Hostname'", dir),
               0);
  cr_expect(strstr(out, "Hostname: mx-fra-100\n\n{backup}"), "%s", out);
  free(out);
  cr_expect_eq(sh(&out, "ls %s/sshd/*.conf | wc -l", dir), 0);
  cr_expect_eq(atoi(out), 26, "one sshd per RE of 16 routers: %s", out);
  free(out);
  lab_stop();
}

Test(sim_lab, bad_lab_arguments_are_refused_clearly)
{
  char *out;
  cr_expect_eq(sh(&out, "%s lab init /tmp/x --devices 0", JUNOS_SIM_BINARY), 2);
  cr_expect(strstr(out, "--devices must be from 1 to 5000"), "%s", out);
  free(out);
  cr_expect_eq(sh(&out, "%s lab init /tmp/issu-badfault --devices 2 --fault mx-ams-1=melting",
                  JUNOS_SIM_BINARY),
               2);
  cr_expect(strstr(out, "unknown fault 'melting'"), "%s", out);
  free(out);
  cr_expect_eq(sh(&out, "%s lab up /nonexistent-lab", JUNOS_SIM_BINARY), 2);
  cr_expect(strstr(out, "is not a lab"), "%s", out);
  free(out);
  sh(NULL, "rm -rf /tmp/issu-badfault");
}

/* A port listening on 127.0.0.1, chosen by the kernel; its number in *port. */
static int listen_somewhere(int *port)
{
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  cr_assert(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 1) == 0);
  socklen_t len = sizeof a;
  cr_assert_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  *port = ntohs(a.sin_port);
  return fd;
}

/* A port taken between lab init and lab up, by the forwarder's address or an sshd's, is named as
 * taken: the words lab_start (lab.h) retries on with other ports. The forwarder exits at once
 * on it; that was reported as "forwarder ... exited", which no test retried (a 200-router lab's
 * 600 ports met another test's lab under ctest -j2). */
Test(sim_lab, a_port_taken_before_lab_up_is_named_as_taken_whoever_binds_it, .timeout = 120,
     .fini = lab_stop)
{
  for (int which = 0; which < 2; which++) { /* the forwarder's port, then RE0's sshd's */
    int port, fd = listen_somewhere(&port);
    int base = which == 0 ? port : port - 2; /* 2 routers: RE0's ports follow the 2 forwarded */
    cr_assert(base >= 1024);
    snprintf(dir, sizeof dir, "/tmp/issu-lab-taken-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    char *out;
    cr_assert_eq(sh(&out, "%s lab init %s --devices 2 --sites 1 --base-port %d", JUNOS_SIM_BINARY,
                    dir, base),
                 0, "%s", out);
    free(out);
    cr_expect_neq(sh(&out, "%s lab up %s", JUNOS_SIM_BINARY, dir), 0);
    cr_expect(strstr(out, "is taken by another program"), "%s port: %s",
              which == 0 ? "forwarder" : "sshd", out);
    free(out);
    close(fd);
    lab_stop();
  }
}

/* ---- per-RE identities behind a master-only address (issue 13) ---- */

/* The host key an address presents, as ssh-keyscan reads it ("ssh-ed25519 AAAA..."). */
static char *host_key_of(int port)
{
  char *out;
  cr_assert_eq(sh(&out, "ssh-keyscan -t ed25519 -p %d 127.0.0.1 2>/dev/null", port), 0);
  char *key = strstr(out, "ssh-ed25519 ");
  cr_assert_not_null(key, "no key on port %d: %s", port, out);
  char *copy = xstrndup(key, strcspn(key, "\n"));
  free(out);
  return copy;
}

static int inventory_port(const char *router, const char *var)
{
  char *out;
  cr_assert_eq(sh(&out, "grep -A3 '^        %s:' %s/inventory.yaml", router, dir), 0);
  char *at = strstr(out, var);
  cr_assert_not_null(at, "%s has no %s: %s", router, var, out);
  int port = atoi(at + strlen(var) + 2);
  free(out);
  return port;
}

static int count_lines_with(const char *text, const char *needle)
{
  int n = 0;
  for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
    n++;
  return n;
}

Test(sim_lab, each_re_has_its_own_host_key_and_the_master_only_address_follows_mastership,
     .timeout = 120, .fini = lab_stop)
{
  lab_start(2, 1, "--router mx-ams-1=stay");
  int master = inventory_port("mx-ams-1", "ansible_port");
  int re0 = inventory_port("mx-ams-1", "issu_re0_port"),
      re1 = inventory_port("mx-ams-1", "issu_re1_port");
  cr_expect(master != re0 && re0 != re1);
  char *k_master = host_key_of(master), *k0 = host_key_of(re0), *k1 = host_key_of(re1);
  cr_expect_str_eq(k_master, k0, "the master-only address reaches RE0 first");
  cr_expect_str_neq(k0, k1, "each RE has its own host key");
  /* known_hosts by default: the master-only address with RE0's key only. */
  char *known;
  cr_assert_eq(sh(&known, "grep '^\\[127.0.0.1\\]:%d ' %s/known_hosts", master, dir), 0);
  cr_expect_eq(count_lines_with(known, "ssh-ed25519"), 1, "%s", known);
  cr_expect(strstr(known, k0 + 12), "%s", known);
  free(known);
  /* A per-RE address runs the command on that RE, with its banner. */
  char *out;
  cr_expect_eq(sh(&out, "ssh -F %s/ssh_config mx-ams-1-re1 'show version | match Hostname'", dir),
               0);
  cr_expect(strstr(out, "{backup}"), "%s", out);
  free(out);
  /* An open session (one SSH connection, several commands) across a switchover. */
  char *ctl = xasprintf("%s/ctl-%%C", dir);
  cr_assert_eq(sh(&out,
                  "ssh -F %s/ssh_config -o ControlMaster=yes -o ControlPath=%s -o "
                  "ControlPersist=60 -f -N mx-ams-1",
                  dir, ctl),
               0, "%s", out);
  free(out);
  cr_expect_eq(sh(&out,
                  "ssh -F %s/ssh_config -o ControlPath=%s mx-ams-1 "
                  "'request chassis routing-engine master switch no-confirm'",
                  dir, ctl),
               0, "the session stays (stay): %s", out);
  cr_expect(strstr(out, "Complete. The other routing engine becomes the master.\n\n{backup}"), "%s",
            out);
  free(out);
  cr_expect_eq(
      sh(&out, "ssh -F %s/ssh_config -o ControlPath=%s mx-ams-1 'show chassis alarms'", dir, ctl),
      1);
  cr_expect(strstr(out, "Aborted! This command can only be used on the master routing engine.\n"
                        "\n{backup}"),
            "the open session is still on RE0, now backup: %s", out);
  free(out);
  /* A new connection to the master-only address reaches RE1: another host key. */
  char *k_after = host_key_of(master);
  cr_expect_str_eq(k_after, k1, "the master-only address moved to RE1");
  cr_expect_neq(sh(&out, "ssh -F %s/ssh_config mx-ams-1 'show version'", dir), 0,
                "with only RE0's key recorded, strict checking refuses RE1: %s", out);
  free(out);
  cr_expect_eq(sh(&out,
                  "ssh -F %s/ssh_config -o UserKnownHostsFile=/dev/null -o "
                  "StrictHostKeyChecking=no mx-ams-1 'show system alarms'",
                  dir),
               0);
  cr_expect(strstr(out, "Backup RE Active") && strstr(out, "{master}"), "%s", out);
  free(out);
  sh(NULL, "ssh -F %s/ssh_config -o ControlPath=%s -O exit mx-ams-1", dir, ctl);
  free(ctl);
  free(k_after);
  free(k_master);
  free(k0);
  free(k1);
  lab_stop();
}

Test(sim_lab, known_hosts_both_trusts_both_res_for_the_master_only_address, .fini = lab_stop)
{
  /* slow:20: a reboot takes 12 s, so RE0 is still down when the test looks (under ASan too). */
  lab_start(1, 1, "--known-hosts both --fault mx-ams-1=slow:20");
  int master = inventory_port("mx-ams-1", "ansible_port");
  char *known;
  cr_assert_eq(sh(&known, "grep '^\\[127.0.0.1\\]:%d ' %s/known_hosts", master, dir), 0);
  cr_expect_eq(count_lines_with(known, "ssh-ed25519"), 2, "%s", known);
  free(known);
  char *out;
  cr_expect_eq(sh(&out,
                  "ssh -F %s/ssh_config mx-ams-1 'request chassis routing-engine master "
                  "switch no-confirm'",
                  dir),
               255, "the session drops by default: %s", out);
  free(out);
  bool re1 = false;
  for (int i = 0; i < 50 && !re1; i++) {
    re1 = sh(&out, "ssh -F %s/ssh_config mx-ams-1 'show chassis routing-engine'", dir) == 0 &&
          strstr(out, "  Slot 1:\n    Current state                  Master");
    free(out);
    if (!re1)
      pause_ms(100);
  }
  cr_expect(re1, "with both keys known the reconnect reaches RE1");
  cJSON *st = status_of("mx-ams-1");
  cr_expect_eq(cJSON_GetObjectItem(st, "sessions_dropped")->valueint, 1);
  cJSON_Delete(st);
  /* While RE0 (now backup) reboots, its own address answers nothing. */
  cr_expect_eq(sh(&out,
                  "echo yes | ssh -F %s/ssh_config mx-ams-1 'request system reboot "
                  "other-routing-engine'",
                  dir),
               0, "%s", out);
  free(out);
  cr_expect_eq(sh(&out, "ssh -F %s/ssh_config mx-ams-1-re0 'show version'", dir), 255, "%s", out);
  cr_expect(strstr(out, "Hostname") == NULL, "%s", out);
  free(out);
  lab_stop();
}

Test(sim_lab, vmhost_and_switchover_options_are_checked, .fini = lab_stop)
{
  char *out;
  cr_expect_eq(
      sh(&out, "%s lab init /tmp/issu-badopt --devices 2 --router mx-ams-1=fast", JUNOS_SIM_BINARY),
      2);
  cr_expect(strstr(out, "unknown router option 'fast'"), "%s", out);
  free(out);
  cr_expect_eq(
      sh(&out, "%s lab init /tmp/issu-badopt --devices 2 --switchover maybe", JUNOS_SIM_BINARY), 2);
  cr_expect(strstr(out, "expected drop or stay"), "%s", out);
  free(out);
  cr_expect_eq(
      sh(&out, "%s lab init /tmp/issu-badopt --devices 2 --known-hosts all", JUNOS_SIM_BINARY), 2);
  cr_expect(strstr(out, "expected re0 or both"), "%s", out);
  free(out);
  sh(NULL, "rm -rf /tmp/issu-badopt");
  lab_start(2, 1, "--vmhost");
  cr_expect_eq(sh(&out, "ssh -F %s/ssh_config mx-ams-2 'show chassis routing-engine'", dir), 0);
  cr_expect(strstr(out, "RE-S-1600x8"), "%s", out);
  free(out);
  lab_stop();
}

Test(sim_lab, an_issu_session_that_stays_ends_on_the_backup_and_the_old_master_holds_the_install,
     .timeout = 120, .fini = lab_stop)
{
  lab_start(2, 1, "--router mx-ams-1=stay --known-hosts both");
  char *ctl = xasprintf("%s/ctl-%%C", dir), *out;
  cr_assert_eq(sh(&out,
                  "ssh -F %s/ssh_config -o ControlMaster=yes -o ControlPath=%s -o "
                  "ControlPersist=120 -f -N mx-ams-1",
                  dir, ctl),
               0, "%s", out);
  free(out);
  /* Without `reboot` the ISSU's session outlives the switchover, on the old master. */
  int rc = sh(&out,
              "ssh -F %s/ssh_config -o ControlPath=%s mx-ams-1 "
              "'request system software in-service-upgrade " PKG "'",
              dir, ctl);
  cr_expect_eq(rc, 0, "%s", out);
  cr_expect(strstr(out, "ISSU: Preparing for Switchover"), "%s", out);
  size_t len = strlen(out);
  cr_expect(len > 10 && strcmp(out + len - 10, "\n{backup}\n") == 0, "%s", out);
  free(out);
  cr_expect_eq(sh(&out,
                  "ssh -F %s/ssh_config -o ControlPath=%s mx-ams-1 "
                  "'request system software add " PKG "'",
                  dir, ctl),
               1);
  cr_expect(strstr(out, "There is already an install pending.") && strstr(out, "{backup}"), "%s",
            out);
  free(out);
  /* A new connection to the same address reaches RE1, master on the target. */
  cr_expect_eq(sh(&out,
                  "ssh -F %s/ssh_config mx-ams-1 'show version invoke-on all-routing-engines "
                  "| display xml'",
                  dir),
               0);
  cr_expect(strstr(out, "<banner>{master}</banner>"), "%s", out);
  char *v0 = strstr(out, "<junos-version>21.4R3-S5.4</junos-version>");
  char *v1 = strstr(out, "<junos-version>23.4R2-S3.7</junos-version>");
  cr_expect(v0 && v1 && v0 < v1, "RE0 still on the old code, RE1 on the target: %s", out);
  free(out);
  cr_expect_eq(sh(&out, "ssh -F %s/ssh_config mx-ams-1 'show chassis alarms'", dir), 0);
  cr_expect(strstr(out, "Minor  Backup RE Active"), "%s", out);
  free(out);
  /* The reboot on the old master completes the install; the session ends with the RE. */
  rc =
      sh(&out, "echo yes | ssh -F %s/ssh_config -o ControlPath=%s mx-ams-1 'request system reboot'",
         dir, ctl);
  cr_expect_eq(rc, 255, "%s", out);
  cr_expect(strstr(out, "Reboot consistency check bypassed - jinstall 23.4R2-S3.7 will complete "
                        "installation upon reboot"),
            "%s", out);
  free(out);
  bool back = false;
  for (int i = 0; i < 300 && !back; i++) {
    cJSON *st = status_of("mx-ams-1");
    back = cJSON_IsTrue(cJSON_GetObjectItem(st, "re0_up")) &&
           strcmp(cJSON_GetObjectItem(st, "re0_version")->valuestring, "23.4R2-S3.7") == 0;
    cr_expect_eq(cJSON_GetObjectItem(st, "master")->valueint, 1);
    cr_expect_eq(cJSON_GetObjectItem(st, "issu_starts")->valueint, 1);
    cJSON_Delete(st);
    if (!back)
      pause_ms(100);
  }
  cr_expect(back, "RE0 comes back as backup on the target");
  sh(NULL, "ssh -F %s/ssh_config -o ControlPath=%s -O exit mx-ams-1", dir, ctl);
  free(ctl);
  lab_stop();
}

Test(sim_lab, a_router_whose_state_is_locked_never_stalls_the_master_only_addresses, .timeout = 300,
     .fini = lab_stop)
{
  lab_start(2, 1, NULL);
  /* A session that holds mx-ams-1's lock (as one waiting for a [yes,no] answer does). */
  char *lock = xasprintf("%s/routers/mx-ams-1.json.lock", dir);
  int fd = open(lock, O_RDWR | O_CREAT, 0600);
  cr_assert(fd >= 0 && flock(fd, LOCK_EX) == 0);
  char *out;
  cr_assert_eq(sh(&out, "(ssh -F %s/ssh_config mx-ams-1 'show version' >/dev/null 2>&1 &)", dir),
               0);
  free(out);
  /* Once its session runs, the forwarder has joined it and the CLI waits on the lock we hold. */
  bool waiting = false;
  for (int i = 0; i < 3000 && !waiting; i++) {
    waiting = sh(NULL, "pgrep -f '[d]evice --state %s/routers/mx-ams-1.json' >/dev/null", dir) == 0;
    if (!waiting)
      pause_ms(20);
  }
  cr_assert(waiting, "mx-ams-1's session runs, waiting on its lock");
  /* No time limit of its own: a stalled forwarder shows as this test's timeout. */
  cr_expect_eq(sh(&out, "ssh -F %s/ssh_config mx-ams-2 'show version | match Hostname'", dir), 0,
               "another router's master-only address still answers: %s", out);
  cr_expect(strstr(out, "Hostname: mx-ams-2"), "%s", out);
  free(out);
  flock(fd, LOCK_UN);
  close(fd);
  free(lock);
  lab_stop();
}

Test(sim_lab, lab_down_ends_the_sessions_still_open, .timeout = 300, .fini = lab_stop)
{
  /* On RE0's own address (no forwarder between): its sshd alone holds the session. */
  lab_start(1, 1, "--fault mx-ams-1=hang:daemons");
  char *out;
  cr_assert_eq(
      sh(&out,
         "(ssh -F %s/ssh_config mx-ams-1-re0 'request system software in-service-upgrade " PKG
         "' >/dev/null 2>&1 &)",
         dir),
      0);
  free(out);
  bool running = false;
  for (int i = 0; i < 100 && !running; i++) {
    running = sh(NULL, "pgrep -f '[d]evice --state %s/routers/mx-ams-1.json' >/dev/null", dir) == 0;
    if (!running)
      pause_ms(100);
  }
  cr_assert(running, "the ISSU session runs (and hangs in daemons)");
  cr_assert_eq(sh(&out, "%s lab down %s", JUNOS_SIM_BINARY, dir), 0, "%s", out);
  free(out);
  bool gone = false;
  for (int i = 0; i < 50 && !gone; i++) {
    gone = sh(NULL, "pgrep -f '[d]evice --state %s/routers/mx-ams-1.json' >/dev/null", dir) != 0;
    if (!gone)
      pause_ms(100);
  }
  cr_expect(gone, "lab down ends the sessions its sshd served");
  lab_stop();
}

/* Issue 15 through OpenSSH: the network commands answer over ssh, a switchover starts the dip,
 * and the network recovers but for the lost peer (waits are on the router's answers). */
Test(sim_lab, the_network_dips_at_a_switchover_and_recovers_but_for_a_lost_peer, .fini = lab_stop)
{
  lab_start(2, 1, "--known-hosts both --net-recovery 120 --router mx-ams-1=peer-lost");
  char *out;
  cr_expect_eq(sh(&out, "ssh -F %s/ssh_config mx-ams-1 'show bgp summary | display xml'", dir), 0,
               "%s", out);
  cr_expect(strstr(out, "<down-peer-count>0</down-peer-count>") && strstr(out, "</rpc-reply>"),
            "%s", out);
  free(out);
  const char *commands[] = {"show ospf neighbor", "show isis adjacency",
                            "show ldp session",   "show interfaces terse",
                            "show route summary", "show chassis fpc pic-status"};
  for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
    cr_expect_eq(sh(&out, "ssh -F %s/ssh_config mx-ams-1 '%s | display xml'", dir, commands[i]), 0,
                 "%s: %s", commands[i], out);
    cr_expect(strstr(out, "</rpc-reply>"), "%s: %s", commands[i], out);
    free(out);
  }
  cr_expect_eq(sh(&out,
                  "ssh -F %s/ssh_config mx-ams-1 'request chassis routing-engine master "
                  "switch no-confirm'",
                  dir),
               255, "the session drops: %s", out);
  free(out);
  /* The recovery is 120 simulated seconds (0.2 s at scale 600); the lost peer stays down. */
  bool recovered = false;
  for (int i = 0; i < 100 && !recovered; i++) {
    recovered =
        sh(&out, "ssh -F %s/ssh_config mx-ams-1 'show bgp summary | display xml'", dir) == 0 &&
        strstr(out, "<down-peer-count>1</down-peer-count>");
    free(out);
    if (!recovered)
      pause_ms(100);
  }
  cr_expect(recovered, "one peer stays down after the recovery");
  cr_expect_eq(sh(&out, "ssh -F %s/ssh_config mx-ams-1 'show bgp summary'", dir), 0);
  cr_expect(strstr(out, "Down peers: 1\n"), "%s", out);
  free(out);
  /* The other router saw no switchover. */
  cr_expect_eq(sh(&out, "ssh -F %s/ssh_config mx-ams-2 'show bgp summary | match Down'", dir), 0);
  cr_expect(strstr(out, "Down peers: 0"), "%s", out);
  free(out);
  lab_stop();
}
