/*
 * Text helpers: edit distance for suggestions, bounded file reading, human durations.
 */
#include "common/common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

size_t text_distance(const char *a, const char *b)
{
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64)
    return la > lb ? la : lb;
  size_t row[65];
  for (size_t j = 0; j <= lb; j++)
    row[j] = j;
  for (size_t i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t best = diag + cost;
      if (row[j] + 1 < best)
        best = row[j] + 1;
      if (row[j - 1] + 1 < best)
        best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

const char *text_nearest(const char *word, const char *const *candidates, size_t n)
{
  const char *best = NULL;
  size_t best_d = SIZE_MAX;
  for (size_t i = 0; i < n; i++) {
    size_t d = text_distance(word, candidates[i]);
    if (d < best_d) {
      best_d = d;
      best = candidates[i];
    }
  }
  /* A third of the word (at least 2 edits) is about where suggestions stop being helpful. */
  size_t limit = strlen(word) / 3;
  if (limit < 2)
    limit = 2;
  if (best_d <= limit)
    return best;
  /* A word that starts with a keyword is likely its spelled-out form: "sunday" for "sun". */
  for (size_t i = 0; i < n; i++)
    if (strlen(candidates[i]) >= 3 && strncmp(word, candidates[i], strlen(candidates[i])) == 0)
      return candidates[i];
  return NULL;
}

int text_read_file(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen)
{
  FILE *f = fopen(path, "rbe"); /* e: O_CLOEXEC, a local child may be spawned meanwhile */
  if (f == NULL) {
    snprintf(err, errlen, "cannot open: %s", strerror(errno));
    return -errno;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
    snprintf(err, errlen, "not a regular file");
    fclose(f);
    return -EINVAL;
  }
  if ((size_t)st.st_size > max) {
    snprintf(err, errlen, "file is %lld bytes, larger than the limit of %zu bytes",
             (long long)st.st_size, max);
    fclose(f);
    return -EFBIG;
  }
  char *buf = xmalloc((size_t)st.st_size + 1);
  size_t n = fread(buf, 1, (size_t)st.st_size, f);
  int failed = ferror(f);
  fclose(f);
  if (failed) {
    snprintf(err, errlen, "read error");
    free(buf);
    return -EIO;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return 0;
}

void text_duration(uint64_t s, char *buf, size_t len)
{
  uint64_t h = s / 3600, m = (s % 3600) / 60, sec = s % 60;
  if (h > 0 && sec == 0)
    snprintf(buf, len, m ? "%lluh%02llum" : "%lluh", (unsigned long long)h, (unsigned long long)m);
  else if (h > 0)
    snprintf(buf, len, "%lluh%02llum%02llus", (unsigned long long)h, (unsigned long long)m,
             (unsigned long long)sec);
  else if (m > 0 && sec == 0)
    snprintf(buf, len, "%llum", (unsigned long long)m);
  else if (m > 0)
    snprintf(buf, len, "%llum%02llus", (unsigned long long)m, (unsigned long long)sec);
  else
    snprintf(buf, len, "%llus", (unsigned long long)sec);
}

void text_appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n <= 0)
    return;
  *buf = xgrow(*buf, cap, *len + (size_t)n + 1, 1);
  va_start(ap, fmt);
  vsnprintf(*buf + *len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  *len += (size_t)n;
}

int dir_create(const char *path, unsigned mode)
{
  char buf[1024];
  if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
    return -ENAMETOOLONG;
  for (char *p = buf + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
      return -errno;
    *p = '/';
  }
  if (mkdir(buf, (mode_t)mode) < 0 && errno != EEXIST)
    return -errno;
  return 0;
}

size_t text_utf8_cut(const char *s, size_t max)
{
  if (s == NULL)
    return 0;
  size_t n = strnlen(s, max);
  if (n < max || s[n] == '\0')
    return n; /* all of it */
  /* s[n] is the first byte left out: a continuation byte (10xxxxxx) means the character it
   * belongs to started before the cut; it goes out whole (at most 3 bytes back: UTF-8's
   * longest character is 4 bytes, and past that the text was not UTF-8 anyway). */
  size_t k = n;
  for (int back = 0; back < 3 && k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80; back++)
    k--;
  return ((unsigned char)s[k] & 0xC0) == 0x80 ? n : k;
}

void text_utf8_copy(char *buf, size_t len, const char *s)
{
  if (len == 0)
    return;
  size_t n = text_utf8_cut(s, len - 1);
  if (n)
    memcpy(buf, s, n);
  buf[n] = '\0';
}

void text_utf8_trim(char *s)
{
  size_t n = strlen(s), i = n;
  /* The last character's first byte, at most 3 bytes back. */
  while (i > 0 && n - i < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
    i--;
  if (i == 0)
    return;
  unsigned char lead = (unsigned char)s[i - 1];
  size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
  if (n - (i - 1) < want)
    s[i - 1] = '\0';
}
