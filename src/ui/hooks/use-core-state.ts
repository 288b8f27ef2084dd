import { useSyncExternalStore } from 'react';
import type { CoreState } from '../../chat/types.js';
import type { UiCore } from '../types.js';

/** The core's current state snapshot; re-renders when the core publishes a new one. */
export function useCoreState(core: UiCore): CoreState {
  return useSyncExternalStore(
    (onChange) => core.subscribe(() => onChange()),
    () => core.getState(),
  );
}
