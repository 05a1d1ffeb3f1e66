/*
 * junos-sim's entry point.
 *
 *   junos-sim device --state FILE [--re N] [-c COMMAND]
 *                                                answer one command as the router in FILE; the
 *                                                command comes from -c or SSH_ORIGINAL_COMMAND
 *                                                (as sshd's ForceCommand passes it); --re (or
 *                                                JUNOS_SIM_RE) names the RE the session is on
 *   junos-sim lab init|up|down|status ...        a lab of simulated routers behind OpenSSH
 */
#include "simulator/sim.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
  fprintf(
      out,
      "junos-sim %s: a simulated dual-RE Juniper MX for rehearsing and testing ISSU rollouts\n"
      "\n"
      "Usage:\n"
      "  junos-sim device --state FILE [--re 0|1] [-c COMMAND]\n"
      "      Answer one Junos CLI command as the router whose state is FILE. Without -c the\n"
      "      command is read from SSH_ORIGINAL_COMMAND, as sshd's ForceCommand provides it.\n"
      "      --re (or JUNOS_SIM_RE=0|1) runs it on that routing engine, master or backup, as a\n"
      "      per-RE address does; without it the command reaches the current master.\n"
      "  junos-sim lab init DIR --devices N [--sites S] [--time-scale X] [--seed K] [--steady]\n"
      "                [--fault HOST=FAULT]... [--from VERSION] [--to VERSION] [--base-port P]\n"
      "                [--router HOST=OPTION]... [--vmhost] [--switchover drop|stay]\n"
      "                [--known-hosts re0|both] [--net-recovery SECONDS] [--net-scale K]\n"
      "  junos-sim lab up DIR | down DIR | status DIR [--json]\n"
      "  junos-sim forward DIR\n"
      "      The lab's master-only addresses (lab up starts it, lab down stops it).\n"
      "\n"
      "Faults: validation-fail, backup-no-return, old-master-no-return, gres-off, nsr-off,\n"
      "commit-sync-off, backup-not-ready, holddown, disk-full, package-missing,\n"
      "checksum-mismatch, version-mismatch, hang:PHASE, slow:FACTOR, no-drop.\n"
      "Router options: vmhost, stay, drop, re0-suffix:SUFFIX, re1-suffix:SUFFIX; network\n"
      "faults: peer-lost, prefixes-low, fpc-offline, slow-converge:MINUTES.\n",
      ISSU_VERSION);
}

static int device_main(int argc, char **argv)
{
  const char *state = NULL, *command = getenv("SSH_ORIGINAL_COMMAND");
  const char *re_text = getenv("JUNOS_SIM_RE");
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--state") == 0 && i + 1 < argc)
      state = argv[++i];
    else if (strcmp(argv[i], "--re") == 0 && i + 1 < argc)
      re_text = argv[++i];
    else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
      command = argv[++i];
    else {
      fprintf(stderr, "junos-sim device: unexpected argument '%s'\n", argv[i]);
      return 2;
    }
  }
  if (state == NULL) {
    fprintf(stderr, "junos-sim device: missing --state FILE\n");
    return 2;
  }
  int re = -1;
  if (re_text != NULL && *re_text != '\0') {
    if (strcmp(re_text, "0") != 0 && strcmp(re_text, "1") != 0) {
      fprintf(stderr, "junos-sim device: --re (JUNOS_SIM_RE) must be 0 or 1, not '%s'\n", re_text);
      return 2;
    }
    re = re_text[0] - '0';
  }
  if (command == NULL || *command == '\0') {
    printf("error: this router answers one command per session (ssh ROUTER 'show version')\n");
    return 1;
  }
  int rc = sim_run_command_on(state, re, command, stdin, stdout);
  if (rc == SIM_UNREACHABLE)
    sim_drop_session();
  return rc;
}

int main(int argc, char **argv)
{
  if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  if (strcmp(argv[1], "--version") == 0) {
    printf("junos-sim %s\n", ISSU_VERSION);
    return 0;
  }
  if (strcmp(argv[1], "device") == 0)
    return device_main(argc - 2, argv + 2);
  if (strcmp(argv[1], "forward") == 0)
    return sim_forward_main(argc - 2, argv + 2);
  if (strcmp(argv[1], "lab") == 0) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0) {
      fprintf(stderr, "junos-sim: cannot find its own path\n");
      return 70;
    }
    self[n] = '\0';
    return sim_lab_main(argc - 2, argv + 2, self);
  }
  fprintf(stderr, "junos-sim: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return 2;
}
