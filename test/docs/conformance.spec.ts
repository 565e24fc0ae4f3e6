// docs/protocol-conformance.md tells the truth about the tests: every file it lists names the rule in a
// test title, and no rule that a test names is marked "not yet".
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { before, describe, it } from 'node:test';
import { REPO_ROOT } from '../support/repo-root.js';

const RULE_COUNT = 83;
const TEST_TITLE = /\bit\(\s*(['"`])((?:\\.|(?!\1).)*)\1/g;

interface Row {
  readonly id: string;
  readonly status: string;
  readonly files: string[];
}

/** Every .ts file under `dir`, relative to the repository. */
async function sources(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(join(REPO_ROOT, dir), { withFileTypes: true, recursive: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts')) found.push(relative(REPO_ROOT, join(entry.parentPath, entry.name)));
  }
  return found;
}

/** Rule id → the files with a test title naming it. */
async function citedRules(): Promise<Map<string, Set<string>>> {
  const cited = new Map<string, Set<string>>();
  const files = [...(await sources('test')), ...(await sources('lib')), ...(await sources('sample'))];
  for (const file of files) {
    const text = await readFile(join(REPO_ROOT, file), 'utf8');
    for (const title of text.matchAll(TEST_TITLE)) {
      for (const [id] of title[2]!.matchAll(/P-\d\d/g)) {
        if (!cited.has(id)) cited.set(id, new Set());
        cited.get(id)!.add(file);
      }
    }
  }
  return cited;
}

describe('docs/protocol-conformance.md', () => {
  let rows: Row[];
  let cited: Map<string, Set<string>>;

  before(async () => {
    const page = await readFile(join(REPO_ROOT, 'docs', 'protocol-conformance.md'), 'utf8');
    rows = page
      .split('\n')
      .filter((line) => /^\| P-\d\d \|/.test(line))
      .map((line) => {
        const [id, , status, tests] = line.split('|').slice(1, -1).map((cell) => cell.trim());
        return { id: id!, status: status!, files: [...tests!.matchAll(/`([^`]+)`/g)].map((file) => file[1]!) };
      });
    cited = await citedRules();
  });

  it('lists every rule once, in order', () => {
    const expected = Array.from({ length: RULE_COUNT }, (_, index) => `P-${String(index + 1).padStart(2, '0')}`);
    assert.deepEqual(rows.map((row) => row.id), expected);
  });

  it('lists for each covered rule only files whose test titles name it', () => {
    for (const row of rows.filter((r) => r.status === 'covered')) {
      assert.ok(row.files.length > 0, `${row.id} is covered but lists no test file`);
      for (const file of row.files) {
        assert.ok(cited.get(row.id)?.has(file), `${row.id} lists ${file}, which has no test title naming ${row.id}`);
      }
    }
  });

  it('marks covered every rule that a test title names', () => {
    for (const [id, files] of cited) {
      const row = rows.find((r) => r.id === id);
      assert.ok(row !== undefined, `tests name ${id} (${[...files].join(', ')}), which the page does not list`);
      assert.equal(row.status, 'covered', `${id} is named by ${[...files].join(', ')}: mark it covered and list them`);
    }
  });

  it('says why each rule that is not covered is not', () => {
    for (const row of rows.filter((r) => r.status !== 'covered')) {
      assert.match(row.status, /^not yet: comes with /, `${row.id}: ${row.status}`);
    }
  });
});
