import { memo } from 'react';
import { Text } from 'ink';
import type { Row } from './text.js';

/**
 * One screen row. With noColor the styles are dropped entirely (no colour, bold, dim or inverse escapes):
 * every state is also carried by a marker in the text, so nothing is lost.
 */
export const SegRow = memo(function SegRow({ row, noColor }: { row: Row; noColor: boolean }) {
  if (row.length === 0) return <Text> </Text>;
  if (noColor) return <Text wrap="truncate">{row.map((s) => s.text).join('')}</Text>;
  return (
    <Text wrap="truncate">
      {row.map((s, i) =>
        s.color || s.bold || s.dim || s.inverse ? (
          <Text key={i} color={s.color} bold={s.bold} dimColor={s.dim} inverse={s.inverse}>
            {s.text}
          </Text>
        ) : (
          s.text
        ),
      )}
    </Text>
  );
});
