import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../cli/bench-command.ts';
import { UsageError } from '../cli/usage-error.ts';
import { runEchoBench } from './echo-bench.ts';
import { runLibp2pBench, spreadClients } from './libp2p-bench.ts';
import { runMemoryBench } from './memory-bench.ts';
import { percentiles, type BenchReport } from './report.ts';

const REPORT_FIELDS = [
  'opsPerSec',
  'latencyMsP50',
  'latencyMsP90',
  'latencyMsP99',
  'latencyMsMax',
  'batchSizeMean',
  'replicas',
  'clients',
  'durationS',
  'transport',
  'cpu',
  'memory',
];

function expectAllFields(report: BenchReport): void {
  const json = JSON.parse(JSON.stringify(report)) as Record<string, unknown>;
  for (const field of REPORT_FIELDS) expect(json, field).toHaveProperty(field);
}

describe('bench (memory transport)', () => {
  it.each([1, 4])(
    'runs %i closed-loop client(s) and reports every field',
    async (clients) => {
      const report = await runMemoryBench({
        replicas: 4,
        clients,
        durationS: 1,
        warmupS: 0.3,
        payload: clients === 1 ? 0 : 64,
        readRatio: 0,
      });
      expectAllFields(report);
      expect(report.transport).toBe('memory');
      expect(report.clients).toBe(clients);
      expect(report.ops).toBeGreaterThan(0);
      expect(report.opsPerSec).toBeGreaterThan(0);
      expect(report.batchSizeMean).toBeGreaterThanOrEqual(1);
      expect(report.latencyMsP50).toBeLessThanOrEqual(report.latencyMsMax);
    },
    20_000,
  );

  it('runs read-only requests too', async () => {
    const report = await runMemoryBench({
      replicas: 4,
      clients: 2,
      durationS: 0.5,
      warmupS: 0.2,
      payload: 0,
      readRatio: 1,
    });
    expect(report.ops).toBeGreaterThan(0);
  }, 20_000);
});

describe('bench (libp2p transport)', () => {
  it('spreads logical clients over 2 client processes, with read-only operations, and samples replica memory', async () => {
    const report = await runLibp2pBench(
      {
        replicas: 4,
        clients: 5,
        clientProcesses: 2,
        durationS: 1,
        warmupS: 0.3,
        payload: 0,
        readRatio: 0.5,
      },
      () => {},
    );
    expectAllFields(report);
    expect(report).toMatchObject({ transport: 'libp2p', replicas: 4, clients: 5, clientProcesses: 2 });
    expect(report.ops).toBeGreaterThan(0);
    expect(report.readOnlyOps).toBeGreaterThan(0);
    expect(report.processes!.map((p) => p.role)).toEqual([
      'replica 0',
      'replica 1',
      'replica 2',
      'replica 3',
      'clients 0',
      'clients 1',
    ]);
    for (const p of report.processes!) expect(p.rssEndMiB).toBeGreaterThan(0);
    const samples = report.memory.replicaRssSamples!;
    expect(samples.length).toBeGreaterThanOrEqual(2);
    expect(samples[0]!.atS).toBe(0);
    for (const sample of samples) expect(sample.rssMiB).toHaveLength(4);
  }, 120_000);

  it('spreads C clients over P processes as evenly as possible', () => {
    expect(spreadClients(1024, 2)).toEqual([512, 512]);
    expect(spreadClients(5, 3)).toEqual([2, 2, 1]);
  });
});

describe('bench (echo: the frame transport alone)', () => {
  it('keeps C frames in flight between two processes and stops after --ops', async () => {
    const report = await runEchoBench({
      replicas: 4,
      clients: 8,
      durationS: 30,
      ops: 2000,
      warmupS: 0.2,
      payload: 0,
      readRatio: 0,
    });
    expectAllFields(report);
    expect(report).toMatchObject({ transport: 'echo', clients: 8, payload: 100 });
    expect(report.ops).toBeGreaterThanOrEqual(2000);
    expect(report.durationS).toBeLessThan(30);
    expect(report.processes!.map((p) => p.role)).toEqual(['echo', 'pinger']);
  }, 60_000);
});

describe('bench arguments', () => {
  it('has defaults and rejects bad values', () => {
    expect(parseBenchArgs([])).toMatchObject({ replicas: 4, clients: 1, transport: 'memory', json: false });
    expect(() => parseBenchArgs(['--replicas', '5'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--clients', '0'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--read-ratio', '2'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--transport', 'udp'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--transport', 'libp2p', '--clients', '2', '--client-processes', '3'])).toThrow(
      UsageError,
    );
    expect(() => parseBenchArgs(['--client-processes', '2', '--clients', '4'])).toThrow(/for --transport libp2p/);
    expect(() => parseBenchArgs(['--ops', '0', '--transport', 'echo'])).toThrow(UsageError);
  });

  it('--record off starts the replicas without recording (libp2p only); on by default, as users run them', () => {
    expect(parseBenchArgs(['--transport', 'libp2p'])).toMatchObject({ record: true });
    expect(parseBenchArgs(['--transport', 'libp2p', '--record', 'off'])).toMatchObject({ record: false });
    expect(() => parseBenchArgs(['--transport', 'libp2p', '--record', 'no'])).toThrow(/on or off/);
    expect(() => parseBenchArgs(['--record', 'off'])).toThrow(/for --transport libp2p/);
  });

  it('--ops without --duration runs until the operations are done', () => {
    expect(parseBenchArgs(['--transport', 'libp2p', '--ops', '1000000'])).toMatchObject({
      ops: 1_000_000,
      durationS: 3600,
    });
    expect(parseBenchArgs(['--transport', 'libp2p', '--ops', '10', '--duration', '2'])).toMatchObject({
      ops: 10,
      durationS: 2,
    });
    expect(parseBenchArgs([])).toMatchObject({ durationS: 5, clientProcesses: 1 });
  });

  it('computes percentiles by rank', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentiles(samples)).toEqual({ p50: 50, p90: 90, p99: 99, max: 100 });
  });
});
