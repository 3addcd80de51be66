import { describe, expect, it } from 'vitest';
import { parseRedisInfo, redisDelta } from './redis-info.js';

// As redis-server 7 answers INFO stats and INFO commandstats (abridged).
const STATS = [
  '# Stats',
  'total_connections_received:12',
  'total_commands_processed:4100',
  'total_net_input_bytes:1048576',
  'total_net_output_bytes:524288',
  'total_net_repl_input_bytes:0',
  '',
].join('\r\n');
const COMMANDS = [
  '# Commandstats',
  'cmdstat_evalsha:calls=3000,usec=90000,usec_per_call=30.00,rejected_calls=0,failed_calls=0',
  'cmdstat_xadd:calls=1000,usec=5000,usec_per_call=5.00,rejected_calls=0,failed_calls=0',
  'cmdstat_info:calls=7,usec=700,usec_per_call=100.00,rejected_calls=0,failed_calls=0',
  '',
].join('\r\n');

describe('parseRedisInfo', () => {
  it('reads the byte counters and the calls of every command', () => {
    expect(parseRedisInfo(`${STATS}\n${COMMANDS}`)).toEqual({
      netInputBytes: 1048576,
      netOutputBytes: 524288,
      calls: { evalsha: 3000, xadd: 1000, info: 7 },
    });
  });

  it('reads nothing it does not know (replication bytes are not client bytes)', () => {
    expect(parseRedisInfo('# Stats\r\ntotal_net_repl_output_bytes:99\r\nusec=5')).toEqual({
      netInputBytes: 0,
      netOutputBytes: 0,
      calls: {},
    });
  });
});

describe('redisDelta', () => {
  it('subtracts, keeps commands new since the first reading, and leaves out the reader’s own INFO', () => {
    const before = { netInputBytes: 100, netOutputBytes: 50, calls: { evalsha: 10, xadd: 4, info: 2, get: 1 } };
    const after = {
      netInputBytes: 1100,
      netOutputBytes: 850,
      calls: { evalsha: 40, xadd: 4, info: 4, get: 1, xread: 3 },
    };
    expect(redisDelta(before, after)).toEqual({
      netInputBytes: 1000,
      netOutputBytes: 800,
      calls: { evalsha: 30, xread: 3 },
    });
  });
});
