// @vitest-environment happy-dom
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { beforeEach, describe, expect, it } from 'vitest';
import { useExerciseStore } from '../../stores/exercise.ts';
import ExercisesPanel from './exercises-panel.vue';

beforeEach(() => setActivePinia(createPinia()));

const mountPanel = (mode: 'student' | 'instructor') =>
  mount(ExercisesPanel, { props: { mode }, global: { plugins: [createPinia()] } });

describe('the Exercises panel', () => {
  it('students pick an exercise, read the step and answer its questions before the fault', async () => {
    const wrapper = mountPanel('student');
    const store = useExerciseStore();
    await wrapper.get('[data-testid=exercise-select]').setValue('silent-primary');
    expect(wrapper.text()).toContain(store.exercise!.goal);
    await wrapper.get('[data-testid=exercise-start]').trigger('click');
    expect(wrapper.get('[data-testid=exercise-step-title]').text()).toBe('Step 1 of 3: Normal operation');
    await wrapper.get('[data-testid=exercise-advance]').trigger('click');
    expect(wrapper.get('[data-testid=exercise-step-title]').text()).toContain('The primary goes silent');
    expect(wrapper.findAll('[data-testid=exercise-question]')).toHaveLength(2);
    await wrapper.get('input[name=next-primary][value="1"]').setValue(true);
    expect(store.answers['next-primary']).toBe('1');
    await wrapper.get('[data-testid=exercise-advance]').trigger('click');
    await wrapper.get('[data-testid=exercise-advance]').trigger('click');
    expect(store.status).toBe('done');
    expect(wrapper.text()).toContain('What happened');
  });

  it('the instructor sees every check pending, then green or red as the verdicts come in', async () => {
    const wrapper = mountPanel('instructor');
    const store = useExerciseStore();
    store.select('corrupt-replies');
    let started = '';
    store.controller = { start: async (id) => void (started = id), advance: async () => {} };
    await wrapper.get('[data-testid=exercise-start]').trigger('click');
    expect(started).toBe('corrupt-replies');
    const states = () => wrapper.findAll('[data-testid=exercise-check]').map((c) => c.attributes('data-state'));
    expect(states()).toEqual(['pending', 'pending', 'pending', 'pending']);
    store.setProgress({
      stepIndex: 0,
      done: true,
      verdicts: [
        { check: 0, title: 'x', ok: true, detail: 'replica 2 sent 10 wrong results' },
        { check: 2, title: 'y', ok: false, detail: 'replica 1 started a view change' },
      ],
    });
    await wrapper.vm.$nextTick();
    expect(states()).toEqual(['pass', 'pending', 'fail', 'pending']);
    expect(wrapper.text()).toContain('replica 2 sent 10 wrong results');
  });
});
