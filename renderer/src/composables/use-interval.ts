import { onScopeDispose } from 'vue';

/** Call `fn` every `ms` (and once at once with `immediate`) until the calling scope is disposed. */
export function useInterval(fn: () => void, ms: number, options: { immediate?: boolean } = {}): void {
  if (options.immediate) fn();
  const timer = setInterval(fn, ms);
  onScopeDispose(() => clearInterval(timer));
}
