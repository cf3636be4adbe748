-- 0004_deadlines.sql - what the deadlines of DESIGN.md §4 need.
--
-- overdue is Case.overdue (set by a deadline.missed event, cleared when the
-- case leaves REPORTED), projected so that ListCases{overdue: true} and the
-- deadline scheduler filter without decoding `pb`.  Rows indexed before
-- this migration cannot have been overdue: no deadline.missed event existed.
--
-- The scheduler asks for unacknowledged reports not yet overdue (state =
-- REPORTED, overdue = 0) by report time; the list filter reads overdue
-- cases newest first.  Both are served by cases_overdue.

ALTER TABLE cases ADD COLUMN overdue INTEGER NOT NULL DEFAULT 0
    CHECK (overdue IN (0, 1));
CREATE INDEX cases_overdue ON cases (overdue, state, reported_at_ms);
