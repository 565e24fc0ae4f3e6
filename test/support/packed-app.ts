/**
 * This package as a stranger gets it: `npm pack` of a copy of the working
 * tree (its `prepack` build included), installed into a fresh Nest app in a
 * temporary folder.
 *
 * No network: the app is installed with `npm install --offline`, from the npm
 * cache that this repository's own `npm install` / `npm ci` filled. For that,
 * the app gets a lockfile cut from this repository's lockfile (the packages it
 * needs, at the versions pinned here) plus the tarball, so npm has nothing to
 * look up.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { run } from './processes.js';
import { REPO_ROOT } from './repo-root.js';

export interface PackedPackage {
  readonly tarball: string;
  readonly name: string;
  readonly version: string;
  readonly integrity: string;
  /** Paths inside the package, as `npm pack` lists them. */
  readonly files: string[];
  /** This repository's package.json. */
  readonly manifest: PackageManifest;
}

export interface PackageManifest {
  readonly name: string;
  readonly version: string;
  readonly license?: string;
  readonly engines?: Record<string, string>;
  readonly dependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
  readonly peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  readonly overrides?: Record<string, string>;
}

interface LockEntry {
  version?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  [key: string]: unknown;
}

/** npm with no update check and no telemetry-ish extras, for child processes. */
const NPM_ENV = { npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' };

/** Packs a copy of the working tree (tracked and new files) in `workDir`; the copy shares this node_modules. */
export async function packThisPackage(workDir: string): Promise<PackedPackage> {
  const source = join(workDir, 'source');
  const listed = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((path) => path !== '' && existsSync(join(REPO_ROOT, path)));
  for (const path of listed) {
    await mkdir(dirname(join(source, path)), { recursive: true });
    await copyFile(join(REPO_ROOT, path), join(source, path));
  }
  await symlink(join(REPO_ROOT, 'node_modules'), join(source, 'node_modules'), 'dir');
  const result = await run('npm', ['pack', '--json', '--pack-destination', workDir], {
    cwd: source,
    env: NPM_ENV,
    timeoutMs: 180_000,
  });
  if (result.code !== 0) throw new Error(`npm pack failed:\n${result.stdout}\n${result.stderr}`);
  const [packed] = JSON.parse(result.stdout.slice(result.stdout.indexOf('['))) as Array<{
    filename: string;
    name: string;
    version: string;
    integrity: string;
    files: Array<{ path: string }>;
  }>;
  return {
    tarball: join(workDir, packed!.filename),
    name: packed!.name,
    version: packed!.version,
    integrity: packed!.integrity,
    files: packed!.files.map((file) => file.path).sort(),
    manifest: JSON.parse(await readFile(join(REPO_ROOT, 'package.json'), 'utf8')) as PackageManifest,
  };
}

/** This repository's lockfile entries, by `node_modules/...` path. */
async function repositoryLock(): Promise<Record<string, LockEntry>> {
  const lock = JSON.parse(await readFile(join(REPO_ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  return lock.packages;
}

/** The version this repository's lockfile pins for a top-level package. */
export async function pinnedVersion(name: string): Promise<string> {
  const entry = (await repositoryLock())[`node_modules/${name}`];
  if (entry?.version === undefined) throw new Error(`${name} is not in this repository's lockfile, so it cannot be installed offline`);
  return entry.version;
}

/**
 * The lockfile entries `dependencies` need, cut from this repository's
 * lockfile: each package and, recursively, its dependencies, optional
 * dependencies and required peers, resolved the way Node looks up
 * node_modules folders.
 */
async function lockEntriesFor(dependencies: Record<string, string>): Promise<Record<string, LockEntry>> {
  const all = await repositoryLock();
  const picked: Record<string, LockEntry> = {};
  const locate = (from: string, name: string): string | null => {
    let base = from;
    for (;;) {
      const key = `${base === '' ? '' : `${base}/`}node_modules/${name}`;
      if (all[key] !== undefined) return key;
      if (base === '') return null;
      const cut = base.lastIndexOf('/node_modules/');
      base = cut === -1 ? '' : base.slice(0, cut);
    }
  };
  const walk = (from: string, names: string[], optional: boolean): void => {
    for (const name of names) {
      const key = locate(from, name);
      if (key === null) {
        if (optional) continue;
        throw new Error(`${name} (needed by ${from || 'the app'}) is not in this repository's lockfile`);
      }
      if (picked[key] !== undefined) continue;
      const { dev, devOptional, peer, ...entry } = all[key]!;
      picked[key] = entry;
      walk(key, Object.keys(entry.dependencies ?? {}), false);
      walk(key, Object.keys(entry.optionalDependencies ?? {}), true);
      const meta = entry.peerDependenciesMeta ?? {};
      walk(key, Object.keys(entry.peerDependencies ?? {}).filter((peerName) => meta[peerName]?.optional !== true), true);
    }
  };
  walk('', Object.keys(dependencies), false);
  return picked;
}

export interface ConsumerApp {
  readonly dir: string;
  /** What `npm install` printed. */
  readonly installOutput: string;
}

export interface ConsumerAppOptions {
  readonly dir: string;
  readonly packed: PackedPackage;
  readonly type: 'module' | 'commonjs';
  readonly dependencies: Record<string, string>;
  readonly devDependencies: Record<string, string>;
  readonly tsconfig: object;
  /** Source files by path inside the app. */
  readonly files: ReadonlyMap<string, string>;
}

/** Writes a fresh app depending on the tarball, installs it offline, writes its sources. */
export async function createConsumerApp(options: ConsumerAppOptions): Promise<ConsumerApp> {
  const { dir, packed } = options;
  await mkdir(dir, { recursive: true });
  const tarballName = `${packed.name}-${packed.version}.tgz`;
  await copyFile(packed.tarball, join(dir, tarballName));
  const dependencies = { ...options.dependencies, [packed.name]: `file:${tarballName}` };
  const manifest = {
    name: `consumer-${options.type}`,
    version: '1.0.0',
    private: true,
    type: options.type,
    dependencies,
    devDependencies: options.devDependencies,
    ...(packed.manifest.overrides === undefined ? {} : { overrides: packed.manifest.overrides }),
  };
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);

  const ownEntry: LockEntry = {
    version: packed.version,
    resolved: `file:${tarballName}`,
    integrity: packed.integrity,
    license: packed.manifest.license,
    dependencies: packed.manifest.dependencies,
    engines: packed.manifest.engines,
    peerDependencies: packed.manifest.peerDependencies,
    peerDependenciesMeta: packed.manifest.peerDependenciesMeta,
  };
  const others = { ...options.dependencies, ...options.devDependencies, ...packed.manifest.dependencies };
  const lock = {
    name: manifest.name,
    version: manifest.version,
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: manifest.name, version: manifest.version, dependencies, devDependencies: options.devDependencies },
      [`node_modules/${packed.name}`]: ownEntry,
      ...(await lockEntriesFor(others)),
    },
  };
  await writeFile(join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  await writeFile(join(dir, 'tsconfig.json'), `${JSON.stringify(options.tsconfig, null, 2)}\n`);

  const install = await run('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: dir, env: NPM_ENV, timeoutMs: 180_000 });
  const installOutput = `${install.stdout}${install.stderr}`;
  if (install.code !== 0) {
    throw new Error(
      `npm install --offline failed in ${dir}. It installs from the npm cache that this repository's ` +
        `npm install / npm ci filled; run one of them first.\n${installOutput}`,
    );
  }
  for (const [path, text] of options.files) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return { dir, installOutput };
}
