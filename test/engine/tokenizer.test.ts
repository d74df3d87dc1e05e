import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadTokenizer, maxTextTokens } from '../../src/engine/tokenizer.js';
import { MODELS_DIR, readJsonFixture } from '../helpers/shared.js';
import { tempDir } from '../helpers/temp-dir.js';
import { TOKENIZER_FIXTURES, tokenizerCases, type TokenizerCase } from '../helpers/tokenizer-fixtures.js';

type SharedCases = Record<'gpt2-tokenizer' | 'gpt2-mini', TokenizerCase[]>;
const shared = readJsonFixture<SharedCases>('tokenizer.json');
/** T5's reference: SentencePiece's ids, and HF's input_ids with `</s>`; unknown characters and double spaces do not decode back. */
const t5 = readJsonFixture<{ tokenizer: Array<{ text: string; ids: number[]; input_ids: number[] }> }>('t5.json').tokenizer;

interface Folder {
  readonly dir: string;
  readonly cases: readonly TokenizerCase[];
  readonly vocabSize: number;
  readonly stop: readonly number[];
  readonly before: readonly number[];
  readonly after: readonly number[];
  readonly decodes?: boolean;
}

const gpt2Mini = { cases: shared['gpt2-mini'], vocabSize: 8192, stop: [8191], before: [], after: [] };
const folders: Folder[] = [
  { dir: join(MODELS_DIR, 'gpt2-tokenizer'), cases: shared['gpt2-tokenizer'], vocabSize: 50257, stop: [50256], before: [], after: [] }, // vocab.json + merges.txt
  { dir: join(MODELS_DIR, 'gpt2-mini'), ...gpt2Mini }, // vocab.json + merges.txt, truncated merges; eos from config.json
  { dir: join(MODELS_DIR, 'tiny-gpt2-random'), cases: shared['gpt2-tokenizer'], vocabSize: 50257, stop: [50256], before: [], after: [] }, // tokenizer.json
  { dir: join(MODELS_DIR, 'tiny-llama-random'), ...gpt2Mini }, // a Llama with GPT-2's tokenizer: add_bos_token false
  { dir: join(MODELS_DIR, 'tiny-qwen2-random'), ...gpt2Mini },
  { dir: join(MODELS_DIR, 'tiny-t5-random'), cases: t5, vocabSize: 1000, stop: [1], before: [], after: [1], decodes: false }, // Unigram; post-processor `$A </s>`
  { dir: TOKENIZER_FIXTURES.llama, cases: tokenizerCases('llama'), vocabSize: 1000, stop: [2], before: [1], after: [] }, // SentencePiece BPE, byte fallback, add_bos_token
  { dir: TOKENIZER_FIXTURES.qwen2, cases: tokenizerCases('qwen2'), vocabSize: 859, stop: [858, 856], before: [], after: [] }, // eos_token_id [<|im_end|>, <|endoftext|>]
];

for (const { dir, cases, vocabSize, stop, before, after, decodes = true } of folders) {
  test(`${dir.split('/').slice(-1)[0]}: ids and input ids equal the reference, decode back to the text, and stay within maxTextTokens`, async () => {
    const tokenizer = await loadTokenizer(dir);
    assert.equal(tokenizer.vocabSize, vocabSize);
    assert.deepEqual(tokenizer.stopTokenIds, stop);
    assert.equal(tokenizer.eosTokenId, stop[0]);
    assert.deepEqual(tokenizer.inputSpecialTokens, { before, after });
    assert.ok(cases.length >= 3);
    for (const { text, ids, input_ids = ids, decoded = text } of cases) {
      assert.deepEqual(tokenizer.encode(text), ids, JSON.stringify(text));
      assert.ok(ids.length <= maxTextTokens(text), JSON.stringify(text));
      assert.deepEqual([...before, ...ids, ...after], input_ids, JSON.stringify(text));
      if (decodes) assert.equal(tokenizer.decode(ids), decoded);
    }
  });
}

test('SentencePiece BPE: characters outside the vocabulary fall back to bytes and decode back', async () => {
  const tokenizer = await loadTokenizer(TOKENIZER_FIXTURES.llama);
  const ids = tokenizer.encode('東京 🎬');
  // <0x00> … <0xFF> are ids 3 … 258: 東 京 are 3 bytes each and 🎬 4, after the '▁' pieces.
  assert.deepEqual(ids.filter((id) => id >= 3 && id <= 258).map((id) => id - 3), [...Buffer.from('東京🎬')]);
  assert.equal(tokenizer.decode(ids), '東京 🎬');
});

test('Qwen2: contractions of any case, digits one by one, newlines kept together, NFC', async () => {
  const tokenizer = await loadTokenizer(TOKENIZER_FIXTURES.qwen2);
  const ends = (parts: readonly string[]) => parts.map((_, i) => parts.slice(0, i + 1).join('').length);
  // Hand-derived splits of Qwen2's regex (GPT-2's would keep " 2024", "'", "M" and "(see" otherwise): no token crosses them.
  const splits: Array<[string, string[]]> = [
    ["I'M 2024\n\nok", ['I', "'M", ' ', '2', '0', '2', '4', '\n\n', 'ok']],
    ["don't (see)!!\n", ['don', "'t", ' (', 'see', ')!!\n']],
    ['x(see', ['x', '(see']],
    ['a   b\n', ['a', '  ', ' b', '\n']],
  ];
  for (const [text, pretokens] of splits) {
    const tokens = tokenizer.encode(text).map((id) => tokenizer.decode([id]));
    assert.equal(tokens.join(''), text);
    const tokenEnds = ends(tokens);
    assert.ok(ends(pretokens).every((end) => tokenEnds.includes(end)), `${JSON.stringify(tokens)} crosses ${JSON.stringify(pretokens)}`);
  }
  // The fixture's merges for "'M", "\n\n" and " (" apply only within those splits; those for "20" and " 2" never.
  assert.deepEqual(tokenizer.encode("I'M 2024\n\n").map((id) => tokenizer.decode([id])), ['I', "'M", ' ', '2', '0', '2', '4', '\n\n']);
  assert.ok(tokenizer.encode(' (').length === 1);
  assert.deepEqual(tokenizer.encode('cafe\u0301'), tokenizer.encode('café'));
  // NFC lengthens 'क़ख़' from 6 UTF-8 bytes to 12: more tokens than bytes, as maxTextTokens allows for.
  assert.equal(tokenizer.encode('क़ख़').length, 12);
  assert.deepEqual(tokenizer.encode('hello<|im_end|>').slice(-1), [858]);
});

/** A temporary folder with `from`'s tokenizer.json, changed by `edit`, and the given configuration files. */
function folderWith(from: string, files: Record<string, unknown>, edit?: (definition: Record<string, unknown>) => void): string {
  const dir = tempDir();
  const definition = JSON.parse(readFileSync(join(from, 'tokenizer.json'), 'utf8')) as Record<string, unknown>;
  edit?.(definition);
  for (const [name, content] of Object.entries({ 'tokenizer.json': definition, ...files })) writeFileSync(join(dir, name), JSON.stringify(content));
  return dir;
}

test('add_bos_token and add_eos_token decide their side where tokenizer_config.json says them, the post-processor elsewhere', async () => {
  const specials = async (files: Record<string, unknown>) => (await loadTokenizer(folderWith(TOKENIZER_FIXTURES.llama, files))).inputSpecialTokens;
  // Llama's tokenizer.json adds <s> in its post-processor (TemplateProcessing).
  assert.deepEqual(await specials({}), { before: [1], after: [] });
  assert.deepEqual(await specials({ 'tokenizer_config.json': { add_bos_token: false } }), { before: [], after: [] });
  assert.deepEqual(await specials({ 'tokenizer_config.json': { add_eos_token: true, eos_token: '</s>' } }), { before: [1], after: [2] });
  // Names from special_tokens_map.json where tokenizer_config.json has none, as transformers takes them.
  assert.deepEqual(await specials({ 'tokenizer_config.json': { add_bos_token: true }, 'special_tokens_map.json': { bos_token: { content: '<s>' } } }), { before: [1], after: [] });
  await assert.rejects(specials({ 'tokenizer_config.json': { add_bos_token: true } }), (err: Error & { code?: string }) => err.code === 'TOKENIZER_INVALID' && /sets add_bos_token but names no bos_token/.test(err.message));
  await assert.rejects(specials({ 'tokenizer_config.json': { add_bos_token: true, bos_token: '<bos>' } }), /special token "<bos>" is not in the vocabulary/);
});

test('a tokenizer that puts more special tokens around an input than the job limits count is refused', async () => {
  const bos = { SpecialToken: { id: '<s>', type_id: 0 } };
  const dir = folderWith(TOKENIZER_FIXTURES.llama, {}, (json) => {
    json.post_processor = { type: 'TemplateProcessing', single: [bos, bos, { Sequence: { id: 'A', type_id: 0 } }, bos], pair: [], special_tokens: {} };
  });
  await assert.rejects(loadTokenizer(dir), (err: Error & { code?: string }) => err.code === 'MODEL_UNSUPPORTED' && /puts 3 special tokens around an input; at most 2/.test(err.message));
});

test('end of sequence: generation_config.json, else config.json, else the eos_token, else <|endoftext|>', async () => {
  const stops = async (files: Record<string, unknown>) => {
    const tokenizer = await loadTokenizer(folderWith(TOKENIZER_FIXTURES.qwen2, files));
    return { eos: tokenizer.eosTokenId, stop: tokenizer.stopTokenIds };
  };
  const config = { eos_token: '<|im_end|>' };
  assert.deepEqual(await stops({ 'generation_config.json': { eos_token_id: [858, 856, 858] }, 'config.json': { eos_token_id: 857 } }), { eos: 858, stop: [858, 856] });
  assert.deepEqual(await stops({ 'generation_config.json': { bos_token_id: 856 }, 'config.json': { eos_token_id: 857 }, 'tokenizer_config.json': config }), { eos: 857, stop: [857] });
  assert.deepEqual(await stops({ 'config.json': { eos_token_id: null }, 'tokenizer_config.json': config }), { eos: 858, stop: [858] });
  assert.deepEqual(await stops({}), { eos: 856, stop: [856] });
  assert.deepEqual(await stops({ 'tokenizer_config.json': { eos_token: '<eos>' } }), { eos: undefined, stop: [] });
  for (const bad of [859, [], ['2'], -1]) {
    await assert.rejects(stops({ 'config.json': { eos_token_id: bad } }), (err: Error & { code?: string }) => err.code === 'TOKENIZER_INVALID' && /config.json: eos_token_id .* is not a token id/.test(err.message));
  }
});

test('a folder without tokenizer files, with a broken merges file or with a configuration that is no object is refused', async () => {
  const dir = tempDir();
  await assert.rejects(loadTokenizer(dir), /needs tokenizer.json, or vocab.json and merges.txt/);
  writeFileSync(join(dir, 'vocab.json'), JSON.stringify({ a: 0, b: 1, ab: 2 }));
  writeFileSync(join(dir, 'merges.txt'), '#version: 0.2\na b\nab\n');
  await assert.rejects(loadTokenizer(dir), (err: Error & { code?: string }) => err.code === 'TOKENIZER_INVALID' && /merge "ab" is not two symbols/.test(err.message));
  await assert.rejects(loadTokenizer(folderWith(TOKENIZER_FIXTURES.qwen2, { 'tokenizer_config.json': [] })), /tokenizer_config.json: not a JSON object/);
});
