import { useEffect, useState } from 'react';

export interface TerminalSize {
  cols: number;
  rows: number;
}

/** The terminal's size, following resizes. */
export function useTerminalSize(stdout: NodeJS.WriteStream): TerminalSize {
  const [size, setSize] = useState<TerminalSize>(() => ({ cols: stdout.columns || 80, rows: stdout.rows || 24 }));
  useEffect(() => {
    const onResize = (): void => setSize({ cols: stdout.columns || 80, rows: stdout.rows || 24 });
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  }, [stdout]);
  return size;
}
