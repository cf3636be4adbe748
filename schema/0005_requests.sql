-- 0005_requests.sql - 第13.2 investigation requests and physical items.
--
-- Both are projections of the fold (Case.requests, Case.items in cases.pb):
-- every request or item event, and every deadline.missed "request", rewrites
-- the rows of its case from the folded case, so `csirtd rebuild` gives the
-- same rows.  Ledgers indexed before this migration hold no request or item
-- events, so the new tables start empty and correct.
--
--   requests   ListRequests (by case, state, overdue, division) and the
--              deadline scheduler (open, not yet overdue, by due time).
--   items      physical items with their chain of custody (pb).

CREATE TABLE requests (
    case_id    TEXT    NOT NULL REFERENCES cases (id),
    request_id TEXT    NOT NULL CHECK (request_id <> ''),
    seq        INTEGER NOT NULL CHECK (seq > 0),    -- request number (rN)
    kind       INTEGER NOT NULL,                    -- csirt.v1.RequestKind
    state      INTEGER NOT NULL,                    -- csirt.v1.RequestState
    division   TEXT    NOT NULL,
    due_ms     INTEGER NOT NULL,
    overdue    INTEGER NOT NULL CHECK (overdue IN (0, 1)),
    pb         BLOB    NOT NULL,                    -- packed InvestigationRequest
    PRIMARY KEY (case_id, request_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX requests_due ON requests (overdue, state, due_ms);
CREATE INDEX requests_division ON requests (division, case_id);

CREATE TABLE items (
    case_id     TEXT    NOT NULL REFERENCES cases (id),
    item_id     TEXT    NOT NULL CHECK (item_id <> ''),
    kind        INTEGER NOT NULL,                   -- csirt.v1.EquipmentKind
    state       INTEGER NOT NULL,                   -- csirt.v1.ItemState
    serial      TEXT    NOT NULL,
    seal_number TEXT    NOT NULL,
    request_id  TEXT,                               -- NULL: registered standalone
    pb          BLOB    NOT NULL,                   -- packed PhysicalItem
    PRIMARY KEY (case_id, item_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX items_serial ON items (serial);
