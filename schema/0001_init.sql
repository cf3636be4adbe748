-- 0001_init.sql - the first schema of index.sqlite, the query index.
--
-- The index is a pure function of the ledger (DESIGN.md §2): every row here
-- is derived from ledger events by index_apply() and can be rebuilt from
-- refs/heads/ledger at any time.  Nothing secret lives here (tokens and keys
-- are in keystore.sqlite).  The authoritative copy of each record is the
-- packed protobuf in `pb`; the other columns are projections of it for the
-- list filters and for foreign-key consistency checks.
--
-- Conventions:
--   * every table is STRICT; every table has a declared primary key, which
--     is also the row order of index_dump();
--   * times are Unix milliseconds (UTC) parsed from the RFC 3339 strings;
--     NULL when the source string is empty;
--   * enums are stored as their proto numbers;
--   * booleans are 0/1 with a CHECK;
--   * "" in the domain model becomes NULL where a column is a reference.
--
-- Migrations are embedded into the binary at build time (csirtd/CMakeLists.txt)
-- and each runs inside its own transaction followed by PRAGMA user_version.
-- Never edit a released migration; add NNNN_name.sql instead.  No BEGIN or
-- COMMIT in migration files.

-- The last ledger event reflected here.  Exactly one row once anything has
-- been applied; none on an empty index.
CREATE TABLE ledger_position (
    id        INTEGER PRIMARY KEY CHECK (id = 1),
    seq       INTEGER NOT NULL CHECK (seq >= 0),
    commit_id TEXT    NOT NULL
              CHECK (length(commit_id) = 40 AND commit_id NOT GLOB '*[^0-9a-f]*')
) STRICT;

-- 所属 registry (directory/divisions/<code>.json).
CREATE TABLE divisions (
    code          TEXT    PRIMARY KEY CHECK (code <> ''),
    name          TEXT    NOT NULL,
    created_at_ms INTEGER,
    pb            BLOB    NOT NULL                 -- packed csirt.v1.Division
) STRICT, WITHOUT ROWID;

-- Users (directory/users/<login>.json).  No credentials here.
CREATE TABLE users (
    login         TEXT    PRIMARY KEY CHECK (login <> ''),
    display_name  TEXT    NOT NULL,
    role          INTEGER NOT NULL,                -- csirt.v1.Role
    division      TEXT    REFERENCES divisions (code),  -- NULL: not in a division
    disabled      INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    created_at_ms INTEGER,
    pb            BLOB    NOT NULL                 -- packed csirt.v1.User
) STRICT, WITHOUT ROWID;

CREATE INDEX users_division ON users (division);

-- One row per case: the fold of its events after the last one applied.
-- id is "<year>-<counter, 6+ digits>"; year and counter are parsed from it.
CREATE TABLE cases (
    id               TEXT    PRIMARY KEY,
    year             INTEGER NOT NULL CHECK (year BETWEEN 1000 AND 9999),
    counter          INTEGER NOT NULL CHECK (counter >= 0),
    category         INTEGER NOT NULL,             -- csirt.v1.Category
    state            INTEGER NOT NULL,             -- csirt.v1.CaseState
    title            TEXT    NOT NULL,
    division         TEXT    NOT NULL REFERENCES divisions (code),
    reporter         TEXT    NOT NULL,
    recognized_at_ms INTEGER,
    reported_at_ms   INTEGER,
    updated_at_ms    INTEGER,
    confidentiality  INTEGER NOT NULL,             -- csirt.v1.Confidentiality
    integrity        INTEGER NOT NULL,             -- csirt.v1.Integrity
    availability     INTEGER NOT NULL,             -- csirt.v1.Availability
    emergency        INTEGER NOT NULL CHECK (emergency IN (0, 1)),
    last_seq         INTEGER NOT NULL,             -- seq of the last event folded in
    pb               BLOB    NOT NULL,             -- packed csirt.v1.Case
    UNIQUE (year, counter)
) STRICT;

-- List filters (ListCases): by state, division, category, newest first.
-- UNIQUE (year, counter) above also serves index_case_max_counter().
CREATE INDEX cases_state ON cases (state, reported_at_ms);
CREATE INDEX cases_division ON cases (division, reported_at_ms);
CREATE INDEX cases_category ON cases (category, reported_at_ms);
CREATE INDEX cases_reported_at ON cases (reported_at_ms);

-- Case.assignees, rewritten from the fold on every case event.
CREATE TABLE case_assignees (
    case_id TEXT NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
    login   TEXT NOT NULL CHECK (login <> ''),
    PRIMARY KEY (case_id, login)
) STRICT, WITHOUT ROWID;

-- "Cases assigned to me".
CREATE INDEX case_assignees_login ON case_assignees (login, case_id);

-- Every ledger event, one row per commit on refs/heads/ledger.
CREATE TABLE events (
    seq       INTEGER PRIMARY KEY CHECK (seq > 0),
    case_id   TEXT    REFERENCES cases (id),       -- NULL: directory event
    type      TEXT    NOT NULL,
    actor     TEXT    NOT NULL,
    role      INTEGER NOT NULL,                    -- csirt.v1.Role
    time_ms   INTEGER NOT NULL,
    commit_id TEXT    NOT NULL
              CHECK (length(commit_id) = 40 AND commit_id NOT GLOB '*[^0-9a-f]*'),
    pb        BLOB    NOT NULL                     -- packed csirt.v1.Event
) STRICT;

CREATE INDEX events_case ON events (case_id, seq);
CREATE INDEX events_type ON events (type, time_ms);

-- Every version of every note (note.added is version 1, note.edited the
-- later ones).  The text itself lives in the ledger at `path` (encrypted
-- when 機密性高・中); only its digest is here.
CREATE TABLE notes (
    case_id     TEXT    NOT NULL REFERENCES cases (id),
    note_id     TEXT    NOT NULL CHECK (note_id <> ''),
    version     INTEGER NOT NULL CHECK (version > 0),
    author      TEXT    NOT NULL,
    path        TEXT    NOT NULL,
    text_sha256 TEXT    NOT NULL,
    time_ms     INTEGER NOT NULL,
    seq         INTEGER NOT NULL UNIQUE REFERENCES events (seq),
    PRIMARY KEY (case_id, note_id, version)
) STRICT, WITHOUT ROWID;
