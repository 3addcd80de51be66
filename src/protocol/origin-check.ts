import { type ErrorBody, ErrorCode } from './errors.js';

/**
 * Why a page's connection was refused, for the one refusal a browser cannot read. The origin
 * check refuses the WebSocket (and polling) handshake itself, so no connection is ever made for a
 * page the server does not serve; but a browser reports a refused WebSocket handshake as a bare
 * failure, indistinguishable from a server that is down. A page that cannot connect asks here:
 * `GET /origin-check` answers any page (CORS `*`; the answer says nothing but whether that page's
 * origin may connect) with `{ ok: true }`, or 403 and `{ ok: false, error }` with ORIGIN_NOT_ALLOWED.
 */
export const ORIGIN_CHECK_PATH = '/origin-check';

export type OriginCheckAnswer = { ok: true } | { ok: false; error: ErrorBody };

export const ORIGIN_REFUSAL: ErrorBody = Object.freeze({
  code: ErrorCode.ORIGIN_NOT_ALLOWED,
  message: "this server does not take connections from this page's origin (it is not in CORS_ORIGINS)",
});
