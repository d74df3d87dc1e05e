/**
 * A model folder's weights as Hugging Face saves them: one `model.safetensors`, or shards
 * (`model-00001-of-00003.safetensors` …) listed by `model.safetensors.index.json`, whose
 * `weight_map` names the shard of every tensor. Either way the loader sees one set of named
 * tensors, read one at a time.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { EngineError } from '../engine-error.js';
import { SafetensorsFile, type HostTensor, type TensorEntry } from '../safetensors.js';

/** Named float32 tensors, read on demand. */
export interface WeightSource {
  /** The file or index the tensors come from: errors name it. */
  readonly path: string;
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  readFloat32(name: string): HostTensor;
  close(): void;
}

export const SINGLE_FILE = 'model.safetensors';
export const SHARD_INDEX = 'model.safetensors.index.json';

const invalid = (path: string, what: string) => new EngineError('SAFETENSORS_INVALID', `${path}: ${what}`);

/** The tensor → shard file map of an index, checked to name only plain files beside it. */
function readWeightMap(indexPath: string): Map<string, string> {
  let index: unknown;
  try {
    index = JSON.parse(readFileSync(indexPath, 'utf8'));
  } catch (err) {
    throw invalid(indexPath, `not a readable JSON file (${(err as Error).message})`);
  }
  const weightMap = (index as { weight_map?: unknown } | null)?.weight_map;
  if (typeof weightMap !== 'object' || weightMap === null || Array.isArray(weightMap)) throw invalid(indexPath, 'weight_map must map tensor names to shard files');
  const map = new Map<string, string>();
  for (const [name, file] of Object.entries(weightMap)) {
    if (typeof file !== 'string' || basename(file) !== file || !file.endsWith('.safetensors')) {
      throw invalid(indexPath, `tensor "${name}": shard ${JSON.stringify(file)} is not a .safetensors file name in the same folder`);
    }
    map.set(name, file);
  }
  return map;
}

/** Shards opened together; a tensor must be in the shard the index names, and every tensor of a shard in the index. */
class ShardedWeights implements WeightSource {
  readonly tensors: ReadonlyMap<string, TensorEntry>;

  private constructor(
    readonly path: string,
    private readonly shardOf: ReadonlyMap<string, SafetensorsFile>,
    private readonly shards: readonly SafetensorsFile[],
  ) {
    this.tensors = new Map([...shardOf].map(([name, shard]) => [name, shard.tensors.get(name)!]));
  }

  static open(indexPath: string): ShardedWeights {
    const weightMap = readWeightMap(indexPath);
    const folder = dirname(indexPath);
    const shards = new Map<string, SafetensorsFile>();
    try {
      for (const file of new Set(weightMap.values())) {
        const path = join(folder, file);
        if (!existsSync(path)) throw new EngineError('MODEL_WEIGHTS_MISMATCH', `${indexPath} lists ${file}, which does not exist`);
        shards.set(file, SafetensorsFile.open(path));
      }
      const shardOf = new Map<string, SafetensorsFile>();
      for (const [name, file] of weightMap) {
        const shard = shards.get(file)!;
        if (!shard.tensors.has(name)) throw invalid(indexPath, `tensor "${name}" is listed in ${file}, which does not hold it`);
        shardOf.set(name, shard);
      }
      for (const [file, shard] of shards) {
        const unlisted = [...shard.tensors.keys()].filter((name) => weightMap.get(name) !== file);
        if (unlisted.length) throw invalid(indexPath, `${file} holds tensors the index does not list there: ${unlisted.slice(0, 8).join(', ')}`);
      }
      return new ShardedWeights(indexPath, shardOf, [...shards.values()]);
    } catch (err) {
      for (const shard of shards.values()) shard.close();
      throw err;
    }
  }

  readFloat32(name: string): HostTensor {
    const shard = this.shardOf.get(name);
    if (!shard) throw invalid(this.path, `no tensor named "${name}"`);
    return shard.readFloat32(name);
  }

  close(): void {
    for (const shard of this.shards) shard.close();
  }
}

/** Opens the weights of the model folder `dir`: its single file if there is one, else its shard index. */
export function openModelWeights(dir: string): WeightSource {
  const single = join(dir, SINGLE_FILE);
  if (existsSync(single)) return SafetensorsFile.open(single);
  const index = join(dir, SHARD_INDEX);
  if (existsSync(index)) return ShardedWeights.open(index);
  throw new EngineError('MODEL_WEIGHTS_MISMATCH', `${dir} has neither ${SINGLE_FILE} nor ${SHARD_INDEX}`);
}
