/**
 * Dataset text as every parser wants it: no byte-order mark, and '\n' line ends ('\r\n' → '\n'),
 * so that the parsers split lines alike and CSV line counting stays exact.
 */

export function normalizeText(text: string): string {
  return text.replace(/^\uFEFF/, '').replace(/\r\n/g, '\n');
}

/**
 * UTF-8 bytes that arrive in pieces (an upload) → normalized text in pieces. A character or a
 * '\r\n' split between two pieces is put back together; invalid UTF-8 becomes U+FFFD, as
 * `Buffer.toString` makes it.
 */
export async function* decodeText(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8'); // drops a leading byte-order mark
  let held = '';
  for await (const chunk of chunks) {
    let text = held + decoder.decode(chunk, { stream: true });
    held = text.endsWith('\r') ? '\r' : '';
    if (held) text = text.slice(0, -1);
    if (text) yield text.replace(/\r\n/g, '\n');
  }
  const rest = held + decoder.decode();
  if (rest) yield rest.replace(/\r\n/g, '\n');
}
