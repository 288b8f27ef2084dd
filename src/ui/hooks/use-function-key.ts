import { useEffect } from 'react';
import { useStdin } from 'ink';

const F1 = /^\u001b(?:OP|\[11~|\[\[A|\[1?P)$/;

/**
 * F1. ink's useInput reports function keys with no name and no flag, so the raw input is read from the event
 * emitter ink itself reads stdin through (an internal of ink 6; the only way short of a second stdin reader).
 */
export function useF1(onF1: () => void): void {
  const { internal_eventEmitter: inputEvents } = useStdin();
  useEffect(() => {
    const onRaw = (data: string): void => {
      if (F1.test(data)) onF1();
    };
    inputEvents?.on('input', onRaw);
    return () => {
      inputEvents?.off('input', onRaw);
    };
  }, [inputEvents, onF1]);
}
