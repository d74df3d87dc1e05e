/**
 * Hugging Face tokenizers from a model folder, through @huggingface/tokenizers. A folder with
 * `tokenizer.json` is used as it is (GPT-2's and Qwen2's byte-level BPE, Llama's SentencePiece
 * BPE with byte fallback, T5's Unigram); a GPT-2-style folder with only `vocab.json` +
 * `merges.txt` gets the byte-level BPE pipeline that GPT-2's `tokenizer.json` describes. The
 * special tokens around a model input and the end-of-sequence ids are read from the folder's
 * configuration files as transformers reads them, so a model sees the ids Hugging Face gives it.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { EngineError } from './engine-error.js';

/** Special tokens put before and after the tokens of a text. */
export interface SpecialTokens {
  readonly before: readonly number[];
  readonly after: readonly number[];
}

export interface TextTokenizer {
  readonly vocabSize: number;
  /**
   * The end-of-sequence id put after targets: generation_config.json's `eos_token_id` (the first,
   * where it lists several as Llama 3's does), else config.json's, else tokenizer_config.json's
   * `eos_token`, else `<|endoftext|>`; undefined where the vocabulary has none of them.
   */
  readonly eosTokenId: number | undefined;
  /** Every end-of-sequence id from the same source: generation stops at any of them. */
  readonly stopTokenIds: readonly number[];
  /**
   * What Hugging Face's `tokenizer(text)` puts around a model input's tokens: `<s>` before them
   * for Llama and Mistral, `</s>` after them for T5, nothing for GPT-2 and Qwen2. Label words and
   * targets, which continue an input, get none.
   */
  readonly inputSpecialTokens: SpecialTokens;
  /** The text's tokens, without special tokens. */
  encode(text: string): number[];
  /**
   * The tokens `text` adds after some text before it: what a label word or a target is when it
   * follows an input. For byte-level BPE it is encode(text); SentencePiece marks the start of a
   * text itself, so there ' great' alone is '▁' + '▁great' but after a word it is '▁great'.
   */
  encodeContinuation(text: string): number[];
  decode(ids: readonly number[]): string;
}

/**
 * The most special tokens a model input gets, for callers without a tokenizer (the API's job
 * limits): loadTokenizer refuses a tokenizer that adds more.
 */
export const MAX_INPUT_SPECIAL_TOKENS = 2;

const utf8Bytes = (text: string) => Buffer.byteLength(text, 'utf8');
const NORMALIZATION_FORMS = ['NFC', 'NFD', 'NFKC', 'NFKD'] as const;

/**
 * An upper bound, found without a tokenizer, of the tokens `encode(text)` makes with any
 * tokenizer this module loads (the API's job limits rest on it). Each token takes at least one
 * UTF-8 byte of the text as the tokenizer's normalizer leaves it: a byte-level BPE token a byte
 * or more, a SentencePiece piece a character ('▁', the piece a space becomes, is in every
 * SentencePiece vocabulary) or, falling back to bytes, a byte. Normalization can lengthen a text
 * (NFC makes 'क़', 3 bytes, 6), so the longest form counts; and one more for the '▁' SentencePiece
 * puts in front of the text (or the space of byte-level BPE's add_prefix_space). An added token
 * inside the text, one token for two bytes or more, pays for the '▁' put in front of the text
 * after it.
 */
export function maxTextTokens(text: string): number {
  // ASCII is the same in every normalization form.
  const bytes = /^[\x00-\x7f]*$/.test(text) ? text.length : Math.max(utf8Bytes(text), ...NORMALIZATION_FORMS.map((form) => utf8Bytes(text.normalize(form))));
  return bytes + 1;
}

const GPT2_EOS = '<|endoftext|>';

type Json = Readonly<Record<string, unknown>>;

const invalid = (message: string, cause?: unknown) => new EngineError('TOKENIZER_INVALID', message, { cause });

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw invalid(`${path}: ${(err as Error).message}`, err);
  }
}

/** A configuration file of the folder as an object; {} where the folder has none. */
async function readConfig(dir: string, name: string): Promise<Json> {
  const path = join(dir, name);
  if (!existsSync(path)) return {};
  const value = await readJson(path);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid(`${path}: not a JSON object`);
  return value as Json;
}

/** merges.txt: an optional `#version` line, then one "left right" pair per line. */
function parseMerges(path: string, text: string): string[] {
  const lines = text.split('\n').filter((line, i) => line.length > 0 && !(i === 0 && line.startsWith('#version')));
  const bad = lines.findIndex((line) => line.split(' ').length !== 2);
  if (bad >= 0) throw invalid(`${path}: merge "${lines[bad]}" is not two symbols`);
  return lines;
}

async function gpt2TokenizerJson(dir: string): Promise<object> {
  const vocabPath = join(dir, 'vocab.json');
  const mergesPath = join(dir, 'merges.txt');
  if (!existsSync(vocabPath) || !existsSync(mergesPath)) {
    throw invalid(`${dir}: needs tokenizer.json, or vocab.json and merges.txt`);
  }
  const vocab = (await readJson(vocabPath)) as Record<string, number>;
  const merges = parseMerges(mergesPath, await readFile(mergesPath, 'utf8'));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const eos = vocab[GPT2_EOS];
  return {
    version: '1.0',
    added_tokens:
      eos === undefined
        ? []
        : [{ id: eos, content: GPT2_EOS, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

/** A special token as tokenizer_config.json names it: a string, or an AddedToken object (Llama 2's). */
function tokenName(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  const content = (value as { content?: unknown } | null | undefined)?.content;
  return typeof content === 'string' ? content : undefined;
}

/** Stands for the text's tokens in the post-processor's template: no special token is named so. */
const TEXT = '\u0000';

/**
 * The special tokens `tokenizer(text)` adds, by transformers' rule: add_bos_token and
 * add_eos_token, where tokenizer_config.json says them, decide their side (LlamaTokenizerFast, and
 * since transformers 5 every tokenizer, rebuild the post-processor from them: Llama's and
 * Mistral's `add_bos_token: true`, GPT-2-style folders' `false`); tokenizer.json's post-processor
 * decides the rest (T5's `$A </s>`, Llama 3's `<|begin_of_text|> $A`). Encoding itself adds none,
 * so none is ever doubled.
 */
function inputSpecialTokens(tokenizer: Tokenizer, config: Json, dir: string): SpecialTokens {
  const template = tokenizer.post_processor?.post_process([TEXT], null, true).tokens ?? [TEXT];
  const at = template.indexOf(TEXT);
  if (at < 0) throw invalid(`${dir}: tokenizer.json's post-processor leaves the text out of a single sequence`);
  const side = (flag: 'add_bos_token' | 'add_eos_token', key: 'bos_token' | 'eos_token', fromTemplate: string[]): string[] => {
    if (!Object.hasOwn(config, flag)) return fromTemplate;
    if (config[flag] !== true) return [];
    const name = tokenName(config[key]);
    if (name === undefined) throw invalid(`${dir}: tokenizer_config.json sets ${flag} but names no ${key}`);
    return [name];
  };
  const before = side('add_bos_token', 'bos_token', template.slice(0, at));
  const after = side('add_eos_token', 'eos_token', template.slice(at + 1));
  const added = before.length + after.length;
  if (added > MAX_INPUT_SPECIAL_TOKENS) {
    throw new EngineError('MODEL_UNSUPPORTED', `${dir}: the tokenizer puts ${added} special tokens around an input; at most ${MAX_INPUT_SPECIAL_TOKENS} are supported`);
  }
  const id = (name: string) => {
    const found = tokenizer.token_to_id(name);
    if (found === undefined) throw invalid(`${dir}: special token "${name}" is not in the vocabulary`);
    return found;
  };
  return { before: before.map(id), after: after.map(id) };
}

/** `eos_token_id` as generation_config.json or config.json gives it: an id, a list of ids, or none. */
function eosIds(dir: string, file: string, value: unknown, vocabSize: number): number[] | undefined {
  if (value === undefined || value === null) return undefined;
  const ids = Array.isArray(value) ? (value as unknown[]) : [value];
  if (ids.length === 0 || !ids.every((id) => Number.isInteger(id) && (id as number) >= 0 && (id as number) < vocabSize)) {
    throw invalid(`${join(dir, file)}: eos_token_id ${JSON.stringify(value)} is not a token id, or a list of them, of a ${vocabSize}-token vocabulary`);
  }
  return [...new Set(ids as number[])];
}

/** Stands before a continuation while it is encoded: a word, which a following space parts from. */
const ANCHOR = 'x';

/**
 * The tokens a text that starts with white space adds after a word: its tokens after ANCHOR's,
 * where ANCHOR's own are a prefix of the pair's (for byte-level BPE that is encode(text) itself).
 * A text that starts without a space, or that the tokenizer joins to the word before, is its own
 * tokens.
 */
function continuation(encode: (text: string) => number[], text: string): number[] {
  if (!/^\s/.test(text)) return encode(text);
  const anchor = encode(ANCHOR);
  const both = encode(ANCHOR + text);
  const isPrefix = both.length > anchor.length && anchor.every((id, i) => both[i] === id);
  return isPrefix ? both.slice(anchor.length) : encode(text);
}

/** Loads the tokenizer stored in a Hugging Face model folder. */
export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  const tokenizerPath = join(dir, 'tokenizer.json');
  const definition = existsSync(tokenizerPath) ? ((await readJson(tokenizerPath)) as object) : await gpt2TokenizerJson(dir);
  const [tokenizerConfig, specialTokensMap, generationConfig, modelConfig] = await Promise.all([
    readConfig(dir, 'tokenizer_config.json'),
    readConfig(dir, 'special_tokens_map.json'),
    readConfig(dir, 'generation_config.json'),
    readConfig(dir, 'config.json'),
  ]);
  // transformers takes special tokens that tokenizer_config.json leaves out from special_tokens_map.json.
  const config = { ...specialTokensMap, ...tokenizerConfig };
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(definition, config);
  } catch (err) {
    throw invalid(`${dir}: ${(err as Error).message}`, err);
  }
  const vocabSize = tokenizer.get_vocab(true).size;
  const encode = (text: string) => tokenizer.encode(text, { add_special_tokens: false }).ids;
  const namedEos = tokenizer.token_to_id(tokenName(config.eos_token) ?? GPT2_EOS);
  const stopTokenIds =
    eosIds(dir, 'generation_config.json', generationConfig.eos_token_id, vocabSize) ??
    eosIds(dir, 'config.json', modelConfig.eos_token_id, vocabSize) ??
    (namedEos === undefined ? [] : [namedEos]);
  return {
    vocabSize,
    eosTokenId: stopTokenIds[0],
    stopTokenIds,
    inputSpecialTokens: inputSpecialTokens(tokenizer, config, dir),
    encode,
    encodeContinuation: (text) => continuation(encode, text),
    decode: (ids) => (ids.length === 0 ? '' : tokenizer.decode([...ids], { clean_up_tokenization_spaces: false })),
  };
}
