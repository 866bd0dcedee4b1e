/**
 * Server-sent events read from a fetched stream. The dashboard's pages read their live stream so,
 * not with EventSource: chromium's EventSource parses every byte of an event on the page's main
 * thread, and with writers telling thousands of trials a second that was most of what an open page
 * cost the machine (three pages that only took the stream: 0.15–0.22 CPU s/s of chromium through
 * EventSource, 0.05 read so; README, the dashboard's writers bench). The server's stream stays
 * plain `text/event-stream`: any EventSource or curl still reads it. No DOM here: the tests run it
 * in Node.
 */
export type SseHandler = (event: string, data: string) => void;

/**
 * Splits decoded text into events as the SSE format has them: `event:` names one (else "message"),
 * `data:` lines are joined by newlines, comments (`:`) are skipped, a blank line ends an event.
 * Lines end with `\n`, as tunelab's server writes them. An event may straddle any number of chunks:
 * its parts are kept until its end comes, and only the new chunk is searched for it.
 */
export class SseFrames {
  private parts: string[] = [];
  /** The text kept ends with a newline: a chunk starting with one ends the event. */
  private endsInNewline = false;

  constructor(private readonly onEvent: SseHandler) {}

  push(chunk: string): void {
    let start = 0;
    if (this.endsInNewline && chunk.startsWith('\n')) {
      this.emit(this.parts.join('').slice(0, -1));
      this.parts = [];
      start = 1;
    }
    for (let end = chunk.indexOf('\n\n', start); end >= 0; end = chunk.indexOf('\n\n', start)) {
      this.parts.push(chunk.slice(start, end));
      this.emit(this.parts.join(''));
      this.parts = [];
      start = end + 2;
    }
    if (start < chunk.length) {
      const rest = chunk.slice(start);
      this.parts.push(rest);
      this.endsInNewline = rest.endsWith('\n');
    } else if (start > 0) this.endsInNewline = false;
  }

  private emit(frame: string): void {
    let event = 'message';
    const data: string[] = [];
    for (const line of frame.split('\n')) {
      if (line === '' || line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(line[colon + 1] === ' ' ? colon + 2 : colon + 1);
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    if (data.length > 0) this.onEvent(event, data.join('\n'));
  }
}

/** The server answered with an error status: trying again would get the same (a 4xx), or the stream could not be had. */
export class StreamRefused extends Error {
  constructor(readonly status: number) {
    super(`the server answered ${status}`);
  }
}

/**
 * Reads one connection of an event stream until it ends. Resolves when the server ended it; rejects
 * on a network error, an error status ({@link StreamRefused}) or a stream silent for longer than
 * `silentMs` (the server sends a comment every 15 s: a connection quiet for longer is dead).
 */
export async function readEvents(url: string, onOpen: () => void, onEvent: SseHandler, silentMs: number): Promise<void> {
  const abort = new AbortController();
  let watchdog = setTimeout(() => abort.abort(), silentMs);
  try {
    const res = await fetch(url, { cache: 'no-store', headers: { accept: 'text/event-stream' }, signal: abort.signal });
    if (!res.ok || !res.body) throw new StreamRefused(res.status);
    onOpen();
    const frames = new SseFrames(onEvent);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      clearTimeout(watchdog);
      watchdog = setTimeout(() => abort.abort(), silentMs);
      frames.push(value);
    }
  } finally {
    clearTimeout(watchdog);
  }
}
