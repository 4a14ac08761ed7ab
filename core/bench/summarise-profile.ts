/**
 * Top self-time functions of a V8 .cpuprofile (node --cpu-prof): each sample's time delta is
 * charged to the node it landed in; nodes are grouped by function, file and line.
 * Usage: node core/bench/summarise-profile.ts FILE.cpuprofile [TOP]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { functionName: string; url: string; lineNumber: number };
}

interface Profile {
  readonly nodes: ProfileNode[];
  readonly samples: number[];
  readonly timeDeltas: number[];
}

export function topSelfTime(profile: Profile, top: number): { name: string; ms: number; percent: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  let all = 0;
  profile.samples.forEach((id, i) => {
    const delta = profile.timeDeltas[i] ?? 0;
    const frame = byId.get(id)?.callFrame;
    const file = frame?.url.replace(/^file:\/\/.*?\/(core|node_modules)\//, '$1/') ?? '';
    const name = frame
      ? `${frame.functionName || '(anonymous)'} ${file}${file ? `:${frame.lineNumber + 1}` : ''}`
      : '?';
    totals.set(name, (totals.get(name) ?? 0) + delta);
    all += delta;
  });
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([name, us]) => ({ name, ms: us / 1000, percent: (100 * us) / all }));
}

if (import.meta.main) {
  const [file, top = '15'] = process.argv.slice(2);
  if (!file) throw new Error('usage: node core/bench/summarise-profile.ts FILE.cpuprofile [TOP]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  for (const row of topSelfTime(profile, Number(top)))
    process.stdout.write(`${row.ms.toFixed(0).padStart(7)} ms ${row.percent.toFixed(1).padStart(5)}%  ${row.name}\n`);
}
