/*
 * table.c - aligned text tables for humans, and the display width of UTF-8
 * text.  Owns the width rules (East Asian Wide/Fullwidth take two columns,
 * combining marks none) and what reaches the terminal: cells come from the
 * server, i.e. from whoever filed the report, so they are never written
 * raw.  Control characters, bidi overrides and invalid UTF-8 bytes are
 * shown as "?" (tab, CR and LF as a space), one column each, which is also
 * how text_width() counts them; that keeps the columns aligned and keeps
 * escape sequences out of the terminal.
 *
 * Never splits a UTF-8 sequence or a wide character when cutting a cell to
 * its column's limit, and never writes trailing spaces.  Memory exhaustion
 * aborts: the CLI has nothing better to do and the API has no error path.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

#define TABLE_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define TABLE_INVALID UINT32_MAX
#define TABLE_ELLIPSIS "\xe2\x80\xa6" /* U+2026, one column */

struct range {
	uint32_t first;
	uint32_t last;
};

/*
 * East Asian Width W and F (Unicode 14.0 EastAsianWidth.txt): Hangul Jamo
 * leads, CJK radicals, symbols and punctuation, Hiragana, Katakana,
 * Bopomofo, CJK ideographs with their extensions and compatibility forms,
 * Yi, Hangul syllables, vertical and small forms, fullwidth forms (U+FF01
 * to U+FF60, U+FFE0 to U+FFE6; the halfwidth ｶﾀｶﾅ between them stay
 * narrow), Tangut, Kana supplements, the emoji presentation ranges and
 * planes 2 and 3.  Ranges are merged across unassigned code points, and
 * the combining marks inside them (U+302A..U+302D, U+3099..U+309A) are
 * left to zero_ranges.  Sorted; searched by bisection.
 */
/* clang-format off */
static const struct range wide_ranges[] = {
	{0x1100, 0x115F}, {0x231A, 0x231B}, {0x2329, 0x232A}, {0x23E9, 0x23EC},
	{0x23F0, 0x23F0}, {0x23F3, 0x23F3}, {0x25FD, 0x25FE}, {0x2614, 0x2615},
	{0x2648, 0x2653}, {0x267F, 0x267F}, {0x2693, 0x2693}, {0x26A1, 0x26A1},
	{0x26AA, 0x26AB}, {0x26BD, 0x26BE}, {0x26C4, 0x26C5}, {0x26CE, 0x26CE},
	{0x26D4, 0x26D4}, {0x26EA, 0x26EA}, {0x26F2, 0x26F3}, {0x26F5, 0x26F5},
	{0x26FA, 0x26FA}, {0x26FD, 0x26FD}, {0x2705, 0x2705}, {0x270A, 0x270B},
	{0x2728, 0x2728}, {0x274C, 0x274C}, {0x274E, 0x274E}, {0x2753, 0x2755},
	{0x2757, 0x2757}, {0x2795, 0x2797}, {0x27B0, 0x27B0}, {0x27BF, 0x27BF},
	{0x2B1B, 0x2B1C}, {0x2B50, 0x2B50}, {0x2B55, 0x2B55}, {0x2E80, 0x3029},
	{0x302E, 0x303E}, {0x3041, 0x3096}, {0x309B, 0x3247}, {0x3250, 0x4DBF},
	{0x4E00, 0xA4C6}, {0xA960, 0xA97C}, {0xAC00, 0xD7A3}, {0xF900, 0xFAFF},
	{0xFE10, 0xFE19}, {0xFE30, 0xFE6B}, {0xFF01, 0xFF60}, {0xFFE0, 0xFFE6},
	{0x16FE0, 0x16FE3}, {0x16FF0, 0x1B2FB}, {0x1F004, 0x1F004},
	{0x1F0CF, 0x1F0CF}, {0x1F18E, 0x1F18E}, {0x1F191, 0x1F19A},
	{0x1F200, 0x1F320}, {0x1F32D, 0x1F335}, {0x1F337, 0x1F37C},
	{0x1F37E, 0x1F393}, {0x1F3A0, 0x1F3CA}, {0x1F3CF, 0x1F3D3},
	{0x1F3E0, 0x1F3F0}, {0x1F3F4, 0x1F3F4}, {0x1F3F8, 0x1F43E},
	{0x1F440, 0x1F440}, {0x1F442, 0x1F4FC}, {0x1F4FF, 0x1F53D},
	{0x1F54B, 0x1F54E}, {0x1F550, 0x1F567}, {0x1F57A, 0x1F57A},
	{0x1F595, 0x1F596}, {0x1F5A4, 0x1F5A4}, {0x1F5FB, 0x1F64F},
	{0x1F680, 0x1F6C5}, {0x1F6CC, 0x1F6CC}, {0x1F6D0, 0x1F6D2},
	{0x1F6D5, 0x1F6DF}, {0x1F6EB, 0x1F6EC}, {0x1F6F4, 0x1F6FC},
	{0x1F7E0, 0x1F7F0}, {0x1F90C, 0x1F93A}, {0x1F93C, 0x1F945},
	{0x1F947, 0x1F9FF}, {0x1FA70, 0x1FAF6}, {0x20000, 0x3FFFD},
};
/* clang-format on */
/*
 * Zero columns: general categories Mn and Me (combining marks, including
 * the variation selectors), Hangul Jamo vowels and finals that join the
 * preceding lead, and the invisible format characters Cf (joiners,
 * direction marks, U+FEFF, emoji tags) except the soft hyphen and the
 * prepended concatenation marks, which are drawn.  Same source, same
 * merging.  Checked against glibc 2.36's wcwidth(): they differ only on
 * the bidi controls shown as "?" here and on U+3248..U+324F (Ambiguous)
 * and U+4DC0..U+4DFF (Neutral), which glibc draws wide.
 */
/* clang-format off */
static const struct range zero_ranges[] = {
	{0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x05BF, 0x05BF},
	{0x05C1, 0x05C2}, {0x05C4, 0x05C5}, {0x05C7, 0x05C7}, {0x0610, 0x061A},
	{0x061C, 0x061C}, {0x064B, 0x065F}, {0x0670, 0x0670}, {0x06D6, 0x06DC},
	{0x06DF, 0x06E4}, {0x06E7, 0x06E8}, {0x06EA, 0x06ED}, {0x0711, 0x0711},
	{0x0730, 0x074A}, {0x07A6, 0x07B0}, {0x07EB, 0x07F3}, {0x07FD, 0x07FD},
	{0x0816, 0x0819}, {0x081B, 0x0823}, {0x0825, 0x0827}, {0x0829, 0x082D},
	{0x0859, 0x085B}, {0x0898, 0x089F}, {0x08CA, 0x08E1}, {0x08E3, 0x0902},
	{0x093A, 0x093A}, {0x093C, 0x093C}, {0x0941, 0x0948}, {0x094D, 0x094D},
	{0x0951, 0x0957}, {0x0962, 0x0963}, {0x0981, 0x0981}, {0x09BC, 0x09BC},
	{0x09C1, 0x09C4}, {0x09CD, 0x09CD}, {0x09E2, 0x09E3}, {0x09FE, 0x0A02},
	{0x0A3C, 0x0A3C}, {0x0A41, 0x0A51}, {0x0A70, 0x0A71}, {0x0A75, 0x0A75},
	{0x0A81, 0x0A82}, {0x0ABC, 0x0ABC}, {0x0AC1, 0x0AC8}, {0x0ACD, 0x0ACD},
	{0x0AE2, 0x0AE3}, {0x0AFA, 0x0B01}, {0x0B3C, 0x0B3C}, {0x0B3F, 0x0B3F},
	{0x0B41, 0x0B44}, {0x0B4D, 0x0B56}, {0x0B62, 0x0B63}, {0x0B82, 0x0B82},
	{0x0BC0, 0x0BC0}, {0x0BCD, 0x0BCD}, {0x0C00, 0x0C00}, {0x0C04, 0x0C04},
	{0x0C3C, 0x0C3C}, {0x0C3E, 0x0C40}, {0x0C46, 0x0C56}, {0x0C62, 0x0C63},
	{0x0C81, 0x0C81}, {0x0CBC, 0x0CBC}, {0x0CBF, 0x0CBF}, {0x0CC6, 0x0CC6},
	{0x0CCC, 0x0CCD}, {0x0CE2, 0x0CE3}, {0x0D00, 0x0D01}, {0x0D3B, 0x0D3C},
	{0x0D41, 0x0D44}, {0x0D4D, 0x0D4D}, {0x0D62, 0x0D63}, {0x0D81, 0x0D81},
	{0x0DCA, 0x0DCA}, {0x0DD2, 0x0DD6}, {0x0E31, 0x0E31}, {0x0E34, 0x0E3A},
	{0x0E47, 0x0E4E}, {0x0EB1, 0x0EB1}, {0x0EB4, 0x0EBC}, {0x0EC8, 0x0ECD},
	{0x0F18, 0x0F19}, {0x0F35, 0x0F35}, {0x0F37, 0x0F37}, {0x0F39, 0x0F39},
	{0x0F71, 0x0F7E}, {0x0F80, 0x0F84}, {0x0F86, 0x0F87}, {0x0F8D, 0x0FBC},
	{0x0FC6, 0x0FC6}, {0x102D, 0x1030}, {0x1032, 0x1037}, {0x1039, 0x103A},
	{0x103D, 0x103E}, {0x1058, 0x1059}, {0x105E, 0x1060}, {0x1071, 0x1074},
	{0x1082, 0x1082}, {0x1085, 0x1086}, {0x108D, 0x108D}, {0x109D, 0x109D},
	{0x1160, 0x11FF}, {0x135D, 0x135F}, {0x1712, 0x1714}, {0x1732, 0x1733},
	{0x1752, 0x1753}, {0x1772, 0x1773}, {0x17B4, 0x17B5}, {0x17B7, 0x17BD},
	{0x17C6, 0x17C6}, {0x17C9, 0x17D3}, {0x17DD, 0x17DD}, {0x180B, 0x180F},
	{0x1885, 0x1886}, {0x18A9, 0x18A9}, {0x1920, 0x1922}, {0x1927, 0x1928},
	{0x1932, 0x1932}, {0x1939, 0x193B}, {0x1A17, 0x1A18}, {0x1A1B, 0x1A1B},
	{0x1A56, 0x1A56}, {0x1A58, 0x1A60}, {0x1A62, 0x1A62}, {0x1A65, 0x1A6C},
	{0x1A73, 0x1A7F}, {0x1AB0, 0x1B03}, {0x1B34, 0x1B34}, {0x1B36, 0x1B3A},
	{0x1B3C, 0x1B3C}, {0x1B42, 0x1B42}, {0x1B6B, 0x1B73}, {0x1B80, 0x1B81},
	{0x1BA2, 0x1BA5}, {0x1BA8, 0x1BA9}, {0x1BAB, 0x1BAD}, {0x1BE6, 0x1BE6},
	{0x1BE8, 0x1BE9}, {0x1BED, 0x1BED}, {0x1BEF, 0x1BF1}, {0x1C2C, 0x1C33},
	{0x1C36, 0x1C37}, {0x1CD0, 0x1CD2}, {0x1CD4, 0x1CE0}, {0x1CE2, 0x1CE8},
	{0x1CED, 0x1CED}, {0x1CF4, 0x1CF4}, {0x1CF8, 0x1CF9}, {0x1DC0, 0x1DFF},
	{0x200B, 0x200F}, {0x202A, 0x202E}, {0x2060, 0x206F}, {0x20D0, 0x20F0},
	{0x2CEF, 0x2CF1}, {0x2D7F, 0x2D7F}, {0x2DE0, 0x2DFF}, {0x302A, 0x302D},
	{0x3099, 0x309A}, {0xA66F, 0xA672}, {0xA674, 0xA67D}, {0xA69E, 0xA69F},
	{0xA6F0, 0xA6F1}, {0xA802, 0xA802}, {0xA806, 0xA806}, {0xA80B, 0xA80B},
	{0xA825, 0xA826}, {0xA82C, 0xA82C}, {0xA8C4, 0xA8C5}, {0xA8E0, 0xA8F1},
	{0xA8FF, 0xA8FF}, {0xA926, 0xA92D}, {0xA947, 0xA951}, {0xA980, 0xA982},
	{0xA9B3, 0xA9B3}, {0xA9B6, 0xA9B9}, {0xA9BC, 0xA9BD}, {0xA9E5, 0xA9E5},
	{0xAA29, 0xAA2E}, {0xAA31, 0xAA32}, {0xAA35, 0xAA36}, {0xAA43, 0xAA43},
	{0xAA4C, 0xAA4C}, {0xAA7C, 0xAA7C}, {0xAAB0, 0xAAB0}, {0xAAB2, 0xAAB4},
	{0xAAB7, 0xAAB8}, {0xAABE, 0xAABF}, {0xAAC1, 0xAAC1}, {0xAAEC, 0xAAED},
	{0xAAF6, 0xAAF6}, {0xABE5, 0xABE5}, {0xABE8, 0xABE8}, {0xABED, 0xABED},
	{0xD7B0, 0xD7FF}, {0xFB1E, 0xFB1E}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F},
	{0xFEFF, 0xFEFF}, {0xFFF9, 0xFFFB}, {0x101FD, 0x101FD},
	{0x102E0, 0x102E0}, {0x10376, 0x1037A}, {0x10A01, 0x10A0F},
	{0x10A38, 0x10A3F}, {0x10AE5, 0x10AE6}, {0x10D24, 0x10D27},
	{0x10EAB, 0x10EAC}, {0x10F46, 0x10F50}, {0x10F82, 0x10F85},
	{0x11001, 0x11001}, {0x11038, 0x11046}, {0x11070, 0x11070},
	{0x11073, 0x11074}, {0x1107F, 0x11081}, {0x110B3, 0x110B6},
	{0x110B9, 0x110BA}, {0x110C2, 0x110C2}, {0x11100, 0x11102},
	{0x11127, 0x1112B}, {0x1112D, 0x11134}, {0x11173, 0x11173},
	{0x11180, 0x11181}, {0x111B6, 0x111BE}, {0x111C9, 0x111CC},
	{0x111CF, 0x111CF}, {0x1122F, 0x11231}, {0x11234, 0x11234},
	{0x11236, 0x11237}, {0x1123E, 0x1123E}, {0x112DF, 0x112DF},
	{0x112E3, 0x112EA}, {0x11300, 0x11301}, {0x1133B, 0x1133C},
	{0x11340, 0x11340}, {0x11366, 0x11374}, {0x11438, 0x1143F},
	{0x11442, 0x11444}, {0x11446, 0x11446}, {0x1145E, 0x1145E},
	{0x114B3, 0x114B8}, {0x114BA, 0x114BA}, {0x114BF, 0x114C0},
	{0x114C2, 0x114C3}, {0x115B2, 0x115B5}, {0x115BC, 0x115BD},
	{0x115BF, 0x115C0}, {0x115DC, 0x115DD}, {0x11633, 0x1163A},
	{0x1163D, 0x1163D}, {0x1163F, 0x11640}, {0x116AB, 0x116AB},
	{0x116AD, 0x116AD}, {0x116B0, 0x116B5}, {0x116B7, 0x116B7},
	{0x1171D, 0x1171F}, {0x11722, 0x11725}, {0x11727, 0x1172B},
	{0x1182F, 0x11837}, {0x11839, 0x1183A}, {0x1193B, 0x1193C},
	{0x1193E, 0x1193E}, {0x11943, 0x11943}, {0x119D4, 0x119DB},
	{0x119E0, 0x119E0}, {0x11A01, 0x11A0A}, {0x11A33, 0x11A38},
	{0x11A3B, 0x11A3E}, {0x11A47, 0x11A47}, {0x11A51, 0x11A56},
	{0x11A59, 0x11A5B}, {0x11A8A, 0x11A96}, {0x11A98, 0x11A99},
	{0x11C30, 0x11C3D}, {0x11C3F, 0x11C3F}, {0x11C92, 0x11CA7},
	{0x11CAA, 0x11CB0}, {0x11CB2, 0x11CB3}, {0x11CB5, 0x11CB6},
	{0x11D31, 0x11D45}, {0x11D47, 0x11D47}, {0x11D90, 0x11D91},
	{0x11D95, 0x11D95}, {0x11D97, 0x11D97}, {0x11EF3, 0x11EF4},
	{0x13430, 0x13438}, {0x16AF0, 0x16AF4}, {0x16B30, 0x16B36},
	{0x16F4F, 0x16F4F}, {0x16F8F, 0x16F92}, {0x16FE4, 0x16FE4},
	{0x1BC9D, 0x1BC9E}, {0x1BCA0, 0x1CF46}, {0x1D167, 0x1D169},
	{0x1D173, 0x1D182}, {0x1D185, 0x1D18B}, {0x1D1AA, 0x1D1AD},
	{0x1D242, 0x1D244}, {0x1DA00, 0x1DA36}, {0x1DA3B, 0x1DA6C},
	{0x1DA75, 0x1DA75}, {0x1DA84, 0x1DA84}, {0x1DA9B, 0x1DAAF},
	{0x1E000, 0x1E02A}, {0x1E130, 0x1E136}, {0x1E2AE, 0x1E2AE},
	{0x1E2EC, 0x1E2EF}, {0x1E8D0, 0x1E8D6}, {0x1E944, 0x1E94A},
	{0xE0001, 0xE01EF},
};
/* clang-format on */

struct table {
	size_t ncols;
	char **headers; /* ncols; NULL: unset */
	size_t *max;    /* ncols; 0: no limit */
	char **cells;   /* nrows * ncols, row-major; NULL prints empty */
	size_t nrows;
	size_t cap; /* rows allocated */
};

/* A line being built; written out once trailing spaces are gone. */
struct table_line {
	char *p;
	size_t len;
	size_t cap;
};

static void
table_oom(void)
{
	fputs("csirt: out of memory\n", stderr);
	abort();
}

static void *
table_calloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size);

	if (p == NULL)
		table_oom();
	return p;
}

static char *
table_strdup(const char *s)
{
	char *p;

	if (s == NULL)
		return NULL;
	p = strdup(s);
	if (p == NULL)
		table_oom();
	return p;
}

static int
table_in(const struct range *r, size_t n, uint32_t cp)
{
	size_t lo = 0, hi = n;

	if (cp < r[0].first || cp > r[n - 1].last)
		return 0;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cp > r[mid].last)
			lo = mid + 1;
		else if (cp < r[mid].first)
			hi = mid;
		else
			return 1;
	}
	return 0;
}

/*
 * Decodes one code point at s (which is not at its terminating NUL).
 * Returns the bytes it takes; an invalid or truncated sequence, an
 * overlong form, a surrogate or anything above U+10FFFF takes one byte and
 * yields TABLE_INVALID, so the next byte is looked at afresh.
 */
static size_t
table_decode(const unsigned char *s, uint32_t *out)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t n;
	uint32_t cp;

	if (c < 0x80) {
		*out = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		n = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		n = 3;
		cp = c & 0x0f;
		if (c == 0xe0)
			lo = 0xa0; /* overlong */
		else if (c == 0xed)
			hi = 0x9f; /* surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		n = 4;
		cp = c & 0x07;
		if (c == 0xf0)
			lo = 0x90; /* overlong */
		else if (c == 0xf4)
			hi = 0x8f; /* above U+10FFFF */
	} else {
		*out = TABLE_INVALID;
		return 1;
	}
	for (size_t i = 1; i < n; i++) {
		/* A NUL stops here too: it is no continuation byte. */
		if (s[i] < lo || s[i] > hi) {
			*out = TABLE_INVALID;
			return 1;
		}
		cp = cp << 6 | (s[i] & 0x3f);
		lo = 0x80;
		hi = 0xbf;
	}
	*out = cp;
	return n;
}

/*
 * What a code point is shown as when it must not reach the terminal as
 * is; NULL when it may.  C0 and C1 controls, DEL, the bidi embeddings,
 * overrides and isolates (which reorder the rest of the line) and the
 * line and paragraph separators.
 */
static const char *
table_replacement(uint32_t cp)
{
	if (cp == '\t' || cp == '\n' || cp == '\r')
		return " ";
	if (cp == TABLE_INVALID || cp < 0x20 || (cp >= 0x7f && cp < 0xa0))
		return "?";
	if ((cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
		return "?";
	return NULL;
}

static size_t
table_cp_width(uint32_t cp)
{
	if (cp >= 0x20 && cp < 0x7f)
		return 1;
	if (table_replacement(cp) != NULL)
		return 1;
	if (table_in(zero_ranges, TABLE_LEN(zero_ranges), cp))
		return 0;
	if (table_in(wide_ranges, TABLE_LEN(wide_ranges), cp))
		return 2;
	return 1;
}

size_t
text_width(const char *utf8)
{
	const unsigned char *s = (const unsigned char *)utf8;
	size_t w = 0;
	uint32_t cp;

	assert(utf8 != NULL);
	while (*s != '\0') {
		s += table_decode(s, &cp);
		w += table_cp_width(cp);
	}
	return w;
}

static void
table_line_put(struct table_line *l, const char *s, size_t n)
{
	if (n > l->cap - l->len) {
		size_t cap = l->cap == 0 ? 128 : l->cap;
		char *p;

		while (n > cap - l->len) {
			if (cap > SIZE_MAX / 2)
				table_oom();
			cap *= 2;
		}
		p = realloc(l->p, cap);
		if (p == NULL)
			table_oom();
		l->p = p;
		l->cap = cap;
	}
	memcpy(l->p + l->len, s, n);
	l->len += n;
}

static void
table_line_pad(struct table_line *l, char c, size_t n)
{
	while (n-- > 0)
		table_line_put(l, &c, 1);
}

/*
 * Appends the cell, cut to `max` columns (0: no limit), to l, or only
 * measures it when l is NULL; returns the columns it takes.  A cut cell
 * keeps the longest prefix of whole code points that leaves one column for
 * "…"; combining marks stay with the character before them and go with it.
 * So a wide character that would straddle the limit is dropped and the
 * cell ends one column short.
 */
static size_t
table_cell(struct table_line *l, const char *text, size_t max)
{
	const unsigned char *s = (const unsigned char *)(text ? text : "");
	size_t budget, w = 0;
	int cut;
	uint32_t cp;

	cut = max != 0 && text_width((const char *)s) > max;
	budget = cut ? max - 1 : SIZE_MAX;
	while (*s != '\0') {
		size_t n = table_decode(s, &cp), cw = table_cp_width(cp);
		const char *rep;

		if (cw > budget - w)
			break;
		if (l != NULL) {
			rep = table_replacement(cp);
			if (rep != NULL)
				table_line_put(l, rep, 1);
			else
				table_line_put(l, (const char *)s, n);
		}
		w += cw;
		s += n;
	}
	if (cut) {
		if (l != NULL)
			table_line_put(l, TABLE_ELLIPSIS,
			               sizeof(TABLE_ELLIPSIS) - 1);
		w++;
	}
	return w;
}

struct table *
table_new(size_t ncols)
{
	struct table *t;

	assert(ncols > 0);
	t = table_calloc(1, sizeof(*t));
	t->ncols = ncols;
	t->headers = table_calloc(ncols, sizeof(*t->headers));
	t->max = table_calloc(ncols, sizeof(*t->max));
	return t;
}

void
table_free(struct table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->ncols; i++)
		free(t->headers[i]);
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->headers);
	free(t->max);
	free(t->cells);
	free(t);
}

void
table_header(struct table *t, size_t col, const char *text)
{
	assert(col < t->ncols);
	free(t->headers[col]);
	t->headers[col] = table_strdup(text);
}

void
table_add_row(struct table *t, const char *const *cells)
{
	char **row;

	assert(cells != NULL);
	if (t->nrows == t->cap) {
		size_t cap = t->cap == 0 ? 16 : t->cap * 2;
		char **p;

		if (cap > SIZE_MAX / sizeof(*p) / t->ncols)
			table_oom();
		p = realloc(t->cells, cap * t->ncols * sizeof(*p));
		if (p == NULL)
			table_oom();
		t->cells = p;
		t->cap = cap;
	}
	row = t->cells + t->nrows * t->ncols;
	for (size_t i = 0; i < t->ncols; i++)
		row[i] = table_strdup(cells[i]);
	t->nrows++;
}

void
table_set_max_width(struct table *t, size_t col, size_t max)
{
	assert(col < t->ncols);
	t->max[col] = max;
}

/* Ends the line without trailing spaces (an empty last cell, a cell that
 * ends in blanks) and writes it out. */
static void
table_line_end(struct table_line *l, FILE *fp)
{
	while (l->len > 0 && l->p[l->len - 1] == ' ')
		l->len--;
	table_line_put(l, "\n", 1);
	fwrite(l->p, 1, l->len, fp);
}

/* Writes one line of cells, padded to widths, without trailing spaces. */
static void
table_print_line(const struct table *t, const size_t *widths,
                 char *const *cells, struct table_line *l, FILE *fp)
{
	l->len = 0;
	for (size_t i = 0; i < t->ncols; i++) {
		size_t w = table_cell(l, cells[i], t->max[i]);

		if (i + 1 < t->ncols)
			table_line_pad(l, ' ', widths[i] - w + 2);
	}
	table_line_end(l, fp);
}

void
table_print(const struct table *t, FILE *fp)
{
	struct table_line l = {NULL, 0, 0};
	size_t *widths;
	int headed = 0;

	widths = table_calloc(t->ncols, sizeof(*widths));
	for (size_t i = 0; i < t->ncols; i++) {
		if (t->headers[i] != NULL) {
			headed = 1;
			widths[i] = table_cell(NULL, t->headers[i], t->max[i]);
		}
		for (size_t r = 0; r < t->nrows; r++) {
			size_t w = table_cell(NULL, t->cells[r * t->ncols + i],
			                      t->max[i]);

			if (w > widths[i])
				widths[i] = w;
		}
	}
	if (headed) {
		table_print_line(t, widths, t->headers, &l, fp);
		l.len = 0;
		for (size_t i = 0; i < t->ncols; i++) {
			table_line_pad(&l, '-', widths[i]);
			if (i + 1 < t->ncols)
				table_line_pad(&l, ' ', 2);
		}
		table_line_end(&l, fp);
	}
	for (size_t r = 0; r < t->nrows; r++)
		table_print_line(t, widths, t->cells + r * t->ncols, &l, fp);
	free(l.p);
	free(widths);
}

/* One CSV field (RFC 4180 §2): quoted only when it holds a comma, a
 * double quote, CR or LF; quotes inside are doubled. */
static void
table_csv_field(const char *s, FILE *fp)
{
	if (s == NULL)
		return;
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, fp);
		return;
	}
	fputc('"', fp);
	for (; *s != '\0'; s++) {
		if (*s == '"')
			fputc('"', fp);
		fputc(*s, fp);
	}
	fputc('"', fp);
}

static void
table_csv_row(size_t ncols, char *const *cells, FILE *fp)
{
	for (size_t i = 0; i < ncols; i++) {
		if (i > 0)
			fputc(',', fp);
		table_csv_field(cells[i], fp);
	}
	fputs("\r\n", fp);
}

void
table_print_csv(const struct table *t, FILE *fp)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (t->headers[i] != NULL) {
			table_csv_row(t->ncols, t->headers, fp);
			break;
		}
	for (size_t r = 0; r < t->nrows; r++)
		table_csv_row(t->ncols, t->cells + r * t->ncols, fp);
}
