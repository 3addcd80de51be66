import { describe, expect, it } from 'vitest';
import { parseTerminalLine } from './terminal-commands.js';

describe('parseTerminalLine', () => {
  it('reads the plain commands', () => {
    expect(parseTerminalLine('/block')).toEqual({ kind: 'block' });
    expect(parseTerminalLine('/next')).toEqual({ kind: 'next' });
    expect(parseTerminalLine('/leave')).toEqual({ kind: 'leave' });
    expect(parseTerminalLine('/quit')).toEqual({ kind: 'quit' });
    expect(parseTerminalLine('/help')).toEqual({ kind: 'help' });
  });

  it('/report alone asks for the reasons', () => {
    expect(parseTerminalLine('/report')).toEqual({ kind: 'report-usage' });
    expect(parseTerminalLine('/report!')).toEqual({ kind: 'report-usage' });
  });

  it('/report <reason> [details], without evidence', () => {
    expect(parseTerminalLine('/report spam')).toEqual({ kind: 'report', reason: 'spam', attachEvidence: false });
    expect(parseTerminalLine('/report harassment  kept insulting me ')).toEqual({
      kind: 'report',
      reason: 'harassment',
      details: 'kept insulting me',
      attachEvidence: false,
    });
  });

  it('/report! attaches the last messages', () => {
    expect(parseTerminalLine('/report! minor-safety says they are 12')).toEqual({
      kind: 'report',
      reason: 'minor-safety',
      details: 'says they are 12',
      attachEvidence: true,
    });
  });

  it('refuses an unknown reason and over-long details, naming the problem', () => {
    const unknown = parseTerminalLine('/report rude x');
    expect(unknown.kind).toBe('invalid');
    expect(unknown).toMatchObject({ problem: expect.stringContaining('sexual-content') });
    expect(parseTerminalLine(`/report other ${'é'.repeat(501)}`)).toMatchObject({ kind: 'invalid' });
    expect(parseTerminalLine(`/report other ${'é'.repeat(500)}`)).toMatchObject({ kind: 'report' });
  });

  it('anything else is a message, including other slashes and near misses', () => {
    for (const text of ['hello', '/shrug', '/reporting is fun', '/blocked', 'report spam']) {
      expect(parseTerminalLine(text)).toEqual({ kind: 'message', text });
    }
  });
});
