/**
 * Turns the runner's results into the comparison table (plain text for the
 * terminal, Markdown for bench/README.md): every scenario × server, ratios
 * of our server to raw ws and to Socket.IO, and the targets as pass/miss.
 */
export type ServerKind = 'raw-ws' | 'socketio' | 'channels' | 'channels-lp' | 'channels-tel';

export interface BenchResults {
  meta: {
    date: string;
    seconds: number;
    node: string;
    platform: string;
    cores: number;
    cpuModel: string;
    memoryGiB: number;
    versions: Record<string, string>;
    params: Record<string, unknown>;
  };
  results: Record<string, Record<string, Record<string, unknown>>>;
  /** A full run's measurement of the `--compare` set at its sizes: what `--compare` checks against. */
  compareRun?: { params: Record<string, unknown>; rounds: number; results: Record<string, Record<string, Record<string, unknown>>> };
}

type Cell = number | string | null;
type MainKind = Exclude<ServerKind, 'channels-lp' | 'channels-tel'>;

interface Row {
  scenario: string;
  metric: string;
  cells: Record<MainKind, Cell>;
  fmt: (v: number) => string;
  /** Show ratios of channels to the baselines on this row. */
  ratios: boolean;
  /** The scenario's results and the row's figure, for per-round ratios. */
  res?: Record<string, Record<string, unknown>>;
  pick?: (r: Record<string, unknown>) => unknown;
  /** The row's targets, each with its verdict: true pass, false miss, null not measurable. */
  targets?: Target[];
}

interface Target {
  text: string;
  ok: boolean | null;
}

/** A target on the ratio of channels to a baseline: `≥ min×` (higher is better) or `≤ max×` (lower is better). */
function atLeast(r: number | null, min: number, what: string): Target {
  return { text: `≥ ${min}× ${what}`, ok: r === null ? null : r >= min };
}
function atMost(r: number | null, max: number, what: string): Target {
  return { text: `≤ ${max}× ${what}`, ok: r === null ? null : r <= max };
}

/** The servers of the main table; channels-lp (our server over long-poll) and channels-tel (with telemetry subscribers) have their own. */
const KINDS: readonly ServerKind[] = ['raw-ws', 'socketio', 'channels'];
const LABEL: Record<ServerKind, string> = {
  'raw-ws': 'raw ws',
  socketio: 'Socket.IO',
  channels: 'channels',
  'channels-lp': 'channels long-poll',
  'channels-tel': 'channels, telemetry subscribed',
};

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

const rate = (v: number): string => (v >= 1e6 ? `${(v / 1e6).toFixed(2)}M/s` : v >= 1e4 ? `${(v / 1e3).toFixed(0)}k/s` : v >= 1e3 ? `${(v / 1e3).toFixed(1)}k/s` : `${v.toFixed(0)}/s`);
const ms = (v: number): string => `${v.toFixed(2)} ms`;
const us = (v: number): string => `${v.toFixed(1)} µs`;
const us3 = (v: number): string => `${v.toFixed(3)} µs`;

/**
 * Microseconds of server CPU (all its processes) per operation of the
 * measured window: the runner's own figure, or for results written before it
 * had one, the server's CPU percentage over the rate.
 */
export function cpuPerOp(r: Record<string, unknown>): number | null {
  const own = num(r['cpuUsPerOp']);
  if (own !== null) return own;
  const cpu = r['serverCpu'];
  const opsPerSecond = num(r['rate']);
  if (!Array.isArray(cpu) || opsPerSecond === null || opsPerSecond === 0) return null;
  const percent = (cpu as number[]).reduce((sum, x) => sum + x, 0);
  return ((percent / 100) * 1e6) / opsPerSecond;
}
const kib = (v: number): string => `${(v / 1024).toFixed(1)} KiB`;
const mb = (v: number): string => `${(v / 1048576).toFixed(0)} MB`;
const count = (v: number): string => v.toFixed(0);

/** A cell for one server: the metric, or why there is none. */
function cell(res: Record<string, Record<string, unknown>> | undefined, kind: string, pick: (r: Record<string, unknown>) => unknown): Cell {
  const r = res?.[kind];
  if (r === undefined) return null;
  if (typeof r['error'] === 'string') return 'error';
  if (typeof r['skipped'] === 'string') return 'skipped';
  const v = pick(r);
  return num(v) ?? (v === null ? 'incomplete' : null);
}

function ratio(a: Cell, b: Cell): number | null {
  return typeof a === 'number' && typeof b === 'number' && b !== 0 ? a / b : null;
}

/** A ratio of two servers over the rounds of one run: the median of the per-round ratios, and their spread. */
export interface RoundRatio {
  median: number;
  min: number;
  max: number;
  /** How many rounds had both figures. */
  n: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/**
 * `a`'s figure over `b`'s, round by round: the servers take turns within a
 * round, so the two figures of a round saw the same machine, while a server's
 * median round and the other's may not have. A result of one round (or from
 * before results kept their rounds) gives that one ratio.
 */
export function roundRatio(
  res: Record<string, Record<string, unknown>> | undefined,
  a: string,
  b: string,
  pick: (r: Record<string, unknown>) => unknown,
): RoundRatio | null {
  const ra = res?.[a];
  const rb = res?.[b];
  if (ra === undefined || rb === undefined || typeof ra['error'] === 'string' || typeof rb['error'] === 'string') return null;
  const one = (x: Record<string, unknown> | null | undefined, y: Record<string, unknown> | null | undefined): number | null => {
    if (x === null || x === undefined || y === null || y === undefined) return null;
    const u = num(pick(x));
    const v = num(pick(y));
    return u !== null && v !== null && v !== 0 ? u / v : null;
  };
  const pa = ra['perRound'];
  const pb = rb['perRound'];
  const ratios: number[] = [];
  if (Array.isArray(pa) && Array.isArray(pb)) {
    for (let i = 0; i < Math.min(pa.length, pb.length); i++) {
      const r = one(pa[i] as Record<string, unknown> | null, pb[i] as Record<string, unknown> | null);
      if (r !== null) ratios.push(r);
    }
  }
  if (ratios.length === 0) {
    const r = one(ra, rb);
    if (r !== null) ratios.push(r);
  }
  if (ratios.length === 0) return null;
  return { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), n: ratios.length };
}

function showRoundRatio(r: RoundRatio | null): string {
  if (r === null) return '—';
  return r.n > 1 ? `${r.median.toFixed(2)}× (${r.min.toFixed(2)}–${r.max.toFixed(2)})` : `${r.median.toFixed(2)}×`;
}

function buildRows(results: BenchResults['results']): Row[] {
  const rows: Row[] = [];
  const rateOf = (r: Record<string, unknown>): unknown => r['rate'];
  /** Median per-round ratio of channels to a baseline. */
  const to = (res: Record<string, Record<string, unknown>>, base: string, pick: (r: Record<string, unknown>) => unknown): number | null =>
    roundRatio(res, 'channels', base, pick)?.median ?? null;
  const fan = results['fanout'];
  if (fan !== undefined) {
    const cells = perKind(fan, rateOf);
    const toRaw = to(fan, 'raw-ws', rateOf);
    const toSio = to(fan, 'socketio', rateOf);
    rows.push({
      scenario: 'fanout',
      metric: 'deliveries/s',
      cells,
      fmt: rate,
      ratios: true,
      res: fan,
      pick: rateOf,
      targets: [atLeast(toRaw, 0.8, 'raw ws'), atLeast(toSio, 2, 'Socket.IO')],
    });
    rows.push({ scenario: 'fanout', metric: 'server CPU per delivery', cells: perKind(fan, cpuPerOp), fmt: us3, ratios: true, res: fan, pick: cpuPerOp });
  }
  const rr = results['reqreply'];
  if (rr !== undefined) {
    const cells = perKind(rr, rateOf);
    rows.push({
      scenario: 'reqreply',
      metric: 'replies/s',
      cells,
      fmt: rate,
      ratios: true,
      res: rr,
      pick: rateOf,
      targets: [atLeast(to(rr, 'raw-ws', rateOf), 0.95, 'raw ws'), atLeast(to(rr, 'socketio', rateOf), 2, 'Socket.IO')],
    });
    const p50 = (r: Record<string, unknown>): unknown => r['p50'];
    const p99 = (r: Record<string, unknown>): unknown => r['p99'];
    rows.push({ scenario: 'reqreply', metric: 'p50 latency', cells: perKind(rr, p50), fmt: ms, ratios: true, res: rr, pick: p50 });
    rows.push({
      scenario: 'reqreply',
      metric: 'p99 latency',
      cells: perKind(rr, p99),
      fmt: ms,
      ratios: true,
      res: rr,
      pick: p99,
      targets: [atMost(to(rr, 'raw-ws', p99), 1.1, 'raw ws')],
    });
    rows.push({
      scenario: 'reqreply',
      metric: 'server CPU per reply',
      cells: perKind(rr, cpuPerOp),
      fmt: us,
      ratios: true,
      res: rr,
      pick: cpuPerOp,
      targets: [atMost(to(rr, 'raw-ws', cpuPerOp), 1.0, 'raw ws')],
    });
  }
  const mem = results['memory'];
  if (mem !== undefined) {
    const rss = (r: Record<string, unknown>): unknown => r['rssPerConn'];
    const heap = (r: Record<string, unknown>): unknown => r['heapPerConn'];
    rows.push({
      scenario: 'memory',
      metric: 'RSS per idle joined conn',
      cells: perKind(mem, rss),
      fmt: kib,
      ratios: true,
      res: mem,
      pick: rss,
      targets: [atMost(to(mem, 'socketio', rss), 0.5, 'Socket.IO')],
    });
    rows.push({ scenario: 'memory', metric: 'heap per idle joined conn', cells: perKind(mem, heap), fmt: kib, ratios: true, res: mem, pick: heap });
  }
  const join = results['joinrate'];
  if (join !== undefined) {
    rows.push({
      scenario: 'joinrate',
      metric: 'connect+join/s',
      cells: perKind(join, rateOf),
      fmt: rate,
      ratios: true,
      res: join,
      pick: rateOf,
      targets: [atLeast(to(join, 'raw-ws', rateOf), 0.95, 'raw ws'), atLeast(to(join, 'socketio', rateOf), 2, 'Socket.IO')],
    });
    rows.push({
      scenario: 'joinrate',
      metric: 'server CPU per connect+join',
      cells: perKind(join, cpuPerOp),
      fmt: us,
      ratios: true,
      res: join,
      pick: cpuPerOp,
      targets: [atMost(to(join, 'raw-ws', cpuPerOp), 1.0, 'raw ws')],
    });
  }
  const cl = results['cluster'];
  if (cl !== undefined) {
    const variant = (key: string) => only(cell(cl, 'channels', (r) => (r[key] as Record<string, unknown> | undefined)?.['rate']));
    const local = variant('localNode');
    const one = variant('oneNode');
    const two = variant('twoNodes');
    const three = variant('threeNodes');
    const r = ratio(two.channels, one.channels);
    rows.push({ scenario: 'cluster', metric: 'deliveries/s, 1 node (LocalPubSub)', cells: local, fmt: rate, ratios: false });
    rows.push({ scenario: 'cluster', metric: 'deliveries/s, 1 node (Redis)', cells: one, fmt: rate, ratios: false });
    rows.push({
      scenario: 'cluster',
      metric: 'deliveries/s, 2 nodes (Redis)',
      cells: two,
      fmt: rate,
      ratios: false,
      targets: [{ text: `2 nodes ≥ 0.7× 1 node${r !== null ? ` (${r.toFixed(2)}×)` : ''}`, ok: r === null ? null : r >= 0.7 }],
    });
    rows.push({ scenario: 'cluster', metric: 'deliveries/s, 3 nodes (Redis)', cells: three, fmt: rate, ratios: false });
  }
  const slow = results['slow'];
  if (slow !== undefined) {
    const peak = perKind(slow, (r) => r['peakRss']);
    const growth = perKind(slow, (r) => r['growth']);
    const closed = perKind(slow, (r) => r['closed']);
    const ch = slow['channels'];
    let verdict: boolean | null = null;
    if (ch !== undefined && typeof ch['error'] !== 'string' && num(ch['growth']) !== null) {
      verdict = ch['exceededCap'] === false && num(ch['closed']) === num(ch['clients']) && (ch['growth'] as number) < (ch['volume'] as number);
    }
    rows.push({ scenario: 'slow', metric: 'server peak RSS', cells: peak, fmt: mb, ratios: false });
    rows.push({ scenario: 'slow', metric: 'peak RSS growth', cells: growth, fmt: mb, ratios: false, targets: [{ text: 'all slow clients closed, growth < volume', ok: verdict }] });
    rows.push({ scenario: 'slow', metric: 'slow clients closed', cells: closed, fmt: count, ratios: false });
  }
  return rows;
}

function perKind(res: Record<string, Record<string, unknown>>, pick: (r: Record<string, unknown>) => unknown): Record<MainKind, Cell> {
  return { 'raw-ws': cell(res, 'raw-ws', pick), socketio: cell(res, 'socketio', pick), channels: cell(res, 'channels', pick) };
}

function only(c: Cell): Record<MainKind, Cell> {
  return { 'raw-ws': null, socketio: null, channels: c };
}

function show(c: Cell, fmt: (v: number) => string): string {
  if (c === null) return '—';
  return typeof c === 'number' ? fmt(c) : c;
}

function showRatio(r: number | null): string {
  return r === null ? '—' : `${r.toFixed(2)}×`;
}

function verdictText(v: boolean | null | undefined): string {
  return v === undefined ? '' : v === null ? 'n/a' : v ? 'pass' : 'MISS';
}

function targetsText(targets: Target[] | undefined): [string, string] {
  if (targets === undefined || targets.length === 0) return ['', ''];
  return [targets.map((t) => t.text).join(', '), targets.map((t) => verdictText(t.ok)).join(', ')];
}

const HEAD = ['scenario', 'metric', LABEL['raw-ws'], LABEL.socketio, LABEL.channels, 'ch/raw', 'ch/sio', 'target', 'result'];

/** A row's ratio of channels to a baseline: per round where the row knows its results, else of the cells. */
function shownRatio(r: Row, base: MainKind): string {
  if (r.res !== undefined && r.pick !== undefined) return showRoundRatio(roundRatio(r.res, 'channels', base, r.pick));
  return showRatio(ratio(r.cells.channels, r.cells[base]));
}

function tableCells(rows: Row[]): string[][] {
  return rows.map((r) => [
    r.scenario,
    r.metric,
    show(r.cells['raw-ws'], r.fmt),
    show(r.cells.socketio, r.fmt),
    show(r.cells.channels, r.fmt),
    r.ratios ? shownRatio(r, 'raw-ws') : '',
    r.ratios ? shownRatio(r, 'socketio') : '',
    ...targetsText(r.targets),
  ]);
}

/** Server and generator CPU (percent of one core) for each measured window. */
function cpuCells(results: BenchResults['results']): string[][] {
  const out: string[][] = [];
  const fmt = (v: unknown): string => (Array.isArray(v) && v.length > 0 ? (v as number[]).map((x) => (x < 0 ? '?' : `${x}%`)).join(' + ') : '—');
  const pair = (r: Record<string, unknown> | undefined): string => {
    if (r === undefined) return '—';
    if (typeof r['error'] === 'string') return 'error';
    if (typeof r['skipped'] === 'string') return 'skipped';
    const srv = r['serverCpu'] === undefined ? '' : `server ${fmt(r['serverCpu'])}`;
    const gen = `gen ${fmt(r['genCpu'])}`;
    const others = typeof r['otherCpu'] === 'number' ? ` · others ${r['otherCpu']}%` : '';
    const bound = typeof r['bound'] === 'string' ? ` · bound: ${r['bound']}` : '';
    return srv === '' ? gen : `${srv} · ${gen}${others}${bound}`;
  };
  for (const scenario of ['fanout', 'reqreply', 'memory', 'joinrate']) {
    const res = results[scenario];
    if (res === undefined) continue;
    out.push([scenario, ...KINDS.map((k) => pair(res[k]))]);
  }
  const cl = results['cluster']?.['channels'];
  if (cl !== undefined && cl['oneNode'] !== undefined) {
    if (cl['localNode'] !== undefined) out.push(['cluster, 1 node local', '—', '—', pair(cl['localNode'] as Record<string, unknown>)]);
    out.push(['cluster, 1 node', '—', '—', pair(cl['oneNode'] as Record<string, unknown>)]);
    out.push(['cluster, 2 nodes', '—', '—', pair(cl['twoNodes'] as Record<string, unknown>)]);
    if (cl['threeNodes'] !== undefined) out.push(['cluster, 3 nodes', '—', '—', pair(cl['threeNodes'] as Record<string, unknown>)]);
  }
  return out;
}

/**
 * A variant of our server beside our plain WebSocket server, for the scenarios
 * that ran both: over long-poll (channels-lp), or with a listener on every
 * telemetry event (channels-tel).
 */
function variantCells(results: BenchResults['results'], variant: string): string[][] {
  const out: string[][] = [];
  const metrics: Array<[string, string, (r: Record<string, unknown>) => unknown, (v: number) => string]> = [
    ['fanout', 'deliveries/s', (r) => r['rate'], rate],
    ['fanout', 'server CPU per delivery', cpuPerOp, us3],
    ['reqreply', 'replies/s', (r) => r['rate'], rate],
    ['reqreply', 'p50 latency', (r) => r['p50'], ms],
    ['reqreply', 'p99 latency', (r) => r['p99'], ms],
    // On a shared machine the rate follows the load of others; the server's CPU time per reply much less.
    ['reqreply', 'server CPU per reply', cpuPerOp, us],
    ['joinrate', 'connect+join/s', (r) => r['rate'], rate],
    ['joinrate', 'server CPU per connect+join', cpuPerOp, us],
  ];
  for (const [scenario, metric, pick, fmt] of metrics) {
    const res = results[scenario];
    if (res?.[variant] === undefined) continue;
    const ws = cell(res, 'channels', pick);
    const other = cell(res, variant, pick);
    const cpu = (r: Record<string, unknown> | undefined): string =>
      Array.isArray(r?.['serverCpu']) ? (r['serverCpu'] as number[]).map((x) => `${x}%`).join(' + ') : '—';
    out.push([scenario, metric, show(ws, fmt), show(other, fmt), showRoundRatio(roundRatio(res, variant, 'channels', pick)), metric.endsWith('/s') ? `${cpu(res['channels'])} / ${cpu(res[variant])}` : '']);
  }
  return out;
}

function plain(head: string[], body: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function markdownTable(head: string[], body: string[][]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  return [`| ${head.map(esc).join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...body.map((r) => `| ${r.map(esc).join(' | ')} |`)].join('\n');
}

function notes(results: BenchResults['results'], rows: Row[]): string[] {
  const out: string[] = [];
  for (const [scenario, res] of Object.entries(results)) {
    for (const [kind, r] of Object.entries(res)) {
      if (typeof r['error'] === 'string') out.push(`${scenario} / ${kind}: error: ${(r['error'] as string).split('\n')[0]}`);
      if (typeof r['skipped'] === 'string') out.push(`${scenario} / ${kind}: skipped: ${r['skipped']}`);
      if (r['complete'] === false) out.push(`${scenario} / ${kind}: incomplete: ${r['deliveries']} of ${r['expected']} deliveries before the deadline`);
      if (typeof r['failedJoins'] === 'number' && r['failedJoins'] > 0) out.push(`${scenario} / ${kind}: ${r['failedJoins']} connects/joins failed (${r['firstError'] ?? ''})`);
    }
  }
  for (const r of rows) {
    for (const t of r.targets ?? []) {
      if (t.ok !== false) continue;
      out.push(
        `MISS ${r.scenario} ${r.metric} (${t.text}): profile both with \`npm run bench -- --scenarios ${r.scenario} --servers raw-ws,channels --profile ${r.scenario}\``,
      );
    }
  }
  return out;
}

export function renderReport(results: BenchResults): { text: string; markdown: string } {
  const m = results.meta;
  const rows = buildRows(results.results);
  const body = tableCells(rows);
  const cpuHead = ['CPU (% of one core)', LABEL['raw-ws'], LABEL.socketio, LABEL.channels];
  const cpu = cpuCells(results.results);
  const versions = Object.entries(m.versions)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const p = m.params as {
    rounds?: number;
    workers: number;
    concurrency: number;
    fanout: { n: number; m: number; size: number };
    reqreply: { clients: number; seconds: number; size: number };
    memory: { n: number };
    joinrate: { n: number };
    cluster: { n: number; m: number };
    slow: { clients: number; mb: number; msgSize: number };
  };
  const ran = (name: string): boolean => results.results[name] !== undefined;
  const params = [
    ran('fanout') ? `fanout ${p.fanout.n} subscribers × ${p.fanout.m} msgs of ${p.fanout.size} B` : '',
    ran('reqreply') ? `reqreply ${p.reqreply.clients} clients × ${p.reqreply.seconds} s` : '',
    ran('memory') ? `memory ${p.memory.n} conns` : '',
    ran('joinrate') ? `joinrate ${p.joinrate.n} conns, ${p.concurrency} in flight` : '',
    ran('cluster') ? `cluster ${p.cluster.n} × ${p.cluster.m}` : '',
    ran('slow') ? `slow ${p.slow.clients} clients, ${p.slow.mb} MB in ${p.slow.msgSize} B msgs` : '',
    `${p.workers} load workers`,
  ]
    .filter((x) => x !== '')
    .join('; ');
  const header = [
    `Measured ${m.date} in ${m.seconds.toFixed(0)} s · Node ${m.node} · ${m.cores} cores (${m.cpuModel}), ${m.memoryGiB} GiB · ${m.platform}`,
    `Versions: ${versions}`,
    `Parameters: ${params}`,
    ...((p.rounds ?? 1) > 1
      ? [
          `${p.rounds} rounds, the servers taking turns within each: a server's figures are its median round; a ratio is the median of the ${p.rounds} ratios within a round (min–max over the rounds in brackets)`,
        ]
      : []),
  ];
  const noteLines = notes(results.results, rows);
  const lpHead = ['long-poll', 'metric', 'channels WebSocket', LABEL['channels-lp'], 'lp/ws', 'server CPU ws / lp'];
  const lp = variantCells(results.results, 'channels-lp');
  const telHead = ['telemetry', 'metric', 'channels, no subscriber', LABEL['channels-tel'], 'on/off', 'server CPU off / on'];
  const tel = variantCells(results.results, 'channels-tel');
  const guardHead = ['enhancers', 'metric', 'channels', 'channels, guard + ValidationPipe', 'with/without', 'server CPU without / with'];
  const guard = variantCells(results.results, 'channels-guarded');
  const presHead = ['Presence', 'metric', 'channels', 'channels, each join tracked', 'with/without', 'server CPU without / with'];
  const pres = variantCells(results.results, 'channels-presence');
  const refHead = ['another build', 'metric', 'channels', 'channels-ref', 'ref/this', 'server CPU this / ref'];
  const ref = variantCells(results.results, 'channels-ref');
  const tables: Array<[string[], string[][]]> = [
    [lpHead, lp],
    [telHead, tel],
    [guardHead, guard],
    [presHead, pres],
    [refHead, ref],
  ];
  const lpText = tables.flatMap(([head, body]) => (body.length > 0 ? ['', plain(head, body)] : []));
  const lpMarkdown = tables.flatMap(([head, body]) => (body.length > 0 ? ['', markdownTable(head, body)] : []));
  const text = [
    ...header,
    '',
    plain(HEAD, body),
    '',
    plain(cpuHead, cpu),
    ...lpText,
    ...(noteLines.length > 0 ? ['', ...noteLines] : []),
  ].join('\n');
  const markdown = [
    ...header.map((h) => `${h}  `),
    '',
    markdownTable(HEAD, body),
    '',
    markdownTable(cpuHead, cpu),
    ...lpMarkdown,
    ...(noteLines.length > 0 ? ['', ...noteLines.map((n) => `- ${n}`)] : []),
  ].join('\n');
  return { text, markdown };
}

// ---------------------------------------------------------------- --compare

/** One ratio of channels to raw ws that `--compare` checks: `higher` when a bigger ratio is better. */
interface Checked {
  scenario: string;
  metric: string;
  pick: (r: Record<string, unknown>) => number | null;
  higher: boolean;
  /**
   * Why the ratio follows the machine rather than the code (a rate, a
   * latency, RSS): it is judged only when its per-round ratios held still in
   * both runs (max/min within `COMPARE_STEADY`); otherwise shown, not judged.
   */
  whenSteady?: string;
  /** Why the ratio is shown and never judged: it moved past 15% between runs of the same code. */
  never?: string;
}

const LOAD = 'on 2 cores shared with other work it follows that work';

const CHECKED: readonly Checked[] = [
  { scenario: 'fanout', metric: 'deliveries/s', pick: (r) => num(r['rate']), higher: true, whenSteady: LOAD },
  {
    scenario: 'fanout',
    metric: 'server CPU per delivery',
    pick: cpuPerOp,
    higher: false,
    never:
      'it moved from 0.67× to 0.89× between two runs of the same code: raw ws hands each burst to the kernel at once, and how much of the loopback delivery is billed to it (89–135 % of a core) depends on the readers; deliveries/s guards fanout',
  },
  { scenario: 'reqreply', metric: 'replies/s', pick: (r) => num(r['rate']), higher: true, whenSteady: LOAD },
  { scenario: 'reqreply', metric: 'p99 latency', pick: (r) => num(r['p99']), higher: false, whenSteady: LOAD },
  { scenario: 'reqreply', metric: 'server CPU per reply', pick: cpuPerOp, higher: false },
  {
    scenario: 'memory',
    metric: 'RSS per idle joined conn',
    pick: (r) => num(r['rssPerConn']),
    higher: false,
    whenSteady: 'RSS moves with what the allocator keeps after GC (0.61–0.92× over rounds of the same code); heap per connection guards memory',
  },
  { scenario: 'memory', metric: 'heap per idle joined conn', pick: (r) => num(r['heapPerConn']), higher: false },
  { scenario: 'joinrate', metric: 'connect+join/s', pick: (r) => num(r['rate']), higher: true, whenSteady: LOAD },
  { scenario: 'joinrate', metric: 'server CPU per connect+join', pick: cpuPerOp, higher: false },
];

/** A load-bound ratio is judged only when its per-round ratios span at most this factor (max/min) in both runs. */
export const COMPARE_STEADY = 1.3;

/** How much worse a ratio may get before `--compare` fails: 15%. */
export const COMPARE_TOLERANCE = 0.15;

/**
 * `npm run bench -- --compare`: the ratios of channels to raw ws of this run
 * beside those of `baseline`, each the median of its per-round ratios. A
 * ratio is worse by `1 - now/then` when higher is better, `1 - then/now`
 * when lower is (CPU, latency, memory); more than 15% worse fails. A ratio
 * missing on either side, or one marked not judged, is shown and not judged.
 */
export function compareWithBaseline(now: BenchResults, baseline: BenchResults, baselineName: string): { ok: boolean; text: string } {
  const head = ['scenario', 'metric', 'better', `ch/raw ${baselineName}`, 'ch/raw now', 'change', 'result'];
  const body: string[][] = [];
  const reasons: string[] = [];
  let ok = true;
  // The baseline's own run of the --compare set (same sizes); a results file from before it had one gives its full-size ratios.
  const then0 = baseline.compareRun?.results ?? baseline.results;
  for (const c of CHECKED) {
    if (now.results[c.scenario] === undefined) continue;
    const then = roundRatio(then0[c.scenario], 'channels', 'raw-ws', c.pick);
    const current = roundRatio(now.results[c.scenario], 'channels', 'raw-ws', c.pick);
    let change = '—';
    let verdict = 'not judged';
    if (then !== null && current !== null && then.median > 0 && current.median > 0) {
      const kept = c.higher ? current.median / then.median : then.median / current.median;
      change = `${kept >= 1 ? '+' : ''}${((kept - 1) * 100).toFixed(1)}%`;
      const pass = kept >= 1 - COMPARE_TOLERANCE;
      const unsteady = [then, current].find((r) => r.n < 3 || r.max / r.min > COMPARE_STEADY);
      if (c.never !== undefined) {
        verdict = `not judged (${pass ? 'within' : 'past'} 15%)`;
        reasons.push(`${c.scenario} ${c.metric}: never judged: ${c.never}`);
      } else if (c.whenSteady !== undefined && unsteady !== undefined) {
        verdict = `not judged (${pass ? 'within' : 'past'} 15%)`;
        reasons.push(
          `${c.scenario} ${c.metric}: not judged: its per-round ratios ${unsteady.n < 3 ? `come from ${unsteady.n} round(s)` : `span ${(unsteady.max / unsteady.min).toFixed(2)}× (over ${COMPARE_STEADY}×)`} in ${unsteady === then ? 'the baseline' : 'this run'}, and ${c.whenSteady}`,
        );
      } else {
        verdict = pass ? 'ok' : 'WORSE';
        if (!pass) ok = false;
      }
    }
    body.push([c.scenario, c.metric, c.higher ? 'higher' : 'lower', showRoundRatio(then), showRoundRatio(current), change, verdict]);
  }
  const m = baseline.meta;
  const lines = [
    `Compared with ${baselineName} (measured ${m.date}, ${m.cores} cores, ${baseline.compareRun !== undefined ? 'its run of this same --compare set' : 'its full-size run: it has no run of the --compare set, so fanout and memory ratios are not like for like'}):`,
    'each ratio of channels to raw ws is the median of the ratios within a round (min–max over the rounds in brackets);',
    `a change is how much better (+) or worse (-) the median got; worse by more than ${COMPARE_TOLERANCE * 100}% fails.`,
    '',
    plain(head, body),
    ...(reasons.length > 0 ? ['', ...reasons] : []),
    '',
    ok
      ? `compare: ok, no judged ratio is more than 15% worse than the baseline (${body.filter((r) => r[6] === 'ok').length} judged)`
      : 'compare: FAILED, a ratio is more than 15% worse than the baseline; run it again to rule out a noisy minute, then profile with --profile <scenario>',
  ];
  return { ok, text: lines.join('\n') };
}
