/*
 * table.h - aligned text tables for humans.  Widths are display widths:
 * East Asian Wide and Fullwidth characters (漢字, かな, 全角) take two
 * columns, combining marks none, so Japanese and English columns line up.
 * Memory exhaustion aborts.
 */
#ifndef CSIRT_TABLE_H
#define CSIRT_TABLE_H

#include <stddef.h>
#include <stdio.h>

struct table;

/* Caller frees with table_free(). */
struct table *table_new(size_t ncols);
void table_free(struct table *t);
/* Sets the header of column `col` (copied). */
void table_header(struct table *t, size_t col, const char *text);
/* Appends a row of ncols cells (copied; NULL prints as empty). */
void table_add_row(struct table *t, const char *const *cells);
/* Cells wider than `max` columns are cut with "…" (0: no limit). */
void table_set_max_width(struct table *t, size_t col, size_t max);
/* Prints header, a rule, and rows, columns separated by two spaces, no
 * trailing spaces.  Without any header set, only the rows.  Control
 * characters and invalid UTF-8 in cells are printed as "?" (tab, CR, LF as
 * a space), never raw. */
void table_print(const struct table *t, FILE *fp);

/* The same table as CSV (RFC 4180): the header row first (when any header
 * is set), CRLF line ends, a cell with a comma, a double quote, CR or LF
 * quoted with its quotes doubled, every other cell (UTF-8 included) as
 * is; no width limit, no replacement of control characters. */
void table_print_csv(const struct table *t, FILE *fp);

/* Display width of a UTF-8 string (invalid bytes and control characters
 * count one each, as table_print() shows them). */
size_t text_width(const char *utf8);

#endif
