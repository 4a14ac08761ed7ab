import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from '../cli/bench-command.ts';
import { UsageError } from '../cli/usage-error.ts';
import { runMemoryBench } from './memory-bench.ts';
import { percentiles } from './report.ts';

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
      const json = JSON.parse(JSON.stringify(report)) as Record<string, unknown>;
      for (const field of [
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
      ])
        expect(json, field).toHaveProperty(field);
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

describe('bench arguments', () => {
  it('has defaults and rejects bad values', () => {
    expect(parseBenchArgs([])).toMatchObject({ replicas: 4, clients: 1, transport: 'memory', json: false });
    expect(() => parseBenchArgs(['--replicas', '5'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--clients', '0'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--read-ratio', '2'])).toThrow(UsageError);
    expect(() => parseBenchArgs(['--transport', 'udp'])).toThrow(UsageError);
  });

  it('computes percentiles by rank', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentiles(samples)).toEqual({ p50: 50, p90: 90, p99: 99, max: 100 });
  });
});
