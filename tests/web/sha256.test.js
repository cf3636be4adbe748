// sha256.test.js - the web client's incremental SHA-256 (clients/web/
// sha256.js) against node's, at the padding boundaries and fed in uneven
// pieces: evidence uploads and downloads rely on it matching the daemon.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Sha256 } from '../../clients/web/sha256.js';

const node = (b) => createHash('sha256').update(b).digest('hex');

test('known answers', () => {
  assert.equal(new Sha256().hex(), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  assert.equal(new Sha256().update(new TextEncoder().encode('abc')).hex(),
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

test('every length around the 64-byte block and its padding, in uneven pieces', () => {
  for (const n of [1, 55, 56, 57, 63, 64, 65, 119, 120, 121, 127, 128, 1000, 1048576 + 3]) {
    const b = randomBytes(n);
    const h = new Sha256();
    for (let i = 0, step = 1; i < n; i += step, step = (step * 7) % 97 + 1) {
      h.update(new Uint8Array(b.subarray(i, i + step)));
    }
    assert.equal(h.hex(), node(b), `length ${n}`);
    assert.equal(new Sha256().update(new Uint8Array(b)).hex(), node(b), `length ${n} at once`);
  }
});
