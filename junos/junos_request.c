/*
 * What stays text: prompt banners, the replies of `request` commands, and the commands issu-fleet
 * types. Every string matched here is in a capture or a Juniper page named beside it.
 */
#include "junos/junos_facts.h"
#include "common/common.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "{master}", "{master:0}", "{backup}", "{backup:1}" (captures crtc-accepted,
 * genieparser-ex4200-fpc0, ntc-templates-mx240-fpc0-header). */
enum junos_prompt junos_prompt_of(const char *line, size_t len)
{
  while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n' || line[len - 1] == ' ' ||
                     line[len - 1] == '\t'))
    len--;
  while (len > 0 && (*line == ' ' || *line == '\t')) {
    line++;
    len--;
  }
  static const struct {
    const char *word;
    enum junos_prompt p;
  } roles[] = {{"{master", JUNOS_PROMPT_MASTER}, {"{backup", JUNOS_PROMPT_BACKUP}};
  if (len < 8 || line[len - 1] != '}')
    return JUNOS_PROMPT_NONE;
  for (size_t i = 0; i < ARRAY_LEN(roles); i++) {
    if (strncmp(line, roles[i].word, 7) != 0)
      continue;
    if (len == 8)
      return roles[i].p;
    /* "{master:0}": a member number */
    if (line[7] != ':' || len < 10)
      return JUNOS_PROMPT_NONE;
    for (size_t k = 8; k < len - 1; k++)
      if (!isdigit((unsigned char)line[k]))
        return JUNOS_PROMPT_NONE;
    return roles[i].p;
  }
  return JUNOS_PROMPT_NONE;
}

/* capture show-chassis-hardware-on-backup-re__pyez-connect-not-master__15.1F5.xml */
bool junos_is_not_master_refusal(const char *const *lines, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (strstr(lines[i], "This command can only be used on the master routing engine"))
      return true;
  return false;
}

static const struct {
  const char *text;
  enum junos_switch_reply reply;
} switch_words[] = {
    /* crtc-accepted, crtc-refused-* */
    {"Complete. The other routing engine becomes the master", SWITCH_REPLY_DONE},
    {"Not ready for mastership switch, try after ", SWITCH_REPLY_HOLDDOWN},
    /* reference §3.x (vmhost upgrade note, GRES off) */
    {"is not ready for graceful switchover", SWITCH_REPLY_NOT_READY},
    {"Switchover Ready", SWITCH_REPLY_READY},
};

/* The hold-down's seconds: "try after 229 secs." A number out of range is no number. */
static bool holddown_seconds(const char *s, unsigned *out)
{
  if (!isdigit((unsigned char)*s))
    return false;
  errno = 0;
  char *end;
  unsigned long v = strtoul(s, &end, 10);
  if (errno == ERANGE || v > 24UL * 3600)
    return false;
  *out = (unsigned)v;
  return true;
}

enum junos_switch_reply junos_parse_switch_reply(const char *const *lines, size_t n,
                                                 unsigned *holddown_s, const char **line)
{
  *holddown_s = 0;
  if (line)
    *line = NULL;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < ARRAY_LEN(switch_words); k++) {
      const char *hit = strstr(lines[i], switch_words[k].text);
      if (hit == NULL)
        continue;
      if (switch_words[k].reply == SWITCH_REPLY_HOLDDOWN &&
          !holddown_seconds(hit + strlen(switch_words[k].text), holddown_s))
        continue;
      if (line)
        *line = lines[i];
      return switch_words[k].reply;
    }
  return SWITCH_REPLY_UNKNOWN;
}

/* reference §1.1 (blog: "Reboot consistency check bypassed - jinstall 10.3R2.11 will complete
 * installation upon reboot") and capture request-system-software-add__pyez-install-pending-error */
bool junos_pending_install(const char *const *lines, size_t n, const char **line)
{
  static const char *const words[] = {"will complete installation upon reboot",
                                      "There is already an install pending"};
  if (line)
    *line = NULL;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < ARRAY_LEN(words); k++)
      if (strstr(lines[i], words[k])) {
        if (line)
          *line = lines[i];
        return true;
      }
  return false;
}

/* ---- command builders ---- */

static bool put(char *buf, size_t len, size_t *used, const char *a, const char *b)
{
  int w = snprintf(buf + *used, len - *used, "%s%s", a, b);
  if (w < 0 || (size_t)w >= len - *used)
    return false;
  *used += (size_t)w;
  return true;
}

bool junos_issu_command_for(char *buf, size_t len, const char *package, const char *const *options,
                            size_t noptions, enum junos_old_master old_master, bool vmhost)
{
  /* reference §2: `request system software in-service-upgrade PKG <no-old-master-upgrade>
   * <reboot>`; PyEZ's vmhost=True sends request-vmhost-package-in-service-upgrade instead. */
  static const char *const how[] = {
      [JUNOS_OLD_MASTER_REBOOT] = " reboot",
      [JUNOS_OLD_MASTER_LEAVE] = "",
      [JUNOS_OLD_MASTER_SKIP] = " no-old-master-upgrade",
  };
  if (len == 0)
    return false;
  size_t used = 0;
  bool ok = put(buf, len, &used, vmhost ? "request vmhost" : "request system",
                " software in-service-upgrade ") &&
            put(buf, len, &used, package, "") &&
            put(buf, len, &used, (unsigned)old_master < ARRAY_LEN(how) ? how[old_master] : "", "");
  for (size_t i = 0; ok && i < noptions; i++)
    ok = put(buf, len, &used, " ", options[i]);
  if (!ok)
    buf[0] = '\0';
  return ok;
}

bool junos_reboot_command(char *buf, size_t len, bool vmhost, bool other_re)
{
  /* `request system reboot other-routing-engine` (Juniper's request system reboot page);
   * `request vmhost reboot routing-engine other` (Juniper's request vmhost reboot page). */
  static const char *const cmds[2][2] = {
      {"request system reboot", "request system reboot other-routing-engine"},
      {"request vmhost reboot", "request vmhost reboot routing-engine other"},
  };
  size_t used = 0;
  if (len == 0)
    return false;
  if (!put(buf, len, &used, cmds[vmhost][other_re], "")) {
    buf[0] = '\0';
    return false;
  }
  return true;
}
