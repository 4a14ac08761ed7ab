// @vitest-environment happy-dom
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it } from 'vitest';
import { RoomSimulation, type RoomSimScenario } from '../../../../core/host/room-sim.ts';
import { useConnectionStore } from '../../stores/connection.ts';
import { FakeLabApi } from '../../test-support/fake-lab-api.ts';
import RoomView from './index.vue';

let wrapper: VueWrapper | null = null;

/** The Room tab over the state of a simulated run (the same RoomModel the observers use). */
async function mountRoom(scenario: RoomSimScenario): Promise<VueWrapper> {
  const sim = new RoomSimulation({ scenario });
  for (let i = 0; i < 30; i++) sim.run(200);
  const api = new FakeLabApi();
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

  it("hosts the instructor's Exercises panel: pick, start, the checks pending, a hint to run it on the cluster", async () => {
    const w = await mountRoom('silent-primary');
    const panel = w.get('[data-testid=exercises-panel]');
    await panel.get('[data-testid=exercise-select]').setValue('silent-primary');
    expect(panel.text()).toContain('pbft-lab exercise run silent-primary');
    await panel.get('[data-testid=exercise-start]').trigger('click');
    expect(panel.get('[data-testid=exercise-step-title]').text()).toBe('Step 1 of 3: Normal operation');
    expect(panel.findAll('[data-testid=exercise-check]').map((c) => c.attributes('data-state'))).toEqual(
      Array(5).fill('pending'),
    );
    await panel.get('[data-testid=exercise-advance]').trigger('click');
    expect(panel.get('[data-testid=exercise-step-title]').text()).toContain('The primary goes silent');
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
