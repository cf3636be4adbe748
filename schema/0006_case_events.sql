-- 0006_case_events.sql - how many events each case has, for the ledger's
-- event buckets.
--
-- From this migration on, a case's event file is
-- cases/.../<id>/events/<n/100>/<seq>.json, where n is the event's number in
-- its case (1 for case.reported), carried in the commit's "Case-Seq:"
-- trailer.  The earlier buckets were the global seq's (events/<seq/1000>/):
-- with many cases open at once a case's events are far apart in seq, every
-- event started a bucket of its own, and the case's events/ tree, rewritten
-- by each of its events, grew by an entry an event (README, "Ledger layout").
--
--   event_count   the case's events so far; the writer names the next one
--                 event_count + 1.  Counted here from the events the index
--                 already holds, which are all of the case's events (the
--                 index holds every ledger event); the index's writes and
--                 `csirtd rebuild` keep it so.
ALTER TABLE cases ADD COLUMN event_count INTEGER NOT NULL DEFAULT 0
    CHECK (event_count >= 0);

UPDATE cases SET event_count =
    (SELECT count(*) FROM events WHERE events.case_id = cases.id);
