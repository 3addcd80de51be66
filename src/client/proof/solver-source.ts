/**
 * The proof-of-work solver as plain JavaScript source, run in a worker (a Web Worker in the
 * browser, a worker thread in Node): source text rather than a function's `toString()`, because a
 * bundler or a loader may rewrite a function's body with helpers the worker does not have.
 *
 * It finds the first nonce (base 36: "0", "1", …, "a", …) such that SHA-256(challenge + nonce)
 * starts with the challenge's number of zero bits (its first field, docs/protocol.md "Bot gate").
 * A small synchronous SHA-256 is several times faster here than `crypto.subtle.digest`, whose
 * every call is a promise; the blocks the challenge fills are hashed once (the midstate).
 */
export const SOLVER_SOURCE = `
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const IV = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
const W = new Int32Array(64);

/** One SHA-256 compression of the 64 bytes at bytes[offset] into state H. */
function compress(H, bytes, offset) {
  for (let i = 0; i < 16; i++) {
    const j = offset + i * 4;
    W[i] = (bytes[j] << 24) | (bytes[j + 1] << 16) | (bytes[j + 2] << 8) | bytes[j + 3];
  }
  for (let t = 16; t < 64; t++) {
    const a = W[t - 15];
    const b = W[t - 2];
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
  }
  let a = H[0], b = H[1], c = H[2], d = H[3], e = H[4], f = H[5], g = H[6], h = H[7];
  for (let t = 0; t < 64; t++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[t] + W[t]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  H[0] = (H[0] + a) | 0; H[1] = (H[1] + b) | 0; H[2] = (H[2] + c) | 0; H[3] = (H[3] + d) | 0;
  H[4] = (H[4] + e) | 0; H[5] = (H[5] + f) | 0; H[6] = (H[6] + g) | 0; H[7] = (H[7] + h) | 0;
}

function asciiBytes(text) {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i) & 0xff;
  return bytes;
}

/** The state after the 64-byte blocks 'prefix' fills whole, and the bytes left over. */
function midstate(prefix) {
  const bytes = asciiBytes(prefix);
  const whole = Math.floor(bytes.length / 64) * 64;
  const H = new Int32Array(IV);
  for (let offset = 0; offset < whole; offset += 64) compress(H, bytes, offset);
  return { H, rest: bytes.subarray(whole), length: bytes.length };
}

const tail = new Uint8Array(192);
const state = new Int32Array(8);

/** SHA-256 of prefix + suffix into 'state', from the prefix's midstate. */
function finish(mid, suffix) {
  tail.fill(0);
  tail.set(mid.rest, 0);
  let n = mid.rest.length;
  for (let i = 0; i < suffix.length; i++) tail[n++] = suffix.charCodeAt(i) & 0xff;
  tail[n] = 0x80;
  const blocks = n + 9 <= 64 ? 1 : n + 9 <= 128 ? 2 : 3;
  const bits = (mid.length + suffix.length) * 8;
  const end = blocks * 64;
  tail[end - 4] = bits >>> 24; tail[end - 3] = bits >>> 16; tail[end - 2] = bits >>> 8; tail[end - 1] = bits;
  tail[end - 5] = Math.floor(bits / 0x100000000);
  state.set(mid.H);
  for (let offset = 0; offset < end; offset += 64) compress(state, tail, offset);
  return state;
}

function zeroBits(H) {
  let bits = 0;
  for (let i = 0; i < 8; i++) {
    if (H[i] === 0) { bits += 32; continue; }
    return bits + Math.clz32(H[i]);
  }
  return bits;
}

/** The hex SHA-256 of an ASCII string (for tests of this very code). */
function sha256Hex(text) {
  const H = finish(midstate(text), '');
  let hex = '';
  for (let i = 0; i < 8; i++) hex += (H[i] >>> 0).toString(16).padStart(8, '0');
  return hex;
}

/** The first base-36 nonce that solves 'challenge'. */
function solve(challenge) {
  const difficulty = Number(challenge.slice(0, challenge.indexOf('.')));
  if (!(difficulty >= 0 && difficulty <= 64)) throw new Error('not a proof-of-work challenge');
  const mid = midstate(challenge);
  for (let nonce = 0; ; nonce++) {
    const text = nonce.toString(36);
    if (zeroBits(finish(mid, text)) >= difficulty) return text;
  }
}
`;

/** Runs the solver on messages `{ challenge }`, answering `{ nonce }` or `{ error }`. */
const ANSWER = `
function answer(challenge) {
  try {
    return { nonce: solve(challenge) };
  } catch (error) {
    return { error: String(error && error.message ? error.message : error) };
  }
}
`;

/** The whole script of a Web Worker. */
export const BROWSER_WORKER_SOURCE = `${SOLVER_SOURCE}${ANSWER}
self.onmessage = (event) => self.postMessage(answer(event.data.challenge));
`;

/** The whole script of a Node worker thread (`new Worker(source, { eval: true })`, a CommonJS script). */
export const NODE_WORKER_SOURCE = `${SOLVER_SOURCE}${ANSWER}
const { parentPort } = require('node:worker_threads');
parentPort.on('message', (message) => parentPort.postMessage(answer(message.challenge)));
`;
