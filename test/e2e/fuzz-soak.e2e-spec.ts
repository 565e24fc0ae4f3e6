/**
 * The fuzz soak, bounded for `npm test` (issue 15, item 3): generated
 * frames (valid, near-valid, garbage; V1, V2 and binary) from many hostile
 * connections at once, against the soak app in its own process, while
 * well-behaved `phoenix` clients chat beside them, then four slow consumers.
 * `npm run soak` runs the same with 100,000 frames; SOAK_SEED replays a seed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SoakApp } from '../soak/app-process.js';
import { checkFuzzReport, describeFuzzReport, runFuzzSoak } from '../soak/fuzz-soak.js';

const FRAMES = 30_000;
const LANES = 30;
const SEED = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000_000);

describe('fuzz soak', () => {
  let app: SoakApp;
  before(async () => {
    app = await SoakApp.start('fuzz-soak-app');
  });
  after(() => app?.close());

  it(`${FRAMES} generated frames over ${LANES} hostile connections at once leave the app alive with no unhandled rejection, the prototypes untouched, every chat message of the well-behaved clients delivered in order, nothing left behind and RSS and heap within 10% of their baseline; slow consumers after them are cut and leave the heap there too`, async (t) => {
    const report = await runFuzzSoak(app, {
      frames: FRAMES,
      warmupFrames: 6_000,
      lanes: LANES,
      chatClients: 6,
      chatTopics: 4,
      topicsPerClient: 2,
      chatIntervalMs: 50,
      seed: SEED,
      maxAbandoned: 20,
    });
    for (const line of describeFuzzReport(report)) t.diagnostic(line);
    assert.deepEqual(checkFuzzReport(report, FRAMES), [], `fuzz soak with seed ${SEED} (SOAK_SEED=${SEED} replays it)`);
  });
});
