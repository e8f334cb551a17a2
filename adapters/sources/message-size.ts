// The one rule for the size of a message produced to a stream topic, shared by every stream source:
// a message is its key plus its value in UTF-8 bytes (what StreamSource.maxMessageBytes bounds), and a
// send holding one over the topic's limit is refused whole, before anything of it is produced.
import { FeaturegraphError } from '../../schema/errors.js';

export interface OutboundMessage {
  key: string | null;
  value: string;
}

/** Bytes of the message's key plus value, UTF-8. */
export function messageBytes(message: OutboundMessage): number {
  return (message.key === null ? 0 : Buffer.byteLength(message.key, 'utf8')) + Buffer.byteLength(message.value, 'utf8');
}

/** Throws LIMIT_EXCEEDED (not retriable: the same send fails again) naming the first message over `limit` bytes. */
export function refuseOversized(source: string, topic: string, messages: readonly OutboundMessage[], limit: number): void {
  messages.forEach((message, i) => {
    const size = messageBytes(message);
    if (size > limit) {
      throw new FeaturegraphError('LIMIT_EXCEEDED', `${source}: message ${i + 1} of ${messages.length} to topic ${topic} holds ${size} bytes of key and value, over the topic's limit of ${limit}; nothing of this send was produced`);
    }
  });
}
