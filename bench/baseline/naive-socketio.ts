/**
 * Baseline (a): a random-chat signaling server as a typical tutorial writes it. Express +
 * socket.io with its defaults, an in-memory FIFO, no validation, no roles, no limits, no acks.
 * Deliberately naive: it is the yardstick, not an example. Same events as pairwire
 * (`waiting`, `paired`, `signal`, `partner-left`) so one load generator drives both.
 */
import { createServer } from 'node:http';
import express from 'express';
import { Server, type Socket } from 'socket.io';

const app = express();
const server = createServer(app);
const io = new Server(server, { cors: { origin: '*' } });

const waiting: Socket[] = [];
const partners = new Map<string, string>();

app.get('/', (_req, res) => {
  res.send('chat server running');
});

io.on('connection', (socket) => {
  const other = waiting.shift();
  if (other) {
    partners.set(socket.id, other.id);
    partners.set(other.id, socket.id);
    const room = `${other.id}#${socket.id}`;
    io.to(other.id).emit('paired', { room, initiator: true });
    io.to(socket.id).emit('paired', { room, initiator: false });
  } else {
    waiting.push(socket);
    socket.emit('waiting', {});
  }

  socket.on('signal', (data) => {
    const partner = partners.get(socket.id);
    if (partner) io.to(partner).emit('signal', data);
  });

  socket.on('disconnect', () => {
    const index = waiting.indexOf(socket);
    if (index !== -1) waiting.splice(index, 1);
    const partner = partners.get(socket.id);
    if (partner) {
      partners.delete(partner);
      partners.delete(socket.id);
      io.to(partner).emit('partner-left', { reason: 'disconnect' });
    }
  });
});

server.listen(Number(process.env.PORT ?? 3000), process.env.HOST ?? '0.0.0.0', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  console.log(JSON.stringify({ port, msg: 'listening' }));
});
