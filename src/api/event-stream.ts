/** Server-Sent Events on a hijacked reply: the job event streams and streamed generation share them. */
import type { FastifyReply, FastifyRequest } from 'fastify';

/** Whether the client asked for a stream: `stream: true` (query or body), or an Accept of text/event-stream. */
export const wantsStream = (request: FastifyRequest, stream: boolean | undefined) => stream === true || (request.headers.accept ?? '').includes('text/event-stream');

export interface EventStream {
  send(event: string, data: unknown, id?: number): void;
  /** A comment line: keeps proxies and clients from closing an idle stream. */
  comment(text: string): void;
  end(): void;
}

/** Takes the reply over from Fastify and starts the stream (200, text/event-stream). */
export function openEventStream(reply: FastifyReply): EventStream {
  reply.hijack();
  const out = reply.raw;
  out.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  return {
    send: (event, data, id) => void out.write(`${id === undefined ? '' : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`),
    comment: (text) => void out.write(`: ${text}\n\n`),
    end: () => out.end(),
  };
}
