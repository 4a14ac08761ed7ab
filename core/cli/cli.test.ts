/** The `pbft-lab` command line: wrong input gives a clear error and exit code 2; sim prints its summary. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ClusterKey } from '../net/cluster-key.ts';
import { clientCommand } from './client-command.ts';
import { parseReplicaArgs } from './replica-command.ts';
import { roomCommand } from './room-command.ts';
import { parseFaults, parseSeeds, simCommand } from './sim-command.ts';
import { UsageError } from './usage-error.ts';

const bin = fileURLToPath(new URL('../../bin/pbft-lab.mjs', import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('pbft-lab sim arguments', () => {
  it('parses seed ranges and rejects bad ones', () => {
    expect(parseSeeds('1..1000')).toEqual({ from: 1, to: 1000 });
    expect(parseSeeds('7')).toEqual({ from: 7, to: 7 });
    expect(() => parseSeeds('10..1')).toThrow(UsageError);
    expect(() => parseSeeds('a..b')).toThrow(/--seeds wants A..B/);
  });

  it('parses fault kinds', () => {
    expect(parseFaults(undefined)).toEqual(['crash', 'restart', 'partition', 'loss']);
    expect(parseFaults('none')).toEqual([]);
    expect(parseFaults('crash,loss')).toEqual(['crash', 'loss']);
    expect(() => parseFaults('crash,meteor')).toThrow(/unknown fault "meteor"/);
  });

  it('--json ends with one JSON object carrying the summary fields', () => {
    const lines: string[] = [];
    const code = simCommand(['--seeds', '1..3', '--json'], (l) => lines.push(l));
    expect(code).toBe(0);
    const summary = JSON.parse(lines.at(-1)!);
    for (const key of [
      'runs',
      'safetyViolations',
      'livenessFailures',
      'committedOps',
      'failedSeeds',
      'viewChanges',
      'stateTransfers',
    ]) {
      expect(summary).toHaveProperty(key);
    }
    expect(summary.runs).toBe(3);
  });

  it('--replicas accepts only 4, 7 or 10', () => {
    expect(() => simCommand(['--seed', '1', '--replicas', '5'], () => {})).toThrow(/must be one of 4, 7, 10/);
  });
});

describe('pbft-lab sim with Byzantine replicas', () => {
  it('--list-behaviours prints the catalogue as JSON with ids, descriptions and what to observe', () => {
    const lines: string[] = [];
    expect(simCommand(['--list-behaviours'], (l) => lines.push(l))).toBe(0);
    const catalogue = JSON.parse(lines.join('\n')) as { id: string; description: string; observe: string }[];
    expect(catalogue.map((b) => b.id)).toContain('equivocate');
    expect(catalogue.every((b) => b.description && b.observe)).toBe(true);
  });

  it('refuses an unknown behaviour, and --behaviour without --faulty', () => {
    expect(() => simCommand(['--seed', '1', '--faulty', '1', '--behaviour', 'nice'], () => {})).toThrow(
      /unknown "nice"/,
    );
    expect(() => simCommand(['--seed', '1', '--behaviour', 'silent'], () => {})).toThrow(/needs --faulty/);
  });

  it('--expect-violation passes only when the checkers find one', () => {
    const args = ['--seeds', '1..2', '--replicas', '4', '--faults', 'none', '--json'];
    expect(
      simCommand([...args, '--faulty', '2', '--behaviour', 'equivocation-coalition', '--expect-violation'], () => {}),
    ).toBe(0);
    expect(simCommand([...args, '--faulty', '1', '--behaviour', 'silent', '--expect-violation'], () => {})).toBe(1);
  });
});

describe('the pbft-lab binary', () => {
  it('exits 2 with the usage on an unknown verb or flag', () => {
    const verb = run('frobnicate');
    expect(verb.status).toBe(2);
    expect(verb.stderr).toContain('unknown verb "frobnicate"');
    const flag = run('sim', '--seeds', '1..2', '--colour', 'blue');
    expect(flag.status).toBe(2);
    expect(flag.stderr).toContain("Unknown option '--colour'");
  });

  it('runs a sweep and prints a one-line summary', () => {
    const out = run('sim', '--seeds', '1..2', '--faults', 'none');
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/^2 runs, 0 safety violations, 0 liveness failures/);
  });
});

describe('pbft-lab help (issue 15, point 4)', () => {
  it.each(['replica', 'demo', 'client', 'room', 'sim', 'exercise', 'record', 'replay', 'export', 'bench'])(
    '%s: "VERB --help", "VERB -h" and "help VERB" print that verb\'s usage, exit 0',
    (verb) => {
      for (const out of [run(verb, '--help'), run('help', verb), run(verb, '-h')]) {
        expect(out.status).toBe(0);
        expect(out.stdout).toMatch(new RegExp(`^usage: pbft-lab ${verb} `));
        expect(out.stdout).not.toMatch(/^verbs:/m);
        expect(out.stderr).not.toContain('usage');
      }
    },
  );

  it('a usage error prints the usage of its verb only', () => {
    const out = run('client', '--frobnicate');
    expect(out.status).toBe(2);
    expect(out.stderr).toContain("Unknown option '--frobnicate'");
    expect(out.stderr).toContain('usage: pbft-lab client');
    expect(out.stderr).not.toContain('usage: pbft-lab sim');
    expect(out.stderr).not.toContain('verbs:');
  });

  it('"help" alone lists the verbs and says how to get one verb\'s options', () => {
    const out = run('help');
    expect(out.status).toBe(0);
    expect(out.stdout).toMatch(/^verbs:/m);
    expect(out.stdout).toContain('pbft-lab help VERB');
  });
});

describe('pbft-lab exercise, replay and export (issue 16)', () => {
  it('lists the exercises, as text and as JSON', () => {
    const json = run('exercise', 'list', '--json');
    expect(json.status).toBe(0);
    const list = JSON.parse(json.stdout) as { id: string; live: string }[];
    expect(list.length).toBeGreaterThanOrEqual(10);
    expect(list.find((e) => e.id === 'colluding-replicas')!.live).toBe('simulator-only');
    expect(run('exercise', 'list').stdout).toMatch(/^silent-primary +A silent primary and the view change$/m);
  });

  it('runs one as a seeded simulation: exit 0 when every check passes; the run file replays and exports', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pbft-lab-cli-'));
    try {
      const out = run('exercise', 'run', 'normal-case', '--sim', '--out', join(dir, 'run.jsonl'));
      expect(out.status, out.stdout + out.stderr).toBe(0);
      expect(out.stdout).toMatch(/^6 of 6 checks passed$/m);
      const replay = run('replay', join(dir, 'run.jsonl'));
      expect(replay.status).toBe(0);
      expect(replay.stdout).toMatch(/every output and state digest matched/);
      const exported = run(
        'export',
        join(dir, 'run.jsonl'),
        '--shiviz',
        join(dir, 'run.shiviz'),
        '--report',
        join(dir, 'r.md'),
      );
      expect(exported.status, exported.stderr).toBe(0);
      expect(exported.stdout).toContain('(?<host>\\S+) (?<clock>');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unknown exercise is one clear line and exit 1; run without --sim or --urls is a usage error', () => {
    const unknown = run('exercise', 'show', 'teleportation');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/^pbft-lab: no exercise "teleportation" \(known: normal-case, /);
    const neither = run('exercise', 'run', 'normal-case');
    expect(neither.status).toBe(2);
    expect(neither.stderr).toContain('give exactly one of --sim and --urls');
  });
});

describe('pbft-lab replica and client: the cluster key', () => {
  it('a replica needs --new-cluster or --cluster-key CODE on first start, and a code that checks out', () => {
    expect(() => parseReplicaArgs(['--data-dir', 'd', '--new-cluster', '--cluster-key', 'X'])).toThrow(/at most one/);
    expect(() => parseReplicaArgs(['--data-dir', 'd', '--cluster-key', 'ABCD-EFGH'])).toThrow(
      /--cluster-key: a join code has 56 letters and digits/,
    );
    const key = ClusterKey.generate();
    const parsed = parseReplicaArgs(['--data-dir', 'd', '--cluster-key', key.joinCode.toLowerCase()]);
    expect(parsed.clusterKey instanceof ClusterKey && parsed.clusterKey.equals(key)).toBe(true);
    expect(parseReplicaArgs(['--data-dir', 'd', '--new-cluster']).clusterKey).toBe('new');
    expect(parseReplicaArgs(['--data-dir', 'd']).clusterKey).toBe('stored');
  });

  it('a client needs the join code', async () => {
    await expect(clientCommand(['--no-cache', 'list'], () => {})).rejects.toThrow(/--cluster-key CODE is required/);
  });
});

describe('pbft-lab room --member-urls', () => {
  it("wants every replica's dashboard URL with its token, and never prints a token it refuses", async () => {
    const room = (...args: string[]) => roomCommand(['--no-cache', '--open-cluster', ...args], () => {});
    await expect(room('--member-urls', 'http://127.0.0.1:7400/?token=s3cret')).rejects.toThrow(
      /give all 4 replicas' dashboards, got 1/,
    );
    await expect(room('--member-urls', 'http://127.0.0.1:7400/,a,b,c')).rejects.toThrow(
      /each is a dashboard URL with its token/,
    );
    await expect(room('--member-urls', 'nonsense?token=s3cret')).rejects.toThrow(/not a URL: "nonsense\?token=…"/);
    await expect(
      room('--simulate', 'honest', '--member-urls', [0, 1, 2, 3].map((k) => `http://h${k}/?token=t`).join(',')),
    ).rejects.toThrow(/not --simulate/);
  });
});

describe('pbft-lab client arguments', () => {
  it('--read-only is for operations that do not write', async () => {
    await expect(clientCommand(['--read-only', 'write', '/a', 'b'], () => {})).rejects.toThrow(
      /--read-only is for read, list and stat, not write/,
    );
  });
});
