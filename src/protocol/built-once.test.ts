import { describe, expect, it } from 'vitest';
import { builtOnce } from './built-once.js';

describe('builtOnce', () => {
  it('builds nothing until first asked, then once, returning the same value every time', () => {
    let builds = 0;
    const value = builtOnce(() => {
      builds += 1;
      return { n: builds };
    });
    expect(builds).toBe(0);
    const first = value();
    expect(value()).toBe(first);
    expect(value()).toBe(first);
    expect(builds).toBe(1);
  });

  it('keeps a built undefined without building again', () => {
    let builds = 0;
    const value = builtOnce(() => {
      builds += 1;
      return undefined;
    });
    expect(value()).toBeUndefined();
    expect(value()).toBeUndefined();
    expect(builds).toBe(1);
  });

  it('builds again after a build that threw (nothing was kept)', () => {
    let builds = 0;
    const value = builtOnce(() => {
      builds += 1;
      if (builds === 1) throw new Error('first build fails');
      return builds;
    });
    expect(() => value()).toThrow('first build fails');
    expect(value()).toBe(2);
    expect(value()).toBe(2);
  });
});
