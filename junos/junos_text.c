/*
 * The text forms of the replies junos_facts.c reads as XML: the text PyEZ wraps in <output>
 * (format=text), and replies that hold no XML at all (a router or a capture that answered in
 * text). Each reads the same facts as its XML parser, from the lines Junos prints; layout
 * (indents, repeated headers, prompts) is allowed to vary as it does across releases.
 */
#include "junos/junos_xml.h"
#include "common/common.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* A reply with no XML, or text with a stray '<' (a capture's "<snipped>"), is read as text. */
void jx_text_fallback(struct jx *x, const struct junos_reply *reply, const char *const *lines,
                      size_t n, jx_text_fn fn, void *out)
{
  if (reply->xml && reply->text) {
    size_t tn;
    char **tl = jx_output_lines(x, &tn);
    fn((const char *const *)tl, tn, out);
    jx_free_lines(tl, tn);
  } else
    fn(lines, n, out);
}

/* The text form (inside <output>, or a reply with no XML): "Slot 0:", "Current state  Master",
 * "Model  RE-S-1600x8", "Last reboot reason  0x2000:hypervisor reboot". */
const char *jx_after_key(const char *line, const char *key)
{
  size_t k = strlen(key);
  if (strncmp(line, key, k) != 0 || (line[k] != ' ' && line[k] != '\t' && line[k] != ':'))
    return NULL;
  const char *v = line + k;
  while (*v == ' ' || *v == '\t' || *v == ':')
    v++;
  return v;
}

void jx_text_routing_engines(const char *const *lines, size_t n, void *vout)
{
  struct junos_routing_engines *out = vout;
  int s = -1;
  for (size_t i = 0; i < n; i++) {
    const char *v;
    if ((v = jx_after_key(lines[i], "Slot")) != NULL) {
      s = (v[0] == '0' || v[0] == '1') && (v[1] == ':' || v[1] == '\0') ? v[0] - '0' : -1;
      if (s >= 0 && out->re[s].mastership == JUNOS_RE_ABSENT) {
        out->re[s].mastership = JUNOS_RE_UNKNOWN;
        out->re[s].uptime_s = -1;
        out->count++;
        out->found = true;
      }
      continue;
    }
    if (s < 0)
      continue;
    struct junos_re_info *re = &out->re[s];
    if ((v = jx_after_key(lines[i], "Current state")) != NULL) {
      jx_copy(re->state, sizeof re->state, v, strlen(v));
      re->mastership = jx_mastership(re->state);
    } else if ((v = jx_after_key(lines[i], "Model")) != NULL)
      jx_copy(re->model, sizeof re->model, v, strlen(v));
    else if ((v = jx_after_key(lines[i], "Status")) != NULL)
      jx_copy(re->status, sizeof re->status, v, strlen(v));
    else if ((v = jx_after_key(lines[i], "Last reboot reason")) != NULL)
      jx_copy(re->reboot_reason, sizeof re->reboot_reason, v, strlen(v));
  }
}

/* "re0:" / "fpc0:" / "node1:" followed by a rule of dashes: a section of a multi-part reply. */
static bool section_header(const char *const *lines, size_t n, size_t i)
{
  size_t l = strlen(lines[i]);
  if (l < 2 || lines[i][l - 1] != ':' || i + 1 >= n || strncmp(lines[i + 1], "-----", 5) != 0)
    return false;
  for (size_t k = 0; k + 1 < l; k++)
    if (!isalnum((unsigned char)lines[i][k]) && lines[i][k] != '-')
      return false;
  return true;
}

/* The text form (a reply with no XML): "re0:" sections (or none: this RE), "Hostname: ",
 * "Model: ", "Junos: 19.2R1.8", else "JUNOS Base OS boot [9.1S3.5]"; other sections (fpc0:, an
 * SRX node1:) after the first are other members. "Could not connect to re0 : ..." lines name an
 * RE that did not answer. */
void jx_text_versions(const char *const *lines, size_t n, void *vout)
{
  struct junos_versions_xml *out = vout;
  int cur = 0, sections = 0;
  for (size_t i = 0; i < n; i++) {
    const char *l = lines[i], *v;
    const char *cc = strstr(l, "Could not connect to re");
    int named = cc && (cc[23] == '0' || cc[23] == '1') && !isalnum((unsigned char)cc[24])
                    ? cc[23] - '0'
                    : -1;
    if (named >= 0) {
      struct junos_re_answer *a = &out->re[named].answer;
      a->listed = true;
      a->answered = false;
      jx_copy(a->error, sizeof a->error, l, strlen(l));
      continue;
    }
    if (section_header(lines, n, i)) {
      if (strcmp(l, "re0:") == 0 || strcmp(l, "re1:") == 0) {
        out->multi = true;
        cur = l[2] - '0';
      } else {
        cur = sections == 0 && !out->multi ? 0 : -1;
        if (cur < 0)
          out->reply.foreign_items++;
      }
      sections++;
      i++; /* the dashes */
      continue;
    }
    if (cur < 0)
      continue;
    struct junos_re_version *re = &out->re[cur];
    if ((v = jx_after_key(l, "Hostname")) != NULL)
      jx_copy(re->host, sizeof re->host, v, strlen(v));
    else if ((v = jx_after_key(l, "Model")) != NULL)
      jx_copy(re->model, sizeof re->model, v, strlen(v));
    else if ((v = jx_after_key(l, "Junos")) != NULL && strncmp(l, "Junos:", 6) == 0) {
      if (jx_copy(re->release, sizeof re->release, v, strcspn(v, " ")))
        re->release_from = "Junos: line";
    } else if (strncmp(l, "JUNOS Base OS boot [", 20) == 0 && re->release_from == NULL) {
      size_t rl = strcspn(l + 20, "]");
      if (rl > 0 && l[20 + rl] == ']' && jx_copy(re->release, sizeof re->release, l + 20, rl))
        re->release_from = "base os boot";
    } else
      continue;
    re->answer.listed = re->answer.answered = true;
  }
}

void jx_text_replication(const char *const *lines, size_t n, void *vout)
{
  struct junos_replication_xml *out = vout;
  bool table = false;
  for (size_t i = 0; i < n; i++) {
    const char *v;
    if ((v = jx_after_key(lines[i], "Stateful Replication")) != NULL) {
      out->found = true;
      out->enabled = strncmp(v, "Enabled", 7) == 0;
    } else if ((v = jx_after_key(lines[i], "RE mode")) != NULL)
      out->master_mode = strncmp(v, "Master", 6) == 0 || strncmp(v, "Primary", 7) == 0;
    else if (strncmp(lines[i], "Protocol", 8) == 0)
      table = true;
    else if (table) {
      char name[JUNOS_NAME_MAX], st[JUNOS_NAME_MAX];
      if (sscanf(lines[i], "%63s %63s", name, st) == 2)
        jx_replication_row(out, name, st);
    }
  }
}
