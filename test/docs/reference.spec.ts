// The reference keeps up with lib/: every option (with the default the code resolves), every error
// code and reply reason, every export of the four entry points, and every page, is documented.
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { DEFAULTS, REASON } from '../../lib/channels.constants.js';
import { resolveOptions } from '../../lib/channels.options.js';
import { ERROR_CODE } from '../../lib/errors/errors.js';
import { resolvePresenceOptions } from '../../lib/presence/presence-options.js';
import { REDIS_DEFAULTS } from '../../lib/redis/redis-connection.js';
import { REPO_ROOT } from '../support/repo-root.js';

// ── Reading lib/ ───────────────────────────────────────────────────────────

async function sourceOf(path: string): Promise<ts.SourceFile> {
  const text = await readFile(join(REPO_ROOT, path), 'utf8');
  return ts.createSourceFile(path, text, ts.ScriptTarget.Latest, true);
}

function nameOf(name: ts.PropertyName | ts.BindingName | ts.ModuleExportName): string {
  if (ts.isIdentifier(name) || ts.isStringLiteral(name) || ts.isPrivateIdentifier(name)) return name.text;
  throw new Error(`unexpected name ${name.getText()}`);
}

/**
 * The properties and methods of an exported interface, inherited ones included when they come
 * from `Pick<…, 'a' | 'b'>` (what a user can pass is what the interface accepts).
 */
async function membersOf(path: string, interfaceName: string): Promise<string[]> {
  const source = await sourceOf(path);
  const declaration = source.statements.find(
    (statement): statement is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(statement) && statement.name.text === interfaceName,
  );
  if (declaration === undefined) throw new Error(`${path} declares no interface ${interfaceName}`);
  const members = declaration.members.filter((member) => member.name !== undefined).map((member) => nameOf(member.name!));
  for (const clause of declaration.heritageClauses ?? []) {
    for (const type of clause.types) {
      if (type.expression.getText() !== 'Pick') continue;
      const picked = type.typeArguments?.[1];
      const literals = picked === undefined ? [] : ts.isUnionTypeNode(picked) ? picked.types : [picked];
      for (const literal of literals) {
        if (ts.isLiteralTypeNode(literal) && ts.isStringLiteral(literal.literal)) members.push(literal.literal.text);
      }
    }
  }
  return members;
}

/** The `@default` of each member of an interface that has one: what the shipped `.d.ts` tells users. */
async function jsDocDefaultsOf(path: string, interfaceName: string): Promise<Map<string, string>> {
  const source = await sourceOf(path);
  const declaration = source.statements.find(
    (statement): statement is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(statement) && statement.name.text === interfaceName,
  );
  const defaults = new Map<string, string>();
  for (const member of declaration?.members ?? []) {
    const tag = ts.getJSDocTags(member).find((candidate) => candidate.tagName.text === 'default');
    if (member.name !== undefined && tag !== undefined) defaults.set(nameOf(member.name), ts.getTextOfJSDocComment(tag.comment) ?? '');
  }
  return defaults;
}

/** Every name an entry point exports, values and types alike. */
async function exportsOf(path: string): Promise<string[]> {
  const source = await sourceOf(path);
  const names: string[] = [];
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement)) {
      if (statement.exportClause === undefined || !ts.isNamedExports(statement.exportClause)) {
        throw new Error(`${path}: export * hides what is exported; name each export`);
      }
      for (const element of statement.exportClause.elements) names.push(nameOf(element.name));
      continue;
    }
    const modifiers = ts.canHaveModifiers(statement) ? ts.getModifiers(statement) : undefined;
    if (!modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.ExportKeyword)) continue;
    if (ts.isVariableStatement(statement)) {
      for (const declaration of statement.declarationList.declarations) names.push(nameOf(declaration.name));
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement) ||
        ts.isEnumDeclaration(statement)) &&
      statement.name !== undefined
    ) {
      names.push(statement.name.text);
    }
  }
  return names;
}

/** lib/'s own source files, tests left out. */
async function libFiles(): Promise<string[]> {
  const entries = await readdir(join(REPO_ROOT, 'lib'), { recursive: true });
  return entries.filter((entry) => entry.endsWith('.ts') && !entry.endsWith('.spec.ts')).map((entry) => join('lib', entry));
}

// ── Reading the documentation ──────────────────────────────────────────────

const read = (path: string): Promise<string> => readFile(join(REPO_ROOT, path), 'utf8');

/** Markdown with its fenced code blocks removed: an import in an example documents nothing. */
function prose(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```\s*$/gm, '');
}

/** The text under a heading, down to the next heading of the same or a higher level. */
function section(markdown: string, heading: string, doc: string): string {
  const lines = markdown.split('\n');
  const start = lines.findIndex((line) => /^#{1,6} /.test(line) && line.replace(/^#+ /, '') === heading);
  assert.notEqual(start, -1, `${doc} has no heading "${heading}"`);
  const level = /^#+/.exec(lines[start]!)![0].length;
  const end = lines.findIndex((line, i) => i > start && new RegExp(`^#{1,${level}} `).test(line));
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

/** Table rows of a section by their first cell's one backticked name: `| \`name\` | default | meaning |`. */
function rowsByName(text: string): Map<string, string[]> {
  const rows = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^\|\s*`([A-Za-z_$][\w$]*)`\s*\|(.*)\|\s*$/.exec(line);
    if (match !== null) rows.set(match[1]!, match[2]!.split(' | ').map((cell) => cell.trim()));
  }
  return rows;
}

/** The numbers a cell states, with units: `60000`, `64 KiB`, `1 MiB`, `30 s`, `10_000`. */
function numbersIn(cell: string): number[] {
  const scale: Record<string, number> = { KiB: 1024, MiB: 1024 * 1024, s: 1000, ms: 1 };
  return [...cell.matchAll(/(\d[\d_]*(?:\.\d+)?)(?:\s*(KiB|MiB|ms|s)\b)?/g)].map(
    ([, digits, unit]) => Number(digits!.replace(/_/g, '')) * (unit === undefined ? 1 : scale[unit]!),
  );
}

/**
 * Whether a default cell (or a JSDoc `@default`, where values go without backticks) states this
 * resolved value; null, objects and arrays are described in words.
 */
function states(cell: string, value: unknown, bare = false): boolean {
  if (typeof value === 'number') return numbersIn(cell).includes(value);
  if (typeof value === 'string') return cell.includes(`'${value}'`);
  if (typeof value === 'boolean') return bare ? new RegExp(`^${value}\\b`).test(cell) : cell.includes(`\`${value}\``);
  return true;
}

// ── What is checked ────────────────────────────────────────────────────────

interface OptionsTable {
  /** The interface, in lib/. */
  interfaceName: string;
  file: string;
  /** Where its table is. */
  doc: string;
  heading: string;
  /** The defaults as the code resolves them, by option name (or that name + `Ms`). */
  defaults?: Record<string, unknown>;
}

const resolved = resolveOptions({});
const OPTIONS_TABLES: OptionsTable[] = [
  {
    interfaceName: 'ChannelsModuleOptions',
    file: 'lib/interfaces/channels-module-options.interface.ts',
    doc: 'docs/api.md',
    heading: 'Options',
    defaults: { ...resolved },
  },
  {
    interfaceName: 'ChannelsModuleAsyncOptions',
    file: 'lib/interfaces/channels-module-options.interface.ts',
    doc: 'docs/api.md',
    heading: 'forRootAsync options',
  },
  {
    interfaceName: 'LongPollOptions',
    file: 'lib/interfaces/channels-module-options.interface.ts',
    doc: 'docs/api.md',
    heading: 'Long-poll options',
    defaults: { ...resolveOptions({ longpoll: true }).longpoll },
  },
  {
    interfaceName: 'PresenceOptions',
    file: 'lib/presence/presence.types.ts',
    doc: 'docs/api.md',
    heading: 'Presence options',
    defaults: { ...resolvePresenceOptions({}) },
  },
  {
    interfaceName: 'ChannelOptions',
    file: 'lib/interfaces/channels-module-options.interface.ts',
    doc: 'docs/api.md',
    heading: 'Channel options',
    defaults: { logJoin: DEFAULTS.logJoin, logHandleIn: DEFAULTS.logHandleIn },
  },
  { interfaceName: 'HistoryOptions', file: 'lib/history/history.types.ts', doc: 'docs/api.md', heading: 'History options' },
  {
    interfaceName: 'RedisPubSubOptions',
    file: 'lib/redis/redis-pubsub-options.interface.ts',
    doc: 'docs/api.md',
    heading: 'RedisPubSub options',
    defaults: { ...REDIS_DEFAULTS },
  },
  { interfaceName: 'ChannelTestOptions', file: 'lib/testing/channel-test.ts', doc: 'docs/testing.md', heading: 'Options' },
  { interfaceName: 'ConnectOptions', file: 'lib/testing/channel-test.ts', doc: 'docs/testing.md', heading: 'Options' },
];

const ENTRY_POINTS = ['lib/index.ts', 'lib/redis/index.ts', 'lib/testing/index.ts', 'lib/client/index.ts'];

describe('the reference documents all of lib/', () => {
  it('has a table row for every option a user can pass, with the default the code resolves', async () => {
    const problems: string[] = [];
    for (const table of OPTIONS_TABLES) {
      const rows = rowsByName(section(await read(table.doc), table.heading, table.doc));
      for (const option of await membersOf(table.file, table.interfaceName)) {
        const row = rows.get(option);
        if (row === undefined) {
          problems.push(`${table.interfaceName}.${option} has no row in ${table.doc} "${table.heading}"`);
          continue;
        }
        const key = [option, `${option}Ms`].find((name) => table.defaults !== undefined && name in table.defaults);
        if (key === undefined) continue;
        const value = table.defaults![key];
        if (!states(row[0]!, value)) {
          problems.push(`${table.interfaceName}.${option}: ${table.doc} says the default is "${row[0]}", the code resolves ${JSON.stringify(value)}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it("names every module option in the README's options table", async () => {
    const options = section(await read('README.md'), 'Options', 'README.md');
    const table = options.split('\n').filter((line) => line.startsWith('| `')).join('\n');
    const members = await membersOf('lib/interfaces/channels-module-options.interface.ts', 'ChannelsModuleOptions');
    assert.deepEqual(members.filter((option) => !table.includes(`\`${option}\``)), []);
    assert.match(options, /\]\(docs\/api\.md#options\)/, 'the README sends readers to the other option objects');
  });

  it('gives the same defaults in the JSDoc of lib/, which users read in the shipped .d.ts', async () => {
    const problems: string[] = [];
    for (const table of OPTIONS_TABLES) {
      if (table.defaults === undefined) continue;
      for (const [option, text] of await jsDocDefaultsOf(table.file, table.interfaceName)) {
        const key = [option, `${option}Ms`].find((name) => name in table.defaults!);
        if (key !== undefined && !states(text, table.defaults[key], true)) {
          problems.push(`${table.file}: ${table.interfaceName}.${option} @default ${text}, the code resolves ${JSON.stringify(table.defaults[key])}`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });

  it('lists every error code and every reply reason in the errors tables of docs/api.md', async () => {
    const errors = section(await read('docs/api.md'), 'Errors', 'docs/api.md');
    const codes = new Set<string>(Object.values(ERROR_CODE));
    for (const file of await libFiles()) {
      for (const [code] of (await read(file)).matchAll(/\bERR_CHANNELS_[A-Z_]+\b/g)) codes.add(code);
    }
    const missing = [
      ...[...codes].filter((code) => !errors.includes(`\`${code}\``)),
      ...Object.values(REASON).filter((reason) => !errors.includes(`'${reason}'`)),
    ];
    assert.deepEqual(missing, []);
  });

  it('names the common errors in the README and links to the full tables', async () => {
    const errors = section(await read('README.md'), 'Errors', 'README.md');
    assert.match(errors, /\]\(docs\/api\.md#errors\)/);
  });

  it('documents every export of the four entry points somewhere in docs/', async () => {
    const pages = await Promise.all((await readdir(join(REPO_ROOT, 'docs'))).filter((f) => f.endsWith('.md')).map((f) => read(join('docs', f))));
    // Backticked spans of the prose: `Name`, `@Name()`, `Name<T>`, `kit.connect(…)`…
    const spans = pages.flatMap((page) => [...prose(page).matchAll(/`([^`\n]+)`/g)].map((match) => match[1]!));
    const missing: string[] = [];
    for (const entry of ENTRY_POINTS) {
      for (const name of await exportsOf(entry)) {
        const word = new RegExp(`(^|[^\\w$.])${name.replace(/\$/g, '\\$')}(?![\\w$])`);
        if (!spans.some((span) => word.test(span))) missing.push(`${entry}: ${name}`);
      }
    }
    assert.deepEqual(missing, []);
  });

  it('indexes every page of docs/ in docs/README.md and in the README', async () => {
    const pages = (await readdir(join(REPO_ROOT, 'docs'))).filter((f) => f.endsWith('.md') && f !== 'README.md');
    const index = await read('docs/README.md');
    const readme = section(await read('README.md'), 'Documentation', 'README.md');
    const missing = [
      ...pages.filter((page) => !index.includes(`](${page})`)).map((page) => `docs/README.md: ${page}`),
      ...pages.filter((page) => !readme.includes(`](docs/${page})`)).map((page) => `README.md: ${page}`),
    ];
    assert.deepEqual(missing, []);
  });
});

// Shown to fail: the helpers must find something, or every check above would pass vacuously.
describe('the reference checks themselves', () => {
  it('read the interfaces, the exports and the tables', async () => {
    assert.ok((await membersOf('lib/interfaces/channels-module-options.interface.ts', 'ChannelsModuleOptions')).includes('maxFrameSize'));
    assert.ok((await membersOf('lib/interfaces/channels-module-options.interface.ts', 'ChannelsModuleAsyncOptions')).includes('imports'));
    assert.ok((await exportsOf('lib/client/index.ts')).includes('withHistory'));
    assert.ok((await exportsOf('lib/index.ts')).includes('ChannelsModule'));
    assert.deepEqual(numbersIn('64 KiB, 1 MiB, `60000`, 30 s'), [65536, 1048576, 60000, 30000]);
    assert.equal(states('`false`', true), false);
    assert.equal(states('true (same host)', true, true), true);
    assert.equal(states('16 MiB', 16 * 1024 * 1024, true), true);
    const jsDoc = await jsDocDefaultsOf('lib/interfaces/channels-module-options.interface.ts', 'ChannelsModuleOptions');
    assert.equal(jsDoc.get('path'), "'/socket'");
    const rows = rowsByName('| `path` | `\'/socket\'` | the base path |');
    assert.deepEqual(rows.get('path'), ["`'/socket'`", 'the base path']);
  });
});
