import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { bytesToBigint, compareBytes, constantTimeEqual } from '../../src/bytes/bytes.js';

test('compareBytes orders byte strings as the big-endian numbers they encode, whatever their lengths', () => {
  for (let i = 0; i < 500; i++) {
    const a = randomBytes(i % 5);
    const b = randomBytes((i * 7) % 5);
    if (i % 3 === 0 && a.length > 0) a[0] = 0; // leading zeros: a shorter string may equal a longer one
    const x = bytesToBigint(a);
    const y = bytesToBigint(b);
    assert.equal(compareBytes(a, b), x < y ? -1 : x > y ? 1 : 0, `${a.toString('hex')} vs ${b.toString('hex')}`);
  }
  assert.equal(compareBytes(Uint8Array.of(0, 1), Uint8Array.of(1)), 0);
  assert.equal(compareBytes(Uint8Array.of(0xff), Uint8Array.of(1, 0)), -1);
});

test('constantTimeEqual: equal contents of equal length only', () => {
  const a = randomBytes(32);
  assert.equal(constantTimeEqual(a, Uint8Array.from(a)), true);
  for (let i = 0; i < a.length; i++) {
    const b = Uint8Array.from(a);
    b[i]! ^= 1;
    assert.equal(constantTimeEqual(a, b), false);
  }
  assert.equal(constantTimeEqual(a, a.subarray(0, 31)), false);
  assert.equal(constantTimeEqual(new Uint8Array(0), new Uint8Array(0)), true);
});
