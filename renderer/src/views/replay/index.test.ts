// @vitest-environment happy-dom
import { flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScrubState, ScrubSummary } from '../../../../core/record/scrub-types.ts';
import type { ReplaySource } from '../../api/replay.ts';
import { positionAtOrBefore } from '../../stores/replay-position.ts';
import { useReplayStore } from '../../stores/replay.ts';
import { fakeSnapshot } from '../../test-support/fake-lab-api.ts';
import ReplayView from './index.vue';

/** A run of 4 replicas in 6 steps: replica 0 goes silent, view 1 is installed at step index 40. */
const SUMMARY: ScrubSummary = {
  name: 'run.jsonl',
  n: 4,
  source: 'demo',
  clock: 'wall',
  exercise: 'silent-primary',
  steps: [3, 10, 20, 30, 40, 50],
  replay: { ok: true, entries: 60, takes: 20, divergence: null },
  startW: 1000,
  endW: 2000,
  chapters: [
    { step: 'warm-up', index: 3 },
    { step: 'silence', index: 20 },
  ],
  seqs: [
    { seq: 1, index: 10 },
    { seq: 2, index: 30 },
  ],
  verdicts: [
    { check: 0, title: 'Every correct replica installs view 1', ok: true, detail: 'after 1.5 s', witness: 40 },
    { check: 1, title: 'The client gets every result', ok: false, detail: 'client 0: 2 of 3 accepted' },
  ],
};

function stateAt(index: number): ScrubState {
  const view = index >= 40 ? 1 : 0;
  return {
    index,
    w: 1000 + index * 10,
    replicas: [0, 1, 2, 3].map((r) => fakeSnapshot({ selfId: r, view, lastExecuted: Math.floor(index / 10) })),
  };
}

function fakeSource(): ReplaySource & { asked: number[] } {
  const asked: number[] = [];
  return {
    asked,
    summary: async () => SUMMARY,
    events: async () => [
      { index: 20, replica: 0, w: 1200, type: 'behaviour', view: null, seq: null, text: 'Byzantine: silent' },
    ],
    state: async (index) => {
      asked.push(index);
      return stateAt(index);
    },
  };
}

let wrapper: VueWrapper | null = null;
afterEach(() => {
  wrapper?.unmount();
  wrapper = null;
});

async function mountReplay(source = fakeSource()) {
  const pinia = createPinia();
  setActivePinia(pinia);
  await useReplayStore().load(source);
  wrapper = mount(ReplayView, { global: { plugins: [pinia] } });
  await flushPromises();
  return { wrapper, source };
}

describe('the scrubbing view', () => {
  it("shows every replica at the step and the chosen one's View, Checkpoints and Log panels", async () => {
    const { wrapper } = await mountReplay();
    expect(wrapper.get('[data-testid=replay-title]').text()).toContain('silent-primary');
    expect(wrapper.get('[data-testid=replay-status]').text()).toBe('replay matches the recording');
    expect(wrapper.findAll('[data-testid=replay-replica-row]')).toHaveLength(4);
    expect(wrapper.get('[data-testid=view-number]').text()).toBe('0');
    expect(wrapper.get('[data-testid=position]').text()).toContain('step 1 / 6');
  });

  it("steps, jumps to a check's witness and to a sequence number, and goes back", async () => {
    const { wrapper, source } = await mountReplay();
    await wrapper.get('[data-testid=step-forward]').trigger('click');
    await flushPromises();
    expect(source.asked.at(-1)).toBe(10);
    const witness = wrapper.findAll('[data-testid=witness]');
    expect(witness).toHaveLength(1);
    await witness[0]!.trigger('click');
    await flushPromises();
    expect(source.asked.at(-1)).toBe(40);
    expect(wrapper.get('[data-testid=view-number]').text()).toBe('1');
    await wrapper.get('[data-testid=seq-input]').setValue('2');
    await wrapper.get('form').trigger('submit');
    await flushPromises();
    expect(source.asked.at(-1)).toBe(30);
    await wrapper.get('[data-testid=step-back]').trigger('click');
    await flushPromises();
    expect(source.asked.at(-1)).toBe(20);
    expect(wrapper.findAll('[data-testid=verdict]').map((v) => v.attributes('data-ok'))).toEqual(['true', 'false']);
  });

  it('space plays and pauses; a replica row chooses the panels', async () => {
    const { wrapper } = await mountReplay();
    window.dispatchEvent(new KeyboardEvent('keydown', { key: ' ' }));
    expect(useReplayStore().playing).toBe(true);
    window.dispatchEvent(new KeyboardEvent('keydown', { key: '.' }));
    expect(useReplayStore().playing).toBe(false);
    await wrapper.findAll('[data-testid=replay-replica-row]')[2]!.trigger('click');
    expect(useReplayStore().selected).toBe(2);
  });

  it('maps a replay index to the step at or before it', () => {
    expect(positionAtOrBefore(SUMMARY.steps, 3)).toBe(0);
    expect(positionAtOrBefore(SUMMARY.steps, 25)).toBe(2);
    expect(positionAtOrBefore(SUMMARY.steps, 99)).toBe(5);
    expect(positionAtOrBefore(SUMMARY.steps, 0)).toBe(0);
  });
});
