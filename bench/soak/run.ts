/**
 * `npm run soak` (scripts/soak.sh → this file, from dist/):
 *
 *   npm run soak                    the fuzz soak (100,000 frames) and the churn (50,000 join/leave and
 *                                   20,000 connect/disconnect cycles, on LocalPubSub and on RedisPubSub)
 *   npm run soak -- --faults        the load-and-faults run; its table goes into bench/README.md
 *
 * Options: --frames N and --pubsub local|redis (fuzz), --seed N, --only fuzz|churn; for the faults run --clients N, --duration S,
 * --kill-at S and --redis-at S (when the node is killed and Redis stopped),
 * --no-readme (faults: leave bench/README.md alone). It exits non-zero when a check fails.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { SoakApp } from '../../test/soak/app-process.js';
import { CHURN_MODULE_OPTIONS, checkChurnReport, describeChurnReport, runChurn, type ChurnOptions } from '../../test/soak/churn.js';
import { checkFuzzReport, describeFuzzReport, runFuzzSoak } from '../../test/soak/fuzz-soak.js';
import { REDIS_URL, uniquePrefix } from '../../test/support/redis-server.js';
import { checkFaults, FAULTS_DEFAULTS, renderFaults, runFaults } from './faults.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : Number(process.argv[at + 1]);
}

function optionText(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : process.argv[at + 1];
}

const say = (line: string): void => console.log(line);

function writeJson(name: string, value: unknown): void {
  const dir = path.join(root, 'bench/results');
  if (!existsSync(dir)) mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
}

function verdict(title: string, failed: string[]): boolean {
  if (failed.length === 0) {
    say(`${title}: every check passed`);
    return true;
  }
  say(`${title}: FAILED`);
  for (const line of failed) say(`  - ${line}`);
  return false;
}

async function fuzz(seed: number): Promise<boolean> {
  const frames = option('frames', 100_000);
  const onRedis = optionText('pubsub') === 'redis';
  say(`\n== fuzz soak: ${frames} frames on ${onRedis ? 'RedisPubSub' : 'LocalPubSub'} ==`);
  const app = await SoakApp.start('fuzz-soak-app', onRedis ? { pubsub: 'redis', redisUrl: REDIS_URL, keyPrefix: uniquePrefix('soak-fuzz') } : {});
  try {
    const report = await runFuzzSoak(app, {
      frames,
      warmupFrames: Math.max(10_000, Math.round(frames / 10)),
      lanes: 50,
      chatClients: 8,
      chatTopics: 4,
      topicsPerClient: 2,
      chatIntervalMs: 50,
      seed,
      maxAbandoned: 40,
      progress: say,
    });
    for (const line of describeFuzzReport(report)) say(line);
    writeJson('soak-fuzz-latest.json', report);
    return verdict('fuzz soak', checkFuzzReport(report, frames));
  } finally {
    await app.close();
  }
}

async function churn(): Promise<boolean> {
  let ok = true;
  const options: ChurnOptions = { joinLeaveCycles: 50_000, connectCycles: 20_000, lanes: 20, progress: say };
  say('\n== churn on LocalPubSub ==');
  const local = await SoakApp.start('churn-app', { moduleOptions: CHURN_MODULE_OPTIONS });
  try {
    const report = await runChurn(local, options);
    for (const line of describeChurnReport(report)) say(line);
    ok = verdict('churn (LocalPubSub)', checkChurnReport(report, options)) && ok;
  } finally {
    await local.close();
  }
  say('\n== churn on RedisPubSub ==');
  const prefix = uniquePrefix('soak-churn');
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  const onRedis = await SoakApp.start('churn-redis-app', { pubsub: 'redis', redisUrl: REDIS_URL, keyPrefix: prefix, moduleOptions: CHURN_MODULE_OPTIONS });
  try {
    const redisOptions: ChurnOptions = { ...options, redisChannels: () => redis.pubsub('CHANNELS', `${prefix}*`) as Promise<string[]> };
    const report = await runChurn(onRedis, redisOptions);
    for (const line of describeChurnReport(report)) say(line);
    ok = verdict('churn (RedisPubSub)', checkChurnReport(report, redisOptions)) && ok;
  } finally {
    await onRedis.close();
    await redis.quit();
  }
  return ok;
}

const README_BEGIN = '<!-- soak:faults:begin -->';
const README_END = '<!-- soak:faults:end -->';

async function faults(seed: number): Promise<boolean> {
  say('\n== load and faults ==');
  const report = await runFaults({
    ...FAULTS_DEFAULTS,
    clients: option('clients', FAULTS_DEFAULTS.clients),
    durationS: option('duration', FAULTS_DEFAULTS.durationS),
    killAtS: option('kill-at', FAULTS_DEFAULTS.killAtS),
    redisStopAtS: option('redis-at', FAULTS_DEFAULTS.redisStopAtS),
    seed,
    progress: say,
  });
  const table = renderFaults(report);
  say(table);
  writeJson('soak-faults-latest.json', report);
  if (!flag('no-readme')) {
    const readme = path.join(root, 'bench/README.md');
    const text = readFileSync(readme, 'utf8');
    const begin = text.indexOf(README_BEGIN);
    const end = text.indexOf(README_END);
    if (begin < 0 || end < begin) say(`bench/README.md has no ${README_BEGIN} … ${README_END} markers; the table was not written`);
    else {
      writeFileSync(readme, `${text.slice(0, begin + README_BEGIN.length)}\n${table}\n${text.slice(end)}`);
      say('written to bench/README.md');
    }
  }
  return verdict('load and faults', checkFaults(report));
}

async function main(): Promise<void> {
  const seed = option('seed', Date.now() % 1_000_000_000);
  const only = optionText('only');
  let ok: boolean;
  if (flag('faults')) ok = await faults(seed);
  else {
    ok = true;
    if (only === undefined || only === 'fuzz') ok = (await fuzz(seed)) && ok;
    if (only === undefined || only === 'churn') ok = (await churn()) && ok;
  }
  process.exit(ok ? 0 : 1);
}

main().catch((error: unknown) => {
  console.error((error as Error)?.stack ?? String(error));
  process.exit(1);
});
