import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { frameOnce, wsFrame } from './ws-frames.js';

describe('frameOnce', () => {
  it('frames text and binary exactly as ws does, at every header size', () => {
    for (const length of [0, 1, 125, 126, 127, 65535, 65536, 70000]) {
      const text = 'x'.repeat(length);
      assert.deepEqual(frameOnce(text), wsFrame(text), `text of ${length} bytes`);
      const bytes = Buffer.alloc(length, 7);
      assert.deepEqual(frameOnce(bytes), wsFrame(bytes), `binary of ${length} bytes`);
    }
  });

  it('counts UTF-8 bytes, not characters', () => {
    for (const text of ['é', '✓'.repeat(42), '✓'.repeat(43), '😀'.repeat(40000)]) {
      assert.deepEqual(frameOnce(text), wsFrame(text));
    }
  });
});
