/*
 * common: the small pieces every module of issu-fleet shares.
 *
 * Allocation wrappers that end the process on out-of-memory (as tmux's xmalloc does: a CLI that
 * cannot allocate a few bytes has nothing sensible left to do, and it removes a whole class of
 * untested error paths), a diagnostics list whose every entry names FILE:LINE:COL, a few text
 * helpers, and a string-to-index hash map for inventories of tens of thousands of hosts.
 */
#ifndef ISSU_COMMON_H
#define ISSU_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define ISSU_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define ISSU_PRINTF(f, a)
#endif

/* Process exit codes (DESIGN.md §3). */
enum issu_exit {
  ISSU_EXIT_OK = 0,
  ISSU_EXIT_FAILED = 1,
  ISSU_EXIT_USAGE = 2,
  ISSU_EXIT_HALTED = 3,
  ISSU_EXIT_STOPPED = 4,
  ISSU_EXIT_HELD = 5, /* routers held (outcome unknown): check them, then ctl release */
  ISSU_EXIT_INTERNAL = 70,
};

void *xmalloc(size_t size);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *ptr, size_t size);
/* Grows an array to hold at least `need` elements of `elem` bytes, doubling. */
void *xgrow(void *ptr, size_t *cap, size_t need, size_t elem);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) ISSU_PRINTF(1, 2);

/*
 * Diagnostics: what went wrong, and where. Loaders keep going after a semantic error where they
 * safely can, so an engineer fixes a file in one pass instead of one error per run; `max` stops
 * a hopeless file from printing thousands of lines.
 */
struct diag {
  char **lines;
  size_t count;
  size_t cap;
  size_t max;
};

#define DIAG_DEFAULT_MAX 20

/* Appends "FILE:LINE:COL: message" (or "FILE: message" when line is 0). */
void diag_add(struct diag *d, const char *file, unsigned line, unsigned col, const char *fmt, ...)
    ISSU_PRINTF(5, 6);
bool diag_full(const struct diag *d);
void diag_print(const struct diag *d, FILE *out);
void diag_free(struct diag *d);
/* True when some entry contains `needle`: for tests. */
bool diag_contains(const struct diag *d, const char *needle);

/* Levenshtein distance, for "did you mean" suggestions. */
size_t text_distance(const char *a, const char *b);
/* The candidate nearest to `word` when it is close enough to be a likely typo, else NULL. */
const char *text_nearest(const char *word, const char *const *candidates, size_t n);
/* Reads a whole regular file, refusing anything larger than `max` bytes. */
/* Creates a directory and its missing parents (mode for the new ones); 0 or -errno. */
int dir_create(const char *path, unsigned mode);
int text_read_file(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen);
/* How many bytes of `s` to keep to cut it at no more than `max` bytes without splitting a UTF-8
 * character (router text reaches events, which must stay valid UTF-8): use as
 * `"%.*s", (int)text_utf8_cut(s, N), s`. NULL: 0. */
size_t text_utf8_cut(const char *s, size_t max);
/* Copies `s` into buf (size len), cut at a UTF-8 boundary as text_utf8_cut does. */
void text_utf8_copy(char *buf, size_t len, const char *s);
/* Drops a character cut in half at the end of `s` (snprintf into a full buffer cuts bytes). */
void text_utf8_trim(char *s);
/* Formats seconds as "1h05m", "40m", "90s", "0s". */
void text_duration(uint64_t seconds, char *buf, size_t len);
/* Appends printf output to a growable string. */
void text_appendf(char **buf, size_t *len, size_t *cap, const char *fmt, ...) ISSU_PRINTF(4, 5);

/* Open-addressing map from NUL-terminated string to index. Keys are borrowed, not copied. */
struct strmap {
  const char **keys;
  size_t *values;
  size_t cap;
  size_t count;
};

void strmap_init(struct strmap *m);
void strmap_free(struct strmap *m);
/* Returns true and sets *value when found. */
bool strmap_get(const struct strmap *m, const char *key, size_t *value);
void strmap_put(struct strmap *m, const char *key, size_t value);

#endif
