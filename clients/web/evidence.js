// evidence.js - evidence files through EvidenceService, the way the CLI's
// `csirt evidence add|get` does it (clients/csirt/cmd_evidence.c): the
// file's SHA-256 first, BeginEvidenceUpload, AppendEvidence chunks of at
// most 1 MiB at exactly the offset the daemon has reached (a chunk that
// failed is resumed from GetEvidenceUpload's `received`, which also
// covers a chunk that arrived but whose answer was lost), then
// CommitEvidenceUpload, where the daemon checks the digest.  A download
// reads DownloadEvidence chunks into a Blob and checks the manifest's
// digest before offering it.
//
// Also here: who may add evidence and who may read content, copies of
// csirtd/lifecycle.c (EVIDENCE_ADD rows), csirtd/rpc.c and
// csirtd/classify.c (content_readers) used only to decide what to show;
// the daemon decides for real.
//
// The file's bytes only ever travel to the daemon's own origin; nothing is
// written anywhere but the Blob the user saves.

import { call, ApiError } from './api.js';
import { Sha256 } from './sha256.js';

export const CHUNK = 1024 * 1024; // EVIDENCE_CHUNK_MAX
const RETRIES = 5; // failed chunks in a row before giving up

const SM = 'ROLE_SECURITY_MANAGER';
const LEAD = 'ROLE_CSIRT_LEAD';
const INV = 'ROLE_INVESTIGATOR';

// lifecycle.c: EVIDENCE_ADD by state; an investigator only on a case
// they are assigned to (rpc_evidence_begin()).
const ADD = {
  CASE_STATE_REPORTED: [SM, LEAD],
  CASE_STATE_ACKNOWLEDGED: [SM, LEAD],
  CASE_STATE_ESCALATED: [SM, LEAD, INV],
  CASE_STATE_INVESTIGATING: [SM, LEAD, INV],
  CASE_STATE_RESOLVED: [SM, LEAD, INV],
};

export function mayAddEvidence(me, c) {
  const roles = ADD[c.state] || [];
  if (!roles.includes(me.role)) return false;
  return me.role !== INV || (c.assignees || []).includes(me.login);
}

// classify.c content_readers: 機密性 -> roles that may read the content.
const READERS = {
  CONFIDENTIALITY_LOW: ['ROLE_REPORTER', SM, LEAD, INV, 'ROLE_AUDITOR'],
  CONFIDENTIALITY_MEDIUM: [SM, LEAD, INV, 'ROLE_AUDITOR'],
  CONFIDENTIALITY_HIGH: [SM, LEAD, INV],
};

// null when `me` may read content classified `cl` on case `c`, else why
// not: 'level' (classify.c) or 'assigned' (an investigator elsewhere).
export function contentRefusal(me, c, cl) {
  const level = cl && cl.confidentiality;
  if (!(READERS[level] || []).includes(me.role)) return 'level';
  if (me.role === INV && !(c.assignees || []).includes(me.login)) return 'assigned';
  return null;
}

// Bytes <-> base64 (proto3 JSON `bytes`), in pieces small enough for
// String.fromCharCode's argument list.
function toBase64(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(s);
}

function fromBase64(b64) {
  const s = atob(b64 || '');
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

async function slice(file, from, to) {
  return new Uint8Array(await file.slice(from, to).arrayBuffer());
}

// SHA-256 of a File, read in chunks; progress(done, total).
export async function fileSha256(file, progress) {
  const h = new Sha256();
  for (let off = 0; off < file.size; off += CHUNK) {
    h.update(await slice(file, off, Math.min(off + CHUNK, file.size)));
    progress(Math.min(off + CHUNK, file.size), file.size);
  }
  return h.hex();
}

// Errors after which the daemon may still hold the upload: ask it where
// it is and go on from there.
const RESUMABLE = ['network', 'unavailable', 'resource_exhausted', 'aborted', 'already_exists',
  'internal', 'unknown'];

// Uploads `file` as evidence of `caseId`.  opts: { classification,
// supersedes, reason, progress(phase, done, total) } where phase is
// 'hash' or 'upload'.  Resolves with the EvidenceResponse (manifest, seq,
// commit); rejects with an ApiError.
export async function upload(caseId, file, opts) {
  const progress = opts.progress || (() => {});
  const sha256 = await fileSha256(file, (d, n) => progress('hash', d, n));
  const begin = { case_id: caseId, name: file.name, media_type: file.type || '',
    size: String(file.size), sha256 };
  if (opts.classification) begin.classification = opts.classification;
  if (opts.supersedes) {
    begin.supersedes = opts.supersedes;
    begin.reason = opts.reason;
  }
  const up = await call('EvidenceService', 'BeginEvidenceUpload', begin);
  let at = Number(up.received || 0);
  let failures = 0;
  progress('upload', at, file.size);
  try {
    while (at < file.size) {
      const data = await slice(file, at, Math.min(at + CHUNK, file.size));
      try {
        const st = await call('EvidenceService', 'AppendEvidence',
          { upload_id: up.upload_id, offset: String(at), data: toBase64(data) });
        at = Number(st.received);
        failures = 0;
      } catch (err) {
        failures += 1;
        if (!RESUMABLE.includes(err.code) || failures > RETRIES) throw err;
        // Where the daemon is: the chunk may have arrived after all.
        const st = await call('EvidenceService', 'GetEvidenceUpload', { upload_id: up.upload_id });
        at = Number(st.received);
      }
      progress('upload', at, file.size);
    }
  } catch (err) {
    // A page cannot resume after it is closed: free the daemon's slot
    // (evidence_uploads_max) now rather than at expiry.  Best effort.
    await call('EvidenceService', 'CancelEvidenceUpload', { upload_id: up.upload_id }).catch(() => {});
    throw err;
  }
  return call('EvidenceService', 'CommitEvidenceUpload', { upload_id: up.upload_id });
}

// Downloads version `version` (0: the newest) of evidence `id`: resolves
// with { blob, manifest } once the digest matches the manifest's.
export async function download(id, version, progress) {
  const parts = [];
  const h = new Sha256();
  let manifest = null;
  let at = 0;
  for (;;) {
    const r = await call('EvidenceService', 'DownloadEvidence',
      { evidence_id: id, version, offset: String(at), length: CHUNK });
    if (r.manifest) manifest = r.manifest;
    const data = fromBase64(r.data);
    h.update(data);
    parts.push(data);
    at += data.length;
    progress(at, Number(r.size || 0));
    if (r.eof) break;
    if (data.length === 0) throw new ApiError('unknown', 'empty chunk before the end', 0);
  }
  if (!manifest || h.hex() !== manifest.sha256) {
    throw new ApiError('digest', 'the content received does not match its SHA-256', 0);
  }
  return { blob: new Blob(parts, { type: manifest.media_type || 'application/octet-stream' }), manifest };
}
