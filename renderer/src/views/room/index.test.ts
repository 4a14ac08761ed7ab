// @vitest-environment happy-dom
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it } from 'vitest';
import type { RoomExerciseStatus } from '../../../../core/host/lab-api.ts';
import { RoomSimulation, type RoomSimScenario } from '../../../../core/host/room-sim.ts';
import { useConnectionStore } from '../../stores/connection.ts';
import { FakeLabApi } from '../../test-support/fake-lab-api.ts';
import RoomView from './index.vue';

let wrapper: VueWrapper | null = null;

/** The Room tab over the state of a simulated run (the same RoomModel the observers use). */
async function mountRoom(scenario: RoomSimScenario, api = new FakeLabApi()): Promise<VueWrapper> {
  const sim = new RoomSimulation({ scenario });
  for (let i = 0; i < 30; i++) sim.run(200);
  api.roomValue = sim.model.state();
  const pinia = createPinia();
  setActivePinia(pinia);
  useConnectionStore().attach(api, 'websocket');
  wrapper = mount(RoomView, { global: { plugins: [pinia] } });
  await flushPromises();
  return wrapper;
}

afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
});

describe('the Room tab', () => {
  it('shows four replicas, four lanes and paired arrows; a silent primary explained, the checker quiet', async () => {
    const w = await mountRoom('silent-primary');
    for (let r = 0; r < 4; r++) expect(w.find(`[data-testid=room-replica-${r}]`).exists()).toBe(true);
    expect(w.find('[data-testid=room-replica-0] [data-testid=room-replica-behaviour]').text()).toContain('silent');
    expect(w.findAll('[data-testid=room-arrow]').length).toBeGreaterThan(10);
    expect(w.get('[data-testid=room-view-change-headline]').text()).toMatch(/suspected primary r0.*new primary is r1/s);
    expect(w.get('[data-testid=room-check-agreement]').attributes('data-status')).toBe('ok');
    expect(w.get('[data-testid=room-faulty-so-far]').text()).toMatch(/faulty so far: 1 of f = 1.*within the bound/s);
  });

  it("hosts the instructor's Exercises panel: without the members' dashboards it steps here and says what it needs", async () => {
    const w = await mountRoom('silent-primary');
    const panel = w.get('[data-testid=exercises-panel]');
    await panel.get('[data-testid=exercise-select]').setValue('silent-primary');
    expect(panel.get('[data-testid=exercise-needs]').text()).toMatch(/pbft-lab room --member-urls URL0,URL1/);
    await panel.get('[data-testid=exercise-start]').trigger('click');
    expect(panel.get('[data-testid=exercise-step-title]').text()).toBe('Step 1 of 3: Normal operation');
    expect(panel.findAll('[data-testid=exercise-check]').map((c) => c.attributes('data-state'))).toEqual(
      Array(5).fill('pending'),
    );
    await panel.get('[data-testid=exercise-advance]').trigger('click');
    expect(panel.get('[data-testid=exercise-step-title]').text()).toContain('The primary goes silent');
  });

  it("runs the exercise on the members through the room's roomExercise call: start, the step, next, the verdicts", async () => {
    const api = new FakeLabApi();
    const idle: RoomExerciseStatus = {
      commands: true,
      needs: null,
      members: ['http://127.0.0.1:7400/', 'http://127.0.0.1:7401/', 'http://127.0.0.1:7402/', 'http://127.0.0.1:7403/'],
      running: false,
      progress: null,
    };
    api.roomExerciseStatus = idle;
    const w = await mountRoom('silent-primary', api);
    const panel = w.get('[data-testid=exercises-panel]');
    expect(panel.get('[data-testid=exercise-on-cluster]').text()).toBe('on the replicas');
    await panel.get('[data-testid=exercise-select]').setValue('silent-primary');
    const running = (stepIndex: number, waitingFor: string): RoomExerciseStatus => ({
      ...idle,
      running: true,
      progress: { exerciseId: 'silent-primary', stepIndex, waitingFor, done: false },
    });
    api.roomExerciseStatus = running(-1, 'the start');
    await panel.get('[data-testid=exercise-start]').trigger('click');
    await flushPromises();
    expect(api.callsOf('roomExercise')).toContainEqual([{ kind: 'start', exerciseId: 'silent-primary' }]);
    const states = () => panel.findAll('[data-testid=exercise-check]').map((c) => c.attributes('data-state'));
    expect(states()).toEqual(Array(5).fill('pending'));

    // The session moves on; the panel learns it from the room's next status.
    api.roomExerciseStatus = running(1, 'a view change to view 1 (at most 15 s)');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await flushPromises();
    expect(panel.get('[data-testid=exercise-step-title]').text()).toContain('Step 2 of 3: The primary goes silent');
    expect(panel.get('[data-testid=exercise-waiting-for]').text()).toContain('a view change to view 1');
    await panel.get('[data-testid=exercise-advance]').trigger('click');
    await flushPromises();
    expect(api.callsOf('roomExercise')).toContainEqual([{ kind: 'advance' }]);
    // Students on the room's screen still step nowhere by themselves: only the room's reports move the panel.
    expect(panel.get('[data-testid=exercise-step-title]').text()).toContain('Step 2 of 3');

    const verdicts = [0, 1, 2, 3, 4].map((check) => ({
      check,
      title: `check ${check}`,
      ok: check !== 3,
      detail: check === 3 ? 'replica 2 executed nothing after the view change' : `check ${check} held`,
    }));
    api.roomExerciseStatus = {
      ...idle,
      progress: { exerciseId: 'silent-primary', stepIndex: 2, done: true, verdicts, replayOk: true },
    };
    await new Promise((resolve) => setTimeout(resolve, 500));
    await flushPromises();
    expect(states()).toEqual(['pass', 'pass', 'pass', 'fail', 'pass']);
    expect(panel.text()).toContain('replica 2 executed nothing after the view change');
    expect(panel.text()).toContain('What happened');
    // Nothing the page holds carries a member's token.
    expect(w.html()).not.toMatch(/token=/);
  });

  it("stops a run on the instructor's word, and shows why it ended", async () => {
    const api = new FakeLabApi();
    const base: RoomExerciseStatus = { commands: true, needs: null, members: [], running: false, progress: null };
    api.roomExerciseStatus = {
      ...base,
      running: true,
      progress: { exerciseId: 'partition-heal', stepIndex: 1, done: false },
    };
    const w = await mountRoom('honest', api);
    const panel = w.get('[data-testid=exercises-panel]');
    expect((panel.get('[data-testid=exercise-select]').element as HTMLSelectElement).value).toBe('partition-heal');
    api.roomExerciseStatus = {
      ...base,
      progress: { exerciseId: 'partition-heal', stepIndex: 1, done: true, error: 'stopped by the instructor' },
    };
    await panel.get('[data-testid=exercise-stop]').trigger('click');
    await flushPromises();
    expect(api.callsOf('roomExercise')).toContainEqual([{ kind: 'stop' }]);
    expect(panel.text()).toContain('stopped by the instructor');
    expect(panel.find('[data-testid=exercise-start]').exists()).toBe(true);
  });

  it('names the culprits when f+1 collude', async () => {
    const w = await mountRoom('equivocation-coalition');
    const check = w.get('[data-testid=room-check-agreement]');
    expect(check.attributes('data-status')).toBe('violated');
    expect(check.get('[data-testid=room-check-culprits]').text()).toBe('names r0, r1');
    // Issue 19: the room counts the colluders against f from their signed histories.
    expect(w.get('[data-testid=room-faulty-so-far]').text()).toMatch(/faulty so far: 2 of f = 1.*beyond PBFT's bound/s);
    expect(w.findAll('[data-testid=room-log-differs]').length).toBeGreaterThan(0);
  });
});
