import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadTokenizer } from '../../src/engine/tokenizer.js';
import { MODELS_DIR, readJsonFixture } from '../helpers/shared.js';
import { tempDir } from '../helpers/temp-dir.js';

type TokenizerCases = Record<'gpt2-tokenizer' | 'gpt2-mini', Array<{ text: string; ids: number[] }>>;
const cases = readJsonFixture<TokenizerCases>('tokenizer.json');

const folders: Array<[string, keyof TokenizerCases, number, number]> = [
  ['gpt2-tokenizer', 'gpt2-tokenizer', 50257, 50256], // vocab.json + merges.txt
  ['gpt2-mini', 'gpt2-mini', 8192, 8191], // vocab.json + merges.txt, truncated merges
  ['tiny-gpt2-random', 'gpt2-tokenizer', 50257, 50256], // tokenizer.json
];

for (const [folder, reference, vocabSize, eos] of folders) {
  test(`${folder}: ids equal the reference and decode back to the text`, async () => {
    const tokenizer = await loadTokenizer(join(MODELS_DIR, folder));
    assert.equal(tokenizer.vocabSize, vocabSize);
    assert.equal(tokenizer.eosTokenId, eos);
    assert.ok(cases[reference].length >= 5);
    for (const { text, ids } of cases[reference]) {
      assert.deepEqual(tokenizer.encode(text), ids, JSON.stringify(text));
      assert.equal(tokenizer.decode(ids), text);
    }
  });
}

test('a folder without tokenizer files or with a broken merges file is refused', async () => {
  const dir = tempDir();
  await assert.rejects(loadTokenizer(dir), /needs tokenizer.json, or vocab.json and merges.txt/);
  writeFileSync(join(dir, 'vocab.json'), JSON.stringify({ a: 0, b: 1, ab: 2 }));
  writeFileSync(join(dir, 'merges.txt'), '#version: 0.2\na b\nab\n');
  await assert.rejects(loadTokenizer(dir), (err: Error & { code?: string }) => err.code === 'TOKENIZER_INVALID' && /merge "ab" is not two symbols/.test(err.message));
});
