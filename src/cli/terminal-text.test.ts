import { describe, expect, it } from 'vitest';
import { printable } from './terminal-text.js';

describe('printable', () => {
  it('keeps ordinary text, including non-Latin scripts and emoji', () => {
    expect(printable('héllo, 世界 👋 <b>tags stay text</b>')).toBe('héllo, 世界 👋 <b>tags stay text</b>');
  });

  it('neutralises terminal escape sequences and other control characters', () => {
    expect(printable('\u001b[2J\u001b]0;owned\u0007x\u009b31m')).toBe('\uFFFD[2J\uFFFD]0;owned\uFFFDx\uFFFD31m');
    expect(printable('a\bb\u007fc\td')).toBe('a\uFFFDb\uFFFDc\uFFFDd');
  });

  it('neutralises bidirectional overrides that could disguise text', () => {
    expect(printable('pay \u202Eevil\u202C')).toBe('pay \uFFFDevil\uFFFD');
  });

  it('indents the lines of a multi-line message', () => {
    expect(printable('one\r\ntwo\nthree', '> ')).toBe('one\n> two\n> three');
  });
});
