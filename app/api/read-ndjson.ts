/**
 * Reads an `application/x-ndjson` body line by line as it streams in, calling `onLine` with each
 * parsed JSON value. Blank lines are skipped; a last line without "\n" still counts.
 * @throws SyntaxError when a line is not JSON.
 */
export async function readNdjson(body: ReadableStream<Uint8Array>, onLine: (value: unknown) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const flush = (final: boolean): void => {
    const lines = buffer.split('\n');
    buffer = final ? '' : (lines.pop() ?? '');
    for (const line of lines) {
      if (line.trim() !== '') onLine(JSON.parse(line));
    }
  };
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    flush(false);
  }
  buffer += decoder.decode();
  flush(true);
}
