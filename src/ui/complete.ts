// Tab completion for the input line: command names, /otr sub-commands, /otr policy values.
import { COMMANDS, OTR_SUBCOMMANDS, POLICY_VALUES } from './commands.js';

export interface Completion {
  /** The new line (unchanged when nothing completes). */
  line: string;
  /** Candidates to show when the word is ambiguous. */
  candidates: string[];
}

function commonPrefix(words: readonly string[]): string {
  if (words.length === 0) return '';
  let p = words[0] ?? '';
  for (const w of words) while (!w.startsWith(p)) p = p.slice(0, -1);
  return p;
}

function completeWord(before: string, word: string, options: readonly string[]): Completion {
  const lower = word.toLowerCase();
  const hits = options.filter((o) => o.startsWith(lower));
  if (hits.length === 0) return { line: before + word, candidates: [] };
  if (hits.length === 1) return { line: `${before}${hits[0]} `, candidates: [] };
  const p = commonPrefix(hits);
  return { line: before + (p.length > word.length ? p : word), candidates: hits };
}

/** Completes the last word of `line` (the cursor is assumed to be at the end). */
export function complete(line: string): Completion {
  if (!line.startsWith('/')) return { line, candidates: [] };
  const m = /^(\S*)$/.exec(line);
  if (m) return completeWord('', line, COMMANDS);
  const otr = /^(\/otr\s+)(\S*)$/i.exec(line);
  if (otr) return completeWord(otr[1] ?? '', otr[2] ?? '', OTR_SUBCOMMANDS);
  const pol = /^(\/otr\s+policy\s+)(\S*)$/i.exec(line);
  if (pol) return completeWord(pol[1] ?? '', pol[2] ?? '', POLICY_VALUES);
  return { line, candidates: [] };
}
