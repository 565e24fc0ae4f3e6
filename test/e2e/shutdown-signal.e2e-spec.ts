/**
 * `app.enableShutdownHooks()` drains on SIGTERM (issue 12, item 8): a real
 * app in a child process, a `phoenix` client joined to it; the signal closes
 * the client with 1012 and @Terminate runs with `{ shutdown: 'draining' }`
 * (P-57). On Express and on Fastify.
 */
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { closeCodesOf, eventually, joined, uniqueTopic } from '../support/phoenix-helpers.js';
import { NodeProcess } from '../support/redis-node-process.js';
import { PLATFORMS } from '../support/test-app.js';

const ENTRY = fileURLToPath(new URL('../fixtures/shutdown-app.js', import.meta.url));

for (const platform of PLATFORMS) {
  describe(`SIGTERM with enableShutdownHooks (${platform})`, () => {
    let node: NodeProcess | null = null;
    after(async () => {
      await node?.kill();
    });

    it('closes connected clients with 1012 and runs @Terminate with {shutdown: "draining"} before the process exits (P-57)', async () => {
      node = await NodeProcess.launch(`shutdown-${platform}`, ENTRY, [platform]);
      const socket = node.client();
      const codes = closeCodesOf(socket);
      const topic = uniqueTopic('room');
      await joined(socket.channel(topic));
      node.child.kill('SIGTERM');
      await eventually(() => codes.includes(1012), 'the client saw close code 1012', 5000);
      socket.disconnect();
      const ended = await node.exit(10_000);
      assert.ok(ended.signal === 'SIGTERM' || ended.code === 0, `the app ended by itself: ${JSON.stringify(ended)}`);
      assert.deepEqual(node.grep(/^TERMINATE /), ['TERMINATE {"shutdown":"draining"}']);
      assert.deepEqual(node.grep(/^JOINED /), [`JOINED ${topic}`]);
    });
  });
}
