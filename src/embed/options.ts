/**
 * The embedding API's options: the settings of the environment variables (src/config.ts), as typed
 * values instead of strings, checked by the same parsers and the same cross-checks, with the same
 * defaults. One source of truth: an option is written back into its variable's text form and read
 * like the environment, so an embedder can never configure something `npm start` could not.
 */
import { type Config, ConfigError, loadConfig, SETTINGS } from '../config.js';

/** Every setting is optional: what is left out takes the default of its environment variable. */
export type PairwireOptions = Partial<Config>;

type SettingKey = keyof typeof SETTINGS;

const isSettingKey = (key: string): key is SettingKey => Object.hasOwn(SETTINGS, key);

/**
 * Validates `options` and fills in the defaults: a ConfigError names the first bad option (its
 * environment variable, as the same check would for `npm start`), an unknown option included,
 * so a misspelt one is not silently ignored.
 */
export function resolveOptions(options: PairwireOptions = {}): Config {
  const defaults = loadConfig({});
  const env: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(options)) {
    if (!isSettingKey(key)) {
      throw new ConfigError(key, `is not a pairwire option (they are: ${Object.keys(SETTINGS).join(', ')})`);
    }
    if (value === undefined) continue;
    env[SETTINGS[key].env] = asText(key, value, defaults[key]);
  }
  try {
    return loadConfig(env);
  } catch (error) {
    throw error instanceof ConfigError ? namingTheOption(error) : error;
  }
}

/** The parsers name the environment variable; an embedder wrote the option: name both. */
function namingTheOption(error: ConfigError): ConfigError {
  const [, variable, problem] = /^([A-Z0-9_]+): ([\s\S]*)$/.exec(error.message) ?? [];
  const key = Object.keys(SETTINGS).find((name) => isSettingKey(name) && SETTINGS[name].env === variable);
  return key && problem !== undefined ? new ConfigError(`${key} (${variable})`, problem) : error;
}

/** An option in the text form of its environment variable, after checking it has the default's type. */
function asText(key: SettingKey, value: unknown, fallback: unknown): string {
  const name = `${key} (${SETTINGS[key].env})`;
  if (Array.isArray(fallback)) {
    if (!Array.isArray(value)) throw new ConfigError(name, 'must be an array');
    // The one list of objects is written as JSON; the others are comma-separated strings.
    if (key === 'iceServers') return JSON.stringify(value);
    for (const entry of value) {
      if (typeof entry !== 'string' || entry.includes(',')) {
        throw new ConfigError(name, 'must be an array of strings without commas');
      }
    }
    return value.join(',');
  }
  // Settings without a default (REDIS_URL, METRICS_TOKEN, ...) are strings when set.
  const expected = fallback === undefined ? 'string' : typeof fallback;
  if (typeof value !== expected) throw new ConfigError(name, `must be a ${expected}`);
  return String(value);
}
