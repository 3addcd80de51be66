import { type BenchConnection, connect } from './connection.js';

/**
 * Opens `count` socket.io clients to `url`, at most 100 unanswered at once, into `into` (so the
 * caller can close them whatever happens); resolves once every one is paired, rejects on the
 * first connection error.
 */
export function connectPaired(url: string, count: number, into: BenchConnection[]): Promise<void> {
  return new Promise((resolve, reject) => {
    let opened = 0;
    let unanswered = 0;
    let paired = 0;
    const more = () => {
      for (; unanswered < 100 && opened < count; opened++) {
        unanswered++;
        let done = false;
        into.push(
          connect('socketio', url, {
            onEvent(event) {
              if (event !== 'paired' || done) return;
              done = true;
              unanswered--;
              if (++paired === count) resolve();
              else more();
            },
            onError: reject,
          }),
        );
      }
    };
    if (count === 0) resolve();
    else more();
  });
}
