import { Decoder, Encoder, PacketType } from 'socket.io-parser';

/**
 * socket.io's codec without binary attachments. A BINARY_EVENT or BINARY_ACK packet announces
 * attachments, and the stock decoder holds the packet and every attachment received until the
 * last one arrives: a client could park megabytes per connection that way, before it has even
 * sent CONNECT. No pairwire message has a binary form, so the decoder refuses the announcement
 * itself; socket.io closes a connection whose decoder throws, which frees the decoder with it.
 * A binary frame with no announcement before it is refused by the stock decoder already.
 */
export class TextOnlyDecoder extends Decoder {
  override add(packet: unknown): void {
    if (typeof packet === 'string' && announcesAttachments(packet)) {
      throw new Error('binary attachments are not accepted');
    }
    super.add(packet);
  }
}

/** The first character of an encoded packet is its type. */
function announcesAttachments(encoded: string): boolean {
  const type = Number(encoded.charAt(0));
  return type === PacketType.BINARY_EVENT || type === PacketType.BINARY_ACK;
}

/** socket.io's `parser` option: the stock encoder (the server sends no binary either), a text-only decoder. */
export const textOnlyParser = { Encoder, Decoder: TextOnlyDecoder };
