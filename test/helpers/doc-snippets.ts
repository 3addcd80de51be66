import { readFileSync } from 'node:fs';

const ROOT = new URL('../../', import.meta.url);

/**
 * The fenced code block right after the marker `<!-- tested: <name> … -->` in a Markdown file of
 * this repository: documentation that a test runs, so it cannot drift from the code.
 */
export function docSnippet(file: string, name: string): string {
  const text = readFileSync(new URL(file, ROOT), 'utf8');
  const marker = text.indexOf(`<!-- tested: ${name} `);
  if (marker < 0) throw new Error(`${file} has no "<!-- tested: ${name} … -->" marker`);
  const block = /^([ \t]*)```[^\n]*\n([\s\S]*?)^\1```/m.exec(text.slice(marker));
  if (!block) throw new Error(`${file}: no code block after the ${name} marker`);
  const indent = block[1] ?? '';
  return (block[2] ?? '')
    .split('\n')
    .map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line))
    .join('\n');
}
