/**
 * Makes partner text safe to print on a terminal. A terminal interprets escape sequences the way
 * a browser interprets markup: an ESC from a stranger could recolour, move the cursor, rewrite
 * earlier lines or set the window title. Control characters (C0, DEL, C1) and the bidirectional
 * overrides that can disguise text become U+FFFD; a line break becomes an indented new line.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNPRINTABLE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string, indent = '  '): string {
  return text.replace(/\r\n?/g, '\n').replace(UNPRINTABLE, '\uFFFD').replace(/\n/g, `\n${indent}`);
}
