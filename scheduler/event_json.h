/*
 * One journal line: an event printed exactly as cJSON_PrintUnformatted prints it (the journal's
 * bytes do not change), at a fraction of its cost. Every line the run writes passes here.
 */
#ifndef ISSU_EVENT_JSON_H
#define ISSU_EVENT_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* The event as one line ending in '\n' (and a NUL after it), *len bytes with the newline; the
 * caller frees it. NULL for a tree cJSON would not print either (a raw item without text, an
 * unknown type): the caller then asks cJSON. */
char *event_json_line(const cJSON *ev, size_t *len);

#endif
