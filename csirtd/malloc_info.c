/*
 * malloc_info.c - see malloc_info.h.
 *
 * Why jemalloc: the daemon's threads hand memory to one another (the event
 * loop allocates a command, the writer frees it; the commit thread builds
 * trees the writer's batch outlives), and glibc's arenas paid for that in
 * locks and malloc_consolidate().  Linked with jemalloc, the allocator's
 * share of the writer's perf samples fell from 9.0 to 5.1 %, of the commit
 * thread's from 12.3 to 4.4 %, of the loop's from 7.8 to 4.7 %.  The rate
 * (csirt-bench note, 64 connections, tools/bench-ab.sh) gained 6-13 % in
 * busy hours and nothing in quiet ones (0.97-1.01; README, session 13).
 * glibc's tunables (a larger tcache, trim and mmap thresholds) changed
 * nothing, and tcmalloc cost 2.8 % of the rate.
 * Sanitizer and valgrind builds keep the system allocator, which they
 * replace (CMake's CSIRTD_MALLOC).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "malloc_info.h"

#ifdef CSIRT_MALLOC_JEMALLOC
#include <jemalloc/jemalloc.h>

void
malloc_info_name(char *buf, size_t size, bool *in_use)
{
	/* Called through a volatile pointer so that the compiler cannot
	 * pair and remove the malloc() and free() below. */
	void *(*volatile alloc)(size_t) = malloc;
	const char *version = NULL;
	uint64_t before = 0, after = 0;
	size_t len = sizeof(version), ulen = sizeof(before);
	void *p;

	if (mallctl("version", (void *)&version, &len, NULL, 0) != 0 ||
	    version == NULL)
		version = "(version unknown)";
	snprintf(buf, size, "jemalloc %s", version);
	*in_use = false;
	if (mallctl("thread.allocated", &before, &ulen, NULL, 0) != 0)
		return;
	p = alloc((size_t)1 << 20);
	ulen = sizeof(after);
	if (p != NULL &&
	    mallctl("thread.allocated", &after, &ulen, NULL, 0) == 0)
		*in_use = after - before >= ((uint64_t)1 << 20);
	free(p);
}

#else

void
malloc_info_name(char *buf, size_t size, bool *in_use)
{
	snprintf(buf, size, "system");
	*in_use = true;
}

#endif
