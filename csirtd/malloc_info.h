/*
 * malloc_info.h - which allocator the daemon runs on (the only includer of
 * jemalloc's header).  Linked into the csirtd executable only: the library
 * and the tests keep the system allocator.
 */
#ifndef CSIRT_MALLOC_INFO_H
#define CSIRT_MALLOC_INFO_H

#include <stdbool.h>
#include <stddef.h>

/* Names the allocator that malloc() reaches in this process into `buf`:
 * "jemalloc 5.3.0-0-g…" or "system".  `in_use` is false when jemalloc is
 * linked but a 1 MiB malloc() did not go through it (another malloc came
 * first in the link order); --version says so. */
void malloc_info_name(char *buf, size_t size, bool *in_use);

#endif
