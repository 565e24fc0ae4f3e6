// Every link in README.md and docs/*.md leads to a file of this repository, and to a heading that exists.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { documents } from '../support/doc-snippets.js';
import { REPO_ROOT } from '../support/repo-root.js';

/** The text of a document with its code blocks blanked out: links there are examples, not links. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```\s*$/gm, (block) => block.replace(/[^\n]/g, ' '));
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

async function anchorsOf(path: string): Promise<Set<string>> {
  const text = prose(await readFile(path, 'utf8'));
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchorOf(match[1]!)));
}

describe('links in the documentation', () => {
  it('point only inside the repository, at files and headings that exist', async () => {
    const problems: string[] = [];
    for (const doc of await documents()) {
      const text = prose(await readFile(join(REPO_ROOT, doc), 'utf8'));
      for (const [, target] of text.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
        if (/^[a-z][a-z0-9+.-]*:/i.test(target!)) {
          problems.push(`${doc}: ${target} leads outside the repository`);
          continue;
        }
        const [path, anchor] = target!.split('#') as [string, string | undefined];
        const file = path === '' ? join(REPO_ROOT, doc) : normalize(join(REPO_ROOT, dirname(doc), path));
        if (relative(REPO_ROOT, file).startsWith('..')) {
          problems.push(`${doc}: ${target} leads outside the repository`);
        } else if (!existsSync(file)) {
          problems.push(`${doc}: ${target} does not exist`);
        } else if (anchor !== undefined && !(await anchorsOf(file)).has(anchor)) {
          problems.push(`${doc}: ${target} names no heading of ${relative(REPO_ROOT, file)}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('never cites the contributors-only contract files', async () => {
    for (const doc of await documents()) {
      const text = await readFile(join(REPO_ROOT, doc), 'utf8');
      assert.doesNotMatch(text, /PROTOCOL\.md|API\.md|shared\//, doc);
    }
  });

  it('never cites them in lib/ either: its comments become the JSDoc users read, its strings the logs they see', async () => {
    const cited: string[] = [];
    for (const entry of await readdir(join(REPO_ROOT, 'lib'), { recursive: true })) {
      if (!entry.endsWith('.ts') || entry.endsWith('.spec.ts')) continue;
      const lines = (await readFile(join(REPO_ROOT, 'lib', entry), 'utf8')).split('\n');
      lines.forEach((line, i) => {
        if (/PROTOCOL\.md|API\.md|\.\.\/shared|spec\/PROTOCOL/.test(line)) cited.push(`lib/${entry}:${i + 1}: ${line.trim()}`);
      });
    }
    assert.deepEqual(cited, []);
  });
});
