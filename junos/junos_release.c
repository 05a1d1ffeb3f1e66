/*
 * Junos release strings, as Juniper prints them:
 *
 *   MAJOR.MINOR TYPE NUMBER [.BUILD] [-S SERVICE [.BUILD]] [-C N.N]
 *   21.4R3-S3.4     21.4, type R (release), 3rd maintenance release, service release S3, build 4
 *   19.2R1.8        19.2R1, build 8
 *   15.1F5.15-C1.12 15.1F5 build 15 with a "-C" suffix; the other RE of the same MX480 printed
 *                   15.1F5.15 (capture ...pyez-sw-info-dual__15.1F5.xml)
 *   12.3X48-D10.5   an X release with its D (dot) number
 *   9.1S3.5         an old S (service) type
 *   14.2-20141220.0 a daily build: no type; 18.3I20180716_1639 an internal build
 *
 * The rule (docs/policy.md, target.version):
 *   - Two printed strings are the same release when they are equal once a trailing "-C..."
 *     suffix is removed from each. Nothing else is ignored: "-S3" is a different service
 *     release, a different build number is a different build.
 *   - A printed string matches a policy target when it is the same release, or when the target
 *     leaves out only the final ".BUILD" of a release that ends in TYPE NUMBER: "19.2R1" matches
 *     "19.2R1.8" and "21.4R3-S3" matches "21.4R3-S3.4"; "21.4R3" never matches "21.4R3-S3.4"
 *     (a service release is other software), "19.2R1" never matches "19.2R10.1", and a daily or
 *     internal build must be given whole.
 * Comparison is exact (case-sensitive), over the whole string: nothing is truncated.
 */
#include "junos/junos_facts.h"

#include <ctype.h>
#include <string.h>

/* The length of `s` without a trailing "-C<digit>..." suffix. */
static size_t core_len(const char *s)
{
  size_t l = strlen(s);
  for (size_t i = 1; i + 2 < l; i++)
    if (s[i] == '-' && s[i + 1] == 'C' && isdigit((unsigned char)s[i + 2]) &&
        isdigit((unsigned char)s[i - 1]))
      return i;
  return l;
}

bool junos_same_release(const char *a, const char *b)
{
  if (a == NULL || b == NULL || a[0] == '\0' || b[0] == '\0')
    return false;
  size_t la = core_len(a), lb = core_len(b);
  return la == lb && strncmp(a, b, la) == 0;
}

/* "MAJOR.MINOR..." ending in a letter and a number ("19.2R1", "21.4R3-S3", "12.3X48-D10"). */
static bool ends_in_type_number(const char *t, size_t l)
{
  size_t i = 0;
  while (i < l && isdigit((unsigned char)t[i]))
    i++;
  if (i == 0 || i >= l || t[i] != '.' || i + 1 >= l || !isdigit((unsigned char)t[i + 1]))
    return false;
  size_t e = l;
  while (e > 0 && isdigit((unsigned char)t[e - 1]))
    e--;
  return e < l && e > 0 && isalpha((unsigned char)t[e - 1]);
}

bool junos_release_matches(const char *printed, const char *target)
{
  if (junos_same_release(printed, target))
    return true;
  if (printed == NULL || target == NULL || target[0] == '\0')
    return false;
  size_t lp = core_len(printed), lt = core_len(target);
  if (lt >= lp || strncmp(printed, target, lt) != 0 || !ends_in_type_number(target, lt))
    return false;
  /* What the target leaves out must be exactly ".BUILD". */
  const char *rest = printed + lt;
  size_t digits = strspn(rest + 1, "0123456789");
  return rest[0] == '.' && digits > 0 && 1 + digits == lp - lt;
}
