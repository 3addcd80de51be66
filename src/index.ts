/**
 * The server package (`import … from 'pairwire'`): pairwire embedded in an existing app, or the
 * standalone server started from code. The client SDK is `pairwire/client`.
 */
export { createApp, type PairwireApp } from './app.js';
export { type Config, ConfigError, loadConfig, SETTINGS } from './config.js';
export { type PairwireOptions, resolveOptions } from './embed/options.js';
export {
  attachPairwire,
  attachPairwireNamespace,
  type EmbedOptions,
  type HttpEmbedOptions,
  type HttpPairwire,
  type Pairwire,
} from './embed/pairwire.js';
/** socket.io's `parser` option without binary attachments, for a host whose namespace pairwire uses. */
export { textOnlyParser } from './limits/text-only-parser.js';
export { ErrorCode } from './protocol/errors.js';
