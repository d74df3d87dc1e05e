/**
 * PostgreSQL stores text as UTF-8 and refuses two things a JavaScript string can hold: the NUL
 * character (in text and in jsonb alike) and a lone UTF-16 surrogate (it has no UTF-8 form: jsonb
 * rejects its `\ud800` escape, and a text column would silently get U+FFFD instead).
 */

/** NUL, or a surrogate not paired with its other half (in `u` mode `\p{Cs}` matches only those). */
const UNSTORABLE = /[\u0000\p{Cs}]/u;

/** What in `text` PostgreSQL cannot store, in words; undefined when it can store all of it. */
export function unstorableInText(text: string): string | undefined {
  const found = UNSTORABLE.exec(text)?.[0];
  if (found === undefined) return undefined;
  return found === '\u0000' ? 'a NUL character (U+0000)' : `a lone surrogate (U+${found.charCodeAt(0).toString(16).toUpperCase()}), which is not valid Unicode`;
}
