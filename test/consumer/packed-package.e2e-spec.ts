// The packed package in a stranger's app: `npm pack`, then a fresh ESM and a fresh CommonJS Nest app that
// install only what the README's install lines name (offline, from the npm cache), compile the README's
// quick start with Nest's own tsconfig, pass the README's kit test, start, and serve the `phoenix` client.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Socket as PhoenixSocket, type SocketConnectOption } from 'phoenix';
import { WebSocket } from 'ws';
import { snippetFiles } from '../support/doc-snippets.js';
import { createConsumerApp, packThisPackage, pinnedVersion, type ConsumerApp, type PackedPackage } from '../support/packed-app.js';
import { NEST_COMPILER_OPTIONS } from '../support/nest-tsconfig.js';
import { joined, nextEvent, outcome } from '../support/phoenix-helpers.js';
import { Started, TSC, run } from '../support/processes.js';
import { REPO_ROOT } from '../support/repo-root.js';

/** What `nest new` puts in a Nest 12 app, before anything of ours. */
const NEST_APP = ['@nestjs/common', '@nestjs/core', '@nestjs/platform-express', 'reflect-metadata', 'rxjs'];
const NEST_APP_DEV = ['typescript', '@types/node'];

/** Nest CLI's tsconfig: the same for its CommonJS and ESM templates; the app's package.json sets the kind. */
const NEST_TSCONFIG = { compilerOptions: NEST_COMPILER_OPTIONS };

/** The package names of the README's first `npm install <pattern>` line. */
async function readmeInstall(pattern: RegExp): Promise<string[]> {
  const readme = await readFile(join(REPO_ROOT, 'README.md'), 'utf8');
  const line = readme.split('\n').find((candidate) => pattern.test(candidate));
  assert.ok(line !== undefined, `README.md has no line matching ${pattern}`);
  return line
    .replace(/#.*$/, '')
    .trim()
    .split(/\s+/)
    .slice(2)
    .filter((word) => !word.startsWith('-'));
}

async function pinned(names: readonly string[], except: string): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  for (const name of names) if (name !== except) versions[name] = await pinnedVersion(name);
  return versions;
}

/** The README's quick start and kit test, minus what needs packages the app did not install (ioredis). */
async function readmeApp(): Promise<Map<string, string>> {
  const files = snippetFiles('README.md', await readFile(join(REPO_ROOT, 'README.md'), 'utf8'));
  return new Map(
    files
      .filter((file) => /^(src|test)\//.test(file.path) && !file.text.includes("'nestjs-channels/redis'"))
      .map((file) => [file.path, file.text]),
  );
}

function client(port: number, token: string): PhoenixSocket {
  const socket = new PhoenixSocket(`ws://127.0.0.1:${port}/socket`, {
    transport: WebSocket as unknown as SocketConnectOption['transport'],
    params: { token },
    reconnectAfterMs: () => 100,
  });
  socket.connect();
  return socket;
}

describe('the packed package', () => {
  let work: string;
  let packed: PackedPackage;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'nestjs-channels-consumer-'));
    packed = await packThisPackage(work);
  });
  after(() => rm(work, { recursive: true, force: true }));

  it('holds the build with its types, the README, LICENSE and docs, and no tests, sources or source maps', async () => {
    for (const path of [
      'package.json',
      'README.md',
      'LICENSE',
      'dist/lib/index.js',
      'dist/lib/index.d.ts',
      'dist/lib/redis/index.js',
      'dist/lib/redis/index.d.ts',
      'dist/lib/testing/index.js',
      'dist/lib/testing/index.d.ts',
      'dist/lib/client/index.js',
      'dist/lib/client/index.d.ts',
      'docs/api.md',
      'docs/screenshots/two-tabs.png',
    ]) {
      assert.ok(packed.files.includes(path), `the tarball lacks ${path}`);
    }
    // Every image the shipped docs show ships with them.
    for (const name of await readdir(join(REPO_ROOT, 'docs', 'screenshots'))) {
      assert.ok(packed.files.includes(`docs/screenshots/${name}`), `the tarball lacks docs/screenshots/${name}`);
    }
    const stray = packed.files.filter(
      (path) => !(path === 'package.json' || path === 'README.md' || path === 'LICENSE' || path.startsWith('dist/lib/') || path.startsWith('docs/')),
    );
    assert.deepEqual(stray, []);
    assert.deepEqual(packed.files.filter((path) => /\.spec\.|\.map$|\.ts$/.test(path) && !path.endsWith('.d.ts')), []);
  });

  for (const type of ['module', 'commonjs'] as const) {
    describe(`in a fresh ${type === 'module' ? 'ESM' : 'CommonJS'} Nest app`, () => {
      let app: ConsumerApp;

      before(async () => {
        const required = await readmeInstall(/^npm install nestjs-channels\b/);
        const forTests = await readmeInstall(/^npm install --save-dev @nestjs\/testing\b/);
        app = await createConsumerApp({
          dir: join(work, type),
          packed,
          type,
          dependencies: await pinned([...NEST_APP, ...required], packed.name),
          devDependencies: await pinned([...NEST_APP_DEV, ...forTests], packed.name),
          tsconfig: NEST_TSCONFIG,
          files: await readmeApp(),
        });
      });

      it('installs offline without a warning', () => {
        assert.doesNotMatch(app.installOutput, /\bwarn\b/i, app.installOutput);
      });

      it("compiles the README's quick start with Nest's tsconfig, with skipLibCheck and without", async () => {
        const strict = await run(process.execPath, [TSC, '-p', 'tsconfig.json', '--noEmit', '--skipLibCheck', 'false', '--incremental', 'false'], {
          cwd: app.dir,
          timeoutMs: 120_000,
        });
        assert.equal(strict.code, 0, `${strict.stdout}${strict.stderr}`);
        const build = await run(process.execPath, [TSC, '-p', 'tsconfig.json'], { cwd: app.dir, timeoutMs: 120_000 });
        assert.equal(build.code, 0, `${build.stdout}${build.stderr}`);
        // The app really is of its kind: CommonJS requires the package, ESM imports it.
        const main = await readFile(join(app.dir, 'dist', 'src', 'main.js'), 'utf8');
        if (type === 'commonjs') assert.match(main, /require\("nestjs-channels"\)/);
        else assert.match(main, /^import .* from 'nestjs-channels';$/m);
      });

      it("passes the README's kit test through nestjs-channels/testing", async () => {
        const result = await run(process.execPath, ['--test', 'dist/test/room.channel.spec.js'], {
          cwd: app.dir,
          env: { NODE_TEST_CONTEXT: undefined },
          timeoutMs: 60_000,
        });
        const report = `${result.stdout}${result.stderr}`;
        assert.equal(result.code, 0, report);
        assert.match(report, /^# pass 4$/m, report);
      });

      it('starts, and the phoenix client joins, pushes, gets its reply and a broadcast', async () => {
        const server = Started.start(process.execPath, ['dist/src/main.js'], { cwd: app.dir, env: { PORT: '0' } });
        const sockets: PhoenixSocket[] = [];
        try {
          const [, port] = await server.waitFor(/listening on http:\/\/\S+:(\d+)/, 30_000);
          assert.match(server.printed, /serving 1 channel pattern\(s\) at \/socket\/websocket: room:\*/);
          const alice = client(Number(port), 't-alice');
          const bob = client(Number(port), 't-bob');
          sockets.push(alice, bob);
          const aliceRoom = alice.channel('room:lobby', {});
          const bobRoom = bob.channel('room:lobby', {});
          const hello = nextEvent(aliceRoom, 'hello', 5000);
          assert.deepEqual(await joined(aliceRoom, 5000), { welcome: 'room:lobby' });
          assert.deepEqual(await hello, { user: 'alice' });
          await joined(bobRoom, 5000);

          assert.deepEqual(await outcome(aliceRoom.push('ping', { n: 1 }), 5000, 'ping'), { status: 'ok', response: { n: 1 } });

          const toBob = nextEvent(bobRoom, 'new_msg', 5000);
          const toAlice = nextEvent(aliceRoom, 'new_msg', 5000);
          aliceRoom.push('new_msg', { body: 'hello from a packed package' });
          assert.deepEqual(await toBob, { body: 'hello from a packed package', user: 'alice', mine: false });
          assert.deepEqual(await toAlice, { body: 'hello from a packed package', user: 'alice', mine: true });

          const refused = await outcome(alice.channel('room:private', {}).join(), 5000, 'joining room:private');
          assert.deepEqual(refused, { status: 'error', response: { reason: 'unauthorized' } });
        } finally {
          for (const socket of sockets) socket.disconnect();
          const ended = await server.stop();
          assert.ok(ended.code !== null || ended.signal !== null);
        }
        assert.doesNotMatch(server.printed, /\bERROR\b/, server.printed);
      });
    });
  }
});
