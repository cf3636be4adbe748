-- 0002_case_list.sql - what index_cases_list() needs (ListCases).
--
-- 1. The text filter matches a substring of the title or the description.
--    The description was only inside `pb`; it becomes a projection column
--    like the title.  Rows indexed before this migration are filled from
--    their `pb` by csirt_case_description(), an SQL function that index.c
--    registers on its connections for this purpose (a row whose `pb` does
--    not decode fails the migration: the index is then tampered with and
--    must be rebuilt).
--
-- 2. The list is ordered newest first by (year, counter), i.e. by case id,
--    and pages by a cursor on the same key.  The per-filter indexes of
--    0001 ended in reported_at_ms, so a filtered page had to be sorted in a
--    temporary b-tree; ending them in (year, counter) lets an equality
--    filter (one division, one state, one category) read a page straight
--    from the index, starting at the cursor, with no sort.  Checked with
--    EXPLAIN QUERY PLAN: "SEARCH c USING INDEX cases_division (division=?
--    AND (year,counter)<(?,?))" and no "USE TEMP B-TREE FOR ORDER BY".
--    The unfiltered list walks UNIQUE (year, counter) backwards;
--    cases_reported_at stays for the date range.

ALTER TABLE cases ADD COLUMN description TEXT NOT NULL DEFAULT '';
UPDATE cases SET description = csirt_case_description(pb);

DROP INDEX cases_state;
DROP INDEX cases_division;
DROP INDEX cases_category;
CREATE INDEX cases_state ON cases (state, year, counter);
CREATE INDEX cases_division ON cases (division, year, counter);
CREATE INDEX cases_category ON cases (category, year, counter);
