import { scenarioFromSeed } from './sim/scenario.ts';
import { Simulation } from './sim/simulation.ts';
import { nodeSimEnvironment } from './cli/sim-environment.ts';
const env = nodeSimEnvironment();
const seed = Number(process.argv[2]);
const opts = JSON.parse(process.argv[5] ?? '{}');
const sc = scenarioFromSeed(seed, { faults: ['crash','restart','partition','loss'], ...opts });
const sim = new Simulation(sc, env) as any;
const from = Number(process.argv[3] ?? 0), to = Number(process.argv[4] ?? 1e9);
const orig = sim.onReplicaOutput.bind(sim);
sim.onReplicaOutput = (inst: any, out: any) => {
  if (out.kind === 'event' && sim.now >= from && sim.now <= to) {
    const e = out.event;
    if (e.type !== 'ignored' || !['status','prepare','commit','checkpoint'].includes(e.message.type)) if (!['pre-prepared','prepared','committed-local','executed','checkpoint','executed-tentatively'].includes(e.type)) console.log(sim.now, 'r'+inst.identity, e.type, e.view ?? e.newView ?? '', e.seq ?? '', e.reason ?? '', e.message ? e.message.type + ' from ' + e.from : '');
  }
  return orig(inst, out);
};
const origTL = sim.traceLine.bind(sim);
sim.traceLine = (l: any) => { if (typeof l === 'string' && sim.now >= from && sim.now <= to) console.log(l); return origTL(l); };
const r = sim.run();
console.log(r.ok, r.violations, r.livenessFailure);
