/**
 * The demo page (public/index.html): a stranger chat on the SDK. Bundled by esbuild into
 * public/build/demo.js. `?loopback` asks for the microphone before connecting (nothing is
 * recorded or sent), which lets Chromium on a machine without a network route use loopback.
 */
import { ChatClient, ChatError } from '../client/chat/index.js';
import { ChatView } from './chat-view.js';
import { connectSignaling } from './signaling-target.js';

/** While the user types, a "typing" hint goes at most this often. */
const TYPING_RESEND_MS = 2000;

const view = new ChatView();
const loopback = new URLSearchParams(location.search).has('loopback');
let microphone: Promise<MediaStream> | undefined;
// This server over socket.io, or the signaling server that /signaling.json names (Vercel).
const transport = await connectSignaling().catch((error: Error) => {
  view.setStatus('error', `Cannot reach the chat server: ${error.message}`);
  throw error;
});
const chat = new ChatClient(location.origin, {
  transport,
  beforePeerConnection: loopback
    ? () => (microphone ??= navigator.mediaDevices.getUserMedia({ audio: true }))
    : undefined,
});

chat.on('waiting', () => view.setStatus('waiting', 'Waiting for a partner…'));
chat.on('paired', ({ resumed }) => {
  if (!resumed) view.clearMessages();
  view.setStatus('paired', resumed ? 'Reconnecting to your partner…' : 'Partner found, connecting…');
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
  view.setStatus('idle', 'Your partner left. Press New partner to chat again.');
  view.addNotice('Your partner left.');
});
chat.on('error', (error) => {
  if (error.code === 'OPEN_TIMEOUT' || error.code === 'CONNECTION_FAILED') {
    view.setStatus('error', 'Could not connect to your partner. Press New partner to try someone else.');
  } else {
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

view.nextButton.addEventListener('click', () => {
  view.clearMessages();
  view.setStatus('waiting', 'Looking for a new partner…');
  chat.next().then(reportRefusal, reportFailure);
});
view.leaveButton.addEventListener('click', () => {
  view.setStatus('idle', 'You left. Press New partner to chat again.');
  chat.leave().then(reportRefusal, reportFailure);
});

function reportRefusal(ack: { ok: true } | { ok: false; error: { message: string } }): void {
  if (!ack.ok) view.addNotice(`The server refused: ${ack.error.message}`);
}

function reportFailure(error: Error): void {
  view.addNotice(`The server did not answer: ${error.message}`);
}
