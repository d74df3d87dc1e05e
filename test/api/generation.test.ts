/**
 * Generation through the API: greedy by default and repeatable; sampled with a temperature,
 * top-k, top-p and a seed (the same seed, the same text); streamed as Server-Sent Events whose
 * pieces add up to the text the same request answers in JSON.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestService, type TestService } from '../helpers/service.js';

let service: TestService;
let key: string;
let promptId: string;
const TASK = { kind: 'text-to-text', template: 'Q: {question} A:', maxTargetTokens: 16 };
const TEXTS = ['Capital of Spain?', 'Who wrote Hamlet?', 'What is two and two?'];

before(async () => {
  service = await startTestService();
  key = await service.newKey('generation');
  promptId = (await service.storePrompt(key, { task: TASK, method: 'lopt1', n: 4 })).id;
});
after(() => service.close());

const generate = async (body: object) => {
  const { status, body: answer } = await service.call(key, 'POST', `/v1/prompts/${promptId}/generate`, '/v1/prompts/{id}/generate', { texts: TEXTS, maxNewTokens: 12, ...body });
  assert.equal(status, 200, JSON.stringify(answer));
  return (answer.outputs as Array<{ text: string }>).map(({ text }) => text);
};

/** The events of a Server-Sent Events body, in order. */
function events(body: string): Array<{ event: string; data: any }> {
  return body.split('\n\n').filter(Boolean).map((block) => {
    const field = (name: string) => block.split('\n').find((line) => line.startsWith(`${name}: `))?.slice(name.length + 2);
    return { event: field('event')!, data: JSON.parse(field('data')!) };
  });
}

test('greedy generation is the default and repeats itself; a seed repeats a sampled one', async () => {
  const greedy = await generate({});
  assert.deepEqual(await generate({}), greedy);
  assert.deepEqual(await generate({ temperature: 0 }), greedy);
  const sampled = await generate({ temperature: 1.3, topK: 200, topP: 0.98, seed: 5 });
  assert.deepEqual(await generate({ temperature: 1.3, topK: 200, topP: 0.98, seed: 5 }), sampled);
  assert.notDeepEqual(sampled, greedy);
  assert.notDeepEqual(await generate({ temperature: 1.3, topK: 200, topP: 0.98, seed: 6 }), sampled);
  // Top-k of one is greedy whatever the temperature.
  assert.deepEqual(await generate({ temperature: 2, topK: 1, seed: 1 }), greedy);
});

test('a streamed generation sends each input\'s text as it grows, then the outputs, which are the JSON answer\'s', async () => {
  const expected = await generate({ temperature: 0.8, seed: 11 });
  for (const ask of [{ body: { stream: true }, headers: {} }, { body: {}, headers: { accept: 'text/event-stream' } }]) {
    const response = await service.app.inject({
      method: 'POST', url: `/v1/prompts/${promptId}/generate`,
      headers: { authorization: `Bearer ${key}`, ...ask.headers }, payload: { texts: TEXTS, maxNewTokens: 12, temperature: 0.8, seed: 11, ...ask.body },
    });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /^text\/event-stream/);
    const all = events(response.body);
    const pieces = all.filter(({ event }) => event === 'text');
    assert.ok(pieces.length >= TEXTS.length, 'a piece at a time');
    const grown = TEXTS.map((_, index) => pieces.filter(({ data }) => data.index === index).map(({ data }) => data.text).join(''));
    assert.deepEqual(grown, expected);
    assert.deepEqual(all.at(-1), { event: 'done', data: { outputs: expected.map((text) => ({ text })) } });
  }
});

test('sampling settings out of range are refused before anything runs', async () => {
  for (const bad of [{ temperature: -1 }, { topP: 0 }, { topP: 1.5 }, { topK: 0 }, { seed: -1 }, { seed: 1.5 }, { stream: 'yes' }]) {
    const { status, body } = await service.call(key, 'POST', `/v1/prompts/${promptId}/generate`, '/v1/prompts/{id}/generate', { texts: TEXTS, ...bad });
    assert.deepEqual([status, body.error.code], [400, 'VALIDATION_FAILED'], JSON.stringify(bad));
  }
});
