/**
 * The TypeScript examples of README.md and docs/*.md, as files.
 *
 * Every ```ts block is a file. A block whose first line is a comment naming a
 * path (`// src/app.module.ts: …`) is written at that path inside its
 * document's folder, so blocks can import one another as a real project does;
 * a later block naming the same path continues that file. A block without such
 * a line is a file of its own. Each file remembers which document lines it
 * came from, so a compiler error can point at the document.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './repo-root.js';

export interface SnippetFile {
  /** The document, relative to the repository: `README.md`, `docs/api.md`. */
  readonly doc: string;
  /** The path inside the document's folder: `src/app.module.ts`, `snippet-42.ts`. */
  readonly path: string;
  readonly text: string;
  /** For each block in the file: its first line in the file and in the document (1-based). */
  readonly origins: ReadonlyArray<{ fileLine: number; docLine: number }>;
}

const FENCE = /^```(\w*)\s*$/;
const FILE_HEADER = /^\/\/\s+([\w./-]+\.ts)\b/;

/** The documents whose examples are checked: README.md and every docs/*.md. */
export async function documents(): Promise<string[]> {
  const docs = (await readdir(join(REPO_ROOT, 'docs'))).filter((name) => name.endsWith('.md')).sort();
  return ['README.md', ...docs.map((name) => `docs/${name}`)];
}

/** The TypeScript files of one document, in document order. */
export function snippetFiles(doc: string, markdown: string): SnippetFile[] {
  const files = new Map<string, { text: string[]; origins: Array<{ fileLine: number; docLine: number }> }>();
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!);
    if (open === null) continue;
    const end = lines.findIndex((line, index) => index > i && /^```\s*$/.test(line));
    if (end === -1) throw new Error(`${doc}:${i + 1}: a code block is never closed`);
    const language = open[1]!;
    if (language === 'ts' || language === 'typescript') {
      const body = lines.slice(i + 1, end);
      const path = FILE_HEADER.exec(body[0] ?? '')?.[1] ?? `snippet-${i + 1}.ts`;
      const file = files.get(path) ?? { text: [], origins: [] };
      file.origins.push({ fileLine: file.text.length + 1, docLine: i + 2 });
      file.text.push(...body);
      files.set(path, file);
    }
    i = end;
  }
  return [...files].map(([path, file]) => ({ doc, path, text: `${file.text.join('\n')}\n`, origins: file.origins }));
}

/** The folder a document's files are written to, under `root`: `readme`, `docs-api`. */
export function folderOf(doc: string): string {
  return doc.replace(/\.md$/, '').replace(/\//g, '-').toLowerCase();
}

/** Writes every document's files under `root`; returns them. */
export async function writeSnippets(root: string): Promise<SnippetFile[]> {
  const all: SnippetFile[] = [];
  for (const doc of await documents()) {
    const files = snippetFiles(doc, await readFile(join(REPO_ROOT, doc), 'utf8'));
    for (const file of files) {
      const target = join(root, folderOf(doc), file.path);
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, file.text);
    }
    all.push(...files);
  }
  return all;
}

/** Rewrites `path(line,col)` in compiler output (run in the snippets' root) to the document line. */
export function pointAtDocuments(output: string, files: readonly SnippetFile[]): string {
  return output.replace(/^(\S+\.ts)\((\d+),(\d+)\)/gm, (whole, rel: string, line: string, column: string) => {
    const file = files.find((candidate) => join(folderOf(candidate.doc), candidate.path) === rel);
    if (file === undefined) return whole;
    const fileLine = Number(line);
    const origin = [...file.origins].reverse().find((o) => o.fileLine <= fileLine)!;
    return `${file.doc}:${origin.docLine + fileLine - origin.fileLine}:${column} (${rel})`;
  });
}
