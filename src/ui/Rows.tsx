import { Box } from 'ink';
import { SegRow } from './SegRow.js';
import type { Row } from './text.js';

/** A fixed block of rows: exactly `height` rows of at most `width` columns, so the screen never overflows. */
export function Rows({
  rows,
  width,
  height,
  noColor,
}: {
  rows: Row[];
  width: number;
  height: number;
  noColor: boolean;
}) {
  const shown = rows.slice(0, height);
  while (shown.length < height) shown.push([]);
  return (
    <Box flexDirection="column" width={width} height={height} overflow="hidden">
      {shown.map((r, i) => (
        <Box key={i} height={1} width={width} overflow="hidden">
          <SegRow row={r} noColor={noColor} />
        </Box>
      ))}
    </Box>
  );
}
