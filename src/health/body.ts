/**
 * A response body read up to `maxBytes`, the rest left unread: what a probed service answers
 * (a canary's health page, its metrics) is read into the worker's memory, and one that answers
 * endlessly must not exhaust it.
 */
export async function readLimited(response: Response, maxBytes: number): Promise<{ text: string; truncated: boolean }> {
  const reader = response.body?.getReader();
  if (!reader) return { text: '', truncated: false };
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text: Buffer.concat(chunks).toString('utf8'), truncated: false };
      const room = maxBytes - size;
      chunks.push(value.length > room ? value.subarray(0, room) : value);
      size += Math.min(value.length, room);
      if (value.length >= room) return { text: Buffer.concat(chunks).toString('utf8'), truncated: true };
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}
