/*
 * classify.h - 別表第3 classification rules (第4.4 inheritance, 第4.5
 * review) and the one table of which role may read content at each
 * 機密性 level.  Pure domain code: no I/O.
 */
#ifndef CSIRT_CLASSIFY_H
#define CSIRT_CLASSIFY_H

#include <stdbool.h>

#include "csirt/v1/domain.pb-c.h"

/*
 * 第4.4: derived information (a note, an evidence item) inherits its
 * source's classification and may never be below it: each of 機密性,
 * 完全性 and 可用性 at least the case's, and every 取扱制限 of the case
 * kept.  0, or CSIRT_EINVAL naming `field` and the level that is too low.
 * Both are borrowed; `base` NULL (no case classification) accepts all.
 */
int classify_check_inherits(const char *field,
                            const Csirt__V1__Classification *item,
                            const Csirt__V1__Classification *base);

/*
 * 第4.4 for a client that names only what it raises: every level `item`
 * leaves unspecified is taken from `base`, and each of base's 取扱制限
 * that item lacks is added.  `base` NULL is a no-op.  Aborts when out of
 * memory.
 */
void classify_fill(Csirt__V1__Classification *item,
                   const Csirt__V1__Classification *base);

/* 要機密情報: 機密性高 or 中 (content encrypted at rest). */
bool classify_is_secret(const Csirt__V1__Classification *cl);

/*
 * Whether `role` (a Csirt__V1__Role) may read the content (note text,
 * evidence bytes) at `confidentiality` (a Csirt__V1__Confidentiality).
 * Division scoping of reporters and the assignment of investigators are
 * checked by the callers on top of this table.  Unknown levels: nobody.
 */
bool classify_may_read(int role, int confidentiality);

#endif
