/*
 * issu-fleet report EVENTS.jsonl [--html FILE] [--json]: what a run did, from its journal or an
 * --events copy (also one still being written, or cut off by a crash). Text on stdout by
 * default, JSON with --json; --html also writes the self-contained timeline page.
 */
#include "cli/cli.h"
#include "report/report.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static int write_html(const struct report *r, const char *path)
{
  /* written beside the target and renamed: a browser tab never sees half a page */
  char *tmp = xasprintf("%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    fprintf(stderr, "issu-fleet report: cannot write %s: %s\n", tmp, strerror(errno));
    free(tmp);
    return -1;
  }
  int rc = report_html(r, f);
  if (fclose(f) != 0 || rc != 0 || rename(tmp, path) != 0) {
    fprintf(stderr, "issu-fleet report: cannot write %s: %s\n", path, strerror(errno));
    remove(tmp);
    free(tmp);
    return -1;
  }
  free(tmp);
  return 0;
}

int cmd_report(int argc, char **argv)
{
  static const struct option longopts[] = {
      {"html", required_argument, NULL, 'H'},
      {"json", no_argument, NULL, 'j'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *html = NULL;
  bool json = false;
  int opt;
  optind = 1;
  while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
    switch (opt) {
    case 'H':
      html = optarg;
      break;
    case 'j':
      json = true;
      break;
    default:
      return cli_option_other("report", opt, argv);
    }
  }
  if (optind >= argc)
    return cli_usage_error("report", "missing EVENTS.jsonl (a journal or an --events file)");
  if (optind + 1 < argc)
    return cli_usage_error("report", "unexpected argument '%s'", argv[optind + 1]);

  char err[512];
  struct report *r;
  if (report_load(argv[optind], &r, err, sizeof err) != 0) {
    fprintf(stderr, "issu-fleet report: %s\n", err);
    return ISSU_EXIT_USAGE;
  }
  for (size_t i = 0; i < r->nwarnings; i++)
    fprintf(stderr, "issu-fleet report: %s\n", r->warnings[i]);
  int rc = ISSU_EXIT_OK;
  if (html && write_html(r, html) != 0)
    rc = ISSU_EXIT_USAGE;
  if (json) {
    cJSON *doc = report_json(r);
    char *text = cJSON_PrintUnformatted(doc);
    if (text)
      printf("%s\n", text);
    free(text);
    cJSON_Delete(doc);
  } else {
    report_text(r, stdout);
    if (html && rc == ISSU_EXIT_OK)
      printf("\ntimeline: %s\n", html);
  }
  report_free(r);
  if (fflush(stdout) != 0)
    rc = ISSU_EXIT_USAGE;
  return rc;
}
