import type { SessionId } from '../../store/pairing-store.js';

/**
 * socket.io rooms are the addresses: every socket joins the room of its session, and both sides
 * of a pair join the pair's room. Through the cluster adapter these names reach any instance.
 */
export const sessionRoom = (session: SessionId): string => `s:${session}`;
export const pairRoom = (pairId: string): string => `p:${pairId}`;
export const isPairRoom = (room: string): boolean => room.startsWith('p:');
export const pairIdOf = (room: string): string => room.slice('p:'.length);
