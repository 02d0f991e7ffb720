import { readFileSync } from 'node:fs';
import Fastify from 'fastify';

/*
 * The benchmark's floor: a bare Fastify app answering the shop page's HTML, pre-rendered and
 * saved by the benchmark, from memory. No plugins, no database, no templates, so its throughput
 * is what this machine can do for a page of that size; the real shop is measured against it.
 * Started by test/bench/bench.ts as a child process, like the server: FLOOR_HTML, PORT, HOST.
 */

const html = readFileSync(process.env.FLOOR_HTML ?? '', 'utf8');
const app = Fastify({ logger: false });
app.get('/*', async (_request, reply) => reply.type('text/html; charset=utf-8').send(html));
app.get('/healthz', async () => ({ ok: true }));
await app.listen({ port: Number(process.env.PORT), host: process.env.HOST ?? '127.0.0.1' });
const stop = () => void app.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
