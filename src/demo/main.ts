/**
 * The demo page (public/index.html): a stranger chat on the SDK. Bundled by esbuild into
 * public/build/demo.js. `?loopback` asks for the microphone before connecting (nothing is
 * recorded or sent), which lets Chromium on a machine without a network route use loopback.
 */
import { ChatClient, ChatError } from '../client/chat/index.js';
import type { Ack, JoinPreferences } from '../protocol/messages.js';
import { ChatView } from './chat-view.js';
import { type ReportForm, ReportView } from './report-view.js';
import { connectSignaling } from './signaling-target.js';

/** While the user types, a "typing" hint goes at most this often. */
const TYPING_RESEND_MS = 2000;

const WAITING_HINT =
  'You will be paired with the next person who opens this page. Alone? Open it in a second tab to try it.';

const view = new ChatView();
const loopback = new URLSearchParams(location.search).has('loopback');
let microphone: Promise<MediaStream> | undefined;
// This server over socket.io, or the signaling server that /signaling.json names (Vercel).
const transport = await connectSignaling().catch((error: Error) => {
  view.setStatus('error', `Cannot reach the chat server: ${error.message}`);
  throw error;
});
/** Where the interests typed last time are kept, so the first join of a visit uses them. */
const INTERESTS_KEY = 'pairwire:interests';
/** How often the online count is asked for when no `stats` event brought it (GET /stats answers from a 2 s cache). */
const STATS_EVERY_MS = 5000;

view.interestsInput.value = localStorage.getItem(INTERESTS_KEY) ?? '';
/** The interests field as preferences: comma-separated tags (the server normalises and checks them). */
function preferences(): JoinPreferences {
  const interests = view.interestsInput.value
    .split(',')
    .map((tag) => tag.trim())
    .filter(Boolean);
  return { interests };
}

const chat = new ChatClient(location.origin, {
  transport,
  beforePeerConnection: loopback ? askForMicrophone : undefined,
  preferences: preferences(),
});

/** Connected to the server at the moment (New partner and Leave need it). */
let connected = false;
/** A New partner, Leave, Block or Report click the server has not answered yet. */
let pending = false;
/** Pairs this page has reported: once each (the server refuses a second report). */
const reported = new Set<string>();

/** The buttons follow the chat's state, as the server last told it. */
function updateControls(): void {
  const ready = connected && !pending;
  const room = chat.reportableRoom;
  view.setControls({
    next: ready && chat.state !== 'waiting',
    leave: ready && chat.state !== 'idle',
    block: ready && (chat.state === 'paired' || chat.state === 'open'),
    report: ready && room !== undefined && !reported.has(room),
  });
}

chat.signaling.onConnect(() => {
  connected = true;
  updateControls();
});
chat.signaling.onDisconnect(() => {
  connected = false;
  updateControls();
});

chat.on('waiting', () => {
  view.clearMessages();
  view.setStatus('waiting', 'Waiting for a partner…');
  view.showHint(WAITING_HINT);
  updateControls();
});
chat.on('paired', ({ resumed, commonInterests }) => {
  if (!resumed) view.clearMessages();
  view.showCommon(commonInterests);
  view.showHint(undefined);
  view.setStatus('paired', resumed ? 'Reconnecting to your partner…' : 'Partner found, connecting…');
  updateControls();
});
chat.on('open', () => {
  view.setStatus('open', 'Connected: say hi!');
  view.addNotice('You are chatting with a stranger.');
});
chat.on('message', ({ text }) => {
  view.showTyping(false);
  view.addTheirs(text);
});
chat.on('delivered', ({ id }) => view.markDelivered(id));
chat.on('typing', ({ active }) => view.showTyping(active));
chat.on('closed', ({ reason }) => {
  if (reason === 'channel-closed' || reason === 'failed')
    view.setStatus('error', 'The connection to your partner was lost.');
});
chat.on('partner-left', () => {
  view.showCommon([]);
  view.setStatus('idle', 'Your partner left. Press New partner to chat again.');
  view.addNotice('Your partner left.');
  updateControls();
});
chat.on('error', (error) => {
  switch (error.code) {
    case 'OPEN_TIMEOUT':
    case 'CONNECTION_FAILED':
      view.setStatus('error', 'Could not connect to your partner. Press New partner to try someone else.');
      return;
    case 'RATE_LIMITED':
      view.setStatus('error', `Too many connections from your network right now. Trying again ${inSeconds(error)}…`);
      return;
    case 'ORIGIN_NOT_ALLOWED':
      view.setStatus('error', 'This page is not allowed to use this chat server.');
      return;
    case 'UNREACHABLE':
      view.setStatus('error', 'Cannot reach the chat server. Trying again…');
      return;
    case 'BANNED':
      reportView.close();
      view.setStatus('error', bannedInWords(error.bannedUntil));
      return;
    default:
      view.addNotice(`Error: ${error.message}`);
  }
});

let lastTypingSent = 0;
view.onTyping((active) => {
  const now = Date.now();
  if (active && now - lastTypingSent < TYPING_RESEND_MS) return;
  lastTypingSent = active ? now : 0;
  chat.typing(active);
});

view.onSubmit((text) => {
  try {
    view.addMine(chat.send(text), text);
    lastTypingSent = 0;
    chat.typing(false);
    return true;
  } catch (error) {
    view.addNotice(error instanceof ChatError ? error.message : String(error));
    return false;
  }
});

// Back from the back/forward cache the page said goodbye on `pagehide`: start afresh.
addEventListener('pageshow', (event) => {
  if (event.persisted) location.reload();
});

// Nothing changes on a click itself: the page follows the server's answer. A refused click
// (too quick, say) leaves the chat as it was.
view.nextButton.addEventListener('click', () => {
  void command(chat.next(preferences()));
});
// New interests apply from the next partner on; while waiting, at once (queued again with them).
view.interestsInput.addEventListener('change', () => {
  localStorage.setItem(INTERESTS_KEY, view.interestsInput.value);
  if (chat.state !== 'waiting') return;
  void command(chat.leave()).then((left) => {
    if (left?.ok) void command(chat.join(preferences()));
  });
});

/** When the last `stats` event came: while they come (waiting, on socket.io), nothing is polled. */
let pushedAt = Number.NEGATIVE_INFINITY;
chat.on('stats', ({ online }) => {
  pushedAt = Date.now();
  view.showOnline(online);
});

/** The online count, from this page's own server (on Vercel, the deployment's /stats). */
async function showOnline(): Promise<void> {
  if (Date.now() - pushedAt < STATS_EVERY_MS) return;
  try {
    const response = await fetch('/stats', { cache: 'no-store' });
    const stats = (await response.json()) as { online?: unknown };
    view.showOnline(response.ok && typeof stats.online === 'number' ? stats.online : undefined);
  } catch {
    view.showOnline(undefined);
  }
}
void showOnline();
setInterval(() => void showOnline(), STATS_EVERY_MS);
view.blockButton.addEventListener('click', () => {
  void command(chat.block(preferences())).then((ack) => {
    if (ack?.ok) view.addNotice("Blocked. You won't be matched with this person again.");
  });
});

const reportView = new ReportView(sendReport);
view.reportButton.addEventListener('click', () => reportView.open(chat.keptMessages().length));

/** Sends the Report form; resolves with what to tell the user in the form when it was not sent. */
async function sendReport({ reason, details, attachEvidence }: ReportForm): Promise<string | undefined> {
  const room = chat.reportableRoom;
  pending = true;
  updateControls();
  try {
    const ack = await chat.report(reason, { ...(details ? { details } : {}), attachEvidence });
    if (!ack.ok) {
      if (ack.error.code === 'ALREADY_REPORTED' && room !== undefined) reported.add(room);
      return reportRefusalInWords(ack.error);
    }
    if (room !== undefined) reported.add(room);
    const done = "Reported. You won't be matched with this person again.";
    view.addNotice(done);
    // Reporting the current partner ended the chat; a report of the last one leaves the present as it is.
    if (chat.state === 'idle') {
      view.showCommon([]);
      view.setStatus('idle', `${done} Press New partner to chat again.`);
    }
    return undefined;
  } catch {
    return 'The server did not answer in time. Check your connection and try again.';
  } finally {
    pending = false;
    updateControls();
  }
}

function reportRefusalInWords(error: { code: string; message: string; retryAfterMs?: number }): string {
  switch (error.code) {
    case 'ALREADY_REPORTED':
      return 'You have reported this person already.';
    case 'NOT_IN_ROOM':
      return 'That chat ended too long ago to report.';
    case 'INVALID_PAYLOAD':
      return `The report could not be sent as it is: ${error.message}`;
    default:
      return refusalInWords(error);
  }
}

view.leaveButton.addEventListener('click', () => {
  void command(chat.leave()).then((ack) => {
    // By the time the answer is in, a later click may have moved on: go by the chat's state.
    if (ack?.ok && chat.state === 'idle') {
      view.showHint(undefined);
      view.setStatus('idle', 'You left. Press New partner to chat again.');
    }
  });
});

async function command<A extends Ack<object>>(answer: Promise<A>): Promise<A | undefined> {
  pending = true;
  updateControls();
  try {
    const ack = await answer;
    if (!ack.ok) view.addNotice(refusalInWords(ack.error));
    return ack;
  } catch {
    view.addNotice('The server did not answer in time. Check your connection and try again.');
    return undefined;
  } finally {
    pending = false;
    updateControls();
  }
}

/** What a refused click means for the person who clicked. */
function refusalInWords({ code, message, retryAfterMs }: { code: string; message: string; retryAfterMs?: number }) {
  switch (code) {
    case 'RATE_LIMITED':
      return `That was too quick: wait ${retryAfterMs === undefined ? 'a moment' : seconds(retryAfterMs)} and try again.`;
    case 'UNAVAILABLE':
      return 'The server cannot pair anyone right now. Try again in a moment.';
    case 'INTERNAL':
      return 'Something went wrong on the server. Try again.';
    case 'BANNED':
      return bannedInWords(retryAfterMs === undefined ? undefined : Date.now() + retryAfterMs);
    default:
      return `The server did not do that: ${message}`;
  }
}

/** A ban, for the person banned: that it is one, and when it ends. */
function bannedInWords(until: number | undefined): string {
  const why = 'You cannot use this chat for now: people you chatted with reported you, or the operator banned you.';
  if (until === undefined) return `${why} No end was given.`;
  const end = new Date(until);
  const sameDay = end.toDateString() === new Date().toDateString();
  const at = sameDay ? end.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : end.toLocaleString();
  return `${why} It ends at ${at} (in ${duration(until - Date.now())}). Try again then.`;
}

/** "40 seconds", "12 minutes", "3 hours", "2 days": rounded up, for people. */
function duration(ms: number): string {
  const units: Array<[string, number]> = [
    ['day', 86_400_000],
    ['hour', 3_600_000],
    ['minute', 60_000],
  ];
  for (const [unit, size] of units) {
    if (ms >= size * (unit === 'minute' ? 1 : 2)) {
      const n = Math.ceil(ms / size);
      return `${n} ${unit}${n === 1 ? '' : 's'}`;
    }
  }
  return seconds(ms);
}

function inSeconds(error: ChatError): string {
  return error.retryInMs === undefined ? 'soon' : `in ${seconds(error.retryInMs)}`;
}

function seconds(ms: number): string {
  const s = Math.max(1, Math.ceil(ms / 1000));
  return s === 1 ? 'a second' : `${s} seconds`;
}

/** `?loopback`: the microphone permission lets Chromium gather loopback candidates. Asked again after a refusal. */
function askForMicrophone(): Promise<MediaStream> {
  microphone ??= navigator.mediaDevices.getUserMedia({ audio: true }).catch((error: unknown) => {
    microphone = undefined;
    const reason = error instanceof Error ? error.message : String(error);
    view.addNotice(`Loopback mode needs the microphone (nothing is recorded), and it was not given: ${reason}`);
    throw error;
  });
  return microphone;
}
