// The examples of README.md and docs/*.md are real: they compile as written, the README's kit test
// passes against the README's own channel, and the README's app answers the README's Node client.
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { folderOf, pointAtDocuments, writeSnippets, type SnippetFile } from '../support/doc-snippets.js';
import { NEST_COMPILER_OPTIONS } from '../support/nest-tsconfig.js';
import { Started, TSC, run } from '../support/processes.js';
import { REPO_ROOT } from '../support/repo-root.js';

/** Inside the repository, so `nestjs-channels` resolves to this package itself (dist/lib). */
const ROOT = join(REPO_ROOT, 'dist', 'docs-snippets');
const README = join(ROOT, folderOf('README.md'));

/** Nest CLI's tsconfig, strict, emitting beside the sources (no outDir) so the examples can be run. */
const { outDir: _outDir, ...besideSources } = NEST_COMPILER_OPTIONS;
const TSCONFIG = {
  compilerOptions: { ...besideSources, declaration: false, sourceMap: false, incremental: false, noEmitOnError: true },
  include: ['**/*.ts'],
};

describe('the documentation examples', () => {
  let files: SnippetFile[];
  let compiled: Promise<void>;

  before(async () => {
    await rm(ROOT, { recursive: true, force: true });
    files = await writeSnippets(ROOT);
    await writeFile(join(ROOT, 'tsconfig.json'), JSON.stringify(TSCONFIG, null, 2));
    compiled = run(process.execPath, [TSC, '-p', 'tsconfig.json', '--pretty', 'false'], { cwd: ROOT, timeoutMs: 120_000 }).then(
      (result) => {
        const output = pointAtDocuments(`${result.stdout}${result.stderr}`.trim(), files);
        assert.equal(result.code, 0, `the examples do not compile as written:\n${output}`);
      },
    );
    // A failure is reported by the first test; the others then stop at once.
    compiled.catch(() => undefined);
  });
  after(() => rm(ROOT, { recursive: true, force: true }));

  it('finds the README quick start, its Node client and its kit test among the examples', () => {
    const readme = files.filter((file) => file.doc === 'README.md').map((file) => file.path);
    for (const path of ['src/app.module.ts', 'src/main.ts', 'src/room.channel.ts', 'src/user.socket.ts', 'client.ts', 'test/room.channel.spec.ts']) {
      assert.ok(readme.includes(path), `README.md has no block starting "// ${path}"; it has ${readme.join(', ')}`);
    }
    assert.ok(files.some((file) => file.doc.startsWith('docs/')), 'no TypeScript example in docs/');
  });

  it('compiles every TypeScript block of README.md and docs/*.md with a Nest-style strict tsconfig', async () => {
    await compiled;
  });

  it("passes every test the documentation shows, the README's kit test against the README's own RoomChannel first", async () => {
    await compiled;
    const specs = files.filter((file) => file.path.endsWith('.spec.ts'));
    assert.equal(specs[0]?.doc, 'README.md');
    for (const spec of specs) {
      const folder = join(ROOT, folderOf(spec.doc));
      const result = await run(process.execPath, ['--test', spec.path.replace(/\.ts$/, '.js')], {
        cwd: folder,
        // Unset, or node would take this for a file of the outer run and run nothing.
        env: { NODE_TEST_CONTEXT: undefined },
        timeoutMs: 60_000,
      });
      const report = `${result.stdout}${result.stderr}`;
      const tests = [...spec.text.matchAll(/^\s*it\(/gm)].length;
      assert.equal(result.code, 0, `${spec.doc}, ${spec.path}:\n${report}`);
      assert.match(report, new RegExp(`^# pass ${tests}$`, 'm'), `${spec.doc}, ${spec.path}:\n${report}`);
    }
  });

  it("runs the README's app and its Node client as written: join, ping reply, broadcast through @HandleOut", async () => {
    await compiled;
    const app = Started.start(process.execPath, [join(README, 'src', 'main.js')], { cwd: README, env: { PORT: '0' } });
    try {
      const [, port] = await app.waitFor(/listening on http:\/\/\S+:(\d+)/, 30_000);
      const client = await run(process.execPath, [join(README, 'client.js')], {
        cwd: README,
        env: { SOCKET_URL: `ws://127.0.0.1:${port}/socket` },
        timeoutMs: 20_000,
      });
      const printed = `${client.stdout}${client.stderr}`;
      assert.equal(client.code, 0, `the client did not exit cleanly:\n${printed}`);
      assert.equal(
        client.stdout,
        [
          'joined {"welcome":"room:lobby"}',
          'ping answered {"hello":"there"}',
          'new_msg {"body":"hello from Node","user":"alice","mine":true}',
          '',
        ].join('\n'),
      );
      assert.match(app.printed, /serving 1 channel pattern\(s\) at \/socket\/websocket: room:\*/);
    } finally {
      await app.stop();
    }
  });
});
