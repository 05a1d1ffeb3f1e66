/*
 * The issu-fleet command line, end to end: the real binary, its exit codes, its help, and the
 * JSON shapes scripts depend on (DESIGN.md §3).
 */
#include "helpers.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#define FLEET ISSU_SOURCE_DIR "/examples/fleet/"

/* Runs the binary with `args` (a shell-quoted string); returns the exit code, with stdout (and
 * stderr too unless `stdout_only`) in *out. */
static int run_to(const char *args, char **out, bool stdout_only)
{
  char *cmd = xasprintf("%s %s %s", ISSU_BINARY, args, stdout_only ? "2>/dev/null" : "2>&1");
  FILE *p = popen(cmd, "r");
  cr_assert_not_null(p);
  size_t len = 0, cap = 4096;
  *out = xmalloc(cap);
  size_t n;
  while ((n = fread(*out + len, 1, cap - len - 1, p)) > 0) {
    len += n;
    if (cap - len < 1024)
      *out = xrealloc(*out, cap *= 2);
  }
  (*out)[len] = '\0';
  int status = pclose(p);
  free(cmd);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int run(const char *args, char **out)
{
  return run_to(args, out, false);
}

static int run_json(const char *args, char **out)
{
  return run_to(args, out, true);
}

static char *write_temp(const char *content)
{
  char *path = xstrdup("/tmp/issu-fleet-test-XXXXXX");
  int fd = mkstemp(path);
  cr_assert_geq(fd, 0);
  FILE *f = fdopen(fd, "w");
  fputs(content, f);
  fclose(f);
  return path;
}

Test(cli, version_and_help_exit_zero)
{
  char *out;
  cr_expect_eq(run("--version", &out), 0);
  cr_expect(strstr(out, "issu-fleet 0."), "%s", out);
  free(out);
  cr_expect_eq(run("--help", &out), 0);
  cr_expect(strstr(out, "issu-fleet plan -i INVENTORY -p POLICY") && strstr(out, "Exit codes"));
  free(out);
  cr_expect_eq(run("plan --help", &out), 0);
  cr_expect(strstr(out, "--limit PATTERN"), "%s", out);
  free(out);
  cr_expect_eq(run("inventory --help", &out), 0);
  cr_expect(strstr(out, "ansible-inventory"), "%s", out);
  free(out);
}

Test(cli, the_man_page_is_the_help_text_and_is_up_to_date)
{
  char *out, *doc, err[256];
  size_t len;
  cr_assert_eq(run_to("--man", &out, true), 0);
  cr_assert_eq(
      text_read_file(ISSU_SOURCE_DIR "/docs/issu-fleet.1", 1 << 20, &doc, &len, err, sizeof err), 0,
      "%s", err);
  cr_expect_str_eq(out, doc,
                   "docs/issu-fleet.1 is out of date: build/issu-fleet --man > "
                   "docs/issu-fleet.1");
  /* every subcommand and each of its options is in it */
  static const char *const words[] = {
      ".SS plan",      ".SS check",       ".SS run",      ".SS ctl",         ".SS report",
      ".SS inventory", "\\-\\-html FILE", "\\-\\-resume", ".SH EXIT STATUS", "NO_COLOR"};
  for (size_t i = 0; i < sizeof words / sizeof *words; i++)
    cr_expect(strstr(out, words[i]), "the man page lacks %s", words[i]);
  free(out);
  free(doc);
}

Test(cli, every_documented_action_has_an_example_line_that_parses)
{
  char *doc, err[256];
  size_t len;
  cr_assert_eq(
      text_read_file(ISSU_SOURCE_DIR "/docs/events.md", 1 << 20, &doc, &len, err, sizeof err), 0,
      "%s", err);
  static const char *const actions[] = {
      "run-started",  "plan-computed",   "wave-started",       "device-started",  "phase-changed",
      "check-result", "alarm-baseline",  "device-reconnected", "device-finished", "wave-finished",
      "soak-started", "budget-exceeded", "gate-waiting",       "gate-approved",   "run-paused",
      "run-resumed",  "run-draining",    "run-detached",       "window-closed",   "window-opened",
      "run-finished"};
  for (size_t i = 0; i < sizeof actions / sizeof *actions; i++) {
    char *row = xasprintf("`%s`", actions[i]),
         *example = xasprintf("\n`%s`\n\n```json\n", actions[i]);
    const char *table = strstr(doc, "## Actions"), *examples = strstr(doc, "## An example line");
    cr_assert(table && examples);
    const char *in_table = strstr(table, row);
    cr_expect(in_table && in_table < examples, "%s is not in the table of actions", actions[i]);
    const char *at = strstr(doc, example);
    cr_expect_not_null(at, "no example line for %s", actions[i]);
    if (at) {
      at += strlen(example);
      const char *end = strchr(at, '\n');
      cJSON *ev = cJSON_ParseWithLength(at, (size_t)(end - at));
      cr_expect_not_null(ev, "the example of %s is not JSON", actions[i]);
      const cJSON *a = cJSON_GetObjectItem(cJSON_GetObjectItem(ev, "event"), "action");
      cr_expect(cJSON_IsString(a) && strcmp(a->valuestring, actions[i]) == 0, "%s", actions[i]);
      cJSON_Delete(ev);
    }
    free(row);
    free(example);
  }
  free(doc);
}

Test(cli, usage_errors_exit_2_and_say_what_is_missing)
{
  char *out;
  cr_expect_eq(run("", &out), 2);
  free(out);
  cr_expect_eq(run("upgrade-everything", &out), 2);
  cr_expect(strstr(out, "unknown command 'upgrade-everything'"), "%s", out);
  free(out);
  cr_expect_eq(run("plan -i " FLEET "inventory.yaml", &out), 2);
  cr_expect(strstr(out, "issu-fleet plan: missing -p POLICY"), "%s", out);
  free(out);
  cr_expect_eq(run("plan --frobnicate", &out), 2);
  cr_expect(strstr(out, "unknown option '--frobnicate'"), "%s", out);
  free(out);
  cr_expect_eq(run("plan -i", &out), 2);
  cr_expect(strstr(out, "needs a value"), "%s", out);
  free(out);
  cr_expect_eq(run("inventory -i " FLEET "inventory.yaml", &out), 2);
  cr_expect(strstr(out, "add --list"), "%s", out);
  free(out);
}

Test(cli, plan_json_has_the_documented_shape)
{
  char *out;
  cr_assert_eq(run_json("plan -i " FLEET "inventory.yaml -p " FLEET "rollout.yaml --json", &out), 0,
               "%s", out);
  cJSON *j = cJSON_Parse(out);
  cr_assert_not_null(j, "not JSON: %s", out);
  cJSON *waves = cJSON_GetObjectItem(j, "waves");
  cr_assert(cJSON_IsArray(waves));
  cJSON *first = cJSON_GetArrayItem(waves, 0);
  cr_expect_eq(cJSON_GetObjectItem(first, "index")->valueint, 0);
  cr_expect_str_eq(cJSON_GetObjectItem(first, "name")->valuestring, "canary");
  cr_expect(cJSON_IsArray(cJSON_GetObjectItem(first, "hosts")));
  cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetArrayItem(waves, 1), "name")->valuestring,
                   "wave-1");
  cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(j, "makespan_s")));
  cr_expect(cJSON_IsNumber(cJSON_GetObjectItem(j, "lower_bound_s")));
  cJSON_Delete(j);
  free(out);
}

Test(cli, plan_text_shows_waves_deferrals_and_the_bound)
{
  char *out;
  cr_assert_eq(run("plan -i " FLEET "inventory.yaml -p " FLEET "rollout.yaml", &out), 0);
  cr_expect(strstr(out, "Plan: 48 routers in 9 waves"), "%s", out);
  cr_expect(strstr(out, "canary          1  +0:00   +0:40   mx-ams-1  [waits for approval]"), "%s",
            out);
  cr_expect(strstr(out, "by limits.per.site"), "%s", out);
  cr_expect(strstr(out, "lower bound 8h (ratio 1.00)"), "%s", out);
  free(out);
}

Test(cli, limit_narrows_the_plan_and_a_bad_limit_exits_2)
{
  char *out;
  cr_assert_eq(run_json("plan -i " FLEET "inventory.yaml -p " FLEET
                        "rollout.yaml --json --limit 'site_ams:site_fra:!lab'",
                        &out),
               0);
  cJSON *j = cJSON_Parse(out);
  size_t total = 0;
  cJSON *w;
  cJSON_ArrayForEach(w, cJSON_GetObjectItem(j, "waves")) total +=
      (size_t)cJSON_GetArraySize(cJSON_GetObjectItem(w, "hosts"));
  cr_expect_eq(total, 15);
  cJSON_Delete(j);
  free(out);
  cr_expect_eq(
      run("plan -i " FLEET "inventory.yaml -p " FLEET "rollout.yaml --limit site_xyz", &out), 2);
  cr_expect(strstr(out, "matches 'site_xyz'"), "%s", out);
  free(out);
}

Test(cli, no_router_to_work_on_exits_2_naming_the_file_or_the_pattern)
{
  /* It used to plan "0 routers in 1 waves", 40 minutes, exit 0. */
  char *inv = write_temp("all:\n  hosts: {}\n");
  const char *commands[] = {"plan", "check", "run"};
  for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
    char *args = xasprintf("%s -i %s -p " FLEET "rollout.yaml%s", commands[i], inv,
                           i == 2 ? " --yes --state-dir /tmp/issu-cli-never" : "");
    char *out, *want = xasprintf("%s: the inventory has no hosts", inv);
    cr_expect_eq(run(args, &out), 2, "%s: %s", commands[i], out);
    cr_expect(strstr(out, want), "%s: %s", commands[i], out);
    free(want);
    free(out);
    free(args);
  }
  char *out;
  cr_expect_eq(run("plan -i " FLEET "inventory.yaml -p " FLEET
                   "rollout.yaml --limit 'site_ams:&site_fra'",
                   &out),
               2);
  cr_expect(strstr(out, "--limit 'site_ams:&site_fra' leaves no host to work on"), "%s", out);
  free(out);
  unlink(inv);
  free(inv);
}

Test(cli, errors_in_both_files_are_reported_together_with_exit_2)
{
  char *inv = write_temp("all:\n  hosts:\n    mx1:\n    mx1:\n");
  char *pol =
      write_temp("target: {version: 23.4R2, package: /var/tmp/a.tgz}\nwaves: {serial: 0}\n");
  char *args = xasprintf("plan -i %s -p %s", inv, pol);
  char *out;
  cr_expect_eq(run(args, &out), 2);
  char *want_inv = xasprintf("%s:4:5: duplicate key 'mx1'", inv);
  char *want_pol = xasprintf("%s:2:17: waves.serial: '0' is not a batch size", pol);
  cr_expect(strstr(out, want_inv), "%s", out);
  cr_expect(strstr(out, want_pol), "%s", out);
  free(want_inv);
  free(want_pol);
  free(out);
  free(args);
  unlink(inv);
  unlink(pol);
  free(inv);
  free(pol);
}

Test(cli, inventory_list_prints_ansible_json)
{
  char *out;
  cr_assert_eq(run_json("inventory -i " FLEET "inventory.yaml --list", &out), 0);
  cJSON *j = cJSON_Parse(out);
  cr_assert_not_null(j);
  cJSON *hv = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "_meta"), "hostvars");
  cr_expect_str_eq(cJSON_GetObjectItem(cJSON_GetObjectItem(hv, "mx-lon-3"), "pair")->valuestring,
                   "lon-core-2");
  cJSON_Delete(j);
  free(out);
}

Test(cli, a_missing_file_is_named_with_exit_2)
{
  char *out;
  cr_expect_eq(run("inventory -i /nonexistent.yaml --list", &out), 2);
  cr_expect(strstr(out, "/nonexistent.yaml: cannot open: No such file or directory"), "%s", out);
  free(out);
}

Test(cli, run_and_check_refuse_bad_input_with_exit_2_before_touching_a_router)
{
  /* 192.0.2.0/24 is TEST-NET: were anything contacted, the test would hang or fail otherwise. */
  char *inv = write_temp("all:\n  hosts:\n    mx1: {ansible_host: 192.0.2.1, issu_transport: "
                         "telnet}\n    mx2: {ansible_host: 192.0.2.2, ansible_port: 70000}\n"
                         "    mx3: {ansible_host: 192.0.2.3, ansible_password: hunter2}\n");
  char *pol = write_temp("target: {version: 23.4R2, package: /var/tmp/a.tgz}\n");
  const char *commands[] = {"run", "check"};
  for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
    char *args =
        xasprintf("%s -i %s -p %s --yes --state-dir /tmp/issu-cli-never", commands[i], inv, pol);
    if (i == 1) /* check has no --yes */
      args[strlen(args) - strlen(" --yes --state-dir /tmp/issu-cli-never")] = '\0';
    char *out;
    cr_expect_eq(run(args, &out), 2, "%s: %s", commands[i], out);
    char *want = xasprintf("%s:3:52: host 'mx1': issu_transport: expected ssh or local", inv);
    cr_expect(strstr(out, want), "%s", out);
    cr_expect(strstr(out, "ansible_port: expected a port number"), "%s", out);
    cr_expect(strstr(out, "passwords are not read from the inventory"), "%s", out);
    cr_expect(strstr(out, "hunter2") == NULL, "a secret never appears in a message");
    free(want);
    free(out);
    free(args);
  }
  char *out;
  cr_expect_eq(run("run -i /nonexistent.yaml -p /nonexistent.yaml --yes", &out), 2);
  free(out);
  cr_expect_eq(run("run --time-scale 0 -i a -p b", &out), 2);
  cr_expect(strstr(out, "--time-scale"), "%s", out);
  free(out);
  cr_expect_eq(access("/tmp/issu-cli-never", F_OK), -1, "no journal was created");
  unlink(inv);
  unlink(pol);
  free(inv);
  free(pol);
}

/* `ctl status` prints the durations a run answers on its socket: a figure that is no duration
 * (negative, 1e300) is shown as 0s, never converted out of range (undefined behaviour; a build
 * without the sanitizer printed -5 s as 5124095576030431h00m11s). The run is played by a child
 * that answers one request. */
Test(cli, ctl_status_shows_durations_out_of_range_as_zero)
{
  char dir[] = "/tmp/issu-cli-ctl-XXXXXX";
  cr_assert_not_null(mkdtemp(dir));
  char *path = xasprintf("%s/r.sock", dir);
  struct sockaddr_un addr = {.sun_family = AF_UNIX};
  snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
  int ls = socket(AF_UNIX, SOCK_STREAM, 0);
  cr_assert_geq(ls, 0);
  cr_assert_eq(bind(ls, (struct sockaddr *)&addr, sizeof addr), 0);
  cr_assert_eq(listen(ls, 1), 0);
  pid_t pid = fork();
  cr_assert_geq(pid, 0);
  if (pid == 0) {
    static const char reply[] =
        "{\"ok\":true,\"run_id\":\"r\",\"state\":\"running\",\"wave\":0,\"wave_name\":\"canary\","
        "\"routers\":{\"total\":1,\"in_flight\":1},\"elapsed_s\":-5,\"eta_s\":1e300,"
        "\"in_flight\":[{\"host\":\"mx-1\",\"wave\":0,\"phase\":\"stage\",\"elapsed_s\":-1e19,"
        "\"phase_elapsed_s\":-5,\"remaining_s\":1e300,\"progress\":0.5}]}\n";
    int c = accept(ls, NULL, NULL);
    char buf[512];
    if (c < 0 || read(c, buf, sizeof buf) <= 0 || write(c, reply, sizeof reply - 1) < 0)
      _exit(1);
    close(c);
    _exit(0);
  }
  close(ls);
  char *args = xasprintf("ctl %s status", path), *out;
  cr_expect_eq(run(args, &out), 0, "%s", out);
  int status;
  cr_expect_eq(waitpid(pid, &status, 0), pid);
  cr_expect(strstr(out, "elapsed 0s, about 0s to go"), "%s", out);
  cr_expect(strstr(out, "mx-1") && strstr(out, "h00m") == NULL, "%s", out);
  free(out);
  free(args);
  unlink(path);
  rmdir(dir);
  free(path);
}
