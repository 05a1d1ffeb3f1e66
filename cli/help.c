/*
 * The subcommand table and every help text. Adding a subcommand is one row here and one
 * cmd_NAME.c file.
 */
#include "cli/cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <string.h>

static const struct cli_command commands[] = {
    {"plan", "plan -i INVENTORY -p POLICY [--limit PATTERN] [--json] [--sources]",
     "show the waves, their constraints and the expected duration; touches no router",
     "Reads the inventory and the rollout policy, and prints the plan: the canary, then each\n"
     "wave with its routers, the limits that moved a router to a later wave and why, when each\n"
     "wave is expected to start and end, the expected makespan and the lower bound no schedule\n"
     "could beat under the same canary and limits. How each router is reached is read as check\n"
     "and run read it (inventory variables over ssh_config, asked of `ssh -G`, over defaults;\n"
     "docs/inventory.md), and a line counts where the settings came from.\n"
     "\n"
     "Options:\n"
     "  -i, --inventory FILE   Ansible YAML inventory\n"
     "  -p, --policy FILE      rollout policy (see docs/policy.md)\n"
     "  -l, --limit PATTERN    only these hosts: names, groups, * globs, a:b union, a:&b\n"
     "                         intersection, a:!b exclusion (Ansible host patterns)\n"
     "      --json             print the plan as JSON:\n"
     "                         "
     "{\"waves\":[{\"index\":0,\"name\":\"canary\",\"hosts\":[...]},...],\n"
     "                          \"makespan_s\":N,\"lower_bound_s\":N,...}\n"
     "      --sources          every router's host, port, user, key, known_hosts and jump\n"
     "                         chain, each with where it came from (inventory, ssh_config or\n"
     "                         default); with --json, a \"connections\" object\n"
     "  -h, --help             this text\n"
     "\n"
     "Exit status: 0 the plan was printed; 2 the inventory, the policy or the options are wrong\n"
     "(every error names FILE:LINE:COL).\n",
     cmd_plan},
    {"check", "check -i INVENTORY -p POLICY [--limit PATTERN] [--events FILE|-] [--state-dir DIR]",
     "connect to every router, run the preflight and the health checks; changes nothing",
     "Connects to every router of the plan in parallel (host keys checked against known_hosts)\n"
     "and runs the read-only preflight: two routing engines up, the same version on both,\n"
     "GRES, NSR and commit synchronize configured, stateful replication on, the backup ready\n"
     "for a switchover and no hold-down, room on /var, the alarms (the baseline), the package\n"
     "on the router with the right SHA-256 (or a target.source to stage it from). Each check is\n"
     "one check-result event with the lines that decided it.\n"
     "\n"
     "Then it takes the snapshot of the policy's health checks (the built-in suite and the\n"
     "checks.files, docs/checks.md) into STATE_DIR/checks/RUN_ID/ROUTER.check.xml and\n"
     "evaluates the tests that need one snapshot only (FPCs online, NSR replication complete,\n"
     "...), as a run's pre-check would: check-snapshot, then check-passed or check-failed with\n"
     "the failed items.\n"
     "A router whose pre-check fails is not ready (with checks.pre_check: warn, only warned).\n"
     "Use it to see your suite work before the window.\n"
     "\n"
     "Options:\n"
     "  -i, --inventory FILE   Ansible YAML inventory\n"
     "  -p, --policy FILE      rollout policy\n"
     "  -l, --limit PATTERN    only these hosts (Ansible host patterns)\n"
     "      --events FILE|-    also write the events (JSON lines) to FILE, or stdout\n"
     "      --state-dir DIR    where the journal goes (default ./.issu-fleet)\n"
     "      --time-scale N     policy durations run N times faster (simulated labs)\n"
     "      --accept-new-host-keys  add unknown host keys to known_hosts (changed keys are\n"
     "                         always refused)\n"
     "  -q, --quiet            no progress lines on stderr\n"
     "  -h, --help             this text\n"
     "\n"
     "Exit status: 0 every router is ready (or already on the target); 1 some are not;\n"
     "2 the inventory, the policy or the options are wrong (nothing was contacted).\n",
     cmd_check},
    {"run",
     "run -i INVENTORY -p POLICY [--limit PATTERN] [--events FILE|-] [--state-dir DIR]\n"
     "                    [--control SOCKET] [--resume RUN_ID|JOURNAL] [--time-scale N] [--yes]",
     "upgrade the routers of the plan with unified ISSU, wave by wave",
     "Plans the waves (as `issu-fleet plan` shows them), asks for confirmation, then drives\n"
     "every router through the ISSU on one event loop: connect, preflight, stage, validate,\n"
     "backup-upgrade, backup-reboot, daemons, fru-upgrade, switchover (the session drops:\n"
     "issu-fleet reconnects and asks the router where it stands), old-master-upgrade,\n"
     "old-master-reboot, switchback, verify. Limits are enforced against the routers in\n"
     "flight; the failure budget halts the run (no new starts, routers in flight finish).\n"
     "Every phase change is one JSON line in the journal STATE_DIR/RUN_ID.jsonl, written and\n"
     "fsync'ed before the step it records. An ISSU is never aborted and never started twice.\n"
     "A wave named in waves.approve waits for `issu-fleet ctl SOCKET approve`.\n"
     "No router starts outside the policy's maintenance window (routers in flight finish).\n"
     "SIGINT or SIGTERM drains (routers in flight finish, none start; exit 4), a second one\n"
     "detaches (stop watching, leave the routers alone; exit 4). SIGHUP is ignored.\n"
     "\n"
     "Options:\n"
     "  -i, --inventory FILE   Ansible YAML inventory\n"
     "  -p, --policy FILE      rollout policy (see docs/policy.md)\n"
     "  -l, --limit PATTERN    only these hosts (Ansible host patterns)\n"
     "      --events FILE|-    also write the events (JSON lines) to FILE, or stdout\n"
     "      --state-dir DIR    where the journal goes (default ./.issu-fleet)\n"
     "      --run-id ID        name the run (default r-YYYYMMDDTHHMMSSZ)\n"
     "      --control SOCKET   the control socket for `issu-fleet ctl` (default\n"
     "                         STATE_DIR/RUN_ID.sock)\n"
     "      --time-scale N     policy durations (timeouts, soak) run N times faster, and\n"
     "                         events carry the scaled time: for junos-sim labs (a\n"
     "                         --resume keeps the run's own; another is refused)\n"
     "      --stop-at-window-end  when the maintenance window closes, let the routers in\n"
     "                         flight finish and end (exit 4) instead of waiting for the next\n"
     "      --resume RUN_ID|JOURNAL  continue a run from its journal (after a crash, a\n"
     "                         detach, a window that closed): done routers stay done, routers\n"
     "                         that were in flight are asked where they stand and continued\n"
     "      --retry-failed     with --resume: routers that failed start again\n"
     "      --accept-changed-config  with --resume: go on although the inventory or the\n"
     "                         policy changed since the run started\n"
     "      --yes              do not ask for confirmation (required without a terminal)\n"
     "      --accept-new-host-keys  add unknown host keys to known_hosts (changed keys are\n"
     "                         always refused)\n"
     "  -q, --quiet            no progress lines on stderr\n"
     "  -h, --help             this text\n"
     "\n"
     "Exit status: 0 every router upgraded or already on the target; 1 some failed within\n"
     "the budget; 2 usage or configuration error (nothing touched); 3 halted (budget\n"
     "exceeded, canary failed); 4 stopped by the operator (drain, interrupt) or not\n"
     "confirmed; 5 routers held (outcome unknown: check each, then `ctl SOCKET release\n"
     "ROUTER`); 70 internal error (the journal could not be written, or no progress).\n",
     cmd_run},
    {"ctl", "ctl SOCKET status|approve|pause|resume|drain|release ROUTER [--json]",
     "steer a running rollout through its control socket",
     "Talks to a running `issu-fleet run` through its control socket (by default\n"
     "STATE_DIR/RUN_ID.sock, mode 0600; `run --control SOCKET` chooses another path):\n"
     "\n"
     "  status    every router in flight with its wave, phase and time, the counts, the\n"
     "            failure budget left and an estimate of the time to go\n"
     "  approve   open the approval gate the run waits at (waves.approve); your uid is\n"
     "            recorded in the gate-approved event\n"
     "  pause     start no new router; routers in flight go on\n"
     "  resume    start routers again\n"
     "  drain     finish the routers in flight, start no more; the run ends with exit 4\n"
     "  release ROUTER  free the limit slots of a held router (outcome unknown) once you\n"
     "            have checked it; your uid is recorded in device-released. With no run\n"
     "            live, it is written into the journal beside SOCKET for the resume\n"
     "\n"
     "Options:\n"
     "      --json   print the run's answer as JSON\n"
     "  -h, --help   this text\n"
     "\n"
     "Exit status: 0 done; 1 the run refused (nothing to approve, already paused, not\n"
     "held, ...);\n"
     "2 usage error or the run cannot be reached.\n",
     cmd_ctl},
    {"report", "report EVENTS.jsonl [--html FILE] [--json]",
     "summarize a run from its events: routers, phase statistics, waves, failures; timeline",
     "Reads the events of a run: its journal (STATE_DIR/RUN_ID.jsonl) or an --events file,\n"
     "also one still being written or cut off by a crash (a line that cannot be read is named\n"
     "with its line number and skipped). Prints per router the result, the versions before and\n"
     "after, the duration and the slowest phase; per phase the count, median, p90 and max\n"
     "across routers; per wave its start, end and soak; every failure with its error code and\n"
     "the router's own words. `-` reads stdin.\n"
     "\n"
     "Options:\n"
     "      --html FILE   also write the timeline: one self-contained HTML page (no script,\n"
     "                    no network) with a Gantt chart of every router, grouped by wave,\n"
     "                    each phase a coloured bar (hover for its duration), soak periods and\n"
     "                    approval waits shaded, failures marked, and the statistics\n"
     "      --json        print the summary as one JSON document instead of text\n"
     "  -h, --help        this text\n"
     "\n"
     "Exit status: 0 the report was written; 2 the file cannot be read or holds no event, or\n"
     "the HTML cannot be written.\n",
     cmd_report},
    {"inventory", "inventory -i INVENTORY --list [--limit PATTERN]",
     "print the inventory as `ansible-inventory --list` does (JSON)",
     "Reads an Ansible YAML inventory and prints it as `ansible-inventory -i FILE --list`\n"
     "would: every group with its hosts and children, and _meta.hostvars with every host's\n"
     "merged variables. Use it to check what issu-fleet sees in your file.\n"
     "\n"
     "Options:\n"
     "  -i, --inventory FILE   Ansible YAML inventory\n"
     "      --list             print the JSON listing\n"
     "  -l, --limit PATTERN    only these hosts (Ansible host patterns)\n"
     "  -h, --help             this text\n"
     "\n"
     "Exit status: 0 printed; 2 the inventory or the options are wrong.\n",
     cmd_inventory},
    {"known-hosts",
     "known-hosts -i INVENTORY [--limit PATTERN] [--write] [--known-hosts FILE]\n"
     "                    [--timeout SECONDS]",
     "collect both routing engines' SSH host keys and show what to add to known_hosts",
     "Each routing engine has its own SSH host keys, and the master-only address moves to the\n"
     "new master at a switchover: afterwards the same address presents the other RE's key,\n"
     "which issu-fleet refuses unless known_hosts holds it too. For every router this reads\n"
     "each RE's host key from the RE's own address (issu_re0_host and issu_re1_host, with\n"
     "issu_re0_port and issu_re1_port, default the router's port; an RE without one is read\n"
     "at the router's own address, wherever it is master), key exchange only: nothing is\n"
     "authenticated or sent. All routers at once, each address under a time limit.\n"
     "\n"
     "Prints, as a known_hosts fragment, a comment per key with its SHA256 fingerprint (as\n"
     "`ssh-keygen -lf` prints it) and the line to add under the name issu-fleet connects to\n"
     "(ansible_host, and [host]:port when ansible_port is not 22). Keys already recorded,\n"
     "hashed entries included, are named with their line and not repeated. Check the\n"
     "fingerprints against the routers before writing.\n"
     "\n"
     "Options:\n"
     "  -i, --inventory FILE   Ansible YAML inventory\n"
     "  -l, --limit PATTERN    only these hosts (Ansible host patterns)\n"
     "      --write            append the new lines to known_hosts (fsync'ed); without it\n"
     "                         nothing is written\n"
     "      --known-hosts FILE  this file instead of each host's issu_known_hosts (default\n"
     "                         ~/.ssh/known_hosts)\n"
     "      --timeout SECONDS  per address: connect and key exchange (default 10)\n"
     "  -h, --help             this text\n"
     "\n"
     "Exit status: 0 every key was read (and written with --write); 1 some address could not\n"
     "be read, presents a key marked @revoked, or the file cannot be written; 2 the inventory\n"
     "or the options are wrong.\n",
     cmd_known_hosts},
};

const struct cli_command *cli_find(const char *name)
{
  for (size_t i = 0; i < ARRAY_LEN(commands); i++)
    if (strcmp(commands[i].name, name) == 0)
      return &commands[i];
  return NULL;
}

void cli_usage(FILE *out)
{
  fprintf(out,
          "issu-fleet %s: upgrade Junos on fleets of dual-RE MX routers with unified ISSU\n"
          "\nUsage:\n",
          ISSU_VERSION);
  for (size_t i = 0; i < ARRAY_LEN(commands); i++)
    fprintf(out, "  issu-fleet %s\n", commands[i].synopsis);
  fprintf(out, "  issu-fleet --version | --man\n\nCommands:\n");
  for (size_t i = 0; i < ARRAY_LEN(commands); i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\nRun 'issu-fleet COMMAND --help' for a command's options.\n"
               "Exit codes: 0 success, 1 some routers failed within the budget, 2 usage or\n"
               "configuration error (nothing touched), 3 halted, 4 stopped by the operator,\n"
               "70 internal error.\n");
}

void cli_command_help(const struct cli_command *cmd, FILE *out)
{
  fprintf(out, "Usage: issu-fleet %s\n\n%s\n\n%s", cmd->synopsis, cmd->summary, cmd->help);
}

int cli_usage_error(const char *name, const char *fmt, ...)
{
  va_list ap;
  fprintf(stderr, "issu-fleet %s: ", name);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, " (see 'issu-fleet %s --help')\n", name);
  return ISSU_EXIT_USAGE;
}

int cli_option_other(const char *name, int opt, char **argv)
{
  const struct cli_command *cmd = cli_find(name);
  if (opt == 'h' && cmd != NULL) {
    cli_command_help(cmd, stdout);
    return ISSU_EXIT_OK;
  }
  if (opt == ':')
    return cli_usage_error(name, "option '%s' needs a value", argv[optind - 1]);
  return cli_usage_error(name, "unknown option '%s'", argv[optind - 1]);
}

int cli_require_files(const char *name, int argc, char **argv, const char *inventory,
                      const char *policy)
{
  if (optind < argc)
    return cli_usage_error(name, "unexpected argument '%s'", argv[optind]);
  if (inventory == NULL)
    return cli_usage_error(name, "missing -i INVENTORY");
  if (policy == NULL)
    return cli_usage_error(name, "missing -p POLICY");
  return 0;
}

/* ---- the man page: the same words as --help, in roff ---- */

/* One line of text for roff: backslashes and a leading '.' or '\'' made literal, '-' as \-. */
static void roff_line(FILE *out, const char *line, size_t len)
{
  if (len && (line[0] == '.' || line[0] == '\''))
    fputs("\\&", out);
  for (size_t i = 0; i < len; i++) {
    if (line[i] == '\\')
      fputs("\\e", out);
    else if (line[i] == '-')
      fputs("\\-", out);
    else
      fputc(line[i], out);
  }
  fputc('\n', out);
}

static void roff_text(FILE *out, const char *text)
{
  while (*text) {
    const char *nl = strchr(text, '\n');
    size_t len = nl ? (size_t)(nl - text) : strlen(text);
    roff_line(out, text, len);
    text += len + (nl != NULL);
  }
}

void cli_man(FILE *out)
{
  fprintf(out,
          ".\\\" Generated by `issu-fleet --man` from cli/help.c, the source of --help.\n"
          ".TH ISSU-FLEET 1 \"\" \"issu-fleet %s\" \"User Commands\"\n"
          ".SH NAME\nissu-fleet \\- upgrade Junos on fleets of dual-RE MX routers with "
          "unified ISSU\n.SH SYNOPSIS\n.nf\n",
          ISSU_VERSION);
  for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
    fputs("issu-fleet ", out);
    roff_text(out, commands[i].synopsis);
  }
  fputs("issu-fleet --version\n.fi\n.SH DESCRIPTION\n"
        "issu-fleet plans and runs in-service software upgrades of Juniper MX routers with two\n"
        "routing engines, many routers at once from one event loop: canary first, then waves\n"
        "under blast-radius limits (per site, per region, redundant pairs), a failure budget,\n"
        "soak times, approval gates and a maintenance window. Every step is one JSON line in the\n"
        "run's journal, written before the step acts, so a run can be resumed after a crash and\n"
        "shipped to Elasticsearch, Loki or Vector as it happens.\n"
        ".SH COMMANDS\n",
        out);
  for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
    fprintf(out, ".SS %s\n.B issu-fleet\n", commands[i].name);
    roff_text(out, commands[i].synopsis);
    fputs(".PP\n", out);
    roff_text(out, commands[i].summary);
    fputs(".PP\n.nf\n", out);
    roff_text(out, commands[i].help);
    fputs(".fi\n", out);
  }
  fputs(".SH EXIT STATUS\n.TP\n0\nevery router upgraded or already on the target\n"
        ".TP\n1\nfinished; some routers failed within the failure budget\n"
        ".TP\n2\nusage or configuration error; nothing was touched\n"
        ".TP\n3\nhalted: the failure budget was exceeded or the canary failed\n"
        ".TP\n4\nstopped by the operator (drain, interrupt, the window's end) or not confirmed\n"
        ".TP\n70\ninternal error (for example, the journal could not be written)\n"
        ".SH ENVIRONMENT\n.TP\nNO_COLOR\nwhen set and not empty, the live view of "
        "\\fBrun\\fR has no colours\n"
        ".TP\nTERM\nthe live view needs a terminal that is not \\fBdumb\\fR; otherwise "
        "progress is one plain line per phase change\n"
        ".TP\nISSU_FLEET_CLOCK_START\nseconds since the epoch at which the run's clock "
        "starts (rehearsing a maintenance window in a lab)\n"
        ".SH FILES\n.TP\nSTATE_DIR/RUN_ID.jsonl\nthe journal: every event of the run, one "
        "JSON object per line (default STATE_DIR: ./.issu\\-fleet)\n"
        ".TP\nSTATE_DIR/RUN_ID.sock\nthe control socket of a running run (mode 0600)\n"
        ".TP\nSTATE_DIR/RUN_ID.lock, STATE_DIR/locks/routers.lock\nheld while a run drives its "
        "routers (one byte\\-range lock per router in routers.lock)\n"
        ".SH SEE ALSO\n\\fBjunos\\-sim\\fR, the simulated MX lab; docs/policy.md, "
        "docs/inventory.md, docs/events.md, docs/operations.md in the source tree.\n",
        out);
}
