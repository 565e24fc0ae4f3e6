import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBucket, bucketFor } from './token-bucket.js';

describe('TokenBucket', () => {
  it('lets one second of tokens through at once, then refills at the rate', () => {
    const bucket = new TokenBucket(10, 0);
    const burst = Array.from({ length: 12 }, () => bucket.take(0));
    assert.deepEqual(burst.filter(Boolean).length, 10);
    assert.equal(bucket.take(50), false, 'half a token after 50 ms');
    assert.equal(bucket.take(100), true, 'one token after 100 ms');
    assert.equal(bucket.take(100), false);
  });

  it('never holds more than one second of tokens, however long it idles', () => {
    const bucket = new TokenBucket(5, 0);
    const taken = Array.from({ length: 8 }, () => bucket.take(60_000)).filter(Boolean).length;
    assert.equal(taken, 5);
  });

  it('lets one through at a rate below one per second, then waits for a whole token', () => {
    const bucket = new TokenBucket(0.5, 0);
    assert.equal(bucket.take(0), true);
    assert.equal(bucket.take(1000), false);
    assert.equal(bucket.take(2000), true);
  });

  it('adds nothing, and takes nothing away, when the clock goes back', () => {
    const bucket = new TokenBucket(2, 10_000);
    assert.equal(bucket.take(10_000), true);
    assert.equal(bucket.take(0), true);
    assert.equal(bucket.take(0), false);
    assert.equal(bucket.take(500), true, 'refills from the earlier time on');
  });

  it('is full again once a second of refill has made up what was taken', () => {
    const bucket = new TokenBucket(4, 0);
    assert.equal(bucket.isFull(0), true);
    bucket.take(0);
    bucket.take(0);
    assert.equal(bucket.isFull(0), false);
    assert.equal(bucket.isFull(499), false);
    assert.equal(bucket.isFull(500), true);
  });

  it('is null for an unlimited rate', () => {
    assert.equal(bucketFor(Number.POSITIVE_INFINITY, 0), null);
    assert.ok(bucketFor(3, 0) instanceof TokenBucket);
  });
});
