/**
 * A short reading of a V8 CPU profile (.cpuprofile): the functions with the
 * most self time, so the runner can say what bounded a scenario without
 * opening DevTools.
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
}

export interface HotFunction {
  /** `name (place:line)`; place is a package name or a path relative to the repository. */
  fn: string;
  selfPct: number;
  selfMs: number;
}

function place(url: string, root: string): string {
  if (url === '') return '';
  let u = url.startsWith('file://') ? decodeURIComponent(url.slice(7)) : url;
  const nm = u.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = u.slice(nm + 14).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (u.startsWith(root + '/')) u = u.slice(root.length + 1);
  return u;
}

/** The `top` functions by self time; idle time is left out of the percentages. */
export function hotFunctions(file: string, root: string, top = 12): { totalMs: number; idlePct: number; top: HotFunction[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byName = new Map<string, number>();
  let hits = 0;
  let idle = 0;
  for (const n of profile.nodes) {
    const h = n.hitCount ?? 0;
    if (h === 0) continue;
    hits += h;
    const name = n.callFrame.functionName || '(anonymous)';
    if (name === '(idle)') {
      idle += h;
      continue;
    }
    const where = place(n.callFrame.url, root);
    const key = where === '' ? name : `${name} (${where}:${n.callFrame.lineNumber + 1})`;
    byName.set(key, (byName.get(key) ?? 0) + h);
  }
  const totalMs = (profile.endTime - profile.startTime) / 1000;
  const busy = hits - idle;
  const msPerHit = hits > 0 ? totalMs / hits : 0;
  const list = [...byName.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([fn, h]) => ({ fn, selfPct: busy > 0 ? Math.round((h / busy) * 1000) / 10 : 0, selfMs: Math.round(h * msPerHit) }));
  return { totalMs, idlePct: hits > 0 ? Math.round((idle / hits) * 1000) / 10 : 0, top: list };
}
