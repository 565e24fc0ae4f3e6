/**
 * The load-and-faults run (`npm run soak -- --faults`): clients churning
 * (connect, join 5 topics, chat, leave, reconnect) across three app nodes on
 * RedisPubSub, while one node is killed with SIGKILL and Redis is restarted
 * once. Redis is a throwaway redis-server on a free port (never the shared
 * one), the nodes are soak apps (test/soak/soak-app.ts) in their own
 * processes, and the clients live in load worker processes on the light
 * client (faults-worker.ts, chat-conn.ts), which report their own CPU.
 *
 * What a subscriber should receive, and which losses are counted apart, is
 * defined in faults-analysis.ts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { nowMs } from '../common/ipc.js';
import { cpuSecondsOf, sleep, statusBytesOf } from '../common/proc.js';
import { SoakApp } from '../../test/soak/app-process.js';
import { RedisServer, uniquePrefix } from '../../test/support/redis-server.js';
import { analyzeFaults, type FaultsAnalysis, type FaultWindows } from './faults-analysis.js';
import type { FaultsWorkerResult, FaultsWorkerStart } from './faults-data.js';

const WORKER = fileURLToPath(new URL('./faults-worker.js', import.meta.url));

export interface FaultsOptions {
  clients: number;
  nodes: number;
  workers: number;
  durationS: number;
  topics: number;
  topicsPerClient: number;
  /** When (seconds into the run) the last node is killed with SIGKILL. */
  killAtS: number;
  /** When Redis is stopped, and for how long. */
  redisStopAtS: number;
  redisDownS: number;
  graceMs: number;
  seed: number;
  rampS: number;
  connectedS: readonly [number, number];
  publishEveryS: readonly [number, number];
  pauseS: readonly [number, number];
  progress: (line: string) => void;
}

export const FAULTS_DEFAULTS: Omit<FaultsOptions, 'progress' | 'seed'> = {
  clients: 2000,
  nodes: 3,
  workers: 2,
  durationS: 60,
  topics: 400,
  topicsPerClient: 5,
  killAtS: 20,
  redisStopAtS: 35,
  redisDownS: 3,
  graceMs: 2000,
  rampS: 5,
  connectedS: [5, 15],
  publishEveryS: [2, 6],
  pauseS: [0.2, 1],
};

export interface NodeFigures {
  name: string;
  killed: boolean;
  /** Highest RSS seen (VmHWM, and samples every 500 ms), bytes. */
  peakRss: number;
  cpuS: number;
  /** Unhandled rejections and uncaught exceptions it counted (null: killed before asked). */
  problems: number | null;
  /** Milliseconds from Redis answering again to this node's PubSub being back (null: never, or killed). */
  pubsubBackMs: number | null;
}

export interface FaultsReport {
  options: Omit<FaultsOptions, 'progress'>;
  startedAt: string;
  wallS: number;
  machine: { cores: number; cpu: string; memGiB: number; node: string; loadAvg: number[] };
  windows: FaultWindows;
  redis: { stoppedAt: number; answeringAt: number };
  nodes: NodeFigures[];
  workers: { cpuS: number; wallS: number }[];
  analysis: FaultsAnalysis;
}

function forkWorker(): ChildProcess {
  return fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
}

function workerResult(child: ChildProcess, timeoutMs: number): Promise<FaultsWorkerResult> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`a faults worker sent no result within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('message', (message: { ok: boolean; result?: FaultsWorkerResult; error?: string }) => {
      clearTimeout(timer);
      if (message.ok) resolve(message.result!);
      else reject(new Error(`a faults worker failed: ${message.error}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`a faults worker exited (${code ?? signal}) before its result`));
    });
  });
}

function sinceOrNull(at: number | null, from: number): number | null {
  return at === null ? null : at - from;
}

async function sleepUntil(at: number): Promise<void> {
  const wait = at - nowMs();
  if (wait > 0) await sleep(wait);
}

export async function runFaults(options: FaultsOptions): Promise<FaultsReport> {
  const say = options.progress;
  const startedAt = new Date().toISOString();
  const redis = await RedisServer.start();
  const prefix = uniquePrefix('faults');
  say(`redis-server on port ${redis.port} (throwaway); starting ${options.nodes} nodes`);
  const nodes: SoakApp[] = [];
  const workers: ChildProcess[] = [];
  const peak = new Map<SoakApp, number>();
  const samplePeak = (node: SoakApp): void => {
    const now = Math.max(statusBytesOf(node.pid, 'VmHWM') ?? 0, statusBytesOf(node.pid, 'VmRSS') ?? 0);
    if (now > (peak.get(node) ?? 0)) peak.set(node, now);
  };
  const sampler = setInterval(() => {
    for (const node of nodes) if (node.isAlive) samplePeak(node);
  }, 500);
  try {
    for (let i = 0; i < options.nodes; i++) {
      nodes.push(await SoakApp.start(`node${i}`, { pubsub: 'redis', redisUrl: redis.url, keyPrefix: prefix, node: `node${i}` }));
    }
    const cpu0 = nodes.map((node) => cpuSecondsOf(node.pid) ?? 0);
    const cpuAtEnd = new Map<SoakApp, number>();

    const t0 = nowMs() + 500;
    const until = t0 + options.durationS * 1000;
    const perWorker = Math.ceil(options.clients / options.workers);
    const results: Promise<FaultsWorkerResult>[] = [];
    for (let w = 0; w < options.workers; w++) {
      const child = forkWorker();
      workers.push(child);
      results.push(workerResult(child, options.durationS * 1000 + 90_000));
      const start: FaultsWorkerStart = {
        cmd: 'start',
        ports: nodes.map((node) => node.port),
        first: w * perWorker,
        count: Math.min(perWorker, options.clients - w * perWorker),
        topics: options.topics,
        topicsPerClient: options.topicsPerClient,
        seed: options.seed + w,
        until,
        rampMs: options.rampS * 1000,
        connectedMs: [options.connectedS[0] * 1000, options.connectedS[1] * 1000],
        publishEveryMs: [options.publishEveryS[0] * 1000, options.publishEveryS[1] * 1000],
        pauseMs: [options.pauseS[0] * 1000, options.pauseS[1] * 1000],
      };
      child.send(start);
    }
    say(`${options.clients} clients on ${options.workers} workers for ${options.durationS} s`);

    // The node kill.
    await sleepUntil(t0 + options.killAtS * 1000);
    const victim = nodes[options.nodes - 1]!;
    samplePeak(victim);
    cpuAtEnd.set(victim, cpuSecondsOf(victim.pid) ?? 0);
    const killAt = nowMs();
    await victim.kill();
    say(`SIGKILL ${victim.name} at ${((killAt - t0) / 1000).toFixed(1)} s`);

    // The Redis restart.
    await sleepUntil(t0 + options.redisStopAtS * 1000);
    const stoppedAt = nowMs();
    await redis.stop();
    await sleep(options.redisDownS * 1000);
    await redis.start();
    const answeringAt = nowMs();
    say(`Redis stopped at ${((stoppedAt - t0) / 1000).toFixed(1)} s, answering again at ${((answeringAt - t0) / 1000).toFixed(1)} s`);
    const survivors = nodes.filter((node) => node !== victim);
    const backAt = (node: SoakApp): number | null => node.pubsubEdges.find((edge) => edge.connected && edge.at > stoppedAt)?.at ?? null;
    const deadline = nowMs() + 30_000;
    while (survivors.some((node) => backAt(node) === null) && nowMs() < deadline) await sleep(50);
    const recovered = survivors.map(backAt);
    say(`PubSub back on every surviving node ${recovered.every((at) => at !== null) ? `${Math.round(Math.max(...recovered.map((at) => at! - answeringAt)))} ms after Redis answered` : 'NOT within 30 s'}`);

    const workerResults = await Promise.all(results);
    for (const node of survivors) {
      samplePeak(node);
      cpuAtEnd.set(node, cpuSecondsOf(node.pid) ?? 0);
    }
    const problems = await Promise.all(nodes.map((node) => (node.isAlive ? node.stats(false).then((stats) => stats.problemCount) : Promise.resolve(null))));

    const windows: FaultWindows = {
      kill: { node: options.nodes - 1, at: killAt },
      redis: { down: stoppedAt, recovered: recovered.every((at) => at !== null) ? Math.max(...(recovered as number[])) : null },
      graceMs: options.graceMs,
    };
    const { progress: _progress, ...recorded } = options;
    return {
      options: recorded,
      startedAt,
      wallS: (nowMs() - t0) / 1000,
      machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model ?? 'unknown', memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, loadAvg: os.loadavg() },
      windows,
      redis: { stoppedAt, answeringAt },
      nodes: nodes.map((node, i) => ({
        name: node.name,
        killed: node === victim,
        peakRss: peak.get(node) ?? 0,
        cpuS: (cpuAtEnd.get(node) ?? 0) - cpu0[i]!,
        problems: problems[i] ?? null,
        pubsubBackMs: node === victim ? null : sinceOrNull(backAt(node), answeringAt),
      })),
      workers: workerResults.map((result) => ({ cpuS: result.cpuUs / 1e6, wallS: result.wallMs / 1000 })),
      analysis: analyzeFaults(workerResults, options.nodes, windows),
    };
  } finally {
    clearInterval(sampler);
    for (const child of workers) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await Promise.all(nodes.map((node) => node.close()));
    await redis.stop();
  }
}

const mb = (bytes: number): string => `${Math.round(bytes / 2 ** 20)} MB`;
const pct = (part: number, whole: number): string => (whole === 0 ? '—' : `${((part / whole) * 100).toFixed(2)}%`);
const ms = (value: number | null): string => (value === null ? '—' : `${Math.round(value)} ms`);

/** The markdown section bench/README.md shows (between its faults markers). */
export function renderFaults(report: FaultsReport): string {
  const { options: o, analysis: a, machine } = report;
  const victim = report.nodes.find((node) => node.killed);
  const lines: string[] = [];
  lines.push(
    `Measured ${report.startedAt} · Node ${machine.node} · ${machine.cores} cores (${machine.cpu}), ${machine.memGiB} GiB · load average at the end ${machine.loadAvg.map((x) => x.toFixed(1)).join(' ')} (a shared machine: other work ran beside it)  `,
    `Run: ${o.clients} clients over ${o.nodes} nodes on RedisPubSub (a throwaway redis-server), ${o.topics} topics, ${o.topicsPerClient} per client, ${o.durationS} s; each client connects, joins ${o.topicsPerClient} topics, sends a message every ${o.publishEveryS[0]}–${o.publishEveryS[1]} s to one of them, leaves after ${o.connectedS[0]}–${o.connectedS[1]} s and reconnects to the next node after ${o.pauseS[0]}–${o.pauseS[1]} s; ${victim?.name ?? 'a node'} SIGKILLed at ${o.killAtS} s, Redis stopped at ${o.redisStopAtS} s and started again ${o.redisDownS} s later; grace ${o.graceMs / 1000} s; seed ${o.seed}  `,
    '',
    '| node | subscribers (memberships) | should receive | delivered | lost | lowest per subscriber | in fault windows: should / delivered / lost | peak RSS | CPU |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const row of a.rows) {
    const node = report.nodes[row.node]!;
    const name = node.killed ? `${node.name} (SIGKILLed; up to the kill)` : node.name;
    lines.push(
      `| ${name} | ${row.memberships} | ${row.steady.should} | ${row.steady.delivered} | ${row.steady.lost} | ${pct(row.minRatio, 1)} | ${row.inWindows.should} / ${row.inWindows.delivered} / ${row.inWindows.lost} | ${mb(node.peakRss)} | ${node.cpuS.toFixed(1)} s |`,
    );
  }
  const s = a.survivors;
  lines.push(
    `| **surviving nodes** | ${s.memberships} | ${s.steady.should} | ${s.steady.delivered} | **${s.steady.lost}** | ${pct(s.minRatio, 1)} | ${s.inWindows.should} / ${s.inWindows.delivered} / ${s.inWindows.lost} (${pct(s.inWindows.lost, s.inWindows.should)} lost) |  |  |`,
    '',
    '| figure | value |',
    '| --- | --- |',
    `| messages sent (answered ok) | ${a.publishes.ok}; refused while Redis was away: ${a.publishes.refused}; unanswered (connection gone): ${a.publishes.unanswered} |`,
    `| broadcasts received | ${a.received} |`,
    `| duplicates | **${a.duplicates}** |`,
    `| reconnect after the kill (drop → every topic joined again) | max ${ms(a.reconnects.maxMs)}, p50 ${ms(a.reconnects.p50Ms)}, p99 ${ms(a.reconnects.p99Ms)} over ${a.reconnects.back} of ${a.reconnects.drops} dropped clients |`,
    `| PubSub back after Redis answered again | ${report.nodes.filter((node) => !node.killed).map((node) => `${node.name} ${ms(node.pubsubBackMs)}`).join(', ')} |`,
    `| delivery latency (send → receipt) | p50 ${ms(a.latency.p50Ms)}, p99 ${ms(a.latency.p99Ms)}, max ${ms(a.latency.maxMs)} |`,
    `| connections opened | ${a.connections} (connect failures, mostly to the dead node: ${a.connectFailures}) |`,
    `| joins refused · channels ended by the server unasked | ${a.joinsRefused} · ${a.unexpectedChannelEnds} |`,
    `| unhandled rejections on the nodes | ${report.nodes.map((node) => `${node.name} ${node.problems ?? '— (killed)'}`).join(', ')} |`,
    `| load generator CPU | ${report.workers.map((worker, i) => `worker ${i + 1}: ${worker.cpuS.toFixed(1)} s (${pct(worker.cpuS, worker.wallS)} of one core)`).join(', ')} |`,
  );
  return lines.join('\n');
}

/** What must hold for the run to pass: no loss outside the fault windows, no duplicate, every node that survived healthy. */
export function checkFaults(report: FaultsReport): string[] {
  const failed: string[] = [];
  const { analysis: a } = report;
  if (a.survivors.steady.lost !== 0) failed.push(`${a.survivors.steady.lost} messages lost outside the fault windows`);
  if (a.duplicates !== 0) failed.push(`${a.duplicates} duplicates (${a.duplicateSamples.join('; ')})`);
  if (a.survivors.steady.should === 0) failed.push('no subscriber had anything to receive: the run did not run');
  for (const node of report.nodes) {
    if (node.problems !== null && node.problems !== 0) failed.push(`${node.name}: ${node.problems} unhandled rejections`);
    if (!node.killed && node.pubsubBackMs === null) failed.push(`${node.name}: PubSub never came back after the Redis restart`);
  }
  if (a.reconnects.back < a.reconnects.drops) failed.push(`${a.reconnects.drops - a.reconnects.back} dropped clients never got back on every topic`);
  return failed;
}
