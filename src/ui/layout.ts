// Where everything goes on a terminal of a given size. Pure and tested (tests/tui/ui-units.test.ts).

export interface ScreenLayout {
  /** Width of the screen (at least 20). */
  cols: number;
  /** Rows the UI draws. */
  height: number;
  /** Session list width; 0 on narrow terminals (no list, no separator). */
  listW: number;
  /** Width of the main pane (chat, help, search, verification). */
  chatW: number;
  /** Height of the session list and main pane: everything but status line, notice row, input line and tab bar. */
  mainH: number;
  /** Rows that PgUp/PgDn move. */
  page: number;
  /** Row of the input line (below the status line, the main pane and the notice row). */
  inputY: number;
}

export function screenLayout(size: { cols: number; rows: number }): ScreenLayout {
  const cols = Math.max(20, size.cols);
  // One row fewer than the terminal: ink clears the whole screen on every frame once the output fills it.
  const height = Math.max(8, size.rows - 1);
  const listW = cols >= 60 ? Math.min(30, Math.max(18, Math.round(cols * 0.24))) : 0;
  const chatW = cols - listW - (listW > 0 ? 2 : 0);
  const mainH = height - 4;
  return { cols, height, listW, chatW, mainH, page: Math.max(1, mainH - 3), inputY: 1 + mainH + 1 };
}
